"""Pricing: longest-prefix table lookup, overrides, cache hits free."""

from __future__ import annotations

import pytest
from factories import make_trajectory

from trajkit.collect.pricing import parse_price, price_for, trajectory_cost, usage_cost
from trajkit.core.errors import ConfigError
from trajkit.schemas import Usage


def test_longest_prefix_wins_and_overrides_first():
    # (input, output, cache read, cache write) USD per million tokens
    assert price_for("gpt-4o-mini-2024-07-18") == (0.15, 0.60, 0.075, 0.15)
    assert price_for("gpt-4o-2024-08-06") == (2.50, 10.00, 1.25, 2.50)
    assert price_for("my-local-model") is None
    assert price_for("my-local-model", {"my-local": (0.0, 0.0)}) == (0.0, 0.0, 0.0, 0.0)
    assert price_for("gpt-4o", {"gpt-4o": (1.0, 2.0)}) == (1.0, 2.0, 0.5, 1.0)


def test_usage_cost_per_million():
    assert usage_cost(Usage(input_tokens=1_000_000, output_tokens=500_000), (2.0, 8.0)) == 6.0


def test_cached_steps_cost_nothing():
    traj = make_trajectory(task_id="t", steps=["exception", "solve"], success=True)
    traj.steps[0].usage = Usage(input_tokens=1000, output_tokens=100, calls=1)
    traj.steps[1].usage = Usage(input_tokens=1000, output_tokens=100, calls=1, cached_calls=1)
    assert trajectory_cost(traj, (1.0, 10.0)) == pytest.approx((1000 * 1.0 + 100 * 10.0) / 1e6)


@pytest.mark.parametrize("bad", ["gpt-4o", "gpt-4o=1", "=1,2", "m=a,b", "m=-1,2"])
def test_bad_price_flag(bad):
    with pytest.raises(ConfigError, match="--price"):
        parse_price(bad)
    assert parse_price("m=1,2.5") == ("m", (1.0, 2.5))
