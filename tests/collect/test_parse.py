"""Parsing assistant turns into actions."""

from __future__ import annotations

import pytest

from trajkit.core.actions import (
    REASON_EMPTY_EXECUTE,
    REASON_EMPTY_SOLUTION,
    REASON_NO_TAG,
    STOP_SEQUENCES,
    clean_code,
    parse_action,
)
from trajkit.schemas import ActionKind


def test_stop_sequences_are_the_closing_tags() -> None:
    assert STOP_SEQUENCES == ["</execute>", "</solution>"]


def test_execute_block() -> None:
    a = parse_action("Let me compute.\n<execute>\nx = 2\nprint(x * 3)\n</execute>")
    assert a.kind is ActionKind.EXECUTE
    assert a.content == "x = 2\nprint(x * 3)"


def test_solution_block() -> None:
    a = parse_action("So the answer is:\n<solution> 42 </solution>")
    assert a.kind is ActionKind.SOLUTION
    assert a.content == "42"


def test_solution_wins_over_execute() -> None:
    a = parse_action("<execute>print(1)</execute>\n<solution>7</solution>")
    assert (a.kind, a.content) == (ActionKind.SOLUTION, "7")


def test_unclosed_execute_takes_the_rest() -> None:
    a = parse_action("Thinking\n<execute>\nimport math\nprint(math.pi)\n")
    assert (a.kind, a.content) == (ActionKind.EXECUTE, "import math\nprint(math.pi)")


def test_unclosed_solution_takes_the_rest() -> None:
    a = parse_action("<solution> 3/4")
    assert (a.kind, a.content) == (ActionKind.SOLUTION, "3/4")


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("I think the answer is 5.", REASON_NO_TAG),
        ("", REASON_NO_TAG),
        ("<execute></execute>", REASON_EMPTY_EXECUTE),
        ("<execute>\n   \n</execute>", REASON_EMPTY_EXECUTE),
        ("<solution>  </solution>", REASON_EMPTY_SOLUTION),
    ],
)
def test_invalid_turns(text: str, reason: str) -> None:
    a = parse_action(text)
    assert (a.kind, a.content) == (ActionKind.INVALID, reason)


def test_tags_are_case_insensitive() -> None:
    assert parse_action("<EXECUTE>print(1)</EXECUTE>").content == "print(1)"


def test_first_block_is_used() -> None:
    a = parse_action("<execute>a = 1</execute> more <execute>b = 2</execute>")
    assert a.content == "a = 1"


@pytest.mark.parametrize(
    ("raw", "clean"),
    [
        ("\n```python\nprint(1)\n```\n", "print(1)"),
        ("```\nx = 1\ny = 2\n```", "x = 1\ny = 2"),
        ("\n    for i in range(2):\n        print(i)\n", "for i in range(2):\n    print(i)"),
        (" x = 1\ny = 2", "x = 1\ny = 2"),
        ("print('```')", "print('```')"),
    ],
)
def test_clean_code(raw: str, clean: str) -> None:
    assert clean_code(raw) == clean


def test_text_whose_lowercase_is_longer_does_not_shift_the_tags() -> None:
    """``"İ".lower()`` is two characters: positions found in a lower-cased copy cut the block
    in the wrong place (``'İİİ<execute>print(1)</execute>'`` parsed as ``nt(1)</e``)."""
    action = parse_action("İİİ<execute>print(1)</execute>")
    assert action.kind == ActionKind.EXECUTE and action.content == "print(1)"
    action = parse_action("İ <SOLUTION>Ankara</Solution>")
    assert action.kind == ActionKind.SOLUTION and action.content == "Ankara"
