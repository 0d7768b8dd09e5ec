"""Adaptive concurrency: AIMD on in-flight teacher calls, driven by real 429 responses."""

from __future__ import annotations

import asyncio
from pathlib import Path

from math_tasks import answer_directly, write_problems
from support import require_isolation

from trajkit.collect.config import CollectConfig
from trajkit.collect.runner import collect
from trajkit.collect.teachers.rate_control import AdaptiveLimit
from trajkit.sources.base import LoadOptions


def test_the_odd_429_is_ignored() -> None:
    limit = AdaptiveLimit(16, cooldown_s=0, window=20)
    for i in range(400):
        limit.observe(429 if i % 10 == 0 else 200)  # 10 %: below the sustained share (25 %)
    assert limit.limit == 16 and limit.rate_limited == 40


def test_a_burst_of_429s_halves_once_and_successes_creep_back() -> None:
    limit = AdaptiveLimit(16, cooldown_s=60)
    for _ in range(10):  # one burst: many 429s within the cooldown count once
        limit.observe(429)
    assert limit.limit == 8 and limit.rate_limited == 10
    limit._last_cut = float("-inf")  # the cooldown has passed
    limit.observe(429)
    assert limit.limit == 4 and limit.lowest == 4
    for _ in range(4):
        limit.observe(200)
    assert limit.limit == 5  # +1 after `limit` consecutive successes
    for _ in range(5 + 6 + 7):
        limit.observe(200)
    assert limit.limit == 8
    limit.observe(500)  # a server error is not a rate limit
    assert limit.limit == 8


def test_never_below_minimum_nor_above_maximum() -> None:
    limit = AdaptiveLimit(3, cooldown_s=0, window=4)
    for _ in range(10):
        limit.observe(429)
    assert limit.limit == 1
    for _ in range(100):
        limit.observe(200)
    assert limit.limit == 3


async def test_slots_hold_in_flight_calls_under_the_limit() -> None:
    limit = AdaptiveLimit(8, cooldown_s=0, window=4)
    limit.observe(429)
    limit.observe(429)  # 8 → 4 → 2
    peak = current = 0

    async def call() -> None:
        nonlocal peak, current
        async with limit.slot():
            current += 1
            peak = max(peak, current)
            await asyncio.sleep(0.01)
            current -= 1

    await asyncio.gather(*(call() for _ in range(20)))
    assert peak == 2




async def _rate_limited_run(tmp_path: Path, loopback, adaptive: bool) -> tuple[dict, int]:
    loopback.reset()
    loopback.set_policy(answer_directly)
    loopback.set_capacity(3)
    loopback.set_delay(0.05)
    loopback.retry_after_ms = 20
    loopback.rejected = 0
    data = write_problems(tmp_path / "p.jsonl", N)
    config = CollectConfig(
        source="math", teacher="openai:m", teacher_params={"max_retries": 3},
        load=LoadOptions(data=str(data)), out=tmp_path / "out", run=f"r-{adaptive}",
        concurrency=12, cache=False, adaptive=adaptive,
    )
    result = await collect(config)
    return result.manifest.counts.by_termination, loopback.rejected


N = 96


async def test_a_rate_limited_provider_still_gets_every_episode_through(
    tmp_path: Path, loopback
) -> None:
    """Capacity 3, concurrency 12: backing off, every episode succeeds, with far fewer 429s
    than the same run keeping 12 calls in flight (measured in the same test, so load on the
    machine affects both alike)."""
    require_isolation()
    fixed_terms, fixed_rejected = await _rate_limited_run(tmp_path, loopback, adaptive=False)
    terms, rejected = await _rate_limited_run(tmp_path, loopback, adaptive=True)
    assert terms == {"solved": N}
    assert 0 < rejected < 0.8 * fixed_rejected, (rejected, fixed_rejected, fixed_terms)
