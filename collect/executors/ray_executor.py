"""``--executor ray``: episodes run on Ray worker processes across a cluster; records stream back.

Each worker process is an async actor (``ray_worker.EpisodeWorker``) that builds its own
source, sandbox backend and teacher client once, from the driver's ``CollectConfig``, and
then plays many episodes concurrently. The driver keeps the runner's loop unchanged: it
decides which task starts next (budget), sends it to the least-loaded worker, and appends
the trajectory that comes back — the driver is the run directory's only writer.

A worker lost mid-run (its node died, it was killed) costs only its in-flight episodes: each
is resubmitted to a surviving worker (up to ``MAX_ATTEMPTS`` times) and a replacement worker
is started in the background. A lost attempt never returns a trajectory, and the run store
ignores a task it already holds, so a retried episode is written at most once.
"""

from __future__ import annotations

import asyncio
import logging
import os
import socket
from dataclasses import dataclass, field
from typing import Any
from uuid import uuid4

from rich.console import Console

from trajkit.collect.config import CollectConfig
from trajkit.collect.executors.base import Executor, ExecutorBackend
from trajkit.collect.executors.ray_worker import EpisodeWorker
from trajkit.core.errors import ConfigError, UserError
from trajkit.core.sandbox import SandboxFactory
from trajkit.schemas import Task, Trajectory
from trajkit.sources.base import Source

MAX_ATTEMPTS = 3
CLOSE_TIMEOUT_S = 10.0
# What the teacher SDKs and sandbox backends read from the environment. Forwarded so that
# a key exported on the driver reaches every worker (it overrides the nodes' own value).
FORWARDED_ENV = ("OPENAI_", "ANTHROPIC_", "DOCKER_")
INSTALL_HINT = "pip install 'trajkit[ray]'"


class EpisodeLostError(UserError):
    """An episode lost its worker ``MAX_ATTEMPTS`` times (or no worker is left)."""


def import_ray() -> Any:
    """The ``ray`` module, or a one-line ``ConfigError`` saying how to install it."""
    try:
        import ray
    except ImportError:
        raise ConfigError(f"--executor ray: Ray is not installed; {INSTALL_HINT}") from None
    return ray


@dataclass(eq=False)
class _Worker:
    actor: Any
    info: dict[str, Any] = field(default_factory=dict)
    load: int = 0


