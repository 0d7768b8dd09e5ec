"""Where episodes run: in the collector's process (default) or on a Ray cluster (``--executor ray``).

The runner owns everything that must happen exactly once per run — which task starts next,
the ``--max-cost`` budget, the teacher-outage guard, appending records, ``run.json`` — and
asks an executor only to *play* a task and hand back its trajectory. So resume, dedup,
budgets and manifests behave the same whichever executor plays the episodes. The in-process
executor is the runner's own pool (``runner._run_all`` playing with the driver's teacher and
sandboxes); a remote one implements ``Executor``.
"""

from __future__ import annotations

from typing import Protocol

from rich.console import Console

from trajkit.collect.config import CollectConfig
from trajkit.schemas import Task, Trajectory
from trajkit.schemas.errors import ConfigError


class Executor(Protocol):
    """Plays episodes elsewhere; ``play`` may be awaited ``--concurrency`` times at once."""

    async def start(self, n_tasks: int) -> None:
        """Get ready to play up to ``n_tasks`` tasks; raise ``UserError`` before any spend."""
        ...

    async def play(self, task: Task) -> Trajectory:
        """Play ``task`` to its trajectory (retrying lost infrastructure, never the teacher)."""
        ...

    async def aclose(self) -> None:
        """Release workers, clients and sandboxes; no process it started outlives this."""
        ...


def make_executor(config: CollectConfig, console: Console | None = None) -> Executor | None:
    """The remote executor ``config`` names, or None to play in-process.

    Built without side effects (``start`` connects), so a bad flag or a missing extra is a
    one-line ``ConfigError`` before the run directory is touched.
    """
    if config.executor == "local":
        if config.ray_address or config.ray_workers:
            flag = "--ray-address" if config.ray_address else "--ray-workers"
            raise ConfigError(f"{flag}: only meaningful with --executor ray")
        return None
    if config.mode == "batch":
        raise ConfigError(
            "--executor ray: batch mode submits batches from one process; use the local executor"
        )
    from trajkit.collect.executors.ray_executor import RayExecutor

    return RayExecutor(config, console)
