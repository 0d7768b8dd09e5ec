"""Where the docker engine is (``DOCKER_HOST``), how to reach it, what to say when we cannot.

Read as the docker CLI reads it:

* unset or ``unix:///PATH``: a local engine (default ``/var/run/docker.sock``);
* ``tcp://HOST:PORT``: plain HTTP, or TLS when ``DOCKER_TLS_VERIFY`` or ``DOCKER_CERT_PATH``
  is set (``ca.pem``, ``cert.pem``, ``key.pem`` in ``DOCKER_CERT_PATH``, default
  ``~/.docker``; the engine's certificate is checked against ``ca.pem`` and the host name
  unless ``DOCKER_TLS_VERIFY`` is empty);
* ``ssh://[USER@]HOST[:PORT]``: OpenSSH forwards the remote ``/var/run/docker.sock`` to a
  private local socket (``docker_ssh``), which is then used as a local engine's.

Nothing assumes the engine shares a file system with the collector: the worker is in the
image, and each container's stream is an attach connection this module opens to the same
address (with the same TLS settings) as the SDK's requests.
"""

from __future__ import annotations

import dataclasses
import functools
import os
import socket
import ssl
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from trajkit.collect.sandbox.docker_ssh import REMOTE_SOCKET, forward
from trajkit.core.errors import SandboxUnavailableError

DEFAULT_SOCKET = "/var/run/docker.sock"
ENV_VARS = ("DOCKER_HOST", "DOCKER_TLS_VERIFY", "DOCKER_CERT_PATH")
CONNECT_TIMEOUT_S = 30.0


@dataclass(frozen=True)
class EngineAddress:
    """One engine's address, resolved from the environment."""

    shown: str  # DOCKER_HOST as the user wrote it ("" when unset)
    scheme: str  # unix | tcp | ssh
    unix_path: str = ""  # unix (and ssh, once its tunnel is up)
    host: str = ""
    port: int = 0
    tls: ssl.SSLContext | None = field(default=None, compare=False)

    @property
    def remote(self) -> bool:
        """Whether DOCKER_HOST names another engine than the default local socket."""
        return bool(self.shown) and self.scheme != "unix"

    @property
    def named(self) -> str:
        """How messages name the engine: ``DOCKER_HOST=...``, or the default socket."""
        return f"DOCKER_HOST={self.shown}" if self.shown else f"unix://{DEFAULT_SOCKET} (DOCKER_HOST unset)"

    def open_socket(self, timeout: float = CONNECT_TIMEOUT_S) -> socket.socket:
        """A new blocking connection to the engine (TLS, if any, is the caller's to start)."""
        if self.unix_path:
            sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            sock.settimeout(timeout)
            try:
                sock.connect(self.unix_path)
            except BaseException:
                sock.close()
                raise
            return sock
        sock = socket.create_connection((self.host, self.port), timeout=timeout)
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)  # cells are small messages
        # An attach stream idles while the teacher thinks: keep-alives keep middleboxes from
        # dropping it, and notice an engine that vanished.
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_KEEPALIVE, 1)
        if hasattr(socket, "TCP_KEEPIDLE"):
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_KEEPIDLE, 60)
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_KEEPINTVL, 15)
        return sock


def env_key(environ: Mapping[str, str] | None = None) -> tuple[str, ...]:
    """What selects the engine: processes with equal keys talk to the same one."""
    environ = os.environ if environ is None else environ
    return tuple(environ.get(name, "") for name in ENV_VARS)


def engine_address(environ: Mapping[str, str] | None = None) -> EngineAddress:
    """The engine ``DOCKER_HOST`` (and the TLS variables) name; one-line error if malformed."""
    from docker.errors import DockerException
    from docker.utils import kwargs_from_env, parse_host

    environ = dict(os.environ if environ is None else environ)
    shown = environ.get("DOCKER_HOST", "")
    try:
        kwargs = kwargs_from_env(environ)
        tls_config = kwargs.get("tls")
        url = parse_host(shown, False, tls=tls_config is not None)
    except (DockerException, ValueError) as exc:
        raise SandboxUnavailableError(f"DOCKER_HOST={shown}: {exc}") from None
    parts = urlsplit(url)
    if parts.scheme == "http+unix":
        return EngineAddress(shown, "unix", unix_path=parts.path or DEFAULT_SOCKET)
    if parts.scheme == "ssh":
        user = f"{parts.username}@" if parts.username else ""
        return EngineAddress(shown, "ssh", host=f"{user}{parts.hostname}", port=parts.port or 22)
    if parts.scheme not in ("http", "https") or not parts.hostname or not parts.port:
        raise SandboxUnavailableError(f"DOCKER_HOST={shown}: unsupported engine address")
    context = _tls_context(tls_config, shown) if parts.scheme == "https" else None
    return EngineAddress(shown, "tcp", host=parts.hostname, port=parts.port, tls=context)


