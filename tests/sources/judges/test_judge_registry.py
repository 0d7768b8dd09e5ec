"""The answer judges through the registry, as ``--source-opt judge=SPEC`` builds them, and a
judge of a user's own, registered at run time, built on the same helpers."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import ClassVar

import pytest
from judges_helpers import task

from trajkit.core import registry
from trajkit.sources.judges import judge_class, make_judge
from trajkit.sources.judges.choice import ChoiceJudge
from trajkit.sources.judges.math_judge import MathJudge
from trajkit.sources.judges.numeric import NumericJudge
from trajkit.sources.judges.regex import RegexJudge
from trajkit.sources.judges.text import ContainsJudge, EMJudge, ExactJudge, F1Judge

BUILT_IN = {
    "exact": ExactJudge,
    "em": EMJudge,
    "f1>=0.5": F1Judge,
    "contains": ContainsJudge,
    "numeric": NumericJudge,
    "math": MathJudge,
    "choice": ChoiceJudge,
    "regex:x": RegexJudge,
}


@pytest.mark.parametrize(("spec", "cls"), list(BUILT_IN.items()))
def test_each_spec_builds_its_class_from_the_installed_entry_points(spec: str, cls: type) -> None:
    judge = make_judge(spec)
    assert type(judge) is cls
    assert judge_class(spec.split(":")[0].split(">=")[0]) is cls
    where = registry.REGISTRY.entry("judge", cls.name).where
    assert "trajkit" in where


class PercentJudge(NumericJudge):
    """A user's judge: numbers as percentages, so 0.12 answers a gold of 12 %."""

    name: ClassVar[str] = "percent"

    def close_enough(self, answer, gold):  # type: ignore[no-untyped-def]
        return super().close_enough(answer, gold) or super().close_enough(answer * 100, gold)


@pytest.fixture
def percent() -> Iterator[None]:
    registry.register("judge", "percent", PercentJudge, replace=True)
    yield
    registry.REGISTRY.unregister("judge", "percent")


async def test_a_judge_registered_at_run_time_reuses_the_numeric_parsing(percent: None) -> None:
    judge = make_judge("percent", {"tol": "0.01"})
    assert type(judge) is PercentJudge
    ok = await judge.judge(task("12%"), "about 0.12")
    assert ok.success and ok.details["judge"] == "percent"
    assert not (await make_judge("numeric").judge(task("12%"), "about 0.12")).success
    assert PercentJudge.summary(task("12%"), ok) == "percent: 0.12 = 12 (tol 0.01)"


@pytest.mark.parametrize(
    ("spec", "gold", "metadata"),
    [
        ("numeric", 42, {}),
        ("math", "3/4", {}),
        ("choice", 1, {"choices": ["Lyon", "Paris"]}),
    ],
)
async def test_the_answer_format_each_judge_asks_for_is_one_it_reads(
    spec: str, gold: object, metadata: dict[str, object]
) -> None:
    """The ``tasks`` prompt ends with the judge's ``answer_format``; its example must pass."""
    judge = make_judge(spec)
    example = re.search(r"e.g. <solution>(.+?)</solution>", judge.answer_format)
    assert example is not None and example[1]
    try:
        assert (await judge.judge(task(gold, **metadata), example[1])).success
    finally:
        if hasattr(judge, "aclose"):
            await judge.aclose()
