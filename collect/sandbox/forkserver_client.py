"""Host side of the sandbox fork server (see ``forkserver.py``).

One fork server per collector process, started on first use with a scrubbed environment (its
memory is what every sandbox is forked from, so it must never hold a key). A reader thread
turns its replies into futures, so any event loop, in any thread, can start sandboxes.

A request never blocks the event loop: it is sent at once only if the socket has room (it
almost always has), else through a writer thread. The server takes a few milliseconds per
fresh sandbox, so when hundreds of episodes start together the socket fills and a send
blocks until the server catches up; sent from the loop, those waits added up to ~0.7 s of a
frozen collector at 256 episodes, every teacher reply of the first wave waiting behind them.

The server sends the host ends of each sandbox's pipes with its reply (it may hand out a
sandbox it started ahead). Their stdout and stdin become asyncio pipes; stderr, only read
when a start fails, stays a plain fd (``Diagnostics``).
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
    """A sandbox's worker, PID 1 inside (its pid as the host sees it; killing its process
    group ends the sandbox), shaped like ``asyncio.subprocess.Process`` (``pid``, ``stdin``,
    ``stdout``, ``stderr``, ``returncode``, ``wait()``)."""

    def __init__(
        self,
        pid: int,
        stdin: asyncio.StreamWriter,
        stdout: asyncio.StreamReader,
        stderr: Diagnostics,
        exited: asyncio.Future[int],
        transports: list[asyncio.BaseTransport],
    ) -> None:
        self.pid = pid
        self.stdin = stdin
        self.stdout = stdout
        self.stderr = stderr
        self._exited = exited
        self._transports = transports
        self.pooled = False  # started ahead by the server, not for this request

    @property
    def returncode(self) -> int | None:
        return self._exited.result() if self._exited.done() else None

    async def wait(self) -> int:
        status = await asyncio.shield(self._exited)
        for transport in self._transports:
            transport.close()
        self.stderr.close()
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
        self._outbox: queue.SimpleQueue[tuple[int, bytes] | None] = queue.SimpleQueue()

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

    async def spawn(
        self, config: dict[str, Any], pool: int = 0, fresh: bool = False
    ) -> JailedProcess:
        """Start one sandbox, or take one started ahead unless ``fresh``; ``pool``: how many
        sandboxes of this configuration the server should keep started ahead from now on.
        The server sends the host ends of the worker's pipes with its reply."""
        loop = asyncio.get_running_loop()
        started: asyncio.Future[Any] = loop.create_future()
        with self._lock:
            self._ensure()
            self._next_id += 1
            request_id = self._next_id
            self._starts[request_id] = (loop, started)
            request = {"id": request_id, "config": config, "pool": pool, "fresh": fresh}
            payload = json.dumps(request).encode()
            if not self._send_now(request_id, payload):
                self._outbox.put((request_id, payload))
        pid, (in_w, out_r, err_r), pooled, exit_cf = await started
        exited = asyncio.wrap_future(exit_cf, loop=loop)
        proc = await _attach(loop, pid, in_w, out_r, err_r, exited)  # closes them if it fails
        proc.pooled = pooled
        return proc

    def _send_now(self, request_id: int, payload: bytes) -> bool:
        """Send from the caller's thread when the socket has room (almost always): a hand-off
        to the writer thread costs a thread wake-up per sandbox. False: queue it instead."""
        sock = self._sock
        if sock is None:
            return False
        try:
            sock.send(payload, socket.MSG_DONTWAIT)
        except BlockingIOError:
            return False
        except OSError as exc:
            loop, fut = self._starts.pop(request_id, (None, None))
            if loop is not None and fut is not None:
                _resolve(loop, fut, ForkServerError(f"fork server unreachable: {exc}"))
        return True

    def _write(self, sock: socket.socket, outbox: queue.SimpleQueue[tuple[int, bytes] | None]) -> None:
        """Send queued requests in order (blocking is fine here)."""
        while (item := outbox.get()) is not None:
            request_id, payload = item
            try:
                sock.send(payload)
            except OSError as exc:
                with self._lock:
                    loop, fut = self._starts.pop(request_id, (None, None))
                if loop is not None and fut is not None:
                    _resolve(loop, fut, ForkServerError(f"fork server unreachable: {exc}"))

    def _read(self, sock: socket.socket) -> None:
        while True:
            try:
                data, fds, _, _ = socket.recv_fds(sock, 1 << 16, 3)
            except OSError:
                data, fds = b"", []
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
                if msg["op"] == "started" and len(fds) == 3:
                    cf = concurrent.futures.Future()
                    self._exits[msg["pid"]] = cf
                    result: Any = (msg["pid"], fds, bool(msg.get("pooled")), cf)
                else:
                    for fd in fds:
                        os.close(fd)
                    fds = []
                    result = ForkServerError(f"fork server: {msg.get('error', 'no pipes sent')}")
            if loop is None or fut is None or not _resolve(loop, fut, result):
                for fd in fds:  # nobody is waiting: the worker sees end-of-file and exits
                    os.close(fd)
        with self._lock:  # the server died: fail everything still waiting on it
            starts, self._starts = self._starts, {}
            exits, self._exits = self._exits, {}
            if self._sock is sock:
                self._sock = None
        for loop, fut in starts.values():
            _resolve(loop, fut, ForkServerError("fork server exited"))
        for cf in exits.values():
            cf.set_result(-signal.SIGKILL)

    def shutdown(self, timeout: float = 5.0) -> None:
        """Close the server's socket: it kills and reaps every sandbox it started (kept
        ahead or handed out) and exits; killed outright only if it has not within
        ``timeout`` (its sandboxes then die of PDEATHSIG, reaped by whoever adopts them)."""
        with self._lock:
            self._outbox.put(None)
            if self._sock is not None:
                # shutdown, not just close: the reader thread's recv holds the socket open.
                try:
                    self._sock.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass
                self._sock.close()
                self._sock = None
            proc, self._proc = self._proc, None
        if proc is not None:
            try:
                proc.wait(timeout)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


