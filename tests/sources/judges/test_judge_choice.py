"""``choice``: multiple choice by letter or by option text; two options named is wrong."""

from __future__ import annotations

from typing import Any

import pytest
from judges_helpers import HOSTILE, task, verdict

from trajkit.core.errors import ConfigError, JudgeError
from trajkit.schemas import Verdict
from trajkit.sources.judges import make_judge
from trajkit.sources.judges.choice import ChoiceJudge

CAPITALS = ["Lyon", "Paris", "Marseille", "Nice"]

# (answer, gold, success): options CAPITALS (A Lyon, B Paris, C Marseille, D Nice)
TABLE: list[tuple[str, Any, bool]] = [
    ("B", 1, True),  # an int gold is a 0-based index (MMLU's answer field)
    ("B", "B", True),
    ("b", "(B)", True),
    ("(B)", "B", True),
    ("B)", "B", True),
    ("B.", "B", True),
    ("**B**", "B", True),
    ("Answer: B", "B", True),
    ("The answer is (B).", "B", True),
    ("The correct answer is B", "B", True),
    ("paris", "B", True),  # the option's text, normalised
    ("Paris.", "Paris", True),  # a gold given as option text
    ("B) Paris", "B", True),
    ("(B) Paris", 1, True),
    ("Since the capital is Paris, the answer is (B) as expected.", "B", True),  # prose
    ("A", "B", False),
    ("B\nBecause Paris is the capital.", "B", True),  # the answer on its first line
    ("B\nor maybe (C)", "B", False),  # ... unless the rest names another option
    ("Lyon", "B", False),
    ("A or B", "B", False),  # two options named
    ("A, B", "B", False),
    ("B and C", "B", False),
    ("(A) ... no wait, (B)", "B", False),
    ("B) Lyon", "B", False),  # the label and the text disagree: two options
    ("E", "B", False),  # not an option
    ("Paris or Lyon", "B", False),  # names no single option
    ("the answer is a big city", "B", False),  # "a" is no label in prose
    ("(a) first, (b) second", "B", False),
    ("B", "1", True),  # a digit-string gold is a 0-based index too: B
    ("No", "B", False),  # two letters are not two labels
]


@pytest.mark.parametrize(("answer", "gold", "success"), TABLE)
async def test_choice_table(answer: str, gold: Any, success: bool) -> None:
    result = await verdict("choice", gold, answer, choices=CAPITALS)
    assert result.success is success, result.details


@pytest.mark.parametrize(
    ("metadata", "options", "gold", "answer", "success"),
    [
        ({"choices": {"A": "yes", "B": "no"}}, None, "B", "no", True),  # a dict label -> text
        ({"choices": {"a": "yes", "b": "no"}}, None, "b", "B", True),
        ({"choices": '["3", "4", "5"]'}, None, 1, "4", True),  # a JSON string (CSV)
        ({"choices": ["3", "4", "5"]}, None, "4", "B", True),  # the gold as an option's text
        ({"opts": ["x", "y"]}, {"choices": "opts"}, 0, "A", True),
        ({"A": "x", "B": "y", "C": "z"}, {"choices": "A,B,C"}, "C", "C", True),  # MMLU CSV
        ({"choices": ["x", "y", "z"]}, None, "z", "x", False),  # single-letter option texts
        ({"choices": ["p", "q"]}, None, "q", "q", True),  # "q" is no label: read as text
    ],
)
async def test_option_layouts(
    metadata: dict[str, Any], options: Any, gold: Any, answer: str, success: bool
) -> None:
    result = await verdict("choice", gold, answer, options=options, **metadata)
    assert result.success is success, result.details


@pytest.mark.parametrize(
    ("metadata", "gold", "message"),
    [
        ({}, "A", "no options field 'choices'"),
        ({"choices": []}, "A", "must be a non-empty list or dict"),
        ({"choices": "not json"}, "A", "must be a non-empty list or dict"),
        ({"choices": ["a", "b"]}, 2, "names none of the options A, B"),
        ({"choices": ["a", "b"]}, "C", "names none of the options"),
        ({"choices": ["a", "b"]}, True, "names none of the options"),
        ({"choices": ["x"] * 27}, 0, "27 options"),
        ({"choices": {"a": 1, "A": 2}}, "A", "not distinct"),
    ],
)
async def test_bad_options_or_gold_are_judge_errors_naming_the_task(
    metadata: dict[str, Any], gold: Any, message: str
) -> None:
    with pytest.raises(JudgeError, match=message) as info:
        await make_judge("choice").judge(task(gold, **metadata), "A")
    assert str(info.value).startswith("task t1: ")


def test_option_errors() -> None:
    with pytest.raises(ConfigError, match="--source-opt choices="):
        make_judge("choice", {"choices": ""})
    with pytest.raises(ConfigError, match="--source-opt field: unknown option"):
        make_judge("choice", {"field": "x"})


async def test_details_and_summary() -> None:
    result = await verdict("choice", 1, "(B) Paris", choices=CAPITALS)
    assert result.details["gold"] == "B" and result.details["answer"] == ["B"]
    assert result.details["options"]["B"] == "Paris"
    assert make_judge("choice").summary(task(1), result) == "choice: B = B"
    wrong = await verdict("choice", 1, "C", choices=CAPITALS)
    assert make_judge("choice").summary(task(1), wrong) == "choice: C ≠ B"
    both = await verdict("choice", 1, "A or B", choices=CAPITALS)
    assert (
        make_judge("choice").summary(task(1), both) == "choice: the answer names 2 options (gold B)"
    )


@pytest.mark.parametrize("name", list(HOSTILE))
async def test_hostile_answers_end_in_failed_verdicts(name: str) -> None:
    result = await verdict("choice", 3, HOSTILE[name], choices=CAPITALS)
    assert not result.success


async def test_reference_view_shows_the_gold_option_and_every_option() -> None:
    result = await verdict("choice", 1, "B", choices=CAPITALS)
    view = ChoiceJudge.reference_view(task(1), result)
    assert view.fields[0] == ("gold", "B · Paris")
    assert view.fields[1:] == (("A", "Lyon"), ("B", "Paris"), ("C", "Marseille"), ("D", "Nice"))
    empty = await verdict("choice", 1, "", choices=CAPITALS)
    assert empty.details["error"] == "empty answer"
    assert ChoiceJudge.summary(task(1), empty) == "choice: empty answer (gold B)"
    assert ChoiceJudge.reference_view(task(1), empty).fields[0] == ("gold", "B · Paris")
    other = Verdict(success=False, score=0.0, details={"judge": "choice"})  # another judge's
    assert ChoiceJudge.reference_view(task(1), other).fields == (("reference", "1"),)
