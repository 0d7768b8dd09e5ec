"""Containers for the docker sandbox: locked-down creation, a warm pool, cleanup and prune.

Everything here is blocking docker-SDK code, run on threads: the pool's refill thread, or
``asyncio.to_thread`` from the sandbox. One :class:`Engine` per process and container
settings; it remembers every container it made until removed, so an interpreter exit (also
after Ctrl-C) removes what is left, and ``trajkit sandbox prune`` removes what a killed
collector left, found by the labels below.
"""

from __future__ import annotations

import atexit
import hashlib
import logging
import os
import queue
import socket
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from trajkit.collect.sandbox.config import SandboxConfig, tmpfs_files
from trajkit.collect.sandbox.docker_attach import attach
from trajkit.collect.sandbox.docker_host import EngineAddress, connect_engine, env_key, image_hint
from trajkit.collect.sandbox.docker_ssh import close_all as close_tunnels
from trajkit.collect.sandbox.docker_stream import Launched
from trajkit.collect.sandbox.environment import sandbox_env
from trajkit.collect.sandbox.python_env import ENV_MOUNT, ENV_PYTHON
from trajkit.core.errors import SandboxUnavailableError

log = logging.getLogger(__name__)

WORKER = Path(__file__).resolve().parent / "worker.py"
WORKER_IN_CONTAINER = "/opt/trajkit/worker.py"
#: On the image: which worker it carries (``worker_digest``); the engine runs no other.
WORKER_LABEL = "trajkit.worker"
LABEL = "trajkit.sandbox"
LABEL_RUN = "trajkit.run"
LABEL_OWNER = "trajkit.owner"


def _start_ticks(pid: int) -> str:
    """The process's start time in clock ticks: a PID plus this never matches a reused PID."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return ""
    return stat.rsplit(")", 1)[1].split()[19]


def owner_id(pid: int | None = None) -> str:
    """``host:pid:start`` of a collector, put on its containers for ``prune``."""
    pid = os.getpid() if pid is None else pid
    return f"{socket.gethostname()}:{pid}:{_start_ticks(pid)}"


def owner_alive(owner: str) -> bool | None:
    """Whether the collector that labelled a container still runs; None if on another host."""
    host, _, rest = owner.partition(":")
    pid, _, ticks = rest.partition(":")
    if host != socket.gethostname() or not pid.isdigit():
        return None
    return bool(ticks) and _start_ticks(int(pid)) == ticks


def connect() -> Any:
    """A docker client for the user's engine (``DOCKER_HOST`` honoured), or a one-line error."""
    return connect_engine()[0]


def worker_digest() -> str:
    """The installed worker's identity, as the image's ``WORKER_LABEL`` must carry it."""
    return hashlib.sha256(WORKER.read_bytes()).hexdigest()[:16]


def require_image(client: Any, address: EngineAddress, tag: str) -> Any:
    """The engine's image ``tag`` if it carries this trajkit's worker, else a one-line error
    saying how to put the right image on that engine.

    The container runs the worker baked into the image (nothing is mounted from the
    collector, so the engine may be on another machine); another worker would speak another
    protocol version, so an image built by another trajkit is refused, never half-used.
    """
    import docker

    try:
        image = client.images.get(tag)
    except docker.errors.ImageNotFound:
        raise SandboxUnavailableError(
            f"docker image {tag} not found on the engine at {address.named}; "
            f"{image_hint(address, tag)}"
        ) from None
    except docker.errors.DockerException as exc:
        detail = " ".join(str(exc).split())[:200]
        raise SandboxUnavailableError(f"docker image {tag} on {address.named}: {detail}") from None
    have, want = (image.labels or {}).get(WORKER_LABEL), worker_digest()
    if have != want:
        raise SandboxUnavailableError(
            f"docker image {tag} on the engine at {address.named} carries "
            f"{'another' if have else 'no'} sandbox worker ({WORKER_LABEL}={have or 'none'}, "
            f"this trajkit's is {want}); {image_hint(address, tag)}"
        )
    return image


def container_env(config: SandboxConfig) -> dict[str, str]:
    """The worker's whole environment, built from scratch like the local sandbox's."""
    return sandbox_env(config.output_limit, f"{ENV_MOUNT}/bin")


