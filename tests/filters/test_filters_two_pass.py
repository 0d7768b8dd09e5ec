"""Two-pass units (dedup, balance): best-copy rule, seeded balance, and the prepare protocol."""

from __future__ import annotations

import random
from collections.abc import Iterator

import pytest
from factories import make_trajectory
from filter_helpers import episode, near_copy, rewrite

from trajkit.core.errors import DataError
from trajkit.filters.balance import BalanceFilter
from trajkit.filters.base import KEEP, Drop, ParamError, is_two_pass
from trajkit.filters.chain import FilterChain
from trajkit.filters.dedup import DedupFilter, exact_key
from trajkit.filters.success import SuccessFilter
from trajkit.schemas import Task, Trajectory


def ids(trajs: list[Trajectory]) -> list[str]:
    return [t.id for t in trajs]


def run(unit: object, trajs: list[Trajectory]) -> list[str]:
    return ids(list(FilterChain([unit]).run(trajs)))  # type: ignore[list-item]


# --- dedup: exact ----------------------------------------------------------------------------

def test_exact_key_normalises_whitespace_but_not_code() -> None:
    a = make_trajectory("t", steps=["exception", "solve"])
    spaced = rewrite(a, 0, a.steps[0].assistant)  # same text
    code = a.steps[0].action.model_copy(update={"content": "x  =  0\n\n print(x) "})
    respaced = a.model_copy(update={"steps": [a.steps[0].model_copy(update={"action": code}), a.steps[1]]})
    assert exact_key(a) == exact_key(spaced)
    assert exact_key(a) == exact_key(respaced)  # whitespace-normalised
    other = a.model_copy(update={"answer": "43"})
    assert exact_key(a) != exact_key(other)
    assert exact_key(a) != exact_key(make_trajectory("u", steps=["exception", "solve"]))  # prompt


def test_exact_dedup_keeps_shortest_successful_then_earliest() -> None:
    first_ok = make_trajectory("t", ["exception", "ok", "solve"], run="a")
    failed = make_trajectory("t", ["exception", "ok", "wrong"], success=False, run="b", answer="42")
    same = make_trajectory("t", ["exception", "ok", "solve"], run="c")
    twin = make_trajectory("t", ["exception", "ok", "solve"], run="d")
    trajs = [failed, first_ok, same, twin]
    assert len({exact_key(t) for t in trajs}) == 1
    unit = DedupFilter("exact")
    assert run(unit, trajs) == ["a/t"]  # failed copy loses; among equal turns, the earliest wins
    reports = FilterChain([unit])
    list(reports.run(trajs))
    assert reports.reports[0].drop_reasons == {"exact_duplicate": 3}


def test_exact_dedup_prefers_fewer_turns_even_when_later() -> None:
    rng = random.Random(3)
    best = episode("t", rng, kinds=["exception", "solve"])
    longer = best.model_copy(update={
        "id": "early/t",
        "messages": [*best.messages[:2], best.messages[2], *best.messages[2:]],  # one more turn
    })
    assert exact_key(longer) == exact_key(best)
    assert run(DedupFilter("exact"), [longer, best]) == [best.id]


def test_exact_dedup_keeps_unrelated_records() -> None:
    trajs = [make_trajectory(f"t{i}", ["exception", "solve"]) for i in range(5)]
    assert run(DedupFilter("exact"), trajs) == ids(trajs)


# --- dedup: near -----------------------------------------------------------------------------

def test_near_dedup_catches_planted_near_copies_in_a_generated_run() -> None:
    rng = random.Random(7)
    originals = [episode(f"t{i}", rng) for i in range(60)]
    planted = {f"copy/t{i}": originals[i] for i in rng.sample(range(60), 12)}
    trajs = list(originals)
    for new_id, orig in planted.items():
        trajs.insert(rng.randint(trajs.index(orig) + 1, len(trajs)), near_copy(orig, new_id, rng))
    unit = DedupFilter("near", threshold=0.8)
    kept = run(unit, trajs)
    assert kept == ids(originals)  # every planted copy dropped, no original lost
    assert DedupFilter("exact").params == {"mode": "exact"}
    # Only prose differs: same code and answer, so exact dedup (actions + answer) agrees.
    assert run(DedupFilter("exact"), trajs) == ids(originals)
    # Change one copy's code too: exact no longer matches it, near still does.
    copy_id = next(iter(planted))
    recoded = [recode(t) if t.id == copy_id else t for t in trajs]
    assert copy_id in run(DedupFilter("exact"), recoded)
    assert run(DedupFilter("near", threshold=0.8), recoded) == ids(originals)


def recode(traj: Trajectory) -> Trajectory:
    """``traj`` with one more line of code in its first execute (message and step)."""
    step = traj.steps[0]
    code = step.action.content + "\nprint('checked')"
    changed = rewrite(traj, 0, traj.messages[2].content.replace(step.action.content, code))
    steps = list(changed.steps)
    steps[0] = steps[0].model_copy(update={"action": step.action.model_copy(update={"content": code})})
    return changed.model_copy(update={"steps": steps})


def test_near_dedup_keeps_the_better_later_copy() -> None:
    rng = random.Random(1)
    failed = episode("t", rng, kinds=["exception", "ok", "wrong"], success=False)
    better = near_copy(failed, "later/t", rng).model_copy(update={"success": True, "score": 1.0})
    assert run(DedupFilter("near", threshold=0.8), [failed, better]) == ["later/t"]


def test_identical_turns_for_different_tiny_tasks_are_not_near_duplicates() -> None:
    # Both answer <solution>42</solution> without code: the prompt shingle keeps them apart.
    a, b = make_trajectory("a", ["solve"]), make_trajectory("b", ["solve"])
    assert run(DedupFilter("near"), [a, b]) == ["run-1/a", "run-1/b"]


