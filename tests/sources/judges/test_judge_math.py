"""``math``: the MATH source's judge (math-verify in killable workers) on any gold answer."""

from __future__ import annotations

from typing import Any

import pytest
from judges_helpers import HOSTILE, task, verdict

from trajkit.core.errors import ConfigError, JudgeError
from trajkit.sources.judges import make_judge
from trajkit.sources.judges.math_judge import MathJudge
from trajkit.sources.math.judge import MathJudge as MathEngine

# (answer, gold, success)
TABLE: list[tuple[str, Any, bool]] = [
    ("0.5", "\\frac{1}{2}", True),
    ("\\boxed{\\frac{1}{2}}", "1/2", True),
    ("x = 3", "3", True),
    ("(2, -1)", "(2,-1)", True),
    ("2", "3", False),
    ("\\$18.90", "18.9", True),
    ("sqrt(2)/2", "\\frac{\\sqrt{2}}{2}", True),
    ("7", 7, True),  # a number as gold
    ("4", ["3", "4"], True),  # any gold of a list
    ("5", ["3", "4"], False),
]


async def test_math_table() -> None:
    # One judge for the whole table: its workers start once.
    judge = make_judge("math")
    try:
        for answer, gold, success in TABLE:
            result = await judge.judge(task(gold), answer)
            assert result.success is success, (answer, gold, result.details)
            assert result.details["judge"] == "math"
    finally:
        await judge.aclose()


async def test_it_is_the_math_sources_judge_with_its_options() -> None:
    judge = make_judge("math", {"timeout": "3", "workers": "1"})
    assert isinstance(judge, MathJudge)
    engine = judge.engine
    assert isinstance(engine, MathEngine)
    assert (engine.timeout_s, engine.workers) == (3.0, 1)
    await judge.aclose()


async def test_the_question_decides_how_a_percent_reads() -> None:
    # As in the MATH source: 7% answers a question asking for a percent with 7.
    asks = await verdict("math", "7", "7\\%", question="What percent of 100 is 7?")
    assert asks.success
    plain = await verdict("math", "7", "7\\%", question="How many apples?")
    assert not plain.success


@pytest.mark.parametrize("name", ["empty", "blank", "lone surrogates", "NUL", "only NUL"])
async def test_hostile_answers_end_in_failed_verdicts(name: str) -> None:
    result = await verdict("math", "3", HOSTILE[name], options={"timeout": "20", "workers": "1"})
    assert not result.success
    assert make_judge("math").summary(task("3"), result).startswith("math: ")


async def test_a_long_answer_ends_in_a_verdict_under_the_time_limit() -> None:
    result = await verdict("math", "3", HOSTILE["1 MB"], options={"timeout": "3", "workers": "1"})
    assert not result.success
    assert len(str(result.details.get("parsed_pred", ""))) <= 200


def test_option_errors() -> None:
    with pytest.raises(ConfigError, match="--source-opt timeout=0"):
        make_judge("math", {"timeout": "0"})
    with pytest.raises(ConfigError, match="--source-opt workers=x"):
        make_judge("math", {"workers": "x"})


async def test_a_gold_that_is_not_text_is_a_judge_error() -> None:
    with pytest.raises(JudgeError, match="task t1"):
        await make_judge("math").judge(task({"x": 1}), "1")


async def test_summary_shows_the_parsed_values() -> None:
    result = await verdict("math", "\\frac{1}{2}", "0.5")
    assert MathJudge.summary(task("1/2"), result) == "math: 1/2 = 1/2"
