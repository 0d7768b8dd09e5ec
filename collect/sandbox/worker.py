"""The sandbox worker: a persistent Python interpreter driven by JSON lines (stdlib only).

It runs inside the sandbox (local namespaces or a container), so it imports nothing from
trajkit. Protocol, one JSON object per line:

* host → worker: ``{"op": "init", "tools": [{"name", "doc"}]}`` once, then
  ``{"op": "exec", "id", "code", "timeout"}`` per cell and ``{"op": "tool_result", "id", "ok",
  "value" | "error"[, "end"][, "timeout"]}`` answering a tool call;
* worker → host: ``{"op": "ready"}``, ``{"op": "tool_call", "id", "name", "args", "kwargs"}``
  while a cell runs, and ``{"op": "result", "id", "output", "truncated", "error", "duration",
  "ended"}`` with every field present, within the limits below (the host checks each one: the
  code in a cell can reach this process's channel and write anything).

The protocol travels on private duplicates of the original stdin/stdout; fds 1 and 2 are
re-pointed at a pipe so output from C code and subprocesses is captured and capped too.
A cell over its timeout is interrupted (KeyboardInterrupt, like Jupyter's interrupt): the
interpreter and the variables defined before the cell survive. One thread reads everything
the host sends after the first command (see :class:`Channel`), so threads a cell leaves behind
can keep calling tools without ever taking the host's next command; the same thread drains
the output pipe.

Why ``_thread`` and ``_queue`` and never ``threading``: importing ``threading`` registers an
at-fork hook (``threading._after_fork``) that Python runs in every child it forks, and every
sandbox is a clone of a process that loaded this module. That hook's Python (new locks, a
walk of the thread registry) cost each fresh sandbox ~0.3 ms in the clone, ~0.2 ms and ~55
copy-on-write faults net of the pages later steps would have copied anyway (A/B). A cell
that imports ``threading`` gets it as any program does; its main thread is the cell's.
"""

import _thread
import ast
import builtins
import codecs
import fcntl
import importlib
import json
import linecache
import os
import select
import signal
import sys
import termios
import time
import traceback
from _queue import SimpleQueue  # not queue.py: it imports threading

DEFAULT_OUTPUT_LIMIT = 65536
#: Largest tool call, in bytes of JSON arguments. Beyond it the call raises in the cell
#: instead of sending a line the host would refuse as oversized (killing this worker).
TOOL_ARGS_LIMIT = 1 << 20
#: Deepest nesting of tool arguments (the argument list is level 1): deeper ones raise in the
#: cell, because the host refuses them as corrupt (its parser and checks recurse).
TOOL_ARGS_DEPTH = 100
#: Caps on the error fields of a result; the host refuses longer ones as forged.
ERROR_TYPE_CHARS = 200
ERROR_MESSAGE_CHARS = 500
#: Output that threads or processes of earlier cells printed between two cells is shown at
#: the start of the next cell's output, labelled, at most this long (head and tail kept).
LEFTOVER_CHARS = 2000


def _background(target) -> None:
    """Run ``target`` in a daemon thread of the bare ``_thread`` kind: a ``threading.Thread``
    costs four times the CPU to start (its objects, and a wait until it has started), paid by
    every sandbox. The worker leaves by ``os._exit``, so nothing ever joins these threads."""
    _thread.start_new_thread(target, ())


