"""The in-sandbox half of the APPS judge: run one submitted program on test inputs.

This file is sent as cell text into a fresh judge sandbox and runs there (stdlib only, never
imported by the collector). The host sends test *inputs* one cell at a time and receives the
program's actual output; expected outputs never enter the sandbox, so there is nothing here
for a program to find. Comparison happens on the host (``compare.py``).

Each test runs in a child forked from the worker (about 1 ms, against ~20 ms to start a
fresh interpreter), in its own process group, with its own wall-clock deadline, a CPU-time
rlimit as a backstop, and output read through bounded buffers so a program printing
gigabytes is cut off, not buffered. Afterwards the group is killed and, when we can prove we
are the jail's worker, every other process in the jail too, so forks that escaped the group
(``setsid``) cannot outlive their test. The worker makes itself non-dumpable so a child
cannot open its protocol pipes through ``/proc`` and forge results.

How a program is compiled and called (the official grader's prelude, the function wrapper
that lets a stdin program ``return`` at module level, the call-based entry point) lives in
``execmodel.py``, whose text the judge sends into the same cell just before this file.
"""

import atexit
import builtins
import ctypes
import json
import math
import os
import resource
import select
import signal
import sys
import threading
import time
import traceback
import types
import typing

if typing.TYPE_CHECKING:  # defined in the same cell: the judge sends execmodel.py's text first
    from execmodel import call_arguments, compile_program, entry_point, names_used, prelude

PR_SET_PDEATHSIG = 1
PR_SET_DUMPABLE = 4
EXIT_GRACE_S = 0.2  # after the program exits, how long a forked leftover may hold its pipes
SWEEP_WAIT_S = 1.0
FORK_RETRY_S = 1.0

_libc = ctypes.CDLL(None, use_errno=True)


def _prctl(option: int, value: int) -> None:
    _libc.prctl(option, value, 0, 0, 0)


def _exit_status(exc: SystemExit) -> int:
    """The process exit status Python itself would use for ``exc``."""
    code = exc.code
    if code is None:
        return 0
    if isinstance(code, int):
        return code & 0xFF
    try:
        sys.stderr.write(f"{code}\n")
    except Exception:
        pass
    return 1


def _to_json(value: object) -> str:
    """JSON text of a return value: tuples become lists (as the official grader turns them).

    Anything else that is not JSON (a set, ``range``, ``map``, a generator, ``bytes``, a
    numpy array) raises ``TypeError``, so the test is wrong, as with the official grader,
    which compares the value itself with ``==`` and so never finds it equal to a list. A
    numpy scalar is its number (``numpy.int64(3) == 3`` there).
    """

    def default(obj: object) -> object:
        if hasattr(obj, "tolist") and getattr(obj, "ndim", None) == 0:
            return obj.tolist()
        raise TypeError(f"{type(obj).__name__} is not a JSON value, so it equals no expected value")

    return json.dumps(value, default=default)


