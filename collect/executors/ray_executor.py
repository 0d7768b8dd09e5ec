"""``--executor ray``: episodes run on Ray worker processes across a cluster; records stream back.

Each worker process is an async actor (``ray_worker.EpisodeWorker``) that builds its own
source, sandbox backend and teacher clients once, from the driver's ``CollectConfig``, and
then plays many episodes concurrently. The driver keeps the runner's loop unchanged: it
decides which task starts next (budget), sends it to the least-loaded worker, and appends
the trajectory that comes back — the driver is the run directory's only writer. Each
trajectory names the node that played it (an opaque ``node_label``); ``run.json`` and the
progress line count episodes, lost and replayed attempts per node.

Workers follow the cluster's membership (``ray.nodes()``, polled every
``MEMBERSHIP_POLL_S``): a node that joins mid-run gets a worker, a node that leaves takes
its worker with it. A worker lost mid-run (its node died, it was killed) costs only its
in-flight episodes: each is resubmitted to a surviving worker (up to ``MAX_ATTEMPTS``
times), and a lost attempt never returns a trajectory, so a replayed episode is written
once. Replacements are pinned (hard node affinity) to a node the driver knows is alive and
that did not just lose a worker (``ray_membership.Membership``): Ray itself keeps a killed
node ``Alive`` for several seconds after its actors fail.
"""

from __future__ import annotations

import asyncio
import logging
import os
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any
from uuid import uuid4

from rich.console import Console

from trajkit.collect.attempts import FIRST, EpisodeKey
from trajkit.collect.config import CollectConfig
from trajkit.collect.executors.base import Executor, ExecutorBackend
from trajkit.collect.executors.ray_connect import (
    connect,
    driver_node,
    error_cause,
    first_line,
    import_ray,
    kill_actor,
    probe_address,
)
from trajkit.collect.executors.ray_membership import TRUST_AFTER_S, Membership
from trajkit.collect.executors.ray_worker import EpisodeWorker, node_label
from trajkit.collect.node_tally import NodeTally
from trajkit.core.errors import UserError
from trajkit.core.sandbox import SandboxFactory
from trajkit.schemas import Task, Trajectory
from trajkit.sources.base import Source

log = logging.getLogger(__name__)

MAX_ATTEMPTS = 3
CLOSE_TIMEOUT_S = 10.0
MEMBERSHIP_POLL_S = 2.0  # one small GCS call; nodes take far longer than this to join
#: How long an episode waits for a worker when none is left (a suspect node is trusted
#: again after ``TRUST_AFTER_S``; a worker then needs a few seconds to start).
NO_WORKER_TIMEOUT_S = TRUST_AFTER_S + 60.0
# What the teacher SDKs read from the environment. Forwarded so that a key exported on the
# driver reaches every worker (it overrides the nodes' own value). As an argument of the
# worker, not a Ray runtime environment: a worker then starts in one of Ray's ready processes
# (a runtime environment costs each worker a new process, ~2 s). ``DOCKER_*`` is not: the
# driver's engine address (a loopback port, a unix socket, a cert path) means another engine,
# or none, on another node; each node's workers use the engine that node's own environment
# names (its local socket by default).
FORWARDED_ENV = ("OPENAI_", "ANTHROPIC_")


def forwarded_env(environ: Mapping[str, str]) -> dict[str, str]:
    """The driver's variables every worker gets (``FORWARDED_ENV``)."""
    return {k: v for k, v in environ.items() if k.startswith(FORWARDED_ENV)}


class EpisodeLostError(UserError):
    """An episode lost its worker ``MAX_ATTEMPTS`` times (or no worker is left)."""


class _WorkerGone(Exception):
    """The driver gave a worker up (its node left, or another of its episodes lost it)."""


class RayEpisodeWorker(EpisodeWorker):
    """``EpisodeWorker`` as Ray runs it: it asks Ray which node it is on, and labels every
    trajectory it plays with that node (where it really ran, whatever the placement asked)."""

    def __init__(self, config: dict[str, Any], cwd: str, env: dict[str, str]) -> None:
        """``env``: the driver's keys and endpoints (``FORWARDED_ENV``), set before anything
        reads them (teacher clients and sandbox backends are built in ``ready``)."""
        import ray

        os.environ.update(env)
        self.node_id = ray.get_runtime_context().get_node_id()
        super().__init__(config, cwd, node=node_label(str(config["run"]), self.node_id))

    async def ready(self) -> dict[str, Any]:
        info = await super().ready()
        info["node_id"] = self.node_id
        return info