def create_kwargs(config: SandboxConfig) -> dict[str, Any]:
    """``containers.create`` arguments: locked down by default, every limit from ``config``.

    Nothing is mounted from the collector's file system: the container runs the image's own
    ``worker.py`` (checked by ``require_image``) on the image's sandbox environment
    (``/opt/trajkit/env``, the pinned stack), so the engine may be anywhere.
    """
    from docker.types import Ulimit

    mb = 1024 * 1024
    return {
        "image": config.image,
        "entrypoint": [ENV_PYTHON, "-I", WORKER_IN_CONTAINER],
        "command": [],
        "stdin_open": True,
        # detach=False makes the SDK set StdinOnce: the worker's stdin closes with our attach
        # connection, so if the collector dies its idle workers read EOF and exit on their
        # own (prune then removes the stopped husks).
        "detach": False,
        "tty": False,
        "init": True,  # tini as PID 1: reaps orphans, and the worker cannot kill the init
        "network_mode": config.network,
        "mem_limit": config.memory_mb * mb,
        "memswap_limit": config.memory_mb * mb,
        "nano_cpus": int(config.cpus * 1e9),
        "pids_limit": config.max_processes,
        "read_only": True,
        "tmpfs": {
            # nr_inodes as the local sandbox's (config.FILES_PER_MB)
            "/sandbox": f"rw,nosuid,nodev,size={config.work_mb}m,nr_inodes={tmpfs_files(config.work_mb)},mode=1777",
            "/tmp": f"rw,nosuid,nodev,size={config.tmp_mb}m,nr_inodes={tmpfs_files(config.tmp_mb)},mode=1777",
        },
        "user": config.user,
        "cap_drop": ["ALL"],
        "security_opt": ["no-new-privileges"],
        "ipc_mode": "private",
        "hostname": "sandbox",
        "working_dir": "/sandbox",
        "environment": container_env(config),
        "ulimits": [
            Ulimit(name="nofile", soft=config.open_files, hard=config.open_files),
            Ulimit(name="fsize", soft=config.file_size_mb * mb, hard=config.file_size_mb * mb),
            Ulimit(name="cpu", soft=config.cpu_seconds, hard=config.cpu_seconds),
            Ulimit(name="core", soft=0, hard=0),
        ],
        "labels": {LABEL: "1", LABEL_RUN: config.label, LABEL_OWNER: owner_id()},
    }


def _engine_key(config: SandboxConfig) -> str:
    """Containers are interchangeable iff the engine and everything but the pool size are equal."""
    settings = config.model_dump_json(exclude={"pool", "kill_grace_s", "start_timeout_s"})
    return f"{env_key()!r} {settings}"


