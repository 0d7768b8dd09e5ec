"""What a judge paid for its verdicts (``details["cost_usd"]``, an LLM judge's grader calls) is
part of the episode's cost: ``trajectory_cost`` (run.json, ``--max-cost``, ``trajkit view``)
and a resumed run's ``RunStore``, which recounts it from the records alone."""

from __future__ import annotations

import math

import pytest
from factories import make_trajectory

from trajkit.collect.pricing import trajectory_cost
from trajkit.collect.run_store import RunStore
from trajkit.core.lent_model import verdict_cost
from trajkit.schemas import Trajectory, Usage, Verdict


def judged_trajectory(*costs: object) -> Trajectory:
    """A two-step episode (one code cell, one answer per cost) with judge costs on verdicts."""
    traj = make_trajectory(task_id="t", steps=["exception"] + ["solve"] * len(costs), success=True)
    for step in traj.steps:
        step.usage = Usage(input_tokens=1000, output_tokens=100, calls=1)
    for step, cost in zip(traj.steps[1:], costs, strict=True):
        step.verdict = Verdict(success=True, score=1.0, details={"judge": "llm", "cost_usd": cost})
    return traj


def test_judge_costs_add_to_the_teacher_cost() -> None:
    traj = judged_trajectory(0.25, 0.5)
    teacher = 3 * (1000 * 1.0 + 100 * 10.0) / 1e6
    assert trajectory_cost(traj, (1.0, 10.0)) == pytest.approx(teacher + 0.75)


@pytest.mark.parametrize("bad", [None, True, "0.5", -1.0, math.inf, math.nan, [0.5], {"usd": 1}])
def test_a_cost_that_is_not_a_usable_number_counts_as_nothing(bad: object) -> None:
    assert verdict_cost(Verdict(success=False, score=0.0, details={"cost_usd": bad})) == 0.0
    assert verdict_cost(None) == 0.0
    assert verdict_cost(Verdict(success=True, score=1.0, details={"cost_usd": 2})) == 2.0


def test_a_resumed_run_recounts_judge_costs_from_its_records(tmp_path) -> None:
    price = (1.0, 10.0)
    store = RunStore(tmp_path / "r", "r", {}, price, describe=False)
    store.append(judged_trajectory(0.125))
    spent = store.cost_usd
    store.close()
    assert spent == pytest.approx(2 * 0.002 + 0.125)
    reopened = RunStore(tmp_path / "r", "r", {}, price, describe=False)
    assert reopened.cost_usd == pytest.approx(spent)
    assert reopened.write_manifest("completed", 1).cost_usd == pytest.approx(spent)
    reopened.close()