def _tls_context(config: Any, shown: str) -> ssl.SSLContext:
    """The SSL context docker's own ``TLSConfig`` describes (the SDK uses the same files)."""
    try:
        if config.verify:
            cafile = config.verify if isinstance(config.verify, str) else config.ca_cert
            context = ssl.create_default_context(cafile=cafile)
        else:
            context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
            context.check_hostname = False
            context.verify_mode = ssl.CERT_NONE
        if config.cert:
            context.load_cert_chain(*config.cert)
    except (OSError, ssl.SSLError) as exc:
        raise SandboxUnavailableError(
            f"DOCKER_HOST={shown}: cannot load the TLS files in DOCKER_CERT_PATH ({exc})"
        ) from None
    return context


def sdk_client(address: EngineAddress) -> Any:
    """A docker SDK client for ``address`` (it asks the engine's API version at once)."""
    from docker.utils import kwargs_from_env

    if address.scheme == "ssh":
        return _client_class()(base_url=f"unix://{address.unix_path}")
    return _client_class()(**kwargs_from_env())


@functools.cache
def _client_class() -> type:
    """``docker.DockerClient`` whose requests session never reads the environment.

    The SDK's API client is a ``requests.Session``; trusting the environment, it lets
    ``REQUESTS_CA_BUNDLE`` (set on many machines) replace ``DOCKER_CERT_PATH``'s ``ca.pem``,
    and then no engine certificate verifies. Proxies are no business of an engine connection
    either (the attach streams use none). A property, because ``Session.__init__`` assigns it.
    """
    import docker

    class EngineAPIClient(docker.APIClient):
        trust_env = property(lambda self: False, lambda self, value: None)

    class EngineClient(docker.DockerClient):
        def __init__(self, **kwargs: Any) -> None:
            self.api = EngineAPIClient(**kwargs)

    return EngineClient


def connect_engine() -> tuple[Any, EngineAddress]:
    """A docker SDK client that answered a ping, and the address it uses; one-line error
    naming ``DOCKER_HOST`` if the engine cannot be reached."""
    address = engine_address()
    if address.scheme == "ssh":
        path = forward(address.host, address.port, address.named)
        address = dataclasses.replace(address, unix_path=path)
    try:
        client = sdk_client(address)
        client.ping()
    except Exception as exc:
        raise unreachable(address, reason(exc)) from None
    return client, address


def reason(exc: BaseException) -> str:
    """The innermost cause an SDK/urllib3 error names, on one line."""
    text = " ".join(str(exc).split()) or type(exc).__name__
    if "(Caused by " in text:
        text = text.rsplit("(Caused by ", 1)[1].rstrip(")")
    return text[:300]


def unreachable(address: EngineAddress, detail: str) -> SandboxUnavailableError:
    where = f"{address.named}, forwarded to its {REMOTE_SOCKET}" if address.scheme == "ssh" else address.named
    return SandboxUnavailableError(
        f"docker engine unreachable at {where} ({detail}); start it, or point "
        "DOCKER_HOST at a running engine, then `trajkit sandbox build`"
    )


def image_hint(address: EngineAddress, tag: str) -> str:
    """How to put the sandbox image on this engine (a remote one: build there or copy it)."""
    if not address.remote:
        return "build it with `trajkit sandbox build` (offline: `trajkit sandbox build --from-rootfs`)"
    return (
        f"build it there with `{address.named} trajkit sandbox build` (offline: add "
        f"--from-rootfs), or copy it from a machine that has it: "
        f"`docker save {tag} | docker -H {address.shown} load`"
    )
