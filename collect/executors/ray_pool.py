"""The driver's Ray workers: started one per node, following the cluster's membership.

A ``WorkerPool`` starts the run's first workers (one per placeable node by default, or
``--ray-workers``) and hands the least-loaded one to each episode. Every
``MEMBERSHIP_POLL_S`` (or at once after a loss) it matches workers to nodes: a node that
joins mid-run gets a worker, a node that leaves takes its worker with it, and a worker given
up (``retire``) is replaced on a node the driver knows is alive and that did not just lose
one (``ray_membership.Membership``: Ray itself keeps a killed node ``Alive`` for several
seconds after its actors fail). Replacements are pinned there (hard node affinity).

Why apart from the executor (``ray_executor.py``): the executor decides what becomes of an
episode whose worker is lost (it is played again, up to a limit); the pool only keeps the
set of live workers matched to the cluster.
"""

from __future__ import annotations

import asyncio
import logging
import os
from collections import Counter
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any
from uuid import uuid4

from trajkit.collect.config import CollectConfig
from trajkit.collect.executors.ray_connect import driver_node, error_cause, first_line, kill_actor
from trajkit.collect.executors.ray_membership import TRUST_AFTER_S, Membership
from trajkit.collect.executors.ray_worker import EpisodeWorker, node_label
from trajkit.core.errors import UserError

log = logging.getLogger(__name__)

MEMBERSHIP_POLL_S = 2.0  # one small GCS call; nodes take far longer than this to join
#: How long an episode waits for a worker when none is left (a suspect node is trusted
#: again after ``TRUST_AFTER_S``; a worker then needs a few seconds to start).
NO_WORKER_TIMEOUT_S = TRUST_AFTER_S + 60.0
CLOSE_TIMEOUT_S = 10.0
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
    """An episode cannot be played: its worker was lost too many times, or every worker was
    lost and none could be started again in ``NO_WORKER_TIMEOUT_S``."""


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
class Worker:
    """One ready actor: the node it runs on, its episodes in flight, and ``gone``, set when
    the pool gives it up (its episodes stop waiting for it at once)."""

    actor: Any
    node_id: str | None
    label: str
    info: dict[str, Any] = field(default_factory=dict)
    load: int = 0
    gone: asyncio.Event = field(default_factory=asyncio.Event)


class WorkerPool:
    """The run's live Ray workers, matched to the cluster's nodes until ``close``."""

    def __init__(self, ray: Any, config: CollectConfig, say: Callable[[str], None]) -> None:
        self.ray = ray
        self.config = config
        self.say = say
        self.workers: list[Worker] = []  # ready ones, taking episodes
        self.workers_lost = 0
        self.membership = Membership()
        self._actors: list[Any] = []  # every actor started, for close
        self._starting: dict[asyncio.Task[None], str | None] = {}  # → the node it goes to
        self._spawn_error: BaseException | None = None
        self._had_worker: set[str] = set()  # nodes that ran one of this run's workers
        self._target = 0  # workers to keep whatever the membership (--ray-workers)
        self._cap = 1  # never more workers than episodes in flight
        self._follower: asyncio.Task[None] | None = None
        self._wake = asyncio.Event()  # look at the membership now (a worker was lost)
        self._changed = asyncio.Event()
        self._options: dict[str, Any] = {}
        self._forwarded: dict[str, str] = {}
        self._remote_cls: Any = None

    async def start(self, n_tasks: int) -> None:
        """Start the first workers, wait until each is ready, then follow the cluster's
        membership until ``close``. Raises a worker's ``UserError`` (a bad key, no isolation
        there) before any episode is spent, or the first failure if no worker started."""
        ray = self.ray
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
            "max_restarts": 0,  # a lost worker is replaced by the pool, never restarted
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
        self.workers = [r for r in results if isinstance(r, Worker)]
        if not self.workers:
            raise failures[0]
        for worker in self.workers:
            if worker.node_id is not None:
                self._had_worker.add(worker.node_id)
        for (_, node), result in zip(spawned, results, strict=True):
            if isinstance(result, BaseException):  # its node died as it started, ...
                self.membership.worker_lost(node, spawn=True)
                self.say(f"ray: a worker did not start: {first_line(result)}")
        hosts = sorted({w.info["host"] for w in self.workers})
        labels = sorted({w.label for w in self.workers})
        caches = sorted({w.info["cache"] for w in self.workers})
        self.say(
            f"ray: {len(self.workers)} worker(s) on {len(hosts)} host(s) ({', '.join(hosts)}), "
            f"{len(labels)} node(s) ({', '.join(labels)}); response cache: {'; '.join(caches)}"
        )
        self._follower = asyncio.create_task(self._follow_membership())

    async def pick(self) -> Worker:
        """The least-loaded worker; waits (up to ``NO_WORKER_TIMEOUT_S``) while none is left."""
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
            self._changed.clear()
            try:
                await asyncio.wait_for(self._changed.wait(), remaining)
            except asyncio.TimeoutError:
                pass
        return min(self.workers, key=lambda w: w.load)

    def retire(self, worker: Worker, why: str) -> None:
        """Give a worker up (once, however many of its episodes noticed): its other
        episodes in flight stop waiting for it now, its node gets no new worker for a
        while, and the membership follower decides on a replacement."""
        if worker not in self.workers:
            return
        self.workers.remove(worker)
        worker.gone.set()
        self.workers_lost += 1
        self.membership.worker_lost(worker.node_id)
        kill_actor(self.ray, worker.actor)  # should it still run, it plays nothing more
        self.say(f"ray: worker on node {worker.label} lost ({why}); its episodes go to the "
                 "other workers")
        self._wake.set()

    async def close(self) -> None:
        """Stop following the membership, close workers gracefully (teacher, cache, judge
        pools), then kill every actor this pool started."""
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
            kill_actor(self.ray, actor)
        self.workers = []

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

    async def _ready(self, actor: Any, node: str | None) -> Worker:
        try:
            info = await actor.ready.remote()
        except self.ray.exceptions.RayTaskError as exc:
            raise error_cause(exc) from None
        node_id = info.get("node_id") or node
        return Worker(actor, node_id, info.get("node") or "?", info)

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
            self.say(f"ray: node {node_label(self.config.run, node_id)} left the cluster")
        for worker in list(self.workers):
            if worker.node_id in m.lost:
                self.retire(worker, "its node left the cluster")
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
        self.say(f"ray: starting a worker on node {node_label(self.config.run, node_id)} ({why})")
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
            if isinstance(exc, UserError):  # no isolation, no sandbox image, ...
                self.membership.refuse(node_id)
                self.say(f"ray: node {label} cannot play episodes, so it gets no worker in "
                         f"this run: {first_line(exc)}")
            else:  # lost as it started: try elsewhere, and there again later
                self.membership.worker_lost(node_id, spawn=True)
                self.say(f"ray: a worker on node {label} did not start: {first_line(exc)}")
            return
        if worker.node_id in self.membership.lost:
            kill_actor(self.ray, actor)
            return
        self.workers.append(worker)
        if worker.node_id is not None:
            self._had_worker.add(worker.node_id)
        self._changed.set()
        self.say(f"ray: worker started on node {worker.label} ({why})")
