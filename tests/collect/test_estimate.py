"""``--estimate``: the quadratic-growth formula, typical figures, and calibration from a run."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from factories import make_trajectory, write_run

from trajkit.collect.config import CollectConfig
from trajkit.collect.estimate import _counter, _prompt_tokens, estimate_run
from trajkit.sources.base import LoadOptions, make_source
from trajkit.sources.math import MathSource


def _config(tmp_path: Path, n: int, **extra: object) -> CollectConfig:
    data = tmp_path / "p.jsonl"
    with data.open("w") as fh:
        for i in range(n):
            fh.write(json.dumps({"problem": f"What is {i}+1?", "solution": f"$\\boxed{{{i + 1}}}$",
                                 "level": "Level 1", "type": "Prealgebra", "unique_id": f"t/{i}"}) + "\n")
    return CollectConfig(source="math", teacher="openai:gpt-4o-mini", load=LoadOptions(data=str(data)),
                         out=tmp_path / "out", run="e", **extra)


def test_typical_figures_and_the_formula(tmp_path: Path) -> None:
    config = _config(tmp_path, 4)
    est = estimate_run(config)
    turns, out, obs = MathSource.typical_episode
    _, count = _counter()
    source = make_source("math")
    prompts = [_prompt_tokens(t, source, config, count) for t in source.load(config.load)]
    expected_in = sum(round(turns * p + (out + obs) * turns * (turns - 1) / 2) for p in prompts)
    assert est.pending == est.tasks == 4 and est.turns == turns
    assert est.input_tokens == expected_in and est.output_tokens == round(4 * turns * out)
    # OpenAI's automatic prompt caching bills the cached part at gpt-4o-mini's $0.075
    read = est.cache_read_tokens
    assert est.cache_write_tokens == 0
    assert est.cost_usd == pytest.approx(
        ((expected_in - read) * 0.15 + read * 0.075 + est.output_tokens * 0.6) / 1e6
    )
    assert "typical" in est.basis


def test_caps_follow_the_run_limits(tmp_path: Path) -> None:
    config = _config(tmp_path, 2, teacher_params={"max_tokens": 50})
    config = config.model_copy(update={"loop": config.loop.model_copy(update={"max_turns": 2})})
    est = estimate_run(config)
    assert est.turns == 2 and est.output_tokens == 2 * 2 * 50


def test_a_resumed_run_estimates_only_its_remainder_from_its_own_averages(tmp_path: Path) -> None:
    config = _config(tmp_path, 10)
    done = [make_trajectory(f"t/{i}", steps=["ok", "ok", "ok", "solve"], run="e") for i in range(6)]
    write_run(config.run_dir, done)
    est = estimate_run(config)
    assert est.pending == 4 and est.turns == 4.0
    assert "this run's 6 finished episodes" in est.basis
    assert est.output_tokens == round(4 * 4.0 * 20)  # the factory's 20 output tokens per step
