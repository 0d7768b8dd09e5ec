"""Budget projection: in-flight episodes are counted at the mean cost of finished ones."""

from __future__ import annotations

from trajkit.collect.budget import Budget


def test_no_budget_never_refuses():
    budget = Budget(None)
    assert all(budget.try_start() for _ in range(1000))


def test_projection_stops_new_starts_before_the_limit():
    budget = Budget(1.0)
    assert budget.try_start() and budget.try_start()  # no mean yet: concurrency decides
    budget.finish(0.3)
    budget.finish(0.3)  # spent 0.6, mean 0.3
    assert budget.try_start()  # 0.6 + 1 x 0.3 = 0.9 <= 1.0
    assert not budget.try_start()  # 0.6 + 2 x 0.3 = 1.2 > 1.0
    assert budget.exhausted


def test_resume_counts_what_was_already_spent():
    assert not Budget(1.0, spent=1.0, finished=4).try_start()
    higher = Budget(2.0, spent=1.0, finished=4)
    assert higher.try_start() and higher.projected(0) == 1.25
