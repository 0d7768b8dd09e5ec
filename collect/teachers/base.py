"""The teacher seam: ``complete(messages, stop) -> Completion``.

Provider quirks (system prompt placement, stripped stop sequences, retries) stay inside each
implementation; the loop only ever sees this interface.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Protocol, runtime_checkable

from trajkit.core.errors import ContextLimitError, RateLimitedError, TeacherError
from trajkit.schemas import Message, TeacherInfo, Usage

__all__ = ["Completion", "ContextLimitError", "RateLimitedError", "Teacher", "TeacherError"]


@dataclass
class Completion:
    """One assistant turn. ``text`` has any stop sequence the provider cut restored."""

    text: str
    usage: Usage
    stop_reason: str | None = None
    latency_s: float = 0.0
    raw: dict[str, Any] = field(default_factory=dict)


@runtime_checkable
class Teacher(Protocol):
    """A model that writes the next assistant turn."""

    @property
    def info(self) -> TeacherInfo: ...

    async def complete(
        self, messages: list[Message], stop: list[str], *, task_id: str
    ) -> Completion:
        """Return the next assistant turn for ``messages`` (system prompt first).

        ``task_id`` lets a replay teacher find its recording; live teachers ignore it.
        Raises ``TeacherFatalError`` when no call can ever succeed (auth, unknown model),
        ``TeacherError`` when this call failed after retries.
        """
        ...

    async def aclose(self) -> None: ...
