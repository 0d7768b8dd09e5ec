"""The in-context demonstration: one short example episode shown before the task, and how to
find it again in a recorded conversation.

CodeAct's collection prompted with an in-context example (MINT's prompts put one worked
episode of the task's kind between the tool list and the task). With ``--shots 1`` the loop
appends the source's demonstration to the system prompt as one section between two fixed
marker lines, ``DEMONSTRATION_OPEN`` and ``DEMONSTRATION_CLOSE``, always at its end. So it is
a clearly delimited, exactly removable part of the record: :func:`split_demonstration` gives
back the system prompt byte for byte as ``--shots 0`` writes it. Exports leave it out unless
asked (CodeActInstruct did not train on its in-context example), the ``tokens`` filter does
not count it, and reports fold it away.

A :class:`Demonstration` is data, checked when it is built: every turn holds exactly one
action (what the loop would keep of it), every code turn has the observation it got, and the
episode ends on a ``<solution>`` or on a cell after which the environment ended it (a WebShop
purchase). It also keeps what its host tools answered (``tool_replies``) and what its task
promises the sandbox holds (``setup``), so a test can replay it in a real sandbox and get
exactly the observations it shows.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from trajkit.core.actions import parse_action, through_first_action
from trajkit.schemas import ActionKind, Message

#: The line that opens the demonstration section of a system prompt.
DEMONSTRATION_OPEN = "--- Example episode (another task, showing how the protocol works) ---"
#: The line that closes it: always the last line of a system prompt holding one.
DEMONSTRATION_CLOSE = "--- End of the example episode. Your own task follows. ---"

_OPEN = f"\n\n{DEMONSTRATION_OPEN}\n\n"
_CLOSE = f"\n\n{DEMONSTRATION_CLOSE}"


class DemonstrationError(ValueError):
    """A demonstration that breaks the protocol; the message says which turn and how."""


@dataclass(frozen=True)
class DemoTurn:
    """One assistant turn of a demonstration and what came back for it.

    ``observation`` is the text after ``Observation:`` (without the budget line, which the
    loop adds from the run's own budget): what the sandbox printed for a code turn. ``None``
    for the final ``<solution>``, whose verdict is never sent.
    """

    assistant: str
    observation: str | None = None

    @classmethod
    def execute(cls, prose: str, code: str, observation: str) -> DemoTurn:
        """A code turn: a line of thought, ``code`` in an ``<execute>`` block, what it printed."""
        body = code.strip("\n")
        return cls(f"{prose.strip()}\n<execute>\n{body}\n</execute>", observation)

    @classmethod
    def answer(cls, prose: str, solution: str) -> DemoTurn:
        """The final turn: a line of thought and the ``<solution>``."""
        return cls(f"{prose.strip()}\n<solution>{solution}</solution>")


@dataclass(frozen=True)
class ToolReply:
    """What one host tool call of the demonstration returned, in call order.

    ``ends_episode``: the environment ended the episode with this call (its text is what the
    call returned before the cell stopped, as ``EndEpisode`` does).
    """

    tool: str
    result: str
    ends_episode: bool = False


@dataclass(frozen=True)
class Demonstration:
    """A short example episode written for trajkit (never copied from a benchmark's data).

    ``task`` is phrased as the source phrases its tasks; ``turns`` are the episode; a good one
    has a code turn that raises and the turn that recovers from it, then the answer.
    ``tool_replies`` and ``setup`` make it replayable (see the module doc); neither is shown.
    """

    task: str
    turns: tuple[DemoTurn, ...]
    tool_replies: tuple[ToolReply, ...] = ()
    setup: str | None = None

    def __post_init__(self) -> None:
        # Lists are accepted (a plugin's natural literal) and kept as tuples: the value is frozen.
        for name in ("turns", "tool_replies"):
            value = getattr(self, name)
            if isinstance(value, list):
                object.__setattr__(self, name, tuple(value))
        check_demonstration(self)


def check_demonstration(demo: Demonstration) -> None:
    """Raise :class:`DemonstrationError` unless ``demo`` follows the protocol (module doc)."""
    if not isinstance(demo.task, str) or not demo.task.strip():
        raise DemonstrationError("demonstration: the task is empty")
    if not isinstance(demo.turns, tuple) or len(demo.turns) < 2:
        raise DemonstrationError("demonstration: needs at least two turns (DemoTurn values)")
    texts = [demo.task]
    last = len(demo.turns) - 1
    for k, turn in enumerate(demo.turns):
        where = f"demonstration turn {k + 1}"
        if not isinstance(turn, DemoTurn) or not isinstance(turn.assistant, str):
            raise DemonstrationError(f"{where}: not a DemoTurn")
        if turn.observation is not None and not isinstance(turn.observation, str):
            raise DemonstrationError(f"{where}: the observation is not text")
        kept, after = through_first_action(turn.assistant)
        if after:
            raise DemonstrationError(f"{where}: text after its action (one action per turn)")
        kind = parse_action(kept).kind
        if kind is ActionKind.INVALID:
            raise DemonstrationError(f"{where}: no usable <execute> or <solution> block")
        if kind is ActionKind.EXECUTE and turn.observation is None:
            raise DemonstrationError(f"{where}: a code turn needs the observation it got")
        if k < last and kind is not ActionKind.EXECUTE:
            raise DemonstrationError(f"{where}: only the last turn may answer")
        if kind is ActionKind.SOLUTION and turn.observation is not None:
            raise DemonstrationError(f"{where}: the answer's verdict is never shown")
        texts += [turn.assistant, turn.observation or ""]
    if not isinstance(demo.tool_replies, tuple):
        raise DemonstrationError("demonstration: tool_replies must be ToolReply values")
    if demo.setup is not None and not isinstance(demo.setup, str):
        raise DemonstrationError("demonstration: setup must be Python code or None")
    for reply in demo.tool_replies:
        if not isinstance(reply, ToolReply) or not isinstance(reply.result, str):
            raise DemonstrationError("demonstration: tool_replies must be ToolReply values")
        texts.append(reply.result)
    for text in texts:
        if DEMONSTRATION_OPEN in text or DEMONSTRATION_CLOSE in text:
            raise DemonstrationError("demonstration: its text holds a demonstration marker line")


def enclose(body: str) -> str:
    """The demonstration section around ``body``, as appended to a system prompt."""
    return f"{_OPEN}{body}{_CLOSE}"


def split_demonstration(system: str) -> tuple[str, str]:
    """``(system prompt without the demonstration, the demonstration section)``; the section
    is ``""`` when there is none. ``prompt + section == system`` always.

    Exact: the section is the system prompt's tail from the last opening marker, and a
    demonstration can never hold a marker (it is refused when built).
    """
    if not system.endswith(_CLOSE):
        return system, ""
    start = system.rfind(_OPEN)
    if start < 0:
        return system, ""
    return system[:start], system[start:]


def without_demonstration(messages: Sequence[Message]) -> list[Message]:
    """``messages`` with the demonstration section cut from the system prompt; every other
    message the same object, unchanged."""
    out = list(messages)
    if out and out[0].role == "system":
        prompt, section = split_demonstration(out[0].content)
        if section:
            out[0] = Message(role="system", content=prompt)
    return out


def demonstration_text(messages: Sequence[Message]) -> str:
    """The demonstration section of a recorded conversation, ``""`` when it has none."""
    if messages and messages[0].role == "system":
        return split_demonstration(messages[0].content)[1]
    return ""
