"""The teacher seam: ``complete(messages, stop) -> Completion``.

Provider quirks (system prompt placement, stripped stop sequences, retries, the wire form of
native tool calls) stay inside each implementation; the loop only ever sees this interface.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Protocol, runtime_checkable

from trajkit.core.errors import ContextLimitError, RateLimitedError, TeacherError
from trajkit.schemas import Message, TeacherInfo, ToolCall, Usage

__all__ = [
    "Completion", "ContextLimitError", "RateLimitedError", "Teacher", "TeacherError", "tools_kwarg",
]


@dataclass
class Completion:
    """One assistant turn. ``text`` has any stop sequence the provider cut restored.

    ``tool_calls``: the functions the turn called natively (only when the request offered
    ``tools``), in the order the provider listed them, exactly as made: an unknown name or
    arguments that are not valid JSON are kept for the loop to answer as failed calls.
    """

    text: str
    usage: Usage
    stop_reason: str | None = None
    latency_s: float = 0.0
    raw: dict[str, Any] = field(default_factory=dict)
    tool_calls: list[ToolCall] = field(default_factory=list)


@runtime_checkable
class Teacher(Protocol):
    """A model that writes the next assistant turn."""

    @property
    def info(self) -> TeacherInfo: ...

    async def complete(
        self,
        messages: list[Message],
        stop: list[str],
        *,
        task_id: str,
        tools: list[dict[str, Any]] | None = None,
    ) -> Completion:
        """Return the next assistant turn for ``messages`` (system prompt first).

        ``task_id`` lets a replay teacher find its recording; live teachers ignore it.
        ``tools``: generic function schemas (``{"name", "description", "parameters"}``, from
        ``core.tool_schema``) offered natively; passed only by a native action format, and
        only to a teacher whose provider declares ``supports_tools``, so a plugin teacher
        without this keyword still serves every other format. Calls come back in
        ``Completion.tool_calls``.
        Raises ``TeacherFatalError`` when no call can ever succeed (auth, unknown model),
        ``TeacherError`` when this call failed after retries.
        """
        ...

    async def aclose(self) -> None: ...


def tools_kwarg(tools: list[dict[str, Any]] | None) -> dict[str, Any]:
    """``complete``'s ``tools`` keyword for a wrapped teacher, only when tools are offered:
    a plugin teacher written before native tool calls has no such keyword, and still serves
    every non-native format behind the cache, batch and rate-limit wrappers."""
    return {} if tools is None else {"tools": tools}
