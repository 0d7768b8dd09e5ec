"""The attached stdin/stdout of one container, as asyncio streams (the docker transport).

Why attach instead of ``docker exec`` per cell: an exec is an HTTP round trip plus a process
start inside the container (tens of milliseconds); an attached stream is one persistent
connection to the worker's own stdin/stdout, so a cell costs one message each way.

Without a tty, docker multiplexes the container's stdout and stderr on the attach socket in
frames (``[stream, 0, 0, 0, size:uint32 big-endian]`` + payload). :class:`DemuxProtocol`
splits them as bytes arrive: stdout feeds the protocol reader the shared session reads lines
from, stderr is kept (a bounded tail) for start-failure messages. Everything the host writes
goes to the worker's stdin unframed. On a TLS engine the same bytes travel inside the TLS
session ``docker_attach`` began (``docker_tls``): decrypted before the demux, encrypted after
the writer.
"""

from __future__ import annotations

import asyncio
import socket
import ssl
import struct
from dataclasses import dataclass, field
from typing import Any

from trajkit.collect.sandbox.docker_tls import TlsSession
from trajkit.collect.sandbox.forkserver_client import STREAM_LIMIT

HEADER = struct.Struct(">BxxxL")
STDOUT, STDERR = 1, 2
STDERR_TAIL = 16384


@dataclass
class Launched:
    """A created, attached and started container that no episode has used yet.

    ``sock`` is our own attach connection (``docker_attach``; blocking until a loop adopts
    it) and belongs to no event loop yet: a warm pool filled on a background thread can hand
    it to any loop. Over TLS, ``tls`` carries the session begun on that thread; ``preamble``
    is stream data that arrived with the attach response.
    """

    id: str
    sock: socket.socket
    started: float = 0.0
    extra: dict[str, Any] = field(default_factory=dict)
    tls: TlsSession | None = None
    preamble: bytes = b""


class DemuxProtocol(asyncio.Protocol):
    """Splits docker's attach frames into the stdout reader and a stderr tail."""

    def __init__(
        self, stdout: asyncio.StreamReader, tls: TlsSession | None = None, preamble: bytes = b""
    ) -> None:
        self.stdout = stdout
        self.stderr = bytearray()
        self.tls = tls
        self.transport: asyncio.Transport | None = None
        self._buf = bytearray()
        self._preamble = preamble
        self._paused = False
        self._drained: asyncio.Future[None] | None = None
        self.closed = asyncio.get_running_loop().create_future()

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport
        if self._preamble:
            self._frames(self._preamble)
            self._preamble = b""

    def data_received(self, data: bytes) -> None:
        if self.tls is None:
            self._frames(data)
            return
        assert self.transport is not None
        try:
            plain, reply, closed = self.tls.decrypt(data)
        except ssl.SSLError:
            self.transport.abort()  # a corrupt stream: connection_lost ends the worker's stdout
            return
        if reply:
            self.transport.write(reply)
        self._frames(plain)
        if closed:
            self.stdout.feed_eof()

    def _frames(self, data: bytes) -> None:
        buf = self._buf
        buf += data
        pos = 0
        while len(buf) - pos >= HEADER.size:
            kind, size = HEADER.unpack_from(buf, pos)
            end = pos + HEADER.size + size
            if len(buf) < end:
                break
            payload = bytes(buf[pos + HEADER.size : end])
            if kind == STDOUT:
                self.stdout.feed_data(payload)
            elif kind == STDERR:
                self.stderr += payload
                del self.stderr[:-STDERR_TAIL]
            pos = end
        del buf[:pos]

    def eof_received(self) -> bool:
        self.stdout.feed_eof()
        return False

    def connection_lost(self, exc: Exception | None) -> None:
        self.stdout.feed_eof()
        if not self.closed.done():
            self.closed.set_result(None)
        self._wake()

    def pause_writing(self) -> None:
        self._paused = True

    def resume_writing(self) -> None:
        self._paused = False
        self._wake()

    def _wake(self) -> None:
        if self._drained is not None and not self._drained.done():
            self._drained.set_result(None)
        self._drained = None

    async def drain(self) -> None:
        if self.transport is None or self.transport.is_closing():
            raise ConnectionResetError("the container's attach stream is closed")
        if self._paused:
            self._drained = asyncio.get_running_loop().create_future()
            await self._drained


class StdinWriter:
    """The ``write / drain / close / transport`` subset of ``asyncio.StreamWriter`` the
    session uses."""

    def __init__(self, protocol: DemuxProtocol) -> None:
        self._protocol = protocol

    @property
    def transport(self) -> asyncio.Transport | None:
        """The attach socket's transport: the session asks it how much is still unsent, to
        bound its wait on a worker that stopped reading."""
        return self._protocol.transport

    def write(self, data: bytes) -> None:
        transport = self._protocol.transport
        if transport is None or transport.is_closing():
            raise ConnectionResetError("the container's attach stream is closed")
        tls = self._protocol.tls
        transport.write(data if tls is None else tls.encrypt(data))

    async def drain(self) -> None:
        await self._protocol.drain()

    def close(self) -> None:
        if self._protocol.transport is not None:
            self._protocol.transport.close()


class AttachedContainer:
    """One container's worker, shaped for the shared session (``stdin``, ``stdout``)."""

    def __init__(self, launched: Launched, protocol: DemuxProtocol) -> None:
        self.id = launched.id
        self.launched = launched
        self.protocol = protocol
        self.stdin = StdinWriter(protocol)
        self.stdout = protocol.stdout

    @classmethod
    async def connect(cls, launched: Launched) -> AttachedContainer:
        """Adopt the launched container's attach socket into the running event loop."""
        loop = asyncio.get_running_loop()
        stdout = asyncio.StreamReader(limit=STREAM_LIMIT, loop=loop)
        _, protocol = await loop.create_connection(
            lambda: DemuxProtocol(stdout, launched.tls, launched.preamble), sock=launched.sock
        )
        return cls(launched, protocol)

    @property
    def stderr_tail(self) -> str:
        return self.protocol.stderr.decode(errors="replace")

    async def wait_closed(self, timeout: float) -> bool:
        """True if the container's process ended (its attach stream closed) within ``timeout``."""
        try:
            await asyncio.wait_for(asyncio.shield(self.protocol.closed), timeout)
        except asyncio.TimeoutError:
            return False
        return True

    def close(self) -> None:
        self.stdin.close()
