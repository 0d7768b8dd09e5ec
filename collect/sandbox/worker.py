"""The sandbox worker: a persistent Python interpreter driven by JSON lines (stdlib only).

It runs inside the sandbox (local namespaces or a container), so it imports nothing from
trajkit. Protocol, one JSON object per line:

* host → worker: ``{"op": "init", "tools": [{"name", "doc"}]}`` once, then
  ``{"op": "exec", "id", "code", "timeout"}`` per cell and ``{"op": "tool_result", "id", "ok",
  "value" | "error"}`` answering a tool call;
* worker → host: ``{"op": "ready"}``, ``{"op": "tool_call", "id", "name", "args", "kwargs"}``
  while a cell runs, and ``{"op": "result", "id", "output", "truncated", "error", "duration"}``.

The protocol travels on private duplicates of the original stdin/stdout; fds 1 and 2 are
re-pointed at a pipe so output from C code and subprocesses is captured and capped too.
A cell over its timeout is interrupted (KeyboardInterrupt, like Jupyter's interrupt): the
interpreter and the variables defined before the cell survive.
"""

import ast
import builtins
import json
import linecache
import os
import signal
import sys
import threading
import time
import traceback

DEFAULT_OUTPUT_LIMIT = 65536


class BoundedOutput:
    """Keeps the first and last ``limit/2`` characters of a cell's output and counts the rest."""

    def __init__(self, limit: int) -> None:
        self.half = max(limit // 2, 1)
        self.lock = threading.Lock()
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
        if not isinstance(text, str):
            raise TypeError(f"write() argument must be str, not {type(text).__name__}")
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


class Channel:
    """The protocol endpoint on private fds; writes are serialised across threads."""

    def __init__(self) -> None:
        self.rfile = os.fdopen(os.dup(0), "rb", buffering=1 << 16)
        self.wfd = os.dup(1)
        self.wlock = threading.Lock()

    def send(self, msg: dict) -> None:
        data = (json.dumps(msg, default=repr) + "\n").encode()
        with self.wlock:
            view = memoryview(data)
            while view:
                n = os.write(self.wfd, view)
                view = view[n:]

    def recv(self) -> dict | None:
        line = self.rfile.readline()
        if not line:
            return None
        return json.loads(line)


def _capture_fds(sink: BoundedOutput) -> None:
    """Point fds 1/2 at a pipe drained into ``sink`` (C-level and subprocess output)."""
    read_fd, write_fd = os.pipe()
    devnull = os.open(os.devnull, os.O_RDONLY)
    os.dup2(devnull, 0)
    os.dup2(write_fd, 1)
    os.dup2(write_fd, 2)
    os.close(write_fd)
    os.close(devnull)

    def drain() -> None:
        while True:
            chunk = os.read(read_fd, 65536)
            if not chunk:
                return
            sink.write(chunk.decode("utf-8", "replace"))

    threading.Thread(target=drain, name="trajkit-fd-drain", daemon=True).start()


class EpisodeOver(BaseException):
    """Unwinds a cell whose tool call ended the episode; a BaseException so that the
    teacher's ``except Exception`` cannot swallow it and keep acting on a finished game."""


class Interpreter:
    """Runs cells in one persistent namespace, Jupyter-style."""

    def __init__(self, channel: Channel, sink: BoundedOutput) -> None:
        self.channel = channel
        self.sink = sink
        self.ns: dict = {"__name__": "__main__", "__builtins__": builtins}
        self.cell = 0
        self.tool_lock = threading.Lock()
        self.tool_seq = 0
        self.timed_out = False
        self.ended = False

    def add_tool(self, name: str, doc: str) -> None:
        def tool(*args, **kwargs):
            return self.call_tool(name, list(args), kwargs)

        tool.__name__ = tool.__qualname__ = name
        tool.__doc__ = doc
        self.ns[name] = tool

    def call_tool(self, name: str, args: list, kwargs: dict):
        if self.ended:
            raise EpisodeOver
        with self.tool_lock:
            self.tool_seq += 1
            call_id = self.tool_seq
            try:
                json.dumps([args, kwargs])
            except (TypeError, ValueError) as exc:
                raise TypeError(f"{name}(): arguments must be JSON-serialisable ({exc})") from None
            self.channel.send(
                {"op": "tool_call", "id": call_id, "name": name, "args": args, "kwargs": kwargs}
            )
            while True:
                msg = self.channel.recv()
                if msg is None:
                    os._exit(0)
                if msg.get("op") == "tool_result" and msg.get("id") == call_id:
                    break
        if msg.get("end"):
            # The environment ended the episode: show its last words and stop the cell now.
            self.ended = True
            self.sink.write(f"{msg.get('value', '')}\n")
            raise EpisodeOver
        if not msg.get("ok"):
            raise RuntimeError(f"{name}() failed: {msg.get('error', 'unknown error')}")
        return msg.get("value")

    def _on_alarm(self, signum, frame) -> None:
        """The cell's time is up: interrupt it like Jupyter's interrupt (KeyboardInterrupt).

        A timer signal rather than a watchdog thread, so a cell that used up the process
        limit (a fork bomb) can still be interrupted and the next cell still runs.
        """
        self.timed_out = True
        raise KeyboardInterrupt

    def run(self, code: str, timeout: float) -> dict:
        self.cell += 1
        name = f"<cell-{self.cell}>"
        linecache.cache[name] = (len(code), None, code.splitlines(True), name)
        self.timed_out = False
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
            error = {"kind": "exception", "type": "SystemExit", "message": str(exc.code)}
            self.sink.write(f"SystemExit: {exc.code}\n")
        except SyntaxError as exc:
            error = self._report(exc, "syntax")
        except BaseException as exc:
            error = self._report(exc, "exception")
        duration = time.perf_counter() - start
        for stream in (sys.__stdout__, sys.__stderr__):
            try:
                # Typed Optional (None if Python started without it); left unguarded as before.
                stream.flush()  # type: ignore[union-attr]
            except (OSError, ValueError):
                pass
        time.sleep(0)  # let the fd drain thread catch up with what is already in the pipe
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
                self.sink.write(repr(value) + "\n")

    def _report(self, exc: BaseException, kind: str) -> dict:
        """Write a compact IPython-style traceback that hides the worker's own frames."""
        if isinstance(exc, SyntaxError):
            lines = traceback.format_exception_only(type(exc), exc)
            text = "".join(lines).replace(f'File "<cell-{self.cell}>"', f"Cell In[{self.cell}]")
        else:
            frames = [
                f for f in traceback.extract_tb(exc.__traceback__) if f.filename != __file__
            ][-8:]
            parts = [f"{type(exc).__name__:<42}Traceback (most recent call last)\n"]
            for frame in frames:
                if frame.filename.startswith("<cell-"):
                    where = f"Cell In[{frame.filename[6:-1]}], line {frame.lineno}"
                else:
                    where = f"File {frame.filename}:{frame.lineno}, in {frame.name}"
                parts.append(f"{where}\n----> {frame.lineno} {(frame.line or '').strip()}\n")
            parts.append("".join(traceback.format_exception_only(type(exc), exc)))
            text = "".join(parts)
        self.sink.write(text)
        message = str(exc) if not isinstance(exc, SyntaxError) else (exc.msg or "")
        return {"kind": kind, "type": type(exc).__name__, "message": message[:500]}


def _exit(code=None):
    """``exit()``/``quit()`` as the site module would define them."""
    raise SystemExit(code)


def main() -> None:
    """Serve cells on fds 0/1 until the host closes the channel.

    Also the entry point the fork server calls inside a fresh sandbox, so it reads its
    settings from the environment only now, not at import time.
    """
    limit = int(os.environ.pop("TRAJKIT_OUTPUT_LIMIT", DEFAULT_OUTPUT_LIMIT))
    if not hasattr(builtins, "exit"):  # started without the site module (fork server)
        # Deliberate: define exit()/quit() as the site module would.
        builtins.exit = builtins.quit = _exit  # type: ignore[assignment]
    channel = Channel()
    sink = BoundedOutput(limit)
    _capture_fds(sink)
    sys.stdout = CellStream(sink)
    sys.stderr = CellStream(sink)
    sys.stdin = open(os.devnull)
    interpreter = Interpreter(channel, sink)
    while True:
        msg = channel.recv()
        if msg is None:
            return
        op = msg.get("op")
        if op == "init":
            for tool in msg.get("tools", []):
                interpreter.add_tool(tool["name"], tool.get("doc", ""))
            channel.send({"op": "ready", "pid": os.getpid(), "python": sys.version.split()[0]})
        elif op == "exec":
            try:
                result = interpreter.run(msg["code"], float(msg.get("timeout") or 0))
            except KeyboardInterrupt:  # a late interrupt landing between cells
                result = {"output": "", "truncated": 0, "error": None, "duration": 0.0}
            result.update(op="result", id=msg.get("id"))
            channel.send(result)
        # stale tool_result messages (a cell interrupted mid-call) are ignored


if __name__ == "__main__":
    main()