class Engine:
    """Makes and removes this process's containers; keeps ``config.pool`` of them warm."""

    def __init__(self, config: SandboxConfig) -> None:
        self.config = config
        self.client, self.address = connect_engine()
        require_image(self.client, self.address, config.image)
        self._live: set[str] = set()
        self._lock = threading.Lock()
        self._ready: queue.Queue[Launched] = queue.Queue()
        self._want = threading.Condition()
        self._stop = threading.Event()
        self._pool_size = 0
        self._refill: threading.Thread | None = None
        # Its own threads for starts and removals: a busy run must not starve the loop's
        # default executor, and removals must not queue behind other blocking work.
        self.executor = ThreadPoolExecutor(16, thread_name_prefix="trajkit-docker")
        self.ensure_pool(config.pool)

    # -- containers ------------------------------------------------------------------------

    def launch(self) -> Launched:
        """Create, attach and start one container (a cold start; blocking)."""
        import docker

        t0 = time.perf_counter()
        try:
            container = self.client.containers.create(**create_kwargs(self.config))
        except docker.errors.ImageNotFound:
            raise SandboxUnavailableError(
                f"docker image {self.config.image} not found on the engine at "
                f"{self.address.named}; {image_hint(self.address, self.config.image)}"
            ) from None
        except docker.errors.DockerException as exc:
            raise SandboxUnavailableError(f"docker refused the sandbox container: {exc}") from None
        with self._lock:
            self._live.add(container.id)
        try:
            stream = attach(
                self.address, self.client.api.api_version, container.id,
                self.config.start_timeout_s,
            )
        except BaseException:
            self.remove(container.id)
            raise
        try:
            container.start()
        except BaseException as exc:
            stream.sock.close()
            self.remove(container.id)
            if not isinstance(exc, docker.errors.APIError):
                raise
            detail = " ".join(str(exc).split())[:200]
            raise SandboxUnavailableError(
                f"docker could not start the sandbox container ({detail}); an image made before "
                f"the sandbox environment ({ENV_PYTHON}) must be rebuilt: "
                f"{image_hint(self.address, self.config.image)}"
            ) from None
        return Launched(
            container.id, stream.sock, started=time.perf_counter() - t0,
            tls=stream.tls, preamble=stream.preamble,
        )

    def remove(self, container_id: str) -> None:
        """Kill and remove one container (idempotent)."""
        import docker

        try:
            self.client.api.remove_container(container_id, force=True)
        except docker.errors.NotFound:
            pass
        except docker.errors.APIError as exc:
            if "already in progress" not in str(exc):
                log.warning("could not remove sandbox container %s: %s", container_id[:12], exc)
                return
        with self._lock:
            self._live.discard(container_id)

    def exit_code(self, container_id: str, timeout: float) -> int | None:
        try:
            return int(self.client.api.wait(container_id, timeout=timeout)["StatusCode"])
        except Exception:
            return None

    def oom_killed(self, container_id: str) -> bool:
        """Whether the kernel killed a process of the container for want of memory."""
        try:
            return bool(self.client.api.inspect_container(container_id)["State"]["OOMKilled"])
        except Exception:
            return False

    # -- warm pool -------------------------------------------------------------------------

    def ensure_pool(self, size: int) -> None:
        """Keep at least ``size`` started containers ready (a background thread refills)."""
        with self._want:
            self._pool_size = max(self._pool_size, size)
            if self._pool_size and self._refill is None:
                self._refill = threading.Thread(
                    target=self._fill, name="trajkit-docker-pool", daemon=True
                )
                self._refill.start()
            self._want.notify_all()

    def take(self) -> Launched | None:
        """A warm container, never handed out before; None when the pool is empty."""
        try:
            launched = self._ready.get_nowait()
        except queue.Empty:
            return None
        with self._want:
            self._want.notify_all()
        return launched

    def warm(self) -> int:
        return self._ready.qsize()

    def _fill(self) -> None:
        while not self._stop.is_set():
            with self._want:
                while not self._stop.is_set() and self._ready.qsize() >= self._pool_size:
                    self._want.wait()
            if self._stop.is_set():
                return
            try:
                launched = self.launch()
            except Exception as exc:  # e.g. the image vanished: the next cold start reports it
                log.debug("warm pool could not start a container: %s", exc)
                self._stop.wait(1.0)
                continue
            if self._stop.is_set():
                self.remove(launched.id)
                launched.sock.close()
                return
            self._ready.put(launched)

    # -- shutdown --------------------------------------------------------------------------

    def shutdown(self) -> None:
        """Stop refilling and remove every container this engine made and did not remove."""
        self._stop.set()
        with self._want:
            self._want.notify_all()
        if self._refill is not None:
            self._refill.join(timeout=30)
        while True:
            try:
                self._ready.get_nowait().sock.close()
            except queue.Empty:
                break
        with self._lock:
            left = list(self._live)
        # Plain threads: this runs from atexit, when executors refuse new work.
        threads = [threading.Thread(target=self.remove, args=(cid,)) for cid in left]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=60)


_engines: dict[str, Engine] = {}
_engines_lock = threading.Lock()


def engine_for(config: SandboxConfig) -> Engine:
    """The process's engine for these container settings (connects on first use; blocking)."""
    key = _engine_key(config)
    with _engines_lock:
        engine = _engines.get(key)
        if engine is None:
            engine = _engines[key] = Engine(config)
        else:
            engine.ensure_pool(config.pool)
        return engine


def shutdown_all() -> None:
    """Remove every container this process still owns, then close ssh tunnels (registered
    with ``atexit``)."""
    with _engines_lock:
        engines = list(_engines.values())
        _engines.clear()
    for engine in engines:
        engine.shutdown()
    close_tunnels()


atexit.register(shutdown_all)


def prune(run: str | None = None, everything: bool = False) -> list[str]:
    """Remove sandbox containers left by collectors that no longer run; return their ids.

    By default only containers whose labelled owner process is gone on this host; ``run``
    narrows to one run, ``everything`` also removes live collectors' and other hosts'.
    """
    client = connect()
    filters = {"label": [f"{LABEL}=1"] + ([f"{LABEL_RUN}={run}"] if run else [])}
    removed = []
    for info in client.api.containers(all=True, filters=filters):
        owner = (info.get("Labels") or {}).get(LABEL_OWNER, "")
        if not everything and owner_alive(owner) is not False:
            continue
        try:
            client.api.remove_container(info["Id"], force=True)
        except Exception as exc:
            log.warning("could not remove %s: %s", info["Id"][:12], exc)
            continue
        removed.append(info["Id"])
    return removed