class BoundedOutput:
    """Keeps the first and last ``limit/2`` characters of a cell's output and counts the rest."""

    def __init__(self, limit: int) -> None:
        self.half = max(limit // 2, 1)
        self.lock = _thread.allocate_lock()
        self.reset()

    def reset(self) -> None:
        self.head: list[str] = []
        self.head_len = 0
        self.tail: list[str] = []
        self.tail_len = 0
        self.dropped = 0

    def write(self, text: str) -> int:
        n = len(text)
        with self.lock:
            room = self.half - self.head_len
            if room > 0:
                part = text[:room]
                self.head.append(part)
                self.head_len += len(part)
                text = text[room:]
            if text:
                self.tail.append(text)
                self.tail_len += len(text)
                if self.tail_len > 2 * self.half:
                    joined = "".join(self.tail)
                    cut = len(joined) - self.half
                    self.dropped += cut
                    self.tail = [joined[cut:]]
                    self.tail_len = self.half
        return n

    def take(self) -> tuple[str, int]:
        with self.lock:
            tail = "".join(self.tail)
            if self.tail_len > self.half:
                cut = self.tail_len - self.half
                self.dropped += cut
                tail = tail[cut:]
            text, dropped = "".join(self.head) + tail, self.dropped
            self.reset()
        if dropped:
            cut_at = min(len(text), self.half)
            text = f"{text[:cut_at]}\n[... {dropped} characters of output cut ...]\n{text[cut_at:]}"
        return text, dropped


class CellStream:
    """``sys.stdout``/``sys.stderr`` replacement writing straight into the bounded buffer."""

    encoding = "utf-8"
    errors = "replace"

    def __init__(self, sink: BoundedOutput) -> None:
        self.sink = sink

    def write(self, text) -> int:
        if type(text) is not str:
            if not isinstance(text, str):
                raise TypeError(f"write() argument must be str, not {type(text).__name__}")
            # A str subclass's methods are the cell's code; the buffer slices and measures
            # what it keeps, so it keeps a plain copy (a broken buffer would kill the worker).
            text = str.__str__(text)
        return self.sink.write(text)

    def writelines(self, lines) -> None:
        for line in lines:
            self.write(line)

    def flush(self) -> None:
        pass

    def isatty(self) -> bool:
        return False

    def fileno(self) -> int:
        return 1

    def readable(self) -> bool:
        return False

    def writable(self) -> bool:
        return True


class PendingCall:
    """One tool call waiting for its reply: the pump thread fills ``reply``, then releases
    ``done`` (a lock held from the start, so ``wait`` is one acquire: cheaper than an Event)."""

    __slots__ = ("done", "reply")

    def __init__(self) -> None:
        self.done = _thread.allocate_lock()
        self.done.acquire()
        self.reply: dict | None = None

    def wait(self) -> None:
        self.done.acquire()

    def finish(self, reply: dict | None) -> None:
        self.reply = reply
        self.done.release()


class Channel:
    """The protocol endpoint on private fds.

    Writes are serialised across threads. Once the first command (``init``) is answered,
    reads happen on one thread only, the pump (:meth:`pump`), which routes every frame: a
    ``tool_result`` to the thread waiting for that call id, anything else (``init``,
    ``exec``) to the main loop's queue. Why: when every caller read for itself, a thread
    still calling tools after its cell ended could read the host's next ``exec`` (and drop it
    as not its reply), so that cell never ran and the worker was killed as hung; and a cell
    interrupted by its timer in the middle of a read lost the part of the line already read.
    The pump is never interrupted (Python runs signal handlers in the main thread only); the
    main thread waits on a queue, which an interrupt leaves intact. The first command is read
    by the main thread itself (:meth:`first`): no cell has run yet, so nothing can race it,
    and the start-up handshake skips a hand-over between two threads.

    The same thread also drains the output-capture pipe (``FdCapture``): one thread per
    sandbox instead of two, as both only wait on a file descriptor.
    """

    def __init__(self) -> None:
        self.rfd = os.dup(0)
        self.wfd = os.dup(1)
        self.pending = bytearray()  # bytes of a frame not yet whole
        self.wlock = _thread.allocate_lock()
        self.commands: SimpleQueue = SimpleQueue()
        self.calls_lock = _thread.allocate_lock()
        self.calls: dict[int, PendingCall] = {}
        self.next_id = 0
        self.closed = False
        self.started = False

    def start(self, capture: "FdCapture") -> None:
        """Hand reading over to the pump thread (it drains ``capture`` too)."""
        self.started = True
        _background(lambda: self.pump(capture))

    def send(self, msg: dict) -> None:
        self.send_line(json.dumps(msg, default=repr))

    def send_line(self, line: str) -> None:
        """Write one frame; ``line`` is JSON with ASCII escapes (``json.dumps``'s default)."""
        data = (line + "\n").encode()
        with self.wlock:
            view = memoryview(data)
            while view:
                n = os.write(self.wfd, view)
                view = view[n:]

    def first(self) -> dict | None:
        """The host's first command, read on the main thread before the pump exists (None:
        the host closed the channel). Bytes after it stay in ``pending`` for the pump."""
        while True:
            newline = self.pending.find(b"\n")
            if newline >= 0:
                line = bytes(self.pending[: newline + 1])
                del self.pending[: newline + 1]
                msg = _command(line)
                if msg is not None and msg.get("op") != "tool_result":  # no call is open yet
                    return msg
                continue
            try:
                chunk = os.read(self.rfd, 65536)
            except KeyboardInterrupt:
                continue  # a signal before any cell: nothing to interrupt, no byte lost
            except OSError:
                chunk = b""
            if not chunk:
                msg = _command(bytes(self.pending)) if self.pending else None
                self.pending.clear()
                if msg is not None and msg.get("op") != "tool_result":
                    self.commands.put(msg)
                self.commands.put(None)
                return self.commands.get()
            self.pending += chunk

    def recv(self) -> dict | None:
        """The next command for the main loop; None once the host has closed the channel."""
        return self.commands.get()

    def open_call(self) -> tuple[int, PendingCall] | None:
        """Register a tool call before its frame goes out (None: the host is gone)."""
        call = PendingCall()
        with self.calls_lock:
            if self.closed:
                return None
            self.next_id += 1
            self.calls[self.next_id] = call
            return self.next_id, call

    def close_call(self, call_id: int) -> None:
        """Forget a call; a reply arriving later (the caller was interrupted) is dropped."""
        with self.calls_lock:
            self.calls.pop(call_id, None)

    def pump(self, capture: "FdCapture") -> None:
        """The reading thread: frames from the host, output from the capture pipe."""
        poller = select.poll()
        poller.register(self.rfd, select.POLLIN)
        poller.register(capture.read_fd, select.POLLIN)
        watched = 2
        if self.pending:
            self._frames(b"")  # what arrived with the first command
        while watched:
            for fd, _ in poller.poll():
                if fd == capture.read_fd and not capture.drain_once():
                    poller.unregister(fd)  # end of file, or the cell closed our end
                    watched -= 1
                elif fd == self.rfd and not self._read_once():
                    poller.unregister(fd)  # the host is gone: keep draining till the exit
                    watched -= 1

    def _read_once(self) -> bool:
        """Route the frames one read completes; False once the channel is closed."""
        try:
            chunk = os.read(self.rfd, 65536)
        except OSError:  # the code closed or replaced our fd: as if closed
            chunk = b""
        if chunk:
            self._frames(chunk)
            return True
        if self.pending:  # a last frame without its newline, as ``readline`` would give it
            line, self.pending = bytes(self.pending), bytearray()
            self._route(line)
        with self.calls_lock:
            self.closed = True
            waiting, self.calls = list(self.calls.values()), {}
        for call in waiting:
            call.finish(None)  # no reply: the caller sees the host is gone
        self.commands.put(None)
        return False

    def _frames(self, chunk: bytes) -> None:
        self.pending += chunk
        if b"\n" not in chunk and chunk:
            return
        *lines, rest = bytes(self.pending).split(b"\n")
        self.pending = bytearray(rest)
        for line in lines:
            self._route(line)

    def _route(self, line: bytes) -> None:
        msg = _command(line)
        if msg is None:
            return
        if msg.get("op") == "tool_result":
            call_id = msg.get("id")
            with self.calls_lock:
                call = self.calls.pop(call_id, None) if isinstance(call_id, int) else None
            if call is not None:
                call.finish(msg)
        else:
            self.commands.put(msg)


def _command(line: bytes) -> dict | None:
    """One frame as a dict, or None for anything else: not the host's (the code can open
    this pipe via /proc), so no command."""
    try:
        msg = json.loads(line)
    except ValueError:
        return None
    return msg if isinstance(msg, dict) else None


class FdCapture:
    """Points fds 1/2 at a pipe drained into ``sink`` (C-level and subprocess output).

    The channel's pump thread drains the pipe, so that output reaches the buffer a moment
    after it was written. ``settle()`` waits for what is already in the pipe at the end of a
    cell: output the cell itself printed must not arrive in the next cell, labelled as
    written after it. The /dev/null opened for fd 0 is kept as ``stdin_fd``, for
    ``sys.stdin`` (one open instead of two).
    """

    def __init__(self, sink: BoundedOutput) -> None:
        self.sink = sink
        self.busy = False  # the pump holds bytes not yet in the buffer
        self.decoder: codecs.IncrementalDecoder | None = None
        self.read_fd, write_fd = os.pipe()
        self.stdin_fd = os.open(os.devnull, os.O_RDONLY)
        os.dup2(self.stdin_fd, 0)
        os.dup2(write_fd, 1)
        os.dup2(write_fd, 2)
        os.close(write_fd)

    def drain_once(self) -> bool:
        """Move what the pipe holds into the buffer; False at its end (or if the cell
        closed our end). Says ``busy`` before reading: bytes are always either still in the
        pipe or flagged, never invisible to settle()."""
        self.busy = True
        try:
            chunk = os.read(self.read_fd, 65536)
            if not chunk:
                return False
            if self.decoder is None:
                # Incremental: a character split between two reads is decoded whole.
                self.decoder = codecs.getincrementaldecoder("utf-8")("replace")
            self.sink.write(self.decoder.decode(chunk))
            return True
        except OSError:
            return False
        finally:
            self.busy = False

    def settle(self, limit: float = 0.05) -> None:
        """Wait up to ``limit`` seconds for the pipe's content to reach the buffer; one
        ``ioctl`` when the pipe is already empty (it replaces a ``sleep(0)`` here)."""
        deadline = 0.0
        while True:
            try:
                pending = fcntl.ioctl(self.read_fd, termios.FIONREAD, b"\0\0\0\0")
            except OSError:  # the cell closed our end: nothing more will come through it
                return
            if pending == b"\0\0\0\0" and not self.busy:
                return
            if not deadline:
                deadline = time.monotonic() + limit
            elif time.monotonic() > deadline:
                return  # a thread of the cell's writes without pause: the rest comes later
            time.sleep(0.0002)


#: The matplotlib backend the worker gives teacher code: Agg, whose ``show()`` writes one
#: line per figure into the observation (``[figure: 1 axes, 640x480]``), as a notebook would
#: show the image, then closes them (a notebook's inline backend closes shown figures too).
FIGURE_BACKEND = "trajkit_figures"
#: What the sandbox's environment sets ``MPLBACKEND`` to (``environment.sandbox_env``); only
#: this value is replaced, so a teacher who sets ``MPLBACKEND`` gets what it asked for.
SANDBOX_MPLBACKEND = "Agg"


def describe_figure(figure) -> str:
    """``[figure: 1 axes, 640x480]``: what ``plt.show()`` puts in the observation."""
    try:
        width, height = (round(v * figure.dpi) for v in figure.get_size_inches())
        return f"[figure: {len(figure.axes)} axes, {width}x{height}]"
    except Exception:
        return "[figure]"


def _figure_backend_module():
    """The module ``module://trajkit_figures`` names, built in memory (no file in the sandbox):
    matplotlib's Agg canvas with a figure manager whose ``show`` describes the figure.

    Its canvas classes are made on first access (module ``__getattr__``), by matplotlib
    itself when it loads the backend, so nothing here imports matplotlib before the cell did.
    """
    import types

    module = types.ModuleType(FIGURE_BACKEND, "Agg; show() describes each figure in the output")

    def make_classes() -> None:
        # By name: matplotlib is the sandbox's, not this process's (or the type checker's).
        bases = importlib.import_module("matplotlib.backend_bases")
        agg = importlib.import_module("matplotlib.backends.backend_agg")

        def show_one(manager) -> None:  # ``fig.show()``: describe it, keep it
            print(describe_figure(manager.canvas.figure))

        manager_class = type("FigureManager", (bases.FigureManagerBase,), {"show": show_one})
        canvas_class = type("FigureCanvas", (agg.FigureCanvasAgg,), {"manager_class": manager_class})
        setattr(module, "FigureManager", manager_class)  # noqa: B010 - a module built here
        setattr(module, "FigureCanvas", canvas_class)  # noqa: B010

    def __getattr__(name):
        if name in ("FigureCanvas", "FigureManager"):
            make_classes()
            return module.__dict__[name]
        raise AttributeError(f"module {FIGURE_BACKEND!r} has no attribute {name!r}")

    def show(*args, **kwargs) -> None:
        """``plt.show()``: one line per open figure, then close them all."""
        gcf = importlib.import_module("matplotlib._pylab_helpers").Gcf
        managers = gcf.get_all_fig_managers()
        for manager in managers:
            print(describe_figure(manager.canvas.figure))
        if managers:
            gcf.destroy_all()

    setattr(module, "__getattr__", __getattr__)  # noqa: B010 - PEP 562, on a built module
    setattr(module, "show", show)  # noqa: B010
    return module


class MatplotlibHook:
    """An import hook that only acts on the first ``import matplotlib`` of a cell.

    It finds matplotlib as the other finders would, and makes it pick ``FIGURE_BACKEND``
    while it initialises (``MPLBACKEND`` is read then), restoring ``Agg`` for subprocesses
    right after. Then it removes itself. Until then it costs one string comparison per new
    import; a cell that never imports matplotlib never loads any of it.
    """

    def find_spec(self, name, path=None, target=None):
        if name != "matplotlib":
            return None
        try:
            sys.meta_path.remove(self)
        except ValueError:
            pass
        spec = None
        for finder in list(sys.meta_path):
            find = getattr(finder, "find_spec", None)
            if find is not None:
                spec = find(name, path, target)
                if spec is not None:
                    break
        loader = getattr(spec, "loader", None)
        exec_module = getattr(loader, "exec_module", None)
        if exec_module is None:
            return spec

        def exec_with_backend(module) -> None:
            if os.environ.get("MPLBACKEND") != SANDBOX_MPLBACKEND:
                exec_module(module)
                return
            sys.modules.setdefault(FIGURE_BACKEND, _figure_backend_module())
            os.environ["MPLBACKEND"] = f"module://{FIGURE_BACKEND}"
            try:
                exec_module(module)
            finally:
                os.environ["MPLBACKEND"] = SANDBOX_MPLBACKEND

        setattr(loader, "exec_module", exec_with_backend)  # noqa: B010 - this spec's own loader
        return spec


class EpisodeOver(BaseException):
    """Unwinds a cell whose tool call ended the episode; a BaseException so that the
    teacher's ``except Exception`` cannot swallow it and keep acting on a finished game."""


def _type_name(obj: object) -> str:
    """``type(obj).__name__`` as a plain str, without running any code of the cell's classes.

    Read through ``type``'s own descriptor: a metaclass of the cell's could define
    ``__name__`` as a property that raises (and the name itself may be a str subclass).
    """
    try:
        name = type.__dict__["__name__"].__get__(type(obj))
        return str.__str__(name)[:ERROR_TYPE_CHARS] or "?"
    except BaseException:
        return "?"


def _safe_text(obj: object) -> str:
    """``str(obj)`` as a plain str, or a placeholder when the object's ``__str__`` fails.

    The object's class may be the cell's: its ``__str__`` can raise, return a str subclass
    with methods of its own, or ``sys.exit()``. Reporting the cell must survive all of them,
    or the worker dies and the teacher loses its variables instead of reading a traceback.
    """
    try:
        return str.__str__(str(obj))
    except BaseException:
        return f"<{_type_name(obj)} object: str() failed>"


def _clip(text: str, limit: int) -> str:
    """``text`` with its middle cut to keep at most ``limit`` characters (plus a marker)."""
    if len(text) <= limit:
        return text
    half = limit // 2
    return f"{text[:half]}\n[... {len(text) - 2 * half} characters cut ...]\n{text[-half:]}"


def _nesting(value: object, limit: int) -> int:
    """How deeply lists/dicts nest in ``value`` (a list is 1), counting no further than
    ``limit + 1``; iterative, so a deep value cannot exhaust the stack here."""
    deepest = 0
    stack = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, dict):
            children = list(item.values())
        elif isinstance(item, (list, tuple)):
            children = list(item)
        else:
            continue
        deepest = max(deepest, depth)
        if deepest > limit:
            break
        stack.extend((child, depth + 1) for child in children)
    return deepest