@dataclass(eq=False)
class _Worker:
    actor: Any
    node_id: str | None
    label: str
    info: dict[str, Any] = field(default_factory=dict)
    load: int = 0
    gone: asyncio.Event = field(default_factory=asyncio.Event)


class RayExecutor:
    """Plays episodes on Ray actors that follow the cluster's nodes; replays lost episodes."""

    def __init__(self, config: CollectConfig, console: Console | None = None) -> None:
        if config.ray_address is not None:
            probe_address(config.ray_address)
        self.ray = import_ray()
        self.config = config
        self.console = console or Console(stderr=True)
        self.workers: list[_Worker] = []  # ready ones, taking episodes
        self.retried = 0  # episode attempts lost with their worker
        self.workers_lost = 0
        #: (node label, why) of every worker started after the first ones, in order
        self.placements: list[tuple[str, str]] = []
        self.membership = Membership()
        self.tally = NodeTally()  # the run store's, once the runner binds it
        self._actors: list[Any] = []  # every actor started, for aclose
        self._starting: dict[asyncio.Task[None], str | None] = {}  # → the node it goes to
        self._spawn_error: BaseException | None = None
        self._had_worker: set[str] = set()  # nodes that ran one of this run's workers
        self._target = 0  # workers to keep whatever the membership (--ray-workers)
        self._cap = 1  # never more workers than episodes in flight
        self._follower: asyncio.Task[None] | None = None
        self._wake = asyncio.Event()  # look at the membership now (a worker was lost)
        self._pool_changed = asyncio.Event()
        self._owns_ray = False
        self._options: dict[str, Any] = {}
        self._forwarded: dict[str, str] = {}
        self._remote_cls: Any = None

    def bind_node_tally(self, tally: NodeTally) -> None:
        """Count lost and replayed attempts in ``tally`` (the run store's, for run.json)."""
        self.tally = tally

    async def start(self, n_tasks: int) -> None:
        """Connect (or start a local Ray), start the workers, wait until each is ready,
        then follow the cluster's membership until ``aclose``."""
        ray = self.ray
        if not ray.is_initialized():
            connect(ray, self.config)
            self._owns_ray = True
        self.membership = Membership(driver_node(ray))
        self.membership.update(await asyncio.to_thread(ray.nodes))
        nodes = self.membership.placeable()
        # By default one worker per node: a worker is asyncio-bound (the CPU work happens in
        # its sandboxes and judge processes), so one per node builds each node's fork server,
        # judge pool and teacher client once and gives it all of that node's episodes.
        self._cap = max(1, min(self.config.concurrency, n_tasks))
        self._target = min(self.config.ray_workers or 0, self._cap)
        n = min(self._target or max(len(nodes), 1), self._cap)
        self._forwarded = forwarded_env(os.environ)
        self._remote_cls = ray.remote(RayEpisodeWorker)
        self._options = {
            "max_concurrency": self.config.concurrency + 2,  # + ready/aclose calls
            "max_restarts": 0,  # a lost worker is replaced by the driver, never restarted
        }
        # No node with a CPU yet (a CPU-less head, an autoscaler starting from zero): let
        # Ray place the first workers and its autoscaler find room for them.
        placements = [nodes[i % len(nodes)] for i in range(n)] if nodes else [None] * n
        counts: Counter[str | None] = Counter()
        spawned = []
        for node in placements:
            spawned.append(self._spawn(node, first_on_node=not counts[node]))
            counts[node] += 1
        results = await asyncio.gather(
            *(self._ready(actor, node) for actor, node in spawned), return_exceptions=True
        )
        failures = [r for r in results if isinstance(r, BaseException)]
        for failure in failures:
            if not isinstance(failure, Exception) or isinstance(failure, UserError):
                raise failure  # cancelled; a bad key or no isolation: stop before any spend
        self.workers = [r for r in results if isinstance(r, _Worker)]
        if not self.workers:
            raise failures[0]
        for worker in self.workers:
            if worker.node_id is not None:
                self._had_worker.add(worker.node_id)
        for (_, node), result in zip(spawned, results, strict=True):
            if isinstance(result, BaseException):  # its node died as it started, ...
                self.membership.worker_lost(node, spawn=True)
                self._say(f"ray: a worker did not start: {first_line(result)}")
        hosts = sorted({w.info["host"] for w in self.workers})
        labels = sorted({w.label for w in self.workers})
        caches = sorted({w.info["cache"] for w in self.workers})
        self._say(
            f"ray: {len(self.workers)} worker(s) on {len(hosts)} host(s) ({', '.join(hosts)}), "
            f"{len(labels)} node(s) ({', '.join(labels)}); response cache: {'; '.join(caches)}"
        )
        self._follower = asyncio.create_task(self._follow_membership())

    def _spawn(self, node: str | None, *, first_on_node: bool) -> tuple[Any, str | None]:
        """Start an actor pinned to ``node`` (hard affinity: never elsewhere, never on a
        node the driver no longer trusts); ``None``: wherever Ray finds room."""
        name = f"trajkit-{self.config.run}-{len(self._actors)}-{uuid4().hex[:6]}"
        config = self.config.model_dump(mode="json")
        config["out"] = str(self.config.out.resolve())  # the same cache file from any cwd
        options = dict(self._options)
        if node is None:
            options.update(num_cpus=1, scheduling_strategy="SPREAD")
        else:
            from ray.util.scheduling_strategies import NodeAffinitySchedulingStrategy

            # The run holds one CPU per node it uses (its first worker's); more workers on
            # the same node share it (the work is mostly waiting on the teacher).
            cpus = min(1.0, self.membership.cpus(node)) if first_on_node else 0.0
            options.update(
                num_cpus=cpus,
                scheduling_strategy=NodeAffinitySchedulingStrategy(node, soft=False),
            )
        actor = self._remote_cls.options(name=name, **options).remote(
            config, os.getcwd(), self._forwarded
        )
        self._actors.append(actor)
        return actor, node

    async def _ready(self, actor: Any, node: str | None) -> _Worker:
        try:
            info = await actor.ready.remote()
        except self.ray.exceptions.RayTaskError as exc:
            raise error_cause(exc) from None
        node_id = info.get("node_id") or node
        return _Worker(actor, node_id, info.get("node") or "?", info)

    async def play(self, task: Task, key: EpisodeKey = FIRST) -> Trajectory:
        """Play ``task`` on the least-loaded worker; replay it elsewhere if that worker is lost."""
        errors = self.ray.exceptions
        lost = (errors.RayActorError, errors.WorkerCrashedError, errors.NodeDiedError,
                errors.ObjectLostError, errors.OutOfMemoryError, _WorkerGone)
        replay = False
        for _ in range(MAX_ATTEMPTS):
            worker = await self._pick()
            worker.load += 1
            try:
                traj = await self._play_on(worker, task, key)
            except errors.RayTaskError as exc:
                raise error_cause(exc) from None
            except lost as exc:
                self.retried += 1
                self.tally.lost(worker.label)
                self._retire(worker, type(exc).__name__)
                replay = True
                continue
            finally:
                worker.load -= 1
            if replay:
                self.tally.replayed(worker.label)
            return traj
        raise EpisodeLostError(
            f"task {task.task_id}: its Ray worker was lost {MAX_ATTEMPTS} times; "
            "re-run the same command to resume"
        )

    async def _play_on(self, worker: _Worker, task: Task, key: EpisodeKey) -> Trajectory:
        """The worker's trajectory, or ``_WorkerGone`` as soon as the driver gives the
        worker up (without waiting for Ray to notice that its node died)."""
        result: asyncio.Future[Trajectory] = asyncio.ensure_future(
            worker.actor.play.remote(task, key)
        )
        gone = asyncio.ensure_future(worker.gone.wait())
        try:
            await asyncio.wait((result, gone), return_when=asyncio.FIRST_COMPLETED)
        finally:
            gone.cancel()
            if not result.done():
                result.cancel()  # abandoned: whatever it returns now is never written
        if result.cancelled():
            raise _WorkerGone
        return result.result()

    async def _pick(self) -> _Worker:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + NO_WORKER_TIMEOUT_S
        while not self.workers:
            if not self._starting and isinstance(self._spawn_error, UserError):
                raise self._spawn_error
            remaining = deadline - loop.time()
            if remaining <= 0:
                raise EpisodeLostError(
                    "every Ray worker was lost and none could be started again; re-run the "
                    "same command to resume"
                )
            self._wake.set()
            self._pool_changed.clear()
            try:
                await asyncio.wait_for(self._pool_changed.wait(), remaining)
            except asyncio.TimeoutError:
                pass
        return min(self.workers, key=lambda w: w.load)

    def _retire(self, worker: _Worker, why: str) -> None:
        """Give a worker up (once, however many of its episodes noticed): its other
        in-flight episodes are replayed now, its node gets no new worker for a while, and
        the membership follower decides on a replacement."""
        if worker not in self.workers:
            return
        self.workers.remove(worker)
        worker.gone.set()
        self.workers_lost += 1
        self.membership.worker_lost(worker.node_id)
        kill_actor(self.ray, worker.actor)  # should it still run, it plays nothing more
        self._say(f"ray: worker on node {worker.label} lost ({why}); its episodes go to the "
                  "other workers")
        self._wake.set()

    async def _follow_membership(self) -> None:
        """Every ``MEMBERSHIP_POLL_S`` (or at once after a loss), match workers to nodes."""
        while True:
            try:
                await asyncio.wait_for(self._wake.wait(), MEMBERSHIP_POLL_S)
            except asyncio.TimeoutError:
                pass
            self._wake.clear()
            try:
                nodes = await asyncio.to_thread(self.ray.nodes)
            except Exception as exc:  # the GCS briefly unreachable: keep the pool as it is
                log.debug("ray.nodes() failed: %s", exc)
                continue
            self._reconcile(nodes)

    def _reconcile(self, nodes: list[dict[str, Any]]) -> None:
        """Drop workers of nodes that left; start one on each placeable node without one
        (a new node, or one trusted again), then top up to ``--ray-workers``."""
        m = self.membership
        for node_id in m.update(nodes):
            self._say(f"ray: node {node_label(self.config.run, node_id)} left the cluster")
        for worker in list(self.workers):
            if worker.node_id in m.lost:
                self._retire(worker, "its node left the cluster")
        for pending, starting_on in list(self._starting.items()):
            if starting_on in m.lost:
                pending.cancel()
        counts: Counter[str] = Counter(w.node_id for w in self.workers if w.node_id)
        counts.update(n for n in self._starting.values() if n)
        total = len(self.workers) + len(self._starting)
        for node_id in m.placeable():
            if total >= self._cap:
                return
            if not counts[node_id]:
                why = "replacing a lost worker" if node_id in self._had_worker else "new node"
                self._launch(node_id, why, first_on_node=True)
                counts[node_id] += 1
                total += 1
        while total < self._target:
            choice = m.choose(counts)
            if choice is None:
                return
            self._launch(choice, "replacing a lost worker", first_on_node=not counts[choice])
            counts[choice] += 1
            total += 1

    def _launch(self, node_id: str, why: str, *, first_on_node: bool) -> None:
        """Start a worker on ``node_id`` in the background; it joins the pool once ready."""
        actor, _ = self._spawn(node_id, first_on_node=first_on_node)
        self._say(f"ray: starting a worker on node {node_label(self.config.run, node_id)} ({why})")
        joining = asyncio.create_task(self._join(actor, node_id, why))
        self._starting[joining] = node_id
        joining.add_done_callback(lambda done: self._starting.pop(done, None))

    async def _join(self, actor: Any, node_id: str, why: str) -> None:
        label = node_label(self.config.run, node_id)
        try:
            worker = await self._ready(actor, node_id)
        except (UserError, self.ray.exceptions.RayError) as exc:
            self._spawn_error = exc
            kill_actor(self.ray, actor)
            if isinstance(exc, UserError):  # no isolation there, no sandbox image, ...
                self.membership.refuse(node_id)
                self._say(f"ray: node {label} cannot play episodes, so it gets no worker in "
                          f"this run: {first_line(exc)}")
            else:  # lost as it started: try elsewhere, and there again later
                self.membership.worker_lost(node_id, spawn=True)
                self._say(f"ray: a worker on node {label} did not start: {first_line(exc)}")
            return
        if worker.node_id in self.membership.lost:
            kill_actor(self.ray, actor)
            return
        self.workers.append(worker)
        if worker.node_id is not None:
            self._had_worker.add(worker.node_id)
        self.placements.append((worker.label, why))
        self._pool_changed.set()
        self._say(f"ray: worker started on node {worker.label} ({why})")

    async def aclose(self) -> None:
        """Close workers gracefully (teacher, cache, judge pools), then kill every actor."""
        ray = self.ray
        pending = [t for t in (self._follower, *self._starting) if t is not None]
        self._follower = None
        for task in pending:
            task.cancel()
        await asyncio.gather(*pending, return_exceptions=True)
        if self.workers:
            closing = [w.actor.aclose.remote() for w in self.workers]
            try:
                await asyncio.wait_for(
                    asyncio.gather(*closing, return_exceptions=True), CLOSE_TIMEOUT_S
                )
            except asyncio.TimeoutError:
                pass  # killed below either way
        for actor in self._actors:
            kill_actor(ray, actor)
        self.workers = []
        if self.workers_lost:
            self._say(f"ray: {self.workers_lost} worker(s) lost; {self.retried} episode(s) "
                      "were played again elsewhere")
        where = self.tally.summary()
        if where:
            self._say(f"ray: {where}")
        if self._owns_ray:
            ray.shutdown()
            self._owns_ray = False

    def _say(self, line: str) -> None:
        self.console.print(line, highlight=False, markup=False, soft_wrap=True)


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
