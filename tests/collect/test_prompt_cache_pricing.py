"""Prompt caching in the numbers: the usage split, cache prices, ``--price`` with cache prices,
the estimate's cache model, and records from before the split (no network here)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from factories import make_trajectory
from math_tasks import write_problems

from trajkit.collect.config import CollectConfig
from trajkit.collect.estimate import estimate_run
from trajkit.collect.options import CollectOptions
from trajkit.collect.pricing import (
    Price,
    cache_savings,
    cost_parts,
    parse_price,
    price_for,
    trajectory_cost,
    trajectory_cost_parts,
    usage_cost,
)
from trajkit.collect.prompt_cache import anthropic_min_tokens, episode_split, openai_cached
from trajkit.core.errors import ConfigError
from trajkit.schemas import Trajectory, Usage
from trajkit.sources.base import LoadOptions

SONNET = Price(3.00, 15.00, 0.30, 3.75)


def test_a_worked_example_by_hand() -> None:
    """10,000 input tokens: 2,000 uncached, 3,000 written to the cache, 5,000 read from it;
    1,000 output tokens, at claude-sonnet-4's list price ($3 in, $15 out per million; a cache
    write 1.25x the input price, a cache read 0.1x)."""
    usage = Usage(input_tokens=10_000, cache_write_tokens=3_000, cache_read_tokens=5_000,
                  output_tokens=1_000, calls=1)
    assert price_for("claude-sonnet-4-20250514") == SONNET
    parts = cost_parts(usage, SONNET)
    assert parts.uncached_input == pytest.approx(2_000 * 3.00 / 1e6)  # $0.006
    assert parts.cache_write == pytest.approx(3_000 * 3.75 / 1e6)  # $0.01125
    assert parts.cache_read == pytest.approx(5_000 * 0.30 / 1e6)  # $0.0015
    assert parts.output == pytest.approx(1_000 * 15.00 / 1e6)  # $0.015
    assert usage_cost(usage, SONNET) == pytest.approx(0.03375)
    assert cache_savings(usage, SONNET) == pytest.approx(0.030 - 0.01875)  # vs all at $3
    assert usage_cost(usage, SONNET.scaled(0.5)) == pytest.approx(0.03375 / 2)  # batch mode


def test_usage_split_sums_and_keeps_the_total() -> None:
    a = Usage(input_tokens=100, cache_read_tokens=60, cache_write_tokens=30, calls=1)
    b = Usage(input_tokens=50, cache_read_tokens=0, cache_write_tokens=50, calls=1)
    total = a + b
    assert (total.input_tokens, total.cache_read_tokens, total.cache_write_tokens) == (150, 60, 80)
    assert total.uncached_input_tokens == 10
    # A stored record whose counts disagree is never billed a negative amount.
    assert Usage(input_tokens=5, cache_read_tokens=9).uncached_input_tokens == 0


def test_records_from_before_the_split_load_and_write_the_same_bytes() -> None:
    traj = make_trajectory(task_id="t", steps=["exception", "solve"], success=True)
    line = traj.model_dump_json()
    assert "cache_read_tokens" not in line and "cache_write_tokens" not in line
    old = json.loads(line)
    old["usage"] = {"input_tokens": 40, "output_tokens": 10, "calls": 2, "cached_calls": 0}
    loaded = Trajectory.model_validate(old)
    assert loaded.usage.cache_read_tokens == loaded.usage.cache_write_tokens == 0
    assert loaded.usage.uncached_input_tokens == 40
    assert json.loads(loaded.model_dump_json())["usage"] == old["usage"]  # same JSON again
    cached = loaded.model_copy(update={"usage": Usage(input_tokens=40, cache_read_tokens=30)})
    assert json.loads(cached.model_dump_json())["usage"]["cache_read_tokens"] == 30


def test_trajectory_cost_prices_each_step_split_and_skips_response_cache_hits() -> None:
    traj = make_trajectory(task_id="t", steps=["exception", "solve"], success=True)
    traj.steps[0].usage = Usage(input_tokens=1000, cache_write_tokens=1000, output_tokens=100,
                                calls=1)
    traj.steps[1].usage = Usage(input_tokens=1200, cache_read_tokens=1000, output_tokens=100,
                                calls=1)
    expected = (1000 * 3.75 + 100 * 15 + 200 * 3.00 + 1000 * 0.30 + 100 * 15) / 1e6
    assert trajectory_cost(traj, SONNET) == pytest.approx(expected)
    assert trajectory_cost_parts(traj, SONNET).cache_read == pytest.approx(1000 * 0.30 / 1e6)
    traj.steps[1].usage = traj.steps[1].usage.model_copy(update={"cached_calls": 1})
    assert trajectory_cost(traj, SONNET) == pytest.approx((1000 * 3.75 + 100 * 15) / 1e6)


def test_price_flag_takes_cache_prices_and_derives_missing_ones_by_the_providers_rule() -> None:
    assert parse_price("m=1,2,0.1,1.5") == ("m", (1.0, 2.0, 0.1, 1.5))
    assert parse_price("m=1,2,0.3") == ("m", (1.0, 2.0, 0.3))
    for bad in ("m=1", "m=1,2,3,4,5", "m=1,2,-3", "m=1,2,nan", "m=1,2,x"):
        with pytest.raises(ConfigError, match="CACHE_READ"):
            parse_price(bad)
    # Not in the table: Anthropic's rule for anthropic/claude models, else no discount.
    assert price_for("claude-x", {"claude-x": (2.0, 10.0)}) == (2.0, 10.0, 0.2, 2.5)
    assert price_for("my-m", {"my-m": (2.0, 10.0)}, provider="anthropic") == (2.0, 10.0, 0.2, 2.5)
    assert price_for("my-m", {"my-m": (2.0, 10.0)}, provider="openai") == (2.0, 10.0, 2.0, 2.0)
    assert price_for("my-m", {"my-m": (2.0, 10.0, 0.5)}) == (2.0, 10.0, 0.5, 2.0)
    # In the table: its own ratios (gpt-4.1 reads at a quarter of the input price).
    assert price_for("gpt-4.1", {"gpt-4.1": (4.0, 16.0)}) == (4.0, 16.0, 1.0, 4.0)
    config = CollectOptions(source="math", teacher="anthropic:my-m",
                            price=["my-m=2,10"]).resolve()
    assert config.teacher_price() == (2.0, 10.0, 0.2, 2.5)
    batch = config.model_copy(update={"mode": "batch"})
    assert batch.teacher_price() == (1.0, 5.0, 0.1, 1.25)
    with pytest.raises(ConfigError, match="--price"):
        CollectOptions(source="math", teacher="openai:m", price=["m=1,2,3,4,5"]).resolve()


def test_the_cache_model_follows_each_providers_rule() -> None:
    """Three turns of 1500, 2000 and 2500 tokens, the first 1200 the shared system prompt."""
    anthropic = episode_split(3, 1500, 500, 1200, "anthropic", "claude-sonnet-4")
    # turn 1 reads the system prompt, each later turn the previous request; the rest written
    assert (anthropic.read, anthropic.write, anthropic.uncached) == (4700, 1300, 0)
    openai = episode_split(3, 1500, 500, 1200, "openai", "gpt-4o")
    # cached prefixes in 128-token steps from 1024: 1152, 1408, 1920
    assert (openai.read, openai.write, openai.uncached) == (4480, 0, 6000 - 4480)
    assert episode_split(3, 1500, 500, 1200, None, "m").uncached == 6000
    assert episode_split(3, 300, 100, 200, "anthropic", "claude-sonnet-4").read == 0  # too short
    assert anthropic_min_tokens("claude-3-5-haiku-latest") == 2048
    assert anthropic_min_tokens("claude-sonnet-4-5") == 1024
    assert openai_cached(1023) == 0 and openai_cached(1151) == 1024 and openai_cached(1152) == 1152


def test_estimate_prices_the_expected_cache_split(tmp_path: Path) -> None:
    data = write_problems(tmp_path / "p.jsonl", 3, pad_words=1200)  # ~1,200-token tasks
    config = CollectConfig(source="math", teacher="anthropic:claude-sonnet-4",
                           load=LoadOptions(data=str(data)), out=tmp_path / "out", run="e")
    cached = estimate_run(config)
    plain = estimate_run(config.model_copy(update={"prompt_cache": False}))
    assert cached.input_tokens == plain.input_tokens and plain.cache_read_tokens == 0
    assert cached.cache_read_tokens > 0 and cached.cache_write_tokens > 0
    assert cached.cost_usd is not None and plain.cost_usd is not None
    assert cached.cost_usd < plain.cost_usd
    assert "read from" in cached.describe() and "read from" not in plain.describe()
