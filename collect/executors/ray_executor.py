"""``--executor ray``: episodes run on Ray worker processes across a cluster; records stream back.

Each worker process is an async actor (``ray_worker.EpisodeWorker``) that builds its own
source, sandbox backend and teacher clients once, from the driver's ``CollectConfig``, and
then plays many episodes concurrently. The driver keeps the runner's loop unchanged: it
decides which task starts next (budget), sends it to the least-loaded worker, and appends
the trajectory that comes back — the driver is the run directory's only writer. Each
trajectory names the node that played it (an opaque ``node_label``); ``run.json`` and the
progress line count episodes, lost and replayed attempts per node.

The workers follow the cluster's membership (``ray_pool.WorkerPool``). A worker lost mid-run
(its node died, it was killed) costs only its in-flight episodes: each is played again on a
surviving worker (up to ``MAX_ATTEMPTS`` times), and a lost attempt never returns a
trajectory, so a replayed episode is written once.
"""

from __future__ import annotations

import asyncio

from rich.console import Console

from trajkit.collect.attempts import FIRST, EpisodeKey
from trajkit.collect.config import CollectConfig
from trajkit.collect.executors.base import Executor, ExecutorBackend
from trajkit.collect.executors.ray_connect import connect, error_cause, import_ray, probe_address
from trajkit.collect.executors.ray_pool import EpisodeLostError, Worker, WorkerPool
from trajkit.collect.node_tally import NodeTally
from trajkit.core.sandbox import SandboxFactory
from trajkit.schemas import Task, Trajectory
from trajkit.sources.base import Source

MAX_ATTEMPTS = 3


class _WorkerGone(Exception):
    """The pool gave a worker up (its node left, or another of its episodes lost it)."""


class RayExecutor:
    """Plays episodes on the pool's Ray workers; plays an episode again if its worker is lost."""

    def __init__(self, config: CollectConfig, console: Console | None = None) -> None:
        if config.ray_address is not None:
            probe_address(config.ray_address)
        self.ray = import_ray()
        self.config = config
        self.console = console or Console(stderr=True)
        self.pool = WorkerPool(self.ray, config, self._say)
        self.retried = 0  # episode attempts lost with their worker
        self.tally = NodeTally()  # the run store's, once the runner binds it
        self._owns_ray = False

    def bind_node_tally(self, tally: NodeTally) -> None:
        """Count lost and replayed attempts in ``tally`` (the run store's, for run.json)."""
        self.tally = tally

    async def start(self, n_tasks: int) -> None:
        """Connect (or start a local Ray), then start the workers and wait until each is
        ready (``WorkerPool.start``)."""
        if not self.ray.is_initialized():
            connect(self.ray, self.config)
            self._owns_ray = True
        await self.pool.start(n_tasks)

    async def play(self, task: Task, key: EpisodeKey = FIRST) -> Trajectory:
        """Play ``task`` on the least-loaded worker; replay it elsewhere if that worker is lost."""
        errors = self.ray.exceptions
        lost = (errors.RayActorError, errors.WorkerCrashedError, errors.NodeDiedError,
                errors.ObjectLostError, errors.OutOfMemoryError, _WorkerGone)
        replay = False
        for _ in range(MAX_ATTEMPTS):
            worker = await self.pool.pick()
            worker.load += 1
            try:
                traj = await self._play_on(worker, task, key)
            except errors.RayTaskError as exc:
                raise error_cause(exc) from None
            except lost as exc:
                self.retried += 1
                self.tally.lost(worker.label)
                self.pool.retire(worker, type(exc).__name__)
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

    async def _play_on(self, worker: Worker, task: Task, key: EpisodeKey) -> Trajectory:
        """The worker's trajectory, or ``_WorkerGone`` as soon as the pool gives the
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

    async def aclose(self) -> None:
        """Close the workers, say what was lost and where episodes ran, then shut down a
        Ray this run started."""
        await self.pool.close()
        if self.pool.workers_lost:
            self._say(f"ray: {self.pool.workers_lost} worker(s) lost; {self.retried} "
                      "episode(s) were played again elsewhere")
        where = self.tally.summary()
        if where:
            self._say(f"ray: {where}")
        if self._owns_ray:
            self.ray.shutdown()
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
