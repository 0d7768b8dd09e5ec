"""Each filter unit's decisions and drop reasons, and the self-correction rule."""

from __future__ import annotations

import pytest
from factories import make_step, make_trajectory

from trajkit.core.self_correction import is_self_correcting_steps
from trajkit.filters.base import KEEP, Drop, Filter, Keep
from trajkit.filters.self_correct import SelfCorrectFilter, is_self_correcting
from trajkit.filters.success import SuccessFilter
from trajkit.schemas import Action, ActionKind, Step


def test_units_satisfy_protocol() -> None:
    for unit in (SuccessFilter(), SelfCorrectFilter()):
        assert isinstance(unit, Filter)
        assert isinstance(unit.params, dict)


def test_success_keeps_successful_full_score() -> None:
    assert SuccessFilter().decide(make_trajectory(success=True)) == KEEP
    assert isinstance(KEEP, Keep)


def test_success_drops_unsuccessful() -> None:
    assert SuccessFilter().decide(make_trajectory(success=False)) == Drop("unsuccessful")
    # A failed episode is dropped even when its score would pass the threshold.
    assert SuccessFilter(min_score=0.0).decide(make_trajectory(success=False)) == Drop("unsuccessful")


def test_success_threshold() -> None:
    partial = make_trajectory(success=True, score=0.5)
    assert SuccessFilter().decide(partial) == Drop("score_below_min")
    assert SuccessFilter(min_score=0.5).decide(partial) == KEEP
    assert SuccessFilter(min_score=0.5).params == {"min_score": 0.5}
    assert SuccessFilter().params == {"min_score": 1.0}


@pytest.mark.parametrize("error", ["exception", "syntax", "timeout", "worker_restart"])
def test_every_error_kind_before_success_counts(error: str) -> None:
    traj = make_trajectory(steps=["ok", error, "ok", "solve"])
    assert is_self_correcting(traj)
    assert SelfCorrectFilter().decide(traj) == KEEP


def test_clean_success_is_not_self_correcting() -> None:
    traj = make_trajectory(steps=["ok", "ok", "solve"])
    assert not is_self_correcting(traj)
    assert SelfCorrectFilter().decide(traj) == Drop("no_error_before_success")


def test_error_after_success_does_not_count() -> None:
    traj = make_trajectory(steps=["ok", "solve", "exception"])
    assert not is_self_correcting(traj)
    assert SelfCorrectFilter().decide(traj) == Drop("no_error_before_success")


def test_wrong_answer_alone_does_not_count() -> None:
    traj = make_trajectory(steps=["wrong", "solve"])
    assert not is_self_correcting(traj)
    assert SelfCorrectFilter().decide(traj) == Drop("no_error_before_success")


def test_invalid_turn_does_not_count() -> None:
    assert not is_self_correcting(make_trajectory(steps=["invalid", "solve"]))


def test_error_in_the_succeeding_step_itself_does_not_count() -> None:
    # Only steps strictly before the success step are considered.
    solve = make_step(1, "solve")
    solve_with_error = solve.model_copy(update={"observation": make_step(1, "exception").observation})
    traj = make_trajectory(steps=["ok", solve_with_error])
    assert not is_self_correcting(traj)


def test_unsuccessful_episode_with_errors_is_dropped() -> None:
    traj = make_trajectory(steps=["exception", "timeout", "wrong"], success=False)
    assert not is_self_correcting(traj)
    assert SelfCorrectFilter().decide(traj) == Drop("no_success_step")


def test_first_successful_verdict_is_the_success_step() -> None:
    # Errors between two accepted answers come after the first success: nothing corrected.
    traj = make_trajectory(steps=["solve", "exception", "solve"])
    assert not is_self_correcting(traj)


def test_stored_flag_is_not_trusted() -> None:
    lying_yes = make_trajectory(steps=["ok", "solve"], self_corrected=True)
    lying_no = make_trajectory(steps=["exception", "solve"], self_corrected=False)
    assert SelfCorrectFilter().decide(lying_yes) == Drop("no_error_before_success")
    assert SelfCorrectFilter().decide(lying_no) == KEEP


def test_old_record_without_verdicts_uses_last_solution_step() -> None:
    # An older/hand-written record: success is set, but no step carries a verdict.
    failing = make_step(0, "exception")
    answer = Step(index=1, assistant="<solution>42</solution>",
                  action=Action(kind=ActionKind.SOLUTION, content="42"))
    traj = make_trajectory(steps=[failing, answer], success=True)
    assert is_self_correcting(traj)
    # ... and an error after that final answer would not count.
    late = make_trajectory(steps=[answer, failing], success=True)
    assert not is_self_correcting(late)


@pytest.mark.parametrize(
    "steps",
    [["ok", "solve"], ["exception", "solve"], ["solve", "timeout"], ["wrong", "solve"],
     ["worker_restart", "wrong", "solve"], ["syntax", "wrong"]],
)
def test_filter_and_loop_share_one_rule(steps: list[str]) -> None:
    traj = make_trajectory(steps=steps)
    assert is_self_correcting(traj) == is_self_correcting_steps(traj.steps, traj.success)
