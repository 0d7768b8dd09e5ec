"""``--executor local`` (the default): episodes are coroutines in the collector's own process,
sharing its teacher client, response cache and sandbox backend."""

from __future__ import annotations

from typing import TYPE_CHECKING

from rich.console import Console

from trajkit.collect.attempts import FIRST, EpisodeKey
from trajkit.collect.executors.base import Executor, ExecutorBackend
from trajkit.collect.play import play_task
from trajkit.collect.sandbox.backend import check_sandbox
from trajkit.collect.teacher_setup import build_teacher
from trajkit.collect.teachers.base import Teacher
from trajkit.collect.teachers.batch_common import live_episode
from trajkit.core.errors import ConfigError
from trajkit.core.sandbox import SandboxFactory
from trajkit.schemas import Task, Trajectory
from trajkit.sources.base import Source

if TYPE_CHECKING:
    from trajkit.collect.config import CollectConfig


class LocalExecutor:
    """Plays episodes on this event loop with the run's teachers (one per stage of the
    ``--escalate`` ladder), built at ``start``."""

    def __init__(self, config: CollectConfig, source: Source, factory: SandboxFactory) -> None:
        self.config = config
        self.source = source
        self.factory = factory
        self.teachers: list[Teacher] = []

    async def start(self, n_tasks: int) -> None:
        """Prove the sandbox isolates, then build every stage's teacher (a bad key or an
        unknown escalation model fails here, before anything is paid)."""
        await check_sandbox(self.factory)
        for stage in range(len(self.config.ladder)):
            self.teachers.append(build_teacher(self.config.for_stage(stage)))

    async def play(self, task: Task, key: EpisodeKey = FIRST) -> Trajectory:
        assert self.teachers, "start() first"
        teacher = self.teachers[key.stage]
        async with live_episode(teacher):  # batch mode: a turn's batch waits for it
            return await play_task(
                task, self.source, teacher, self.factory, self.config.loop,
                run=self.config.run, sandbox_name=self.config.sandbox, key=key,
            )

    async def aclose(self) -> None:
        teachers, self.teachers = self.teachers, []
        for teacher in teachers:
            await teacher.aclose()


class LocalExecutorBackend(ExecutorBackend):
    """--executor local: episodes as coroutines in this process (the default)."""

    name = "local"
    supports_batch = True

    def make(
        self,
        config: CollectConfig,
        console: Console,
        *,
        source: Source,
        sandbox_factory: SandboxFactory,
    ) -> Executor:
        if config.ray_address or config.ray_workers:
            flag = "--ray-address" if config.ray_address else "--ray-workers"
            raise ConfigError(f"{flag}: only meaningful with --executor ray")
        return LocalExecutor(config, source, sandbox_factory)
