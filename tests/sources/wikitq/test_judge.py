"""The denotation judge's parts: normalisation, typing of values, reading a ``<solution>``, and
hostile answers (always a verdict, never an exception)."""

from __future__ import annotations

import asyncio

import pytest

from trajkit.sources.base import LoadOptions
from trajkit.sources.wikitq import WikiTQSource
from trajkit.sources.wikitq.judge import (
    approximate_canon,
    judge_denotation,
    normalize,
    parse_date,
    parse_number,
    split_answer,
    to_value,
)


@pytest.mark.parametrize(
    ("raw", "normal"),
    [
        ("  Zürich  ", "zurich"),
        ("“Quoted”", "quoted"),
        ("1990—91", "1990-91"),
        ("Team A [note 2] *", "team a"),
        ("Name (born 1950) (died 2000)", "name"),
        ("(only parentheses)", "(only parentheses)"),  # nothing before them: kept
        ("[1]", ""),  # a bare citation is removed, even at the start
        ('"a" "b"', '"a" "b"'),  # not one quoted string
        ("Ends with two..", "ends with two."),  # one final period only
        ("multi\n  line\ttext", "multi line text"),
    ],
)
def test_normalize(raw: str, normal: str) -> None:
    assert normalize(raw) == normal


def test_numbers_and_dates_are_read_like_python_2() -> None:
    assert parse_number(" 12 ") == 12 and parse_number("-3.5") == -3.5
    assert parse_number("nan") is None and parse_number("inf") is None
    assert parse_number("1_0") is None and parse_number("1,0") is None
    assert parse_date("2001-10-09") == (2001, 10, 9)
    assert parse_date("XX-10-xx") == (-1, 10, -1)
    assert parse_date("xxxx-xx-09") == (-1, -1, 9)
    assert parse_date("xx-xx-xx") is None and parse_date("2001-13-01") is None
    assert parse_date("2001-10") is None and parse_date("2001-1o-01") is None
    assert to_value("2001-xx-xx").kind == "number"
    assert to_value("1,000", "1000.0").kind == "number"
    assert to_value("1,000").kind == "string"
    huge = "1" * 400
    assert to_value(huge).kind == "string"  # no float holds it: matched by its text only
    assert judge_denotation([huge], None, huge).success


def test_approximated_canon_forms() -> None:
    assert approximate_canon("1,200,000") == "1200000"
    assert approximate_canon("-12,345.5") == "-12345.5"
    assert approximate_canon("Oct. 9, 2001") == "2001-10-09"
    assert approximate_canon("9 October 2001") == "2001-10-09"
    assert approximate_canon("Smarch 9, 2001") == "Smarch 9, 2001"
    assert approximate_canon("12,34") == "12,34"  # not a thousands grouping


def test_split_answer_reads_pipes_and_list_literals() -> None:
    assert split_answer(" a | b ") == ["a", "b"]
    assert split_answer('["a|b", 2, 3.5]') == ["a|b", "2", "3.5"]
    assert split_answer("(1, 2)") == ["1", "2"]
    assert split_answer("[not a literal") == ["[not a literal"]
    assert split_answer("[]") == ["[]"]  # an empty list is not a set of values
    assert split_answer("(born 1950)") == ["(born 1950)"]


@pytest.mark.parametrize(
    "answer",
    [
        "[" * 5000 + "]" * 5000,
        "[" + "1," * 200_000 + "]",
        "\x00\ud800|\uffff",
        "(" + "a" * 200_000 + ")",
        "x|" * 50_000,
        "[__import__('os').system('echo no')]",
        "1" * 400,  # an int too large for a float (the evaluator itself would crash)
        "1" * 400 + "-xx-xx",  # the same as a date's year
        "9" * 5000,  # longer than int() reads
    ],
)
def test_hostile_answers_end_in_a_verdict(answer: str) -> None:
    verdict = judge_denotation(["1"], None, answer)
    assert verdict.success is False and verdict.details["judge"] == "wikitq-denotation"
    assert len(verdict.details["predicted"]) <= 50


def test_source_judge_uses_the_tasks_canon_and_reports() -> None:
    source = WikiTQSource()
    task = next(t for t in source.load(LoadOptions()) if t.task_id == "sa-2")
    wrong = asyncio.run(source.judge(task, "Kenya"))
    right = asyncio.run(source.judge(task, "ethiopia|KENYA"))
    assert right.success and not wrong.success
    assert source.verdict_summary(task, right) == "denotation: 2/2 targets matched"
    assert source.verdict_summary(task, wrong) == (
        "denotation: 1/2 targets matched, 1 values given for 2"
    )
    view = source.reference_view(task, wrong)
    assert ("targets", "Kenya | Ethiopia") in view.fields
    assert ("table", "csv/200-csv/1.csv") in view.fields
    (table,) = view.tables
    assert table.columns == ("Rank", "Athlete", "Nation", "Time", "Notes")
    assert table.rows[0] == ("1", "Tomas Ekberg", "Sweden", "2:09:14", "CR")
    assert table.caption == "rows 1-5 of 8"
    canon_task = task.model_copy(
        update={"reference": ["17 years"], "metadata": {**task.metadata, "target_canon": ["17.0"]}}
    )
    assert asyncio.run(source.judge(canon_task, "17")).success
    assert asyncio.run(source.judge(canon_task, "17")).details["canon"] == "targetCanon"
