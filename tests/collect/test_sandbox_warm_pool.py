"""The fork server's bookkeeping of sandboxes started ahead (``warm_pool.py``), rule by rule."""

from __future__ import annotations

from trajkit.collect.sandbox.warm_pool import MAX_DEPTH, MAX_FAILURES, Ready, WarmPool


def fill(pool: WarmPool, key: str, pid: int) -> None:
    assert pool.wanted() is not None and pool.wanted()[0] == key
    assert pool.add(key, Ready(pid, [pid])) is True


def test_take_hands_each_entry_out_once_oldest_first() -> None:
    pool = WarmPool()
    assert pool.request("a", {"n": 1}, 2) == []
    assert pool.wanted() == ("a", {"n": 1})
    fill(pool, "a", 10)
    fill(pool, "a", 11)
    assert pool.wanted() is None and len(pool) == 2
    assert [pool.take("a").pid, pool.take("a").pid, pool.take("a")] == [10, 11, None]
    assert pool.take("b") is None  # never asked for


def test_a_lower_depth_drops_entries_and_zero_keeps_none() -> None:
    pool = WarmPool()
    pool.request("a", {}, 3)
    for pid in (1, 2, 3):
        fill(pool, "a", pid)
    assert [e.pid for e in pool.request("a", {}, 1)] == [3, 2]
    assert [e.pid for e in pool.request("a", {}, 0)] == [1]
    assert pool.take("a") is None and pool.wanted() is None
    assert pool.add("a", Ready(4, [])) is False  # not wanted: the caller discards it


def test_depth_is_capped() -> None:
    pool = WarmPool()
    pool.request("a", {}, 10_000)
    for pid in range(MAX_DEPTH):
        fill(pool, "a", pid)
    assert pool.wanted() is None


def test_only_the_most_recent_configurations_are_kept() -> None:
    pool = WarmPool(max_configs=2)
    for key in ("a", "b"):
        pool.request(key, {}, 1)
        fill(pool, key, ord(key))
    pool.request("a", {}, 1)  # "a" is now the most recent
    dropped = pool.request("c", {}, 1)
    assert [e.pid for e in dropped] == [ord("b")]
    assert pool.take("b") is None and pool.take("a").pid == ord("a")
    assert pool.wanted() == ("c", {})  # most recent first


def test_entries_dying_before_use_stop_the_refill_until_asked_again() -> None:
    pool = WarmPool()
    pool.request("a", {}, 1)
    for pid in range(MAX_FAILURES):
        fill(pool, "a", pid)
        assert pool.forget(pid).pid == pid
    assert pool.wanted() is None  # no endless loop of sandboxes that die at once
    assert pool.forget(99) is None
    pool.request("a", {}, 1)
    assert pool.wanted() == ("a", {})


def test_drain_empties_everything() -> None:
    pool = WarmPool()
    for key in ("a", "b"):
        pool.request(key, {}, 2)
        fill(pool, key, ord(key))
    assert sorted(e.pid for e in pool.drain()) == [ord("a"), ord("b")]
    assert len(pool) == 0