class Interpreter:
    """Runs cells in one persistent namespace, Jupyter-style."""

    def __init__(self, channel: Channel, sink: BoundedOutput, capture: FdCapture) -> None:
        self.channel = channel
        self.sink = sink
        self.capture = capture
        self.ns: dict = {"__name__": "__main__", "__builtins__": builtins}
        self.cell = 0
        self.main_thread = _thread.get_ident()
        self.timed_out = False
        self.sending = False  # the main thread is writing a frame: the timer waits for it
        self.interrupt_pending = False
        self.ended = False

    def add_tool(self, name: str, doc: str) -> None:
        def tool(*args, **kwargs):
            return self.call_tool(name, list(args), kwargs)

        tool.__name__ = tool.__qualname__ = name
        tool.__doc__ = doc
        self.ns[name] = tool

    def _tool_frame(self, name: str, args: list, kwargs: dict) -> str:
        """The ``tool_call`` line after its id, checked against the host's limits.

        Encoded once, here, so that what is measured is what is sent; an argument the host
        would refuse (too large, too deep) raises in the cell that passed it.
        """
        try:
            encoded_args = json.dumps(args)
            encoded_kwargs = json.dumps(kwargs)
        except RecursionError:
            raise ValueError(f"{name}(): arguments nested too deeply to send") from None
        except (TypeError, ValueError) as exc:
            raise TypeError(f"{name}(): arguments must be JSON-serialisable ({exc})") from None
        size = len(encoded_args) + len(encoded_kwargs)
        if size > TOOL_ARGS_LIMIT:
            raise ValueError(
                f"{name}(): the arguments are {size:,} bytes as JSON; a host tool call takes "
                f"at most {TOOL_ARGS_LIMIT:,}"
            )
        brackets = encoded_args.count("[") + encoded_args.count("{")
        brackets += encoded_kwargs.count("[") + encoded_kwargs.count("{")
        if brackets > TOOL_ARGS_DEPTH and max(
            _nesting(args, TOOL_ARGS_DEPTH), _nesting(kwargs, TOOL_ARGS_DEPTH)
        ) > TOOL_ARGS_DEPTH:
            raise ValueError(
                f"{name}(): arguments nest deeper than {TOOL_ARGS_DEPTH} levels of lists/dicts"
            )
        return f', "name": {json.dumps(name)}, "args": {encoded_args}, "kwargs": {encoded_kwargs}}}'

    def call_tool(self, name: str, args: list, kwargs: dict):
        if self.ended:
            raise EpisodeOver
        rest = self._tool_frame(name, args, kwargs)
        opened = self.channel.open_call()
        if opened is None:
            os._exit(0)  # the host is gone
        call_id, call = opened
        try:
            on_main = _thread.get_ident() == self.main_thread
            if on_main:
                self.sending = True
            try:
                self.channel.send_line(f'{{"op": "tool_call", "id": {call_id}{rest}')
            finally:
                if on_main:
                    self.sending = False
            if on_main and self.interrupt_pending:
                self.interrupt_pending = False
                raise KeyboardInterrupt
            call.wait()
        finally:
            self.channel.close_call(call_id)
        msg = call.reply
        if msg is None:
            os._exit(0)  # the host closed the channel while we waited
        if msg.get("end"):
            # The environment ended the episode: show its last words and stop the cell now.
            self.ended = True
            self.sink.write(f"{msg.get('value', '')}\n")
            raise EpisodeOver
        if msg.get("timeout"):
            # The cell's time ran out while the host was answering: in the cell's own thread
            # that is the cell's interrupt; a thread the cell left running gets an exception.
            if _thread.get_ident() == self.main_thread:
                self.timed_out = True
                raise KeyboardInterrupt
            raise TimeoutError(f"{name}(): {msg.get('error', 'the cell ran out of time')}")
        if not msg.get("ok"):
            raise RuntimeError(f"{name}() failed: {msg.get('error', 'unknown error')}")
        return msg.get("value")

    def _on_alarm(self, signum, frame) -> None:
        """The cell's time is up: interrupt it like Jupyter's interrupt (KeyboardInterrupt).

        A timer signal rather than a watchdog thread, so a cell that used up the process
        limit (a fork bomb) can still be interrupted and the next cell still runs. If the
        main thread is in the middle of writing a frame, the interrupt waits until the frame
        is whole: half a line on the channel would make the host kill the worker.
        """
        self.timed_out = True
        if self.sending:
            self.interrupt_pending = True
            return
        raise KeyboardInterrupt

    def run(self, code: str, timeout: float) -> dict:
        # Whatever arrived since the last cell's output was taken was printed by threads or
        # processes an earlier cell left running: show it first, labelled, so it is neither
        # lost nor mistaken for this cell's output.
        leftover, _ = self.sink.take()
        if leftover:
            if not leftover.endswith("\n"):
                leftover += "\n"
            self.sink.write(
                f"[printed after cell {self.cell} ended, by code still running from an earlier "
                f"cell:]\n{_clip(leftover, LEFTOVER_CHARS)}[end of that output; this cell's "
                "output follows]\n"
            )
        self.cell += 1
        name = f"<cell-{self.cell}>"
        linecache.cache[name] = (len(code), None, code.splitlines(True), name)
        self.timed_out = self.interrupt_pending = False
        error = None
        start = time.perf_counter()
        signal.signal(signal.SIGALRM, self._on_alarm)
        try:
            if timeout and timeout > 0:
                signal.setitimer(signal.ITIMER_REAL, timeout)
            try:
                self._execute(code, name)
            finally:
                signal.setitimer(signal.ITIMER_REAL, 0)
        except KeyboardInterrupt:
            if self.timed_out:
                error = {
                    "kind": "timeout",
                    "type": "TimeoutError",
                    "message": f"cell interrupted after {timeout:g} s; variables defined before it are kept",
                }
                self.sink.write(f"TimeoutError: execution exceeded {timeout:g} s and was interrupted\n")
            else:
                # Inside this except block exc_info() holds the interrupt, never None (no local
                # binding, so no exception -> traceback -> frame cycle keeps the cell alive).
                error = self._report(sys.exc_info()[1], "exception")  # type: ignore[arg-type]
        except EpisodeOver:
            pass  # not the code's fault: the environment finished the episode mid-cell
        except SystemExit as exc:
            error = self._report_exit(exc)
        except SyntaxError as exc:
            error = self._report(exc, "syntax")
        except BaseException as exc:
            error = self._report(exc, "exception")
        duration = time.perf_counter() - start
        for stream in (sys.__stdout__, sys.__stderr__):
            try:
                # Typed Optional (None if Python started without it, or if the cell set it so).
                stream.flush()  # type: ignore[union-attr]
            except Exception:  # closed, or replaced by the cell: nothing of ours to flush
                pass
        self.capture.settle()
        output, dropped = self.sink.take()
        return {
            "output": output,
            "truncated": dropped,
            "error": error,
            "duration": duration,
            "ended": self.ended,
        }

    def _execute(self, code: str, name: str) -> None:
        tree = ast.parse(code, name, "exec")
        last = None
        if tree.body and isinstance(tree.body[-1], ast.Expr):
            # The isinstance check above makes the popped statement an ast.Expr.
            last = ast.Expression(tree.body.pop().value)  # type: ignore[attr-defined]
        if tree.body:
            exec(compile(tree, name, "exec"), self.ns)
        if last is not None:
            value = eval(compile(last, name, "eval"), self.ns)
            if value is not None:
                self.ns["_"] = value
                # A plain copy: a __repr__ of the cell's may return a str subclass.
                self.sink.write(str.__str__(repr(value)) + "\n")

    def _report_exit(self, exc: SystemExit) -> dict:
        """``sys.exit(code)`` in a cell: reported, the interpreter kept."""
        try:
            code = exc.code
        except BaseException:  # a subclass's ``code`` property: the cell's code
            code = "?"
        text = _safe_text(code)
        self.sink.write(f"SystemExit: {text}\n")
        return {"kind": "exception", "type": "SystemExit", "message": text[:ERROR_MESSAGE_CHARS]}

    def _report(self, exc: BaseException, kind: str) -> dict:
        """Write a compact IPython-style traceback that hides the worker's own frames.

        Never raises: the exception is the cell's object (its ``__str__``, ``__notes__``,
        even its traceback attribute can be the cell's code), so if formatting it fails the
        report falls back to its type name and a guarded ``str()``.
        """
        syntax = issubclass(type(exc), SyntaxError)
        try:
            text = self._format(exc, syntax)
        except BaseException:
            text = f"{_type_name(exc)}: {_safe_text(exc)}\n"
        self.sink.write(text)
        if syntax:
            try:
                message = _safe_text(exc.msg or "")  # type: ignore[attr-defined]
            except BaseException:
                message = _safe_text(exc)
        else:
            message = _safe_text(exc)
        return {"kind": kind, "type": _type_name(exc), "message": message[:ERROR_MESSAGE_CHARS]}

    def _format(self, exc: BaseException, syntax: bool) -> str:
        if syntax:
            lines = traceback.format_exception_only(type(exc), exc)
            return "".join(lines).replace(f'File "<cell-{self.cell}>"', f"Cell In[{self.cell}]")
        frames = [f for f in traceback.extract_tb(exc.__traceback__) if f.filename != __file__][-8:]
        parts = [f"{_type_name(exc):<42}Traceback (most recent call last)\n"]
        for frame in frames:
            if frame.filename.startswith("<cell-"):
                where = f"Cell In[{frame.filename[6:-1]}], line {frame.lineno}"
            else:
                where = f"File {frame.filename}:{frame.lineno}, in {frame.name}"
            parts.append(f"{where}\n----> {frame.lineno} {(frame.line or '').strip()}\n")
        parts.append("".join(traceback.format_exception_only(type(exc), exc)))
        return str.__str__("".join(parts))

    def salvage(self, exc: BaseException) -> dict:
        """A result for a cell whose reporting itself failed, so the worker lives on.

        Reached when the cell broke something of the worker's own that reporting needs (it
        can reach every object in this process), or an interrupt landed after the cell.
        """
        try:
            output, dropped = self.sink.take()
        except BaseException:
            output, dropped = "", 0
        error = None
        if not isinstance(exc, KeyboardInterrupt):  # a late interrupt: the cell had finished
            error = {
                "kind": "exception",
                "type": _type_name(exc),
                "message": f"the cell's result could not be reported: {_safe_text(exc)}"[
                    :ERROR_MESSAGE_CHARS
                ],
            }
        return {
            "output": output if type(output) is str else "",
            "truncated": dropped if type(dropped) is int else 0,
            "error": error,
            "duration": 0.0,
            "ended": self.ended is True,
        }


