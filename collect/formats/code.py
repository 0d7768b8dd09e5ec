"""The CodeAct format (``code``, the default): Python in ``<execute>``, the answer in
``<solution>``; the source's tools are functions the code calls in the sandbox."""

from __future__ import annotations

from collections.abc import Sequence

from trajkit.collect.formats.base import Call, Offer, Result
from trajkit.collect.prompts import corrective_text, feedback_message, system_prompt
from trajkit.core.actions import STOP_SEQUENCES, parse_action, through_first_action
from trajkit.core.demonstration import Demonstration
from trajkit.core.tools import Tool
from trajkit.schemas import Message, ToolCall


def observation_messages(
    results: Sequence[Result], turns_left: int, solutions_left: int
) -> list[Message]:
    """One user message after a turn, in MINT's layout: ``Observation:``, the results' text
    (joined), the budget line. Every format whose turns are plain text answers this way."""
    text = "\n\n".join(r.observation.text.rstrip() for r in results)
    return [Message(role="user", content=feedback_message(text, turns_left, solutions_left))]


class TextTurns:
    """What the formats whose turns are plain text share: the turn is kept as it was written
    and answered by one ``observation_messages`` user message."""

    def assistant_message(self, text: str, calls: Sequence[Call]) -> Message:
        return Message(role="assistant", content=text)

    def result_messages(
        self, results: Sequence[Result], turns_left: int, solutions_left: int
    ) -> list[Message]:
        return observation_messages(results, turns_left, solutions_left)


class CodeFormat(TextTurns):
    """CodeAct (the default): Python in <execute>, the answer in <solution>; every record
    from before action formats existed was played this way."""

    name = "code"
    native = False
    functions = False
    demonstrations = True
    stop = tuple(STOP_SEQUENCES)

    def offers_python(self, tools: Sequence[Tool], has_setup: bool) -> bool:
        return True

    def system_prompt(
        self, offer: Offer, max_turns: int, max_solutions: int, demonstration: Demonstration | None
    ) -> str:
        return system_prompt(offer.tools, max_turns, max_solutions, demonstration)

    def cut(self, text: str) -> tuple[str, int]:
        return through_first_action(text)

    def parse(self, text: str, tool_calls: Sequence[ToolCall], offer: Offer, turn: int) -> list[Call]:
        action = parse_action(text)
        return [Call(kind=action.kind, content=action.content)]

    def corrective(self, reason: str) -> str:
        return corrective_text(reason)
