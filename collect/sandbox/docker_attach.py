"""Attach to a container's stdin/stdout over a connection of our own, on any engine address.

Why not the SDK's ``attach_socket``: its connection belongs to the SDK (borrowed from its
pool; over TLS an ``SSLSocket`` asyncio cannot adopt). Here the connection is ours from the
first byte: a plain socket to the engine (``EngineAddress.open_socket``), TLS over memory
buffers when the address asks for it (``docker_tls``), and one HTTP request that upgrades it
to the container's raw multiplexed stream. Blocking: it runs on the engine's threads.
"""

from __future__ import annotations

import socket
from dataclasses import dataclass
from urllib.parse import quote

from trajkit.collect.sandbox.docker_host import EngineAddress
from trajkit.collect.sandbox.docker_tls import CHUNK, TlsSession

REQUEST = (
    "POST /v{version}/containers/{id}/attach?stdin=1&stdout=1&stderr=1&stream=1 HTTP/1.1\r\n"
    "Host: docker\r\nUser-Agent: trajkit\r\nContent-Length: 0\r\n"
    "Connection: Upgrade\r\nUpgrade: tcp\r\n\r\n"
)
MAX_HEADER_BYTES = 16384


class AttachRefused(ConnectionError):
    """The engine answered the attach request with an error status."""


@dataclass
class AttachStream:
    """An upgraded connection: the stream starts with ``preamble`` (bytes that came with the
    response headers), then continues on ``sock``, through ``tls`` if it is set."""

    sock: socket.socket
    tls: TlsSession | None
    preamble: bytes


def attach(address: EngineAddress, api_version: str, container_id: str, timeout: float) -> AttachStream:
    """Open a connection to the engine and attach it to ``container_id`` (not yet started, so
    nothing the worker writes is missed). Raises ``OSError``/``ssl.SSLError``/``AttachRefused``."""
    sock = address.open_socket(timeout)
    try:
        tls = None
        if address.tls is not None:
            tls = TlsSession(address.tls, address.host)
            tls.handshake(sock)
        request = REQUEST.format(version=api_version, id=quote(container_id, safe="")).encode()
        sock.sendall(tls.encrypt(request) if tls else request)
        response = b""
        while b"\r\n\r\n" not in response:
            data = tls.recv(sock) if tls else sock.recv(CHUNK)
            if not data:
                raise ConnectionResetError("the engine closed the attach connection")
            response += data
            if len(response) > MAX_HEADER_BYTES:
                raise AttachRefused("the engine's attach response has no end of headers")
        head, _, rest = response.partition(b"\r\n\r\n")
        status = head.split(b"\r\n", 1)[0].decode("latin-1").split(" ", 2)
        code = int(status[1]) if len(status) > 1 and status[1].isdigit() else 0
        if code not in (101, 200):
            body = " ".join(rest[:300].decode(errors="replace").split())
            raise AttachRefused(f"attach refused: HTTP {code} {body}".strip())
        sock.settimeout(None)
        return AttachStream(sock, tls, rest)
    except BaseException:
        sock.close()
        raise