class AppsHarness:
    """Runs one program; ``mode`` is ``"stdin"`` or ``"call"`` (``fn_name`` on ``class_name``)."""

    def __init__(
        self,
        source: str,
        mode: str,
        fn_name: str | None,
        class_name: str | None,
        output_limit: int,
        stderr_limit: int = 4000,
    ) -> None:
        self.source = source
        self.mode = mode
        self.fn_name = fn_name
        self.class_name = class_name
        self.output_limit = output_limit
        self.stderr_limit = stderr_limit
        self.code: types.CodeType | None = None
        self.wrapped = False
        self.prelude: dict[str, object] = {}
        self.path = os.path.abspath("solution.py")
        self._reply = ""
        self._devnull = os.open(os.devnull, os.O_RDWR)
        self._in_jail = self._detect_jail()

    # -- host protocol ----------------------------------------------------------------

    def reply(self, value: object, chunk: int) -> None:
        """Print the reply's length and first ``chunk`` characters (ASCII JSON, one line);
        the host fetches the rest with ``more`` when the cell output limit is smaller."""
        self._reply = json.dumps(value, ensure_ascii=True)
        sys.stdout.write(f"{len(self._reply)}\n{self._reply[:chunk]}\n")

    def more(self, start: int, size: int) -> None:
        sys.stdout.write(self._reply[start : start + size] + "\n")

    # -- set-up -------------------------------------------------------------------------

    def prepare(self) -> dict:
        """Compile once (a syntax error fails every test without running any) and import
        the prelude here, in the worker, so each test's fork starts with it loaded."""
        _prctl(PR_SET_DUMPABLE, 0)
        try:
            self.code, self.wrapped = compile_program(self.source, self.path, self.mode)
        except (SyntaxError, ValueError) as exc:
            # ``exc.lineno`` is only read when getattr() found one (a ValueError has none).
            where = (
                f" (line {exc.lineno})"  # type: ignore[union-attr]
                if getattr(exc, "lineno", None)
                else ""
            )
            msg = getattr(exc, "msg", None) or str(exc)
            return {"ok": False, "error": f"{type(exc).__name__}: {msg}{where}"}
        except (RecursionError, MemoryError) as exc:
            return {"ok": False, "error": f"{type(exc).__name__}: program too deeply nested"}
        self.prelude = prelude(names_used(self.code), call_based=self.mode != "stdin")
        try:
            with open(self.path, "w", encoding="utf-8") as fh:
                fh.write(self.source)  # so tracebacks and ``open(__file__)`` work as usual
        except OSError:
            pass
        return {"ok": True, "wrapped": self.wrapped}

    @staticmethod
    def _detect_jail() -> bool:
        """True only inside the isolated jail: we are PID 2 under a PID 1 owned by another
        user. Killing "every other process" is only safe there; unisolated, it could hit
        the user's own processes, so then we rely on process groups alone."""
        try:
            if os.getpid() != 2 or os.getppid() != 1:
                return False
            with open("/proc/1/status") as fh:
                for line in fh:
                    if line.startswith("Uid:"):
                        return int(line.split()[1]) != os.getuid()
        except (OSError, ValueError, IndexError):
            pass
        return False

    # -- one test -----------------------------------------------------------------------

    def run_test(self, test_input: str, timeout: float) -> dict:
        """Run the program once on ``test_input`` (stdin text, or JSON arguments)."""
        pipes: list[int] = []
        stdin_fd = None
        try:
            if self.mode == "stdin":
                stdin_fd = self._input_fd(test_input.encode("utf-8", "surrogateescape"))
            out_r, out_w = os.pipe()
            err_r, err_w = os.pipe()
            pipes += [out_r, out_w, err_r, err_w]
            started = time.monotonic()
            pid = self._fork()
            if pid is None:
                return {"status": "runtime_error", "error": "could not start the program: process limit reached"}
            if pid == 0:
                self._child(stdin_fd, out_w, err_w, test_input, timeout)
            for fd in (out_w, err_w):
                os.close(fd)
                pipes.remove(fd)
            return self._supervise(pid, out_r, err_r, started, timeout)
        finally:
            for fd in pipes:
                os.close(fd)
            if stdin_fd is not None:
                os.close(stdin_fd)
            self._sweep()

    def _input_fd(self, data: bytes) -> int:
        """A seekable fd holding the input (memfd, so nothing is left on disk)."""
        fd = os.memfd_create("stdin")
        view = memoryview(data)
        while view:
            view = view[os.write(fd, view) :]
        os.lseek(fd, 0, os.SEEK_SET)
        return fd

    def _fork(self) -> int | None:
        """``os.fork``, retrying briefly while a previous test's processes are being reaped."""
        deadline = time.monotonic() + FORK_RETRY_S
        while True:
            try:
                return os.fork()
            except BlockingIOError:
                if time.monotonic() > deadline:
                    return None
                self._sweep()
                time.sleep(0.01)

    def _supervise(self, pid: int, out_r: int, err_r: int, started: float, timeout: float) -> dict:
        """Read both pipes until EOF, the deadline or the output limit; then kill the group."""
        deadline = started + timeout
        out, err = bytearray(), bytearray()
        poller = select.poll()
        for fd in (out_r, err_r):
            poller.register(fd, select.POLLIN | select.POLLHUP | select.POLLERR)
        open_fds = {out_r, err_r}
        status = None
        exited_at = None
        timed_out = over = False
        try:
            while open_fds:
                now = time.monotonic()
                if now >= deadline:
                    timed_out = True
                    break
                if exited_at is not None and now - exited_at > EXIT_GRACE_S:
                    break  # a forked leftover keeps the pipes open; the program itself is done
                for fd, _ in poller.poll(max(1, int(min(deadline - now, 0.1) * 1000))):
                    chunk = os.read(fd, 1 << 16)
                    if not chunk:
                        poller.unregister(fd)
                        open_fds.discard(fd)
                    elif fd == out_r:
                        out += chunk
                        over = len(out) > self.output_limit
                    else:
                        err += chunk
                        if len(err) > 2 * self.stderr_limit:
                            del err[: -self.stderr_limit]
                if over:
                    break
                if exited_at is None:
                    waited, wstatus = os.waitpid(pid, os.WNOHANG)
                    if waited:
                        status, exited_at = wstatus, time.monotonic()
        finally:
            try:
                os.killpg(pid, signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                pass
            if status is None:
                _, status = os.waitpid(pid, 0)
        elapsed = round(time.monotonic() - started, 4)
        result = {"time": elapsed, "stderr": err[-self.stderr_limit :].decode("utf-8", "replace")}
        if timed_out and exited_at is None:
            result["status"] = "timeout"
        elif over:
            result.update(status="output_limit", error=f"output exceeded {self.output_limit} bytes")
        elif os.WIFSIGNALED(status):
            sig = os.WTERMSIG(status)
            if sig == signal.SIGXCPU:
                result["status"] = "timeout"
            else:
                result.update(status="runtime_error", error=f"killed by {signal.Signals(sig).name}")
        else:
            result["exit"] = os.WEXITSTATUS(status)
            result["status"] = "ok" if result["exit"] == 0 else "runtime_error"
        # Output is only compared after a clean run; otherwise a preview is all the host needs.
        kept = out if result["status"] in ("ok", "runtime_error") else out[:200]
        result["output"] = kept.decode("utf-8", "replace")
        return result

    def _sweep(self) -> None:
        """Kill whatever the test left running in the jail (see ``_detect_jail``)."""
        if not self._in_jail:
            return
        me = os.getpid()
        deadline = time.monotonic() + SWEEP_WAIT_S
        while True:
            others = [int(p) for p in os.listdir("/proc") if p.isdigit() and int(p) not in (1, me)]
            if not others or time.monotonic() > deadline:
                return
            for other in others:
                try:
                    os.kill(other, signal.SIGKILL)
                except (ProcessLookupError, PermissionError):
                    pass
            time.sleep(0.002)  # PID 1 reaps them

    # -- the child ----------------------------------------------------------------------

    def _child(self, stdin_fd: int | None, out_w: int, err_w: int, test_input: str, timeout: float) -> None:
        """Become a fresh ``python solution.py`` as far as the program can tell; never returns."""
        status = 1
        try:
            os.setpgid(0, 0)
            _prctl(PR_SET_PDEATHSIG, signal.SIGKILL)
            if self.mode == "stdin":
                assert stdin_fd is not None  # run_test opened it because the mode is "stdin"
                os.dup2(stdin_fd, 0)
                os.dup2(out_w, 1)
            else:
                os.dup2(self._devnull, 0)
                os.dup2(self._devnull, 1)
                os.dup2(out_w, 3)  # the return value travels on fd 3, not stdout
            os.dup2(err_w, 2)
            keep = 3 if self.mode == "stdin" else 4
            os.closerange(keep, resource.getrlimit(resource.RLIMIT_NOFILE)[0])
            for sig in (signal.SIGALRM, signal.SIGTERM, signal.SIGHUP, signal.SIGUSR1, signal.SIGUSR2):
                signal.signal(sig, signal.SIG_DFL)
            signal.signal(signal.SIGINT, signal.default_int_handler)
            cpu = math.ceil(timeout) + 1
            resource.setrlimit(resource.RLIMIT_CPU, (cpu, cpu))
            self._fresh_interpreter_state()
            status = self._run_stdin() if self.mode == "stdin" else self._run_call(test_input)
        except BaseException as exc:  # the harness itself failed: say why on stderr
            os.write(2, f"judge harness: {type(exc).__name__}: {exc}\n".encode(errors="replace"))
            status = 1
        finally:
            os._exit(status)

    def _fresh_interpreter_state(self) -> None:
        enc: dict[str, typing.Any] = {"encoding": "utf-8", "closefd": False}
        # Deliberate: the program must see fresh std streams, the ``__std*__`` ones included.
        sys.stdin = sys.__stdin__ = open(  # type: ignore[misc]
            0, errors="surrogateescape", **enc
        )
        sys.stdout = sys.__stdout__ = open(  # type: ignore[misc]
            1, "w", errors="surrogateescape", **enc
        )
        sys.stderr = sys.__stderr__ = open(  # type: ignore[misc]
            2, "w", 1, errors="backslashreplace", **enc
        )
        sys.argv = [self.path]
        # The worker's own frames are below us: give the program the usual 1000 of its own.
        frame: types.FrameType | None
        depth, frame = 0, sys._getframe()
        while frame is not None:
            depth, frame = depth + 1, frame.f_back
        sys.setrecursionlimit(1000 + depth)
        if hasattr(atexit, "_clear"):
            atexit._clear()
        self.module: types.ModuleType = types.ModuleType("__main__")
        self.module.__file__ = self.path
        self.module.__builtins__ = builtins  # type: ignore[attr-defined]  # as a real __main__
        self.module.__dict__.update(self.prelude)
        if not hasattr(builtins, "exit"):  # ``python -S`` has no site builtins; scripts expect them
            self.module.__dict__.update(exit=sys.exit, quit=sys.exit)
        sys.modules["__main__"] = self.module

    def _finish(self, status: int) -> int:
        """What interpreter shutdown does: join non-daemon threads, atexit, flush."""
        me = threading.current_thread()
        for thread in threading.enumerate():
            if thread is not me and not thread.daemon:
                thread.join()
        if hasattr(atexit, "_run_exitfuncs"):
            atexit._run_exitfuncs()
        for stream in (sys.stdout, sys.stderr):
            try:
                stream.flush()
            except Exception:
                pass
        return status

    def _run_stdin(self) -> int:
        try:
            # prepare() compiled it first; were it None, exec() would fail here just as before.
            exec(self.code, self.module.__dict__)  # type: ignore[arg-type]
            status = 0
        except SystemExit as exc:
            status = _exit_status(exc)
        except BaseException:
            traceback.print_exc()
            status = 1
        return self._finish(status)

    def _run_call(self, args_json: str) -> int:
        try:
            # prepare() compiled it first; were it None, exec() would fail here just as before.
            exec(self.code, self.module.__dict__)  # type: ignore[arg-type]
            fn = entry_point(self.module.__dict__, self.fn_name, self.class_name)
            value = fn(*call_arguments(json.loads(args_json)))
        except SystemExit as exc:
            return self._finish(self._send({"ok": False, "error": f"SystemExit: {exc.code}"}, 1))
        except BaseException as exc:
            traceback.print_exc()
            error = f"{type(exc).__name__}: {str(exc)[:300]}"
            return self._finish(self._send({"ok": False, "error": error}, 1))
        try:
            text = _to_json(value)
        except (TypeError, ValueError, RecursionError) as exc:
            return self._finish(self._send({"ok": True, "unencodable": f"{type(exc).__name__}: {exc}"[:300]}, 0))
        return self._finish(self._send_raw('{"ok": true, "value": ' + text + "}", 0))

    def _send(self, message: dict, status: int) -> int:
        return self._send_raw(json.dumps(message), status)

    def _send_raw(self, text: str, status: int) -> int:
        data = memoryview(text.encode("utf-8", "replace"))
        try:
            while data:
                data = data[os.write(3, data[: 1 << 16]) :]
        except OSError:
            return 1
        return status
