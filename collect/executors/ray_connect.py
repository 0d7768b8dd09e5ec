"""The driver's side of talking to Ray for ``--executor ray``: importing it, joining a cluster,
and the small defensive calls (killing an actor that may be gone, naming an error in one
line) the executor makes. Ray is imported only here and in the executor, never at import
time, so a machine without the ``ray`` extra gets one line saying how to install it.
"""

from __future__ import annotations

import logging
import socket
from typing import TYPE_CHECKING, Any

from trajkit.core.errors import ConfigError, UserError

if TYPE_CHECKING:
    from trajkit.collect.config import CollectConfig

INSTALL_HINT = "pip install 'trajkit[ray]'"


def import_ray() -> Any:
    """The ``ray`` module, or a one-line ``ConfigError`` saying how to install it."""
    try:
        import ray
    except ImportError:
        raise ConfigError(f"--executor ray: Ray is not installed; {INSTALL_HINT}") from None
    return ray


def probe_address(address: str) -> None:
    """Fail fast on ``HOST:PORT`` nobody listens on (``ray.init`` would retry for minutes)."""
    if address == "auto" or "://" in address:
        return
    host, sep, port = address.rpartition(":")
    if not sep or not port.isdigit():
        raise ConfigError(f"--ray-address {address!r}: expected HOST:PORT, auto or ray://HOST:PORT")
    try:
        socket.create_connection((host, int(port)), timeout=5).close()
    except OSError as exc:
        raise ConfigError(f"--ray-address {address}: cannot connect ({exc.strerror or exc})") from None


def connect(ray: Any, config: CollectConfig) -> None:
    """Join ``--ray-address``, or start a local Ray for this run (``--ray-workers`` CPUs)."""
    address = config.ray_address
    quiet = {"log_to_driver": False, "logging_level": logging.ERROR}
    if address is None:
        ray.init(num_cpus=config.ray_workers, include_dashboard=False, **quiet)
        return
    try:
        ray.init(address=address, **quiet)
    except (ConnectionError, RuntimeError, ValueError) as exc:
        raise ConfigError(f"--ray-address {address}: cannot connect ({first_line(exc)})") from None


def driver_node(ray: Any) -> str | None:
    """The node this driver is attached to (it cannot be dead while the driver runs)."""
    try:
        node: str = ray.get_runtime_context().get_node_id()
    except Exception:  # a client without a node of its own
        return None
    return node


def kill_actor(ray: Any, actor: Any) -> None:
    """Kill ``actor`` if it still runs; one already dead (or on a node gone) is no error."""
    try:
        ray.kill(actor)
    except Exception:
        pass


def error_cause(exc: Any) -> BaseException:
    """The user error a worker raised (bad key, no isolation), else Ray's own error."""
    cause = getattr(exc, "cause", None)
    return cause if isinstance(cause, UserError) else exc


def first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__
