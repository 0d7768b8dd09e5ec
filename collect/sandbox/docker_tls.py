"""TLS over memory buffers, so one TLS session can move from a thread to an event loop.

Why not an ``ssl.SSLSocket``: a warm container's attach connection is opened (and its TLS
handshake done) on the pool's refill thread, then adopted by whichever event loop plays the
episode, and asyncio refuses an ``SSLSocket``. An ``ssl.SSLObject`` over two ``MemoryBIO``\\s
keeps the session's state apart from the socket: the thread drives it with blocking
``send``/``recv`` until the stream is attached, the loop's protocol then feeds it what
arrives and sends what it produces, on the same plain TCP socket.
"""

from __future__ import annotations

import socket
import ssl

CHUNK = 65536


class TlsSession:
    """The client side of one TLS connection, independent of how bytes travel."""

    def __init__(self, context: ssl.SSLContext, server_hostname: str) -> None:
        self._incoming = ssl.MemoryBIO()
        self._outgoing = ssl.MemoryBIO()
        self._tls = context.wrap_bio(self._incoming, self._outgoing, server_hostname=server_hostname)

    def handshake(self, sock: socket.socket) -> None:
        """Complete the handshake over a blocking socket (raises ``ssl.SSLError``, ``OSError``)."""
        while True:
            try:
                self._tls.do_handshake()
                break
            except ssl.SSLWantReadError:
                sock.sendall(self._outgoing.read())
                data = sock.recv(CHUNK)
                if not data:
                    raise ConnectionResetError("the engine closed the connection during TLS") from None
                self._incoming.write(data)
        pending = self._outgoing.read()
        if pending:
            sock.sendall(pending)

    def encrypt(self, data: bytes) -> bytes:
        """The records that carry ``data``."""
        view = memoryview(data)
        while view:
            view = view[self._tls.write(view):]
        return self._outgoing.read()

    def decrypt(self, data: bytes) -> tuple[bytes, bytes, bool]:
        """``(plaintext, reply, closed)`` for ``data`` received: ``reply`` is what TLS itself
        must send back (post-handshake messages), ``closed`` whether the peer ended the
        session. Incomplete records wait for the next call. Raises ``ssl.SSLError`` on
        corrupt input."""
        self._incoming.write(data)
        parts = []
        closed = False
        while True:
            try:
                chunk = self._tls.read(CHUNK)
            except ssl.SSLWantReadError:
                break
            except ssl.SSLZeroReturnError:
                closed = True
                break
            if not chunk:
                closed = True
                break
            parts.append(chunk)
        return b"".join(parts), self._outgoing.read(), closed

    def recv(self, sock: socket.socket) -> bytes:
        """Blocking: the next plaintext from ``sock`` (b"" at the end of the stream)."""
        while True:
            data = sock.recv(CHUNK)
            if not data:
                return b""
            plain, reply, closed = self.decrypt(data)
            if reply:
                sock.sendall(reply)
            if plain or closed:
                return plain