def test_dedup_params_validate() -> None:
    for kw, param in (({"mode": "fuzzy"}, "mode"), ({"threshold": 0}, "threshold"),
                      ({"threshold": 1.5}, "threshold"), ({"num_perm": 4}, "num_perm")):
        with pytest.raises(ParamError) as info:
            DedupFilter(**kw)  # type: ignore[arg-type]
        assert info.value.param == param


# --- balance ---------------------------------------------------------------------------------

def mixed_sources(n: int = 30) -> list[Trajectory]:
    out = []
    for i in range(n):
        source = ("math", "math", "apps")[i % 3]
        task = Task(source=source, task_id=f"t{i}", prompt=f"p{i}", metadata={"level": f"L{i % 2}"})
        out.append(make_trajectory(f"t{i}", ["exception", "solve"], source=source, task=task))
    return out


def test_balance_caps_per_group_with_a_seeded_sample() -> None:
    trajs = mixed_sources()
    unit = BalanceFilter({"*": 5})
    kept = [t for t in FilterChain([unit]).run(trajs)]
    assert sorted(t.source for t in kept) == ["apps"] * 5 + ["math"] * 5
    math_kept = [t.task_id for t in kept if t.source == "math"]
    assert math_kept != [t.task_id for t in trajs if t.source == "math"][:5]  # a sample, not a prefix
    again = [t.id for t in FilterChain([BalanceFilter({"*": 5})]).run(trajs)]
    assert again == ids(kept)  # deterministic
    other_seed = [t.id for t in FilterChain([BalanceFilter({"*": 5}, seed=1)]).run(trajs)]
    assert other_seed != ids(kept)


def test_balance_fractions_named_groups_and_reasons() -> None:
    trajs = mixed_sources()  # 20 math, 10 apps
    chain = FilterChain([BalanceFilter({"math": 0.25}, by=["source"])])
    kept = list(chain.run(trajs))
    assert sum(t.source == "math" for t in kept) == 5 and sum(t.source == "apps" for t in kept) == 10
    assert chain.reports[0].drop_reasons == {"balanced_out:math": 15}


def test_balance_by_metadata_fields() -> None:
    unit = BalanceFilter({"*": 2}, by=["source", "level"])
    kept = list(FilterChain([unit]).run(mixed_sources()))
    groups = sorted(unit.group(t) for t in kept)
    assert groups == ["apps/L0", "apps/L0", "apps/L1", "apps/L1", "math/L0", "math/L0", "math/L1", "math/L1"]
    assert BalanceFilter({"*": 1}, by=["difficulty"]).group(kept[0]) == "-"


def test_balance_by_a_field_no_record_has_is_refused_not_a_silent_cap() -> None:
    """A typo (``difficulty`` for ``level``) grouped every record as ``-`` and cut the whole
    dataset to that one group's limit; a field some records lack still groups them as ``-``."""
    with pytest.raises(DataError, match=r"balance by 'difficulty': no record has this field .*: level"):
        list(FilterChain([BalanceFilter({"*": 2}, by=["difficulty"])]).run(mixed_sources()))
    some = mixed_sources()
    some[0].task.metadata.pop("level")
    kept = list(FilterChain([BalanceFilter({"*": 2}, by=["level"])]).run(some))
    assert len(kept) == 5  # L0, L1 and the one '-'
    assert list(FilterChain([BalanceFilter({"*": 2}, by=["difficulty"])]).run([])) == []


@pytest.mark.parametrize("limits", [{}, {"math": -1}, {"math": 1.5}, {"math": "10"}, {"math": True}])
def test_balance_rejects_bad_limits(limits: dict) -> None:
    with pytest.raises(ParamError):
        BalanceFilter(limits)


# --- the prepare protocol --------------------------------------------------------------------

def test_two_pass_units_are_recognised() -> None:
    assert is_two_pass(DedupFilter()) and is_two_pass(BalanceFilter({"*": 1}))
    assert not is_two_pass(SuccessFilter())
    assert FilterChain([SuccessFilter(), DedupFilter()]).two_pass
    assert not FilterChain([SuccessFilter()]).two_pass


def test_prepare_sees_only_what_earlier_units_keep() -> None:
    failed = make_trajectory("t", ["exception", "wrong"], success=False, answer="42", run="a")
    ok = make_trajectory("t", ["exception", "solve"], run="b")
    # Dedup after success never sees the failed copy, so the successful one is kept.
    assert ids(list(FilterChain([SuccessFilter(), DedupFilter()]).run([failed, ok]))) == ["b/t"]


def test_a_stream_needs_prepare_and_a_different_stream_is_refused() -> None:
    trajs = [make_trajectory(f"t{i}") for i in range(4)]
    chain = FilterChain([DedupFilter()])

    def stream() -> Iterator[Trajectory]:
        yield from trajs

    with pytest.raises(RuntimeError, match="prepare"):
        list(chain.run(stream()))
    chain.prepare(stream)
    assert len(list(chain.run(stream()))) == 4
    chain.prepare(stream)
    with pytest.raises(RuntimeError, match="other records"):
        list(chain.run(reversed(trajs)))
    chain.prepare(stream)
    with pytest.raises(RuntimeError, match="more records"):
        list(chain.run(iter([*trajs, make_trajectory("extra")])))


def test_decide_without_prepare_is_an_error_not_a_guess() -> None:
    with pytest.raises(RuntimeError, match="two-pass"):
        DedupFilter().decide(make_trajectory())
    unit = DedupFilter()
    unit.prepare([make_trajectory()])
    assert unit.decide(make_trajectory()) == KEEP
    assert isinstance(Drop("x"), Drop)
