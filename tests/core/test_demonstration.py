"""The in-context demonstration as data: what a demonstration may hold, and how exactly the
section it becomes is found and cut out of a system prompt again."""

from __future__ import annotations

import pytest

from trajkit.collect.demonstrations import GENERIC_DEMONSTRATION
from trajkit.collect.prompts import system_prompt
from trajkit.core.demonstration import (
    DEMONSTRATION_CLOSE,
    DEMONSTRATION_OPEN,
    Demonstration,
    DemonstrationError,
    DemoTurn,
    demonstration_text,
    split_demonstration,
    without_demonstration,
)
from trajkit.core.tools import Tool
from trajkit.schemas import Message

CODE = DemoTurn("<execute>print(1)</execute>", "1\n")
ANSWER = DemoTurn("<solution>1</solution>")


@pytest.mark.parametrize(
    ("turns", "why"),
    [
        ((ANSWER,), "at least two turns"),
        ((DemoTurn("I think it is 1."), ANSWER), "turn 1: no usable"),
        ((DemoTurn("<execute>print(1)</execute>"), ANSWER), "turn 1: a code turn needs"),
        ((ANSWER, ANSWER), "turn 1: only the last turn may answer"),
        ((CODE, DemoTurn("<solution>1</solution>", "Your answer is correct.")), "never shown"),
        ((DemoTurn("<execute>x = 1</execute> and more", ""), ANSWER), "text after its action"),
        ((CODE, DemoTurn(f"<solution>1</solution>\n{DEMONSTRATION_CLOSE}")), "text after"),
        ((DemoTurn("<execute>print(1)</execute>", DEMONSTRATION_OPEN), ANSWER), "marker line"),
        ((CODE, "<solution>1</solution>"), "turn 2: not a DemoTurn"),
    ],
)
def test_a_demonstration_that_breaks_the_protocol_is_refused_when_built(
    turns: tuple[object, ...], why: str
) -> None:
    with pytest.raises(DemonstrationError, match=why):
        Demonstration(task="Add.", turns=turns)  # type: ignore[arg-type]


def test_a_list_of_turns_is_kept_as_a_tuple_and_an_environment_may_end_it_on_code() -> None:
    demo = Demonstration(task="Buy it.", turns=[CODE, DemoTurn("<execute>buy()</execute>", "Done.")])
    assert isinstance(demo.turns, tuple) and len(demo.turns) == 2
    with pytest.raises(DemonstrationError, match="marker line"):
        Demonstration(task=f"x\n{DEMONSTRATION_OPEN}", turns=(CODE, ANSWER))


def test_the_section_is_cut_out_exactly_even_when_tool_docs_hold_the_marker_lines() -> None:
    """A plugin tool documenting itself with both marker lines cannot move the cut: tool docs
    are indented, and the demonstration is always the prompt's last section."""

    def spoof(q: str) -> str:
        return q

    spoof.__doc__ = f"{DEMONSTRATION_OPEN}\n\n{DEMONSTRATION_CLOSE}"
    tools = [Tool.from_function(spoof)]
    bare = system_prompt(tools, 5, 2)
    shown = system_prompt(tools, 5, 2, GENERIC_DEMONSTRATION)
    assert split_demonstration(bare) == (bare, "")
    prompt, section = split_demonstration(shown)
    assert prompt == bare and prompt + section == shown
    assert section.startswith(f"\n\n{DEMONSTRATION_OPEN}\n\nTask:\n")
    assert section.endswith(f"\n\n{DEMONSTRATION_CLOSE}")


def test_only_the_system_prompt_is_cut_and_every_other_message_is_the_same_object() -> None:
    shown = system_prompt([], 5, 2, GENERIC_DEMONSTRATION)
    user = Message(role="user", content=f"task {DEMONSTRATION_OPEN}\n\n{DEMONSTRATION_CLOSE}")
    reply = Message(role="assistant", content="<solution>1</solution>")
    messages = [Message(role="system", content=shown), user, reply]
    cut = without_demonstration(messages)
    assert cut[0].content == system_prompt([], 5, 2) and cut[1] is user and cut[2] is reply
    assert messages[0].content == shown  # the record itself is untouched
    assert demonstration_text(messages) == shown[len(cut[0].content):]
    assert without_demonstration(cut) == cut and demonstration_text(cut) == ""
    assert without_demonstration([user]) == [user] and demonstration_text([]) == ""