def _resolve(loop: asyncio.AbstractEventLoop, fut: asyncio.Future[Any], result: Any) -> bool:
    """Settle ``fut`` on its loop; False if that loop is closed (nobody waits any more). A
    started sandbox whose requester stopped waiting meanwhile has its pipes closed there."""

    def settle() -> None:
        if fut.done():
            if isinstance(result, tuple):
                for fd in result[1]:
                    _close_quietly(fd)
            return
        if isinstance(result, BaseException):
            fut.set_exception(result)
        else:
            fut.set_result(result)

    try:
        loop.call_soon_threadsafe(settle)
    except RuntimeError:
        return False
    return True


def _close_quietly(fd: int) -> None:
    try:
        os.close(fd)
    except OSError:
        pass


async def _attach(
    loop: asyncio.AbstractEventLoop, pid: int, in_w: int, out_r: int, err_r: int,
    exited: asyncio.Future[int],
) -> JailedProcess:
    """The sandbox's pipes as asyncio streams. If that fails (a cancelled episode), each fd is
    closed exactly once: a pipe already handed to a transport belongs to it (asyncio closes it
    later, so closing the bare fd now as well would later close whatever file reused the
    number), hence files and transports are closed, not fds."""
    stdout = asyncio.StreamReader(limit=STREAM_LIMIT, loop=loop)
    out_file = os.fdopen(out_r, "rb", buffering=0)
    in_file = os.fdopen(in_w, "wb", buffering=0)
    transports: list[asyncio.BaseTransport] = []
    try:
        out_t, _ = await loop.connect_read_pipe(
            lambda: asyncio.StreamReaderProtocol(stdout), out_file
        )
        transports.append(out_t)
        in_t, in_p = await loop.connect_write_pipe(
            lambda: asyncio.StreamReaderProtocol(asyncio.StreamReader(loop=loop)), in_file
        )
    except BaseException:
        for transport in transports:
            transport.close()
        out_file.close()  # closing a file twice is a no-op, unlike an fd
        in_file.close()
        _close_quietly(err_r)
        raise
    stdin = asyncio.StreamWriter(in_t, in_p, None, loop)
    return JailedProcess(pid, stdin, stdout, Diagnostics(err_r), exited, [out_t, in_t])


class Diagnostics:
    """A sandbox's stderr: what the jail or the worker says when a start fails. Read only once
    the sandbox has exited, so it is a plain fd rather than one more pipe the event loop watches
    for every sandbox. Nothing else writes there: the worker points its fd 2 at its own
    capture pipe before running any code."""

    LIMIT = 1 << 16

    def __init__(self, fd: int) -> None:
        os.set_blocking(fd, False)
        self._fd: int | None = fd
        self._kept = b""

    def close(self) -> None:
        """Keep what is in the pipe now (at most ``LIMIT`` bytes) and close it."""
        if self._fd is None:
            return
        chunks: list[bytes] = []
        size = 0
        while size < self.LIMIT:
            try:
                chunk = os.read(self._fd, self.LIMIT - size)
            except (BlockingIOError, OSError):
                break
            if not chunk:
                break
            chunks.append(chunk)
            size += len(chunk)
        os.close(self._fd)
        self._fd = None
        self._kept = b"".join(chunks)

    async def read(self) -> bytes:
        """What the sandbox wrote there (read when it exited, or now)."""
        self.close()
        return self._kept


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