def _exit(code=None):
    """``exit()``/``quit()`` as the site module would define them."""
    raise SystemExit(code)


_prepared = False


def prepare() -> None:
    """What every worker's interpreter starts with, whatever runs it: ``exit()``/``quit()``
    and the matplotlib hook. The fork server's spawner calls it once for every sandbox it
    clones (each gets its own copy); :func:`main` calls it when nothing has."""
    global _prepared
    if _prepared:
        return
    _prepared = True
    if not hasattr(builtins, "exit"):  # started without the site module (fork server)
        # Deliberate: define exit()/quit() as the site module would.
        builtins.exit = builtins.quit = _exit  # type: ignore[assignment]
    sys.meta_path.insert(0, MatplotlibHook())


def main(output_limit: int | None = None) -> None:
    """Serve cells on fds 0/1 until the host closes the channel.

    Also the entry point the fork server calls inside a fresh sandbox (with the output limit
    its spawner took out of the environment), so it reads its settings only now, not at
    import time.
    """
    limit = output_limit
    if limit is None:
        limit = int(os.environ.pop("TRAJKIT_OUTPUT_LIMIT", DEFAULT_OUTPUT_LIMIT))
    prepare()
    channel = Channel()
    sink = BoundedOutput(limit)
    capture = FdCapture(sink)
    sys.stdout = CellStream(sink)
    sys.stderr = CellStream(sink)
    sys.stdin = open(capture.stdin_fd)
    interpreter = Interpreter(channel, sink, capture)
    msg = channel.first()
    while True:
        if msg is None:
            # The host closed the channel. Exit now, without waiting for threads the code
            # left running (interpreter shutdown would join them, possibly forever).
            os._exit(0)
        op = msg.get("op")
        if op == "init":
            for tool in msg.get("tools", []):
                interpreter.add_tool(tool["name"], tool.get("doc", ""))
            channel.send({"op": "ready", "pid": os.getpid(), "python": sys.version.split()[0]})
        elif op == "exec":
            if not channel.started:  # a cell before init: it needs the pump from its start
                channel.start(capture)
            try:
                result = interpreter.run(msg["code"], float(msg.get("timeout") or 0))
            except BaseException as exc:  # an interrupt landing late, or a broken report
                result = interpreter.salvage(exc)
            result.update(op="result", id=msg.get("id"))
            channel.send(result)
        if not channel.started:
            # After the first answer (``ready``), off the host's wait; before any cell runs.
            channel.start(capture)
        while True:
            try:
                msg = channel.recv()
                break
            except KeyboardInterrupt:
                continue  # a signal between cells (a thread of the code's): nothing to interrupt


if __name__ == "__main__":
    main()
