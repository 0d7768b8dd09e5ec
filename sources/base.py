"""The source seam: load tasks, phrase them, name their tools, judge answers.

A source knows its data formats and metric, nothing about teachers or run directories.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Protocol

from pydantic import BaseModel, Field

from trajkit.collect.sandbox.base import Sandbox
from trajkit.collect.tools import Tool
from trajkit.schemas import Task, Verdict


class LoadOptions(BaseModel):
    """How to select tasks: a local file, a Hub dataset, or the bundled sample."""

    data: str | None = None
    hf: str | None = None
    hf_config: str | None = None
    split: str | None = None
    limit: int | None = None
    seed: int = 0
    levels: list[str] = Field(default_factory=list)
    types: list[str] = Field(default_factory=list)


@dataclass(frozen=True)
class SourceRuntime:
    """What the collector lends a source for its whole run.

    ``sandbox_factory`` makes un-started sandboxes (same backend and limits as the episodes)
    for judges that must run untrusted code, such as APPS running a submitted program: the
    collector's own process never executes teacher output.
    """

    sandbox_factory: Callable[[Sequence[Tool]], Sandbox]


class Source(Protocol):
    name: str

    def load(self, options: LoadOptions) -> list[Task]:
        """Return the selected tasks; raise ``DataError`` naming file/line on bad data."""
        ...

    def tools(self, task: Task) -> Sequence[Tool]:
        """Host-side tools available to the teacher's code for this task."""
        ...

    async def judge(self, task: Task, answer: str) -> Verdict:
        """Score a proposed ``<solution>`` with the benchmark's own metric."""
        ...


class NeedsRuntime(Protocol):
    """A source that needs the runtime implements ``attach``; the runner calls it once,
    before the first episode (and ``aclose()``, if defined, after the last)."""

    def attach(self, runtime: SourceRuntime) -> None: ...
