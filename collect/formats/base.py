"""The action-format seam: what a turn asks for, and how the answers go back.

The loop (``collect/loop.py``) knows four things a turn can ask for (``ActionKind``): run
Python (``EXECUTE``), call one of the source's tools (``TOOL``), answer (``SOLUTION``), or
nothing usable (``INVALID``). A format turns the teacher's turn into ``Call``s of those kinds
and turns the results back into messages; everything else (budgets, the sandbox, the judge,
self-correction, records) is the loop's and the same for every format. That is what makes a
comparison of formats fair: only the wording of actions differs.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol, runtime_checkable

from trajkit.core.demonstration import Demonstration
from trajkit.core.errors import ConfigError
from trajkit.core.registry import instance
from trajkit.core.tool_schema import JSONSchema, tool_schemas
from trajkit.core.tools import Tool
from trajkit.schemas import ActionKind, Message, Observation, ToolCall


@dataclass(frozen=True)
class Offer:
    """What one episode offers the teacher: the source's tools, whether Python runs (an
    ``execute_python`` function in the tool-calling formats), and the function schemas of
    everything callable (``core.tool_schema.tool_schemas``: ``execute_python`` when Python
    runs, the tools, then ``submit``)."""

    tools: tuple[Tool, ...]
    python: bool
    schemas: tuple[JSONSchema, ...]

    def tool(self, name: str) -> Tool | None:
        """The source's tool called ``name``, if offered."""
        return next((t for t in self.tools if t.name == name), None)

    def schema(self, name: str) -> JSONSchema | None:
        """The function schema called ``name`` (tools, ``execute_python``, ``submit``)."""
        return next((s for s in self.schemas if s["name"] == name), None)


@dataclass(frozen=True)
class Call:
    """One action a turn asks for, as the loop runs it.

    ``content`` is the code (``EXECUTE``), the answer (``SOLUTION``), the call as text
    (``TOOL``: ``name(arguments)``) or why the turn has no usable action (``INVALID``).
    ``arguments`` are a ``TOOL`` call's checked keyword arguments. ``made`` is the function
    call as the teacher made it (native, or parsed from text); ``None`` in the code format.
    A call that cannot be made (unknown function, malformed arguments, a ``submit`` without
    an answer) is a ``TOOL`` call with ``error``: the one-line result the teacher is shown,
    and a failed action (``ErrorKind.BAD_CALL``).
    """

    kind: ActionKind
    content: str
    arguments: dict[str, Any] = field(default_factory=dict)
    made: ToolCall | None = None
    error: str | None = None


@dataclass(frozen=True)
class Result:
    """A call and what came of it: its observation (the judge's word for an answer)."""

    call: Call
    observation: Observation


@runtime_checkable
class ActionFormat(Protocol):
    """How a teacher acts. Stateless: one object serves every episode of a run."""

    #: The ``--action-format`` value and the records' ``action_format``.
    name: str
    #: Function schemas go to the teacher (``Teacher.complete(..., tools=...)``) and calls
    #: come back natively (``Completion.tool_calls``); the teacher must support it.
    native: bool
    #: The teacher is offered functions by schema (``Offer.schemas``, recorded as the
    #: trajectory's ``tools``); the code format offers Python instead and has none.
    functions: bool
    #: The sources' in-context demonstrations (``--shots 1``) are written in this format;
    #: a format without them plays with none.
    demonstrations: bool
    #: Stop sequences sent with each request (end the turn right after its action).
    stop: tuple[str, ...]

    def offers_python(self, tools: Sequence[Tool], has_setup: bool) -> bool:
        """Whether a task with these tools (and a sandbox setup, or not) runs Python."""
        ...

    def system_prompt(
        self, offer: Offer, max_turns: int, max_solutions: int, demonstration: Demonstration | None
    ) -> str:
        """The episode's first message: the protocol, the budget, what can be called."""
        ...

    def cut(self, text: str) -> tuple[str, int]:
        """``(the turn as kept, characters dropped after its action)``: a turn runs one
        action, so text after it is what a stop sequence would have cut."""
        ...

    def parse(self, text: str, tool_calls: Sequence[ToolCall], offer: Offer, turn: int) -> list[Call]:
        """The calls a turn asks for, in order (at least one: an ``INVALID`` call when it
        asks for nothing usable). ``turn`` (0-based) names calls parsed from text."""
        ...

    def assistant_message(self, text: str, calls: Sequence[Call]) -> Message:
        """The turn as the conversation keeps it (with ``tool_calls`` when native)."""
        ...

    def result_messages(
        self, results: Sequence[Result], turns_left: int, solutions_left: int
    ) -> list[Message]:
        """What goes back after the turn's calls ran: the observations and the budget."""
        ...

    def corrective(self, reason: str) -> str:
        """The user message after a turn with no usable action, saying how to act."""
        ...


def make_offer(
    fmt: ActionFormat, source: str, tools: Sequence[Tool], has_setup: bool
) -> Offer:
    """What an episode of ``source`` with ``tools`` offers in ``fmt``.

    Raises ``ConfigError`` when a tool cannot be offered as a function (a name neither
    provider accepts, two functions under one name): the source's tools are the same for
    every episode, so the run stops with one line instead of failing each episode.
    """
    python = fmt.offers_python(tools, has_setup)
    if not fmt.functions:
        return Offer(tools=tuple(tools), python=python, schemas=())
    try:
        schemas = tool_schemas(tools, python=python)
    except ValueError as exc:
        raise ConfigError(
            f"--action-format {fmt.name}: source {source!r} cannot offer its tools as "
            f"functions: {exc}"
        ) from None
    return Offer(tools=tuple(tools), python=python, schemas=tuple(schemas))


def action_format(name: str) -> ActionFormat:
    """The registered action format called ``name`` (``--action-format``): a class is
    instantiated (formats are stateless), an object used as it is."""
    fmt: ActionFormat = instance("action_format", name, flag="--action-format")
    return fmt
