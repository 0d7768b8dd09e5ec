"""FilterChain: streaming, per-unit counts, and that a dropped trajectory goes no further."""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from typing import Any

from factories import make_trajectory

from trajkit.filters.base import KEEP, Decision, Drop
from trajkit.filters.chain import FilterChain
from trajkit.filters.presets import default_chain
from trajkit.schemas import Trajectory


def mixed() -> list[Trajectory]:
    return [
        make_trajectory("a", ["exception", "solve"]),  # kept
        make_trajectory("b", ["ok", "solve"]),  # self-correct: no error before success
        make_trajectory("c", ["timeout", "wrong"], success=False),  # success: unsuccessful
        make_trajectory("d", ["syntax", "solve"], score=0.5),  # success: score below min
        make_trajectory("e", ["worker_restart", "ok", "solve"]),  # kept
        make_trajectory("f", ["solve", "exception"]),  # self-correct: error after success
    ]


def test_default_chain_counts() -> None:
    chain = default_chain()
    kept = [t.task_id for t in chain.run(mixed())]
    assert kept == ["a", "e"]
    success, self_correct = chain.reports
    assert (success.name, success.seen, success.kept, success.dropped) == ("success", 6, 4, 2)
    assert success.drop_reasons == {"unsuccessful": 1, "score_below_min": 1}
    assert success.params == {"min_score": 1.0}
    assert (self_correct.seen, self_correct.kept, self_correct.dropped) == (4, 2, 2)
    assert self_correct.drop_reasons == {"no_error_before_success": 2}


class Recorder:
    """Drops task ids in ``drop``; remembers what it saw."""

    def __init__(self, name: str, drop: set[str]) -> None:
        self.name = name
        self.drop = drop
        self.seen: list[str] = []
        self.resets = 0

    @property
    def params(self) -> dict[str, Any]:
        return {"drop": sorted(self.drop)}

    def decide(self, traj: Trajectory) -> Decision:
        self.seen.append(traj.task_id)
        return Drop("listed") if traj.task_id in self.drop else KEEP

    def reset(self) -> None:
        self.resets += 1
        self.seen = []


def test_dropped_by_unit_k_is_not_seen_by_k_plus_1() -> None:
    first, second = Recorder("first", {"a", "c"}), Recorder("second", {"e"})
    chain = FilterChain([first, second])
    assert [t.task_id for t in chain.run(mixed())] == ["b", "d", "f"]
    assert first.seen == ["a", "b", "c", "d", "e", "f"]
    assert second.seen == ["b", "d", "e", "f"]
    assert [(r.seen, r.kept, r.dropped) for r in chain.reports] == [(6, 4, 2), (4, 3, 1)]


def test_chain_streams_lazily() -> None:
    produced = 0

    def endless() -> Iterator[Trajectory]:
        nonlocal produced
        for i in itertools.count():
            produced += 1
            yield make_trajectory(f"t{i}", ["exception", "solve"] if i % 2 else ["ok", "solve"])

    kept = list(itertools.islice(default_chain().run(endless()), 3))
    assert [t.task_id for t in kept] == ["t1", "t3", "t5"]
    assert produced == 6  # never read ahead of what was asked for


def test_each_run_starts_fresh() -> None:
    unit = Recorder("r", set())
    chain = FilterChain([unit])
    list(chain.run(mixed()))
    list(chain.run(mixed()[:2]))
    assert chain.reports[0].seen == 2
    assert unit.seen == ["a", "b"] and unit.resets >= 2


def test_empty_chain_keeps_everything() -> None:
    chain = FilterChain([])
    assert len(list(chain.run(mixed()))) == 6
    assert chain.reports == [] and chain.spec() == []


def test_spec_lists_names_and_params() -> None:
    assert default_chain().spec() == [
        {"name": "success", "params": {"min_score": 1.0}},
        {"name": "self-correct", "params": {}},
    ]
    assert default_chain().names == ["success", "self-correct"]
