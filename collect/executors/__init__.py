"""Where episodes run: in the collector's process (``local``) or on Ray workers (``ray``).

The seam is ``base.Executor``; ``make_executor`` finds the run's ``ExecutorBackend`` in the
plugin registry (entry-point group ``trajkit.executors``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from rich.console import Console

from trajkit.collect.executors.base import Executor, ExecutorBackend
from trajkit.core import registry
from trajkit.core.errors import ConfigError
from trajkit.core.sandbox import SandboxFactory
from trajkit.sources.base import Source

if TYPE_CHECKING:
    from trajkit.collect.config import CollectConfig

__all__ = ["Executor", "ExecutorBackend", "check_batch_mode", "get_executor_backend", "make_executor"]


def get_executor_backend(name: str) -> ExecutorBackend:
    """The backend registered as ``name``; an unknown one is a one-line error naming the flag."""
    backend: ExecutorBackend = registry.instance("executor", name, flag="--executor")
    return backend


def make_executor(
    config: CollectConfig, console: Console, *, source: Source, sandbox_factory: SandboxFactory
) -> Executor:
    """The executor ``config.executor`` names, built without side effects."""
    backend = get_executor_backend(config.executor)
    check_batch_mode(config)
    return backend.make(config, console, source=source, sandbox_factory=sandbox_factory)


def check_batch_mode(config: CollectConfig) -> None:
    """Batch mode needs a provider batch API and one process gathering every turn: say so
    before anything is written, naming the flag."""
    if config.mode != "batch":
        return
    from trajkit.collect.teachers.provider import provider_for

    provider, _ = provider_for(config.teacher)
    if not provider.batchable:
        raise ConfigError(
            f"--mode batch: the {provider.name} teacher has no batch API (use openai: or anthropic:)"
        )
    if not get_executor_backend(config.executor).supports_batch:
        raise ConfigError(
            f"--mode batch: gathers every episode's turn in one process; --executor "
            f"{config.executor} cannot (use --executor local)"
        )
