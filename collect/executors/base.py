"""Where episodes run: the ``Executor`` seam and the ``ExecutorBackend`` a plugin registers.

The runner owns everything that must happen exactly once per run — which task starts next,
the ``--max-cost`` budget, the teacher-outage guard, appending records, ``run.json`` — and
asks an executor only to *play* a task and hand back its trajectory. So resume, budgets and
manifests behave the same whichever executor plays the episodes: the in-process one
(``local``, the runner's own event loop) or Ray workers across a cluster (``ray``).

An ``ExecutorBackend`` is what a ``trajkit.executors`` entry point names: it checks the
run's settings and builds the executor, without side effects (``start`` connects), so a bad
flag or a missing extra is one line before the run directory is touched.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, ClassVar, Protocol

from rich.console import Console

from trajkit.collect.attempts import FIRST, EpisodeKey
from trajkit.core.sandbox import SandboxFactory
from trajkit.schemas import Task, Trajectory
from trajkit.sources.base import Source

if TYPE_CHECKING:
    from trajkit.collect.config import CollectConfig


class Executor(Protocol):
    """Plays episodes; ``play`` may be awaited ``--concurrency`` times at once."""

    async def start(self, n_tasks: int) -> None:
        """Get ready to play up to ``n_tasks`` tasks; raise ``UserError`` before any spend."""
        ...

    async def play(self, task: Task, key: EpisodeKey = FIRST) -> Trajectory:
        """Play episode ``key`` of ``task`` to its trajectory, with the teacher of stage
        ``key.stage`` of the run's ladder (retrying lost infrastructure, never the teacher)."""
        ...

    async def aclose(self) -> None:
        """Release workers, clients and sandboxes; no process it started outlives this."""
        ...


class ExecutorBackend:
    """Builds one kind of executor for a run and declares what it supports."""

    name: ClassVar[str] = ""
    #: ``--mode batch`` gathers every episode's turn in one process's batcher.
    supports_batch: ClassVar[bool] = False

    def make(
        self,
        config: CollectConfig,
        console: Console,
        *,
        source: Source,
        sandbox_factory: SandboxFactory,
    ) -> Executor:
        """The executor for the run ``config`` describes; raise ``ConfigError`` for settings it
        cannot honour. ``source`` and ``sandbox_factory`` are the driver's (already attached);
        an executor playing elsewhere builds its own from ``config``."""
        raise NotImplementedError
