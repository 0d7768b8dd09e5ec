"""Host side of the sandbox fork server (see ``forkserver.py``).

One fork server per collector process, started on first use with a scrubbed environment (its
memory is what every sandbox is forked from, so it must never hold a key). A reader thread
turns its replies into futures, so any event loop, in any thread, can start sandboxes.

Requests go out through a writer thread, never from the event loop: the server forks once per
request (a few milliseconds), so when hundreds of episodes start together the socket fills
and a send blocks until the server catches up. Sent from the loop, those waits added up to
~0.7 s of a frozen collector at 256 episodes, every teacher reply of the first wave waiting
behind them.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import json
import os
import queue
import signal
import socket
import subprocess
import sys
import threading
from pathlib import Path
from typing import Any

from trajkit.core.errors import SandboxError

FORKSERVER = Path(__file__).resolve().parent / "forkserver.py"
SERVER_ENV = {"PATH": "/usr/bin:/bin", "LANG": "C.UTF-8"}
STREAM_LIMIT = 32 * 1024 * 1024  # longest protocol line accepted (a capped cell result)


class ForkServerError(SandboxError):
    """The fork server could not start a sandbox (or died)."""


class JailedProcess:
    """A sandbox launcher started by the fork server, shaped like ``asyncio.subprocess.Process``
    (``pid``, ``stdin``, ``stdout``, ``stderr``, ``returncode``, ``wait()``)."""

    def __init__(
        self,
        pid: int,
        stdin: asyncio.StreamWriter,
        stdout: asyncio.StreamReader,
        stderr: asyncio.StreamReader,
        exited: asyncio.Future[int],
        transports: list[asyncio.BaseTransport],
    ) -> None:
        self.pid = pid
        self.stdin = stdin
        self.stdout = stdout
        self.stderr = stderr
        self._exited = exited
        self._transports = transports

    @property
    def returncode(self) -> int | None:
        return self._exited.result() if self._exited.done() else None

    async def wait(self) -> int:
        status = await asyncio.shield(self._exited)
        for transport in self._transports:
            transport.close()
        return status


class ForkServer:
    """Client of one fork-server process; thread-safe, restarted if it dies.

    ``python`` is the sandbox's interpreter on the host: the server runs on it, so every
    worker forked from it is that interpreter (never the collector's own, unless chosen).
    """

    def __init__(self, python: str = sys.executable) -> None:
        self.python = python
        self._lock = threading.Lock()
        self._proc: subprocess.Popen[bytes] | None = None
        self._sock: socket.socket | None = None
        self._next_id = 0
        self._starts: dict[int, tuple[asyncio.AbstractEventLoop, asyncio.Future[Any]]] = {}
        self._exits: dict[int, concurrent.futures.Future[int]] = {}
        self._outbox: queue.SimpleQueue[tuple[int, bytes, list[int]] | None] = queue.SimpleQueue()

    def _ensure(self) -> socket.socket:
        if self._proc is not None and self._proc.poll() is None and self._sock is not None:
            return self._sock
        ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        self._proc = subprocess.Popen(
            [self.python, "-I", "-S", str(FORKSERVER), str(theirs.fileno())],
            pass_fds=[theirs.fileno()],
            stdin=subprocess.DEVNULL,
            env=SERVER_ENV,
            start_new_session=True,
        )
        theirs.close()
        self._sock = ours
        self._outbox.put(None)  # the previous server's writer, if any, stops
        self._outbox = queue.SimpleQueue()
        threading.Thread(target=self._read, args=(ours,), name="trajkit-forkserver", daemon=True).start()
        threading.Thread(
            target=self._write, args=(ours, self._outbox), name="trajkit-forkserver-send", daemon=True
        ).start()
        return ours

    async def spawn(self, config: dict[str, Any]) -> JailedProcess:
        """Start one sandbox; its stdin/stdout/stderr are fresh pipes owned by this loop."""
        loop = asyncio.get_running_loop()
        in_r, in_w = os.pipe()
        out_r, out_w = os.pipe()
        err_r, err_w = os.pipe()
        started: asyncio.Future[Any] = loop.create_future()
        try:
            with self._lock:
                self._ensure()
                self._next_id += 1
                request_id = self._next_id
                self._starts[request_id] = (loop, started)
                payload = json.dumps({"id": request_id, "config": config}).encode()
                self._outbox.put((request_id, payload, [in_r, out_w, err_w]))  # it closes them
        except BaseException:
            for fd in (in_r, out_w, err_w):
                os.close(fd)
            raise
        try:
            pid, exit_cf = await started
        except BaseException:
            for fd in (in_w, out_r, err_r):
                os.close(fd)
            raise
        exited = asyncio.wrap_future(exit_cf, loop=loop)
        return await _attach(loop, pid, in_w, out_r, err_r, exited)

    def _write(
        self, sock: socket.socket, outbox: queue.SimpleQueue[tuple[int, bytes, list[int]] | None]
    ) -> None:
        """Send queued requests in order (blocking is fine here), closing our copies of the fds."""
        while (item := outbox.get()) is not None:
            request_id, payload, fds = item
            try:
                socket.send_fds(sock, [payload], fds)
            except OSError as exc:
                with self._lock:
                    loop, fut = self._starts.pop(request_id, (None, None))
                if loop is not None and fut is not None:
                    _resolve(loop, fut, ForkServerError(f"fork server unreachable: {exc}"))
            finally:
                for fd in fds:
                    os.close(fd)

    def _read(self, sock: socket.socket) -> None:
        while True:
            try:
                data = sock.recv(1 << 16)
            except OSError:
                data = b""
            if not data:
                break
            msg = json.loads(data)
            with self._lock:
                if msg["op"] == "exited":
                    cf = self._exits.pop(msg["pid"], None)
                    if cf is not None:
                        cf.set_result(int(msg["status"]))
                    continue
                loop, fut = self._starts.pop(msg["id"], (None, None))
                if msg["op"] == "started":
                    cf = concurrent.futures.Future()
                    self._exits[msg["pid"]] = cf
                    result: Any = (msg["pid"], cf)
                else:
                    result = ForkServerError(f"fork server: {msg.get('error')}")
            if loop is not None and fut is not None:
                _resolve(loop, fut, result)
        with self._lock:  # the server died: fail everything still waiting on it
            starts, self._starts = self._starts, {}
            exits, self._exits = self._exits, {}
            if self._sock is sock:
                self._sock = None
        for loop, fut in starts.values():
            _resolve(loop, fut, ForkServerError("fork server exited"))
        for cf in exits.values():
            cf.set_result(-signal.SIGKILL)

    def shutdown(self) -> None:
        with self._lock:
            self._outbox.put(None)
            if self._sock is not None:
                self._sock.close()
                self._sock = None
            if self._proc is not None:
                self._proc.kill()
                self._proc.wait()
                self._proc = None


def _resolve(loop: asyncio.AbstractEventLoop, fut: asyncio.Future[Any], result: Any) -> None:
    def settle() -> None:
        if fut.done():
            return
        if isinstance(result, BaseException):
            fut.set_exception(result)
        else:
            fut.set_result(result)

    try:
        loop.call_soon_threadsafe(settle)
    except RuntimeError:
        pass  # that event loop is closed; nobody is waiting any more


async def _attach(
    loop: asyncio.AbstractEventLoop, pid: int, in_w: int, out_r: int, err_r: int,
    exited: asyncio.Future[int],
) -> JailedProcess:
    stdout = asyncio.StreamReader(limit=STREAM_LIMIT, loop=loop)
    stderr = asyncio.StreamReader(loop=loop)
    out_t, _ = await loop.connect_read_pipe(
        lambda: asyncio.StreamReaderProtocol(stdout), os.fdopen(out_r, "rb", buffering=0)
    )
    err_t, _ = await loop.connect_read_pipe(
        lambda: asyncio.StreamReaderProtocol(stderr), os.fdopen(err_r, "rb", buffering=0)
    )
    in_t, in_p = await loop.connect_write_pipe(
        lambda: asyncio.StreamReaderProtocol(asyncio.StreamReader(loop=loop)),
        os.fdopen(in_w, "wb", buffering=0),
    )
    stdin = asyncio.StreamWriter(in_t, in_p, None, loop)
    return JailedProcess(pid, stdin, stdout, stderr, exited, [out_t, err_t, in_t])


_servers: dict[str, ForkServer] = {}
_server_lock = threading.Lock()


def fork_server(python: str | None = None) -> ForkServer:
    """The process-wide fork server of interpreter ``python`` (created lazily); None: the
    default sandbox environment's (``python_env.sandbox_python``)."""
    if python is None:
        from trajkit.collect.sandbox.python_env import sandbox_python

        python = sandbox_python().executable
    with _server_lock:
        server = _servers.get(python)
        if server is None:
            server = _servers[python] = ForkServer(python)
        return server
