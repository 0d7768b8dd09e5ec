"""The judge seam itself: spec strings, the registry kind, one-line errors, plugin judges."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from pydantic import BaseModel

from trajkit.core import registry
from trajkit.core.errors import ConfigError, PluginError
from trajkit.schemas import Task, Verdict
from trajkit.sources.judges import BaseJudge, JudgeSpec, make_judge, parse_spec
from trajkit.sources.judges.base import judged

TASK = Task(source="tasks", task_id="t1", prompt="2+2?", reference="4")


@pytest.mark.parametrize(
    ("spec", "parsed"),
    [
        ("exact", JudgeSpec("exact")),
        (" EM ", JudgeSpec("em")),
        ("f1>=0.8", JudgeSpec("f1", ">=", "0.8")),
        ("regex:^\\d+(:\\d+)?$", JudgeSpec("regex", ":", "^\\d+(:\\d+)?$")),
        ("regex:", JudgeSpec("regex", ":", "")),
        ("my-plugin.judge", JudgeSpec("my-plugin.judge")),
    ],
)
def test_specs_parse_into_name_separator_and_argument(spec: str, parsed: JudgeSpec) -> None:
    assert parse_spec(spec) == parsed
    assert str(parsed) == spec.strip().lower() if parsed.arg is None else str(parsed) == spec


@pytest.mark.parametrize("spec", ["", "  ", ">=0.8", ":x", "1abc", "f 1"])
def test_malformed_specs_are_one_line_errors_naming_the_flag(spec: str) -> None:
    with pytest.raises(ConfigError) as info:
        parse_spec(spec)
    message = str(info.value)
    assert message.startswith("--source-opt judge=") and "\n" not in message


class _Options(BaseModel):
    tol: float = 0.0


class Plus(BaseJudge):
    """A judge registered at run time, as a notebook or a test would."""

    name = "plus"
    options_model = _Options

    async def judge(self, task: Task, answer: str) -> Verdict:
        ok = abs(float(answer) - float(str(task.reference))) <= self.options.tol  # type: ignore[attr-defined]
        return judged(Verdict(success=ok, score=float(ok)), "plus")


@pytest.fixture
def plus() -> Iterator[None]:
    registry.register("judge", "plus", Plus, replace=True)
    yield
    registry.REGISTRY._runtime["judge"].pop("plus", None)


async def test_a_judge_registered_at_run_time_is_built_with_its_options(plus: None) -> None:
    judge = make_judge("plus", {"tol": "0.5"})
    verdict = await judge.judge(TASK, "4.4")
    assert verdict.success and verdict.details["judge"] == "plus"
    assert Plus.summary(TASK, verdict) == "plus: match"
    with pytest.raises(ConfigError, match=r"^--source-opt tol=abc: ") as info:
        make_judge("plus", {"tol": "abc"})
    assert "\n" not in str(info.value)
    with pytest.raises(ConfigError, match="--source-opt colour: unknown option for judge plus"):
        make_judge("plus", {"colour": "red"})
    with pytest.raises(ConfigError, match=r"judge 'plus' takes no argument \(write judge=plus\)"):
        make_judge("plus:3", {})


def test_unknown_judges_name_the_flag_and_the_known_ones() -> None:
    with pytest.raises(PluginError) as info:
        make_judge("nosuchjudge")
    message = str(info.value)
    assert message.startswith("--source-opt judge=nosuchjudge: ") and "\n" not in message
    assert "exact" in message


def test_judges_are_a_registry_kind_with_the_builtins_as_entry_points() -> None:
    kind = registry.KINDS["judge"]
    assert kind.group == "trajkit.judges" and kind.required == ("judge",)
    assert {
        "exact",
        "em",
        "f1",
        "contains",
        "numeric",
        "math",
        "choice",
        "regex",
        "tests",
        "llm",
    } <= set(registry.names("judge"))


def test_the_recorded_spec_is_the_judge_s_own_whatever_its_details_say() -> None:
    """Reports find the judge again from ``details["judge"]``: a judge's own details (or a
    grader's reply copied into them) cannot replace it."""
    verdict = judged(Verdict(success=True, score=1.0, details={"judge": "other", "x": 1}), "plus")
    assert verdict.details == {"judge": "plus", "x": 1}
    assert next(iter(verdict.details)) == "judge"