class RayExecutor:
    """Plays episodes on Ray actors; retries episodes whose worker was lost."""

    def __init__(self, config: CollectConfig, console: Console | None = None) -> None:
        if config.ray_address is not None:
            _probe(config.ray_address)
        self.ray = import_ray()
        self.config = config
        self.console = console or Console(stderr=True)
        self.workers: list[_Worker] = []
        self.retried = 0  # episode attempts lost with their worker
        self.workers_lost = 0
        self._actors: list[Any] = []  # every actor started, for aclose
        self._replacing: set[asyncio.Task[None]] = set()
        self._replace_error: BaseException | None = None
        self._owns_ray = False
        self._options: dict[str, Any] = {}
        self._remote_cls: Any = None

    async def start(self, n_tasks: int) -> None:
        """Connect (or start a local Ray), start the workers and wait until each is ready."""
        ray = self.ray
        if not ray.is_initialized():
            self._connect()
        cpus = float(ray.cluster_resources().get("CPU", 0.0))
        # By default one worker per node: a worker is asyncio-bound (the CPU work happens in
        # its sandboxes and judge processes), so one per node builds each node's fork server,
        # judge pool and teacher client once and gives it all of that node's episodes.
        nodes = [node["NodeID"] for node in ray.nodes()
                 if node.get("Alive") and node.get("Resources", {}).get("CPU", 0) >= 1]
        wanted = self.config.ray_workers or max(len(nodes), 1)
        n = max(1, min(wanted, self.config.concurrency, n_tasks))
        forwarded = {k: v for k, v in os.environ.items() if k.startswith(FORWARDED_ENV)}
        self._remote_cls = ray.remote(EpisodeWorker)
        self._options = {
            # More workers than CPUs share them: the work is mostly waiting on the teacher.
            "num_cpus": min(1.0, cpus / n) if cpus else 0,
            "max_concurrency": self.config.concurrency + 2,  # + ready/aclose calls
            "max_restarts": 0,  # a lost worker is replaced by the driver, never restarted
            "scheduling_strategy": "SPREAD",
        }
        if forwarded:
            self._options["runtime_env"] = {"env_vars": forwarded}
        if self.config.ray_workers is None and len(nodes) == n:
            from ray.util.scheduling_strategies import NodeAffinitySchedulingStrategy

            # soft: should the node be gone by then, Ray places the worker elsewhere
            actors = [self._spawn(NodeAffinitySchedulingStrategy(node, soft=True))
                      for node in nodes]
        else:
            actors = [self._spawn() for _ in range(n)]
        infos = await asyncio.gather(*(self._ready(a) for a in actors))
        self.workers = [_Worker(a, info) for a, info in zip(actors, infos, strict=True)]
        hosts = sorted({w.info["host"] for w in self.workers})
        caches = sorted({w.info["cache"] for w in self.workers})
        self.console.print(
            f"ray: {n} worker(s) on {len(hosts)} host(s) ({', '.join(hosts)}); "
            f"response cache: {'; '.join(caches)}",
            highlight=False, soft_wrap=True, markup=False,
        )

    def _connect(self) -> None:
        ray, address = self.ray, self.config.ray_address
        quiet = {"log_to_driver": False, "logging_level": logging.ERROR}
        if address is None:
            ray.init(num_cpus=self.config.ray_workers, include_dashboard=False, **quiet)
        else:
            try:
                ray.init(address=address, **quiet)
            except (ConnectionError, RuntimeError, ValueError) as exc:
                reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
                raise ConfigError(f"--ray-address {address}: cannot connect ({reason})") from None
        self._owns_ray = True

    def _spawn(self, placement: Any = None) -> Any:
        name = f"trajkit-{self.config.run}-{len(self._actors)}-{uuid4().hex[:6]}"
        config = self.config.model_dump(mode="json")
        config["out"] = str(self.config.out.resolve())  # the same cache file from any cwd
        options = dict(self._options)
        if placement is not None:
            options["scheduling_strategy"] = placement
        actor = self._remote_cls.options(name=name, **options).remote(config, os.getcwd())
        self._actors.append(actor)
        return actor

    async def _ready(self, actor: Any) -> dict[str, Any]:
        try:
            return await actor.ready.remote()
        except self.ray.exceptions.RayTaskError as exc:
            raise _cause(exc) from None

    async def play(self, task: Task) -> Trajectory:
        """Play ``task`` on the least-loaded worker; resubmit it if that worker is lost."""
        errors = self.ray.exceptions
        lost = (errors.RayActorError, errors.WorkerCrashedError, errors.NodeDiedError,
                errors.ObjectLostError, errors.OutOfMemoryError)
        for _ in range(MAX_ATTEMPTS):
            worker = await self._pick()
            worker.load += 1
            try:
                return await worker.actor.play.remote(task)
            except self.ray.exceptions.RayTaskError as exc:
                raise _cause(exc) from None
            except lost:
                self.retried += 1
                self._retire(worker)
            finally:
                worker.load -= 1
        raise EpisodeLostError(
            f"task {task.task_id}: its Ray worker was lost {MAX_ATTEMPTS} times; "
            "re-run the same command to resume"
        )

    async def _pick(self) -> _Worker:
        while not self.workers:
            if not self._replacing:
                if self._replace_error is not None:
                    raise self._replace_error
                raise EpisodeLostError("every Ray worker was lost; re-run to resume")
            await asyncio.wait(set(self._replacing), return_when=asyncio.FIRST_COMPLETED)
        return min(self.workers, key=lambda w: w.load)

    def _retire(self, worker: _Worker) -> None:
        """Drop a lost worker (once, however many of its episodes noticed) and replace it."""
        if worker not in self.workers:
            return
        self.workers.remove(worker)
        self.workers_lost += 1
        replacement = asyncio.create_task(self._replace())
        self._replacing.add(replacement)
        replacement.add_done_callback(self._replacing.discard)

    async def _replace(self) -> None:
        """Start a new worker wherever Ray finds room; it joins the pool once ready."""
        actor = self._spawn()
        try:
            info = await self._ready(actor)
        except (UserError, self.ray.exceptions.RayError) as exc:
            self._replace_error = exc
            first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            self.console.print(f"ray: a replacement worker did not start: {first}",
                               highlight=False, markup=False)
            return
        self.workers.append(_Worker(actor, info))

    async def aclose(self) -> None:
        """Close workers gracefully (teacher, cache, judge pools), then kill every actor."""
        ray = self.ray
        for pending in list(self._replacing):
            pending.cancel()
        await asyncio.gather(*self._replacing, return_exceptions=True)
        if self.workers:
            closing = [w.actor.aclose.remote() for w in self.workers]
            try:
                await asyncio.wait_for(
                    asyncio.gather(*closing, return_exceptions=True), CLOSE_TIMEOUT_S
                )
            except asyncio.TimeoutError:
                pass  # killed below either way
        for actor in self._actors:
            try:
                ray.kill(actor)
            except Exception:  # already dead
                pass
        self.workers = []
        if self.workers_lost:
            self.console.print(
                f"ray: {self.workers_lost} worker(s) lost; {self.retried} episode(s) "
                "were played again elsewhere",
                highlight=False,
            )
        if self._owns_ray:
            ray.shutdown()
            self._owns_ray = False


def _cause(exc: Any) -> BaseException:
    """The user error a worker raised (bad key, no isolation), else Ray's own error."""
    cause = getattr(exc, "cause", None)
    return cause if isinstance(cause, UserError) else exc


def _probe(address: str) -> None:
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


class RayExecutorBackend(ExecutorBackend):
    """``--executor ray``: needs the ``ray`` extra (the registry names it when missing)."""

    name = "ray"
    supports_batch = False

    def make(
        self,
        config: CollectConfig,
        console: Console,
        *,
        source: Source,
        sandbox_factory: SandboxFactory,
    ) -> Executor:
        """Workers build their own source and sandboxes from ``config``; the driver's are
        used for loading and judging only."""
        return RayExecutor(config, console)
