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


class EpisodeEnv(Protocol):
    """Host-side state of one interactive episode (an ALFWorld game, a WebShop session).

    Its ``tools()`` are the functions the teacher's code calls in the sandbox; they act on this
    episode's state only, so concurrent episodes never share an environment. When the
    environment ends the episode (won, bought, step cap reached) a tool raises
    ``trajkit.collect.tools.EndEpisode`` and ``outcome`` becomes the final verdict; the loop
    checks ``outcome`` after every cell and stops there.
    """

    def tools(self) -> Sequence[Tool]: ...

    @property
    def outcome(self) -> Verdict | None:
        """The environment's verdict once it has ended the episode, else ``None``."""
        ...

    async def judge(self, answer: str) -> Verdict:
        """Score a ``<solution>`` the teacher proposed before the environment ended."""
        ...

    async def aclose(self) -> None: ...


class InteractiveSource(Source, Protocol):
    """A source whose tasks are environments: the runner opens one per episode."""

    async def open_env(self, task: Task) -> EpisodeEnv: ...
