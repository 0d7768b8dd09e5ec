"""``numeric``: the last number of the answer against the gold's, within a tolerance."""

from __future__ import annotations

from fractions import Fraction
from typing import Any

import pytest
from judges_helpers import HOSTILE, task, verdict

from trajkit.core.errors import ConfigError, JudgeError
from trajkit.sources.judges import make_judge
from trajkit.sources.judges.numeric import final_number, parse_numbers

# (answer, gold, success)
TABLE: list[tuple[str, Any, bool]] = [
    ("72", 72, True),
    ("Natalia sold 48 + 24 = 72 clips.", "72", True),  # the last number
    ("72 clips, not 48", 72, False),  # ... even when it is not the one meant
    ("1,234", 1234, True),
    ("$1,234.00", "1234", True),
    ("$5", "5", True),
    ("-$5.50", "-5.5", True),
    ("12%", 12, True),  # a percent sign is dropped, never divided by 100
    ("12%", "0.12", False),
    ("3/4", "0.75", True),
    ("\\frac{3}{4}", "3/4", True),
    ("\\dfrac{-3}{4}", "-0.75", True),
    ("2 1/2 cups", "2.5", True),  # a mixed number
    ("−4", -4, True),  # a Unicode minus
    ("x = -7", "-7", True),
    ("1.5e3", 1500, True),
    ("2.50", "2.5", True),
    (".5", "0.5", True),
    ("so \\boxed{42}. Check: 42 - 2 = 40", 42, True),  # the last box wins over the text
    ("10 - 3 = 7", 7, True),
    ("7.0000001", 7, True),  # within tol=1e-6
    ("7.00001", 7, False),
    ("12345678901234567", "12345678901234568", False),  # exact, not float, comparison
    ("1/3", "0.333333", True),
    ("1/3", "0.3333", False),
    ("the answer is 5.", "#### 5", True),  # the gold is read by the same rule
    ("5", ["6", "5"], True),  # a list of golds: any
    ("6", [5, 6], True),
    ("7/0", 7, False),  # a zero denominator is no number
    ("9" * 400, 9, False),  # more than 300 digits: ignored
]


@pytest.mark.parametrize(("answer", "gold", "success"), TABLE)
async def test_numeric_table(answer: str, gold: Any, success: bool) -> None:
    result = await verdict("numeric", gold, answer)
    assert result.success is success
    assert result.score == float(success)


@pytest.mark.parametrize(
    ("text", "numbers"),
    [
        ("1,234 and 1,23", [1234, 1, 23]),  # "1,23" is no thousands grouping
        ("2 5/4", [2, Fraction(5, 4)]),  # not a mixed number: two numbers
        ("3 - 5", [3, 5]),  # a minus between numbers is no sign
        ("1e99999", [1, 99999]),  # exponents of at most 3 digits
        ("1/25.5", [1, Fraction(51, 2)]),
        ("H2O at 100°C", [2, 100]),
    ],
)
def test_what_counts_as_a_number(text: str, numbers: list[Any]) -> None:
    assert [n.value for n in parse_numbers(text)] == numbers


def test_the_box_is_read_when_it_holds_a_number() -> None:
    found = final_number("\\boxed{x} then 5")
    assert found is not None and found.value == 5


@pytest.mark.parametrize(
    ("options", "answer", "gold", "success"),
    [
        ({"tol": "0.5"}, "7.4", 7, True),
        ({"tol": "0.5"}, "7.6", 7, False),
        ({"rel_tol": "0.01"}, "1005", 1000, True),
        ({"rel_tol": "0.01"}, "1011", 1000, False),
        ({"tol": "0"}, "7.0000001", 7, False),
    ],
)
async def test_tolerances(options: dict[str, str], answer: str, gold: Any, success: bool) -> None:
    result = await verdict("numeric", gold, answer, options=options)
    assert result.success is success


@pytest.mark.parametrize(
    ("options", "key"),
    [
        ({"tol": "-1"}, "tol"),
        ({"tol": "nan"}, "tol"),
        ({"rel_tol": "x"}, "rel_tol"),
        ({"tolerance": "1"}, "tolerance"),
    ],
)
def test_option_errors_are_one_line_naming_the_option(options: dict[str, str], key: str) -> None:
    with pytest.raises(ConfigError) as info:
        make_judge("numeric", options)
    assert str(info.value).startswith(f"--source-opt {key}") and "\n" not in str(info.value)


def test_numeric_takes_no_argument() -> None:
    with pytest.raises(ConfigError, match="takes no argument"):
        make_judge("numeric:0.1")


async def test_no_number_is_a_failed_verdict_saying_so() -> None:
    result = await verdict("numeric", 5, "I do not know")
    assert not result.success
    assert result.details["error"] == "no number in the answer"
    assert make_judge("numeric").summary(task(5), result) == "numeric: no number in the answer"


async def test_details_and_summary_show_the_parsed_numbers() -> None:
    result = await verdict("numeric", "1234", "It costs $1,234.", options={"tol": "0.001"})
    assert result.details["answer_number"] == "1234"
    assert result.details["answer_text"] == "$1,234"
    assert result.details["gold"] == "1234"
    line = make_judge("numeric").summary(task(1234), result)
    assert line == "numeric: 1234 = 1234 (tol 0.001)"
    wrong = await verdict("numeric", "0.75", "0.7")
    assert make_judge("numeric").summary(task(1), wrong) == "numeric: 0.7 ≠ 0.75 (tol 1e-06)"


@pytest.mark.parametrize("gold", ["five", "", None])
async def test_a_gold_without_a_number_is_a_judge_error(gold: Any) -> None:
    with pytest.raises(JudgeError, match="task t1: "):
        await make_judge("numeric").judge(task(gold), "5")


@pytest.mark.parametrize("name", list(HOSTILE))
async def test_hostile_answers_end_in_verdicts(name: str) -> None:
    result = await verdict("numeric", 3, HOSTILE[name])
    assert not result.success
    # The last number of the megabyte is its last 7; "\x1b[31m" writes 31; "4\x00" is 4.
    read = {"1 MB": "7", "control characters": "31", "NUL": "4"}.get(name)
    if read is None:
        assert "error" in result.details
    else:
        assert result.details["answer_number"] == read
