"""Prompt caching through the collector: real runs (real SDKs, loopback server billing caching
as the providers document it, isolated sandboxes) record the usage split on every step and
record, price it with cache prices in ``run.json`` and under ``--max-cost``, in sync and batch
mode, and leave the response cache's keys alone."""

from __future__ import annotations

import itertools
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from loopback_teacher import LoopbackServer
from math_tasks import solve_after_one_error, write_problems
from support import require_isolation

from trajkit.collect.config import CollectConfig
from trajkit.collect.runner import collect
from trajkit.schemas import Trajectory, Usage
from trajkit.sources.base import LoadOptions

TRAJKIT = [sys.executable, "-m", "trajkit.cli"]
#: Tasks of ~1,200 tokens: every request is above the 1,024-token minimum.
PAD_WORDS = 1200
#: USD per million tokens (input, output, cache read, cache write) of the table's models.
SONNET = (3.00, 15.00, 0.30, 3.75)
MINI = (0.15, 0.60, 0.075, 0.15)


def _config(tmp_path: Path, teacher: str, tasks: int = 2, **extra: Any) -> CollectConfig:
    data = write_problems(tmp_path / "p.jsonl", tasks, pad_words=PAD_WORDS)
    return CollectConfig(
        source="math", teacher=teacher, load=LoadOptions(data=str(data)),
        teacher_params={"temperature": 0.0, "max_retries": 0}, out=tmp_path / "out",
        run="r", **{"concurrency": 1, **extra},
    )


def _records(config: CollectConfig) -> list[Trajectory]:
    lines = (config.run_dir / "trajectories.jsonl").read_text().splitlines()
    return sorted((Trajectory.model_validate_json(x) for x in lines), key=lambda r: r.task_id)


def _by_hand(records: list[Trajectory], price: tuple[float, ...], factor: float = 1.0) -> float:
    """Each step's uncached input, cache writes, cache reads and output at their own prices."""
    inp, out, read, write = price
    return factor * sum(
        (s.usage.uncached_input_tokens * inp + s.usage.cache_write_tokens * write
         + s.usage.cache_read_tokens * read + s.usage.output_tokens * out) / 1e6
        for r in records for s in r.steps
    )


def _breakpoints(body: dict[str, Any]) -> int:
    return json.dumps(body).count('"cache_control"')


def _check_split(records: list[Trajectory]) -> None:
    """Turn 1 writes, every later turn reads the whole previous request and writes the rest;
    each record's usage is the sum of its steps'."""
    for record in records:
        steps = record.steps
        assert len(steps) == 3 and steps[0].usage.cache_write_tokens > 0
        for before, step in itertools.pairwise(steps):
            assert step.usage.cache_read_tokens == before.usage.input_tokens
            assert step.usage.cache_write_tokens == step.usage.input_tokens - before.usage.input_tokens
            assert step.usage.uncached_input_tokens == 0
        total = sum((s.usage for s in steps), Usage())
        assert record.usage.cache_read_tokens == total.cache_read_tokens > 0
        assert record.usage.cache_write_tokens == total.cache_write_tokens


async def test_anthropic_run_records_and_prices_the_split_and_keeps_cache_keys(
    tmp_path: Path, loopback: LoopbackServer
) -> None:
    require_isolation()
    loopback.set_policy(solve_after_one_error)
    config = _config(tmp_path, "anthropic:claude-sonnet-4")
    result = await collect(config)
    assert result.exit_code == 0
    bodies = [r.body for r in loopback.requests if r.protocol == "anthropic"]
    assert len(bodies) == 6 and all(_breakpoints(b) == 2 for b in bodies)
    assert all(b["system"][0]["cache_control"] == {"type": "ephemeral"} for b in bodies)
    assert all("cache_control" in b["messages"][-1]["content"][0] for b in bodies)
    records = _records(config)
    _check_split(records)
    manifest = json.loads((config.run_dir / "run.json").read_text())
    assert manifest["usage"]["cache_read_tokens"] == sum(r.usage.cache_read_tokens for r in records)
    assert manifest["cost_usd"] == pytest.approx(_by_hand(records, SONNET), abs=2e-6)

    # The same conversations without breakpoints are the same requests to the response
    # cache: all answered from it, nothing sent.
    calls = loopback.request_count
    again = await collect(config.model_copy(update={"run": "r2", "prompt_cache": False}))
    assert again.exit_code == 0 and loopback.request_count == calls
    replayed = _records(config.model_copy(update={"run": "r2"}))
    assert [r.messages for r in replayed] == [r.messages for r in records]
    assert all(s.usage.cached_calls == 1 for r in replayed for s in r.steps)


async def test_cli_no_prompt_cache_sends_no_breakpoint_and_pays_more(
    tmp_path: Path, loopback: LoopbackServer
) -> None:
    require_isolation()
    loopback.set_policy(solve_after_one_error)
    price = "claude-m=3,15,0.3,3.75"
    config = _config(tmp_path, "anthropic:claude-m", prices={"claude-m": (3, 15, 0.3, 3.75)},
                     cache=False)
    assert (await collect(config)).exit_code == 0
    cached = json.loads((config.run_dir / "run.json").read_text())
    loopback.reset()
    proc = subprocess.run(
        [*TRAJKIT, "collect", "math", "--teacher", "anthropic:claude-m", "--data",
         str(config.load.data), "--concurrency", "1", "--price", price, "--no-prompt-cache",
         "--out", str(tmp_path / "plain"), "--run", "r"],
        env={**os.environ, **loopback.env()}, capture_output=True, text=True, timeout=120,
    )
    assert proc.returncode == 0, proc.stderr
    bodies = [r.body for r in loopback.requests if r.protocol == "anthropic"]
    assert len(bodies) == 6 and all(_breakpoints(b) == 0 for b in bodies)
    plain = json.loads((tmp_path / "plain" / "runs" / "r" / "run.json").read_text())
    assert plain["config"]["prompt_cache"] is False and cached["config"]["prompt_cache"] is True
    assert plain["config"]["prices"] == {"claude-m": [3.0, 15.0, 0.3, 3.75]}
    assert "cache_read_tokens" not in plain["usage"] and cached["usage"]["cache_read_tokens"] > 0
    assert plain["usage"]["input_tokens"] == cached["usage"]["input_tokens"]
    assert cached["cost_usd"] < plain["cost_usd"]


async def test_openai_run_records_automatic_cache_reads_at_the_cached_price(
    tmp_path: Path, loopback: LoopbackServer
) -> None:
    require_isolation()
    loopback.set_policy(solve_after_one_error)
    config = _config(tmp_path, "openai:gpt-4o-mini")
    assert (await collect(config)).exit_code == 0
    records = _records(config)
    for record in records:
        first, *later = record.steps
        assert first.usage.cache_write_tokens == 0
        assert all(1024 <= s.usage.cache_read_tokens < s.usage.input_tokens for s in later)
    manifest = json.loads((config.run_dir / "run.json").read_text())
    assert manifest["cost_usd"] == pytest.approx(_by_hand(records, MINI), abs=2e-6)


async def test_max_cost_counts_cache_writes_at_their_price(
    tmp_path: Path, loopback: LoopbackServer
) -> None:
    """Writes at $1,000 per million: one episode (~6,000 tokens written) is over the $0.50
    budget, which input at the $1 input price (~$0.01 an episode) would never reach."""
    require_isolation()
    loopback.set_policy(solve_after_one_error)
    config = _config(tmp_path, "anthropic:claude-m", tasks=4, max_cost=0.5,
                     prices={"claude-m": (1.0, 1.0, 0.1, 1000.0)})
    result = await collect(config)
    assert result.budget_reached and result.exit_code == 3
    records = _records(config)
    assert len(records) == 1
    spent = _by_hand(records, (1.0, 1.0, 0.1, 1000.0))
    assert spent > 0.5 and result.manifest.cost_usd == pytest.approx(spent, abs=2e-6)


@pytest.mark.parametrize(("provider", "model", "price"), [
    ("anthropic", "claude-sonnet-4", SONNET), ("openai", "gpt-4o-mini", MINI),
])
async def test_batch_mode_caches_and_halves_every_rate(
    tmp_path: Path, loopback: LoopbackServer, provider: str, model: str, price: tuple[float, ...]
) -> None:
    require_isolation()
    loopback.set_policy(solve_after_one_error)
    config = _config(tmp_path, f"{provider}:{model}", mode="batch", batch_poll_s=0.02,
                     batch_window_s=0.5, concurrency=2)
    assert (await collect(config)).exit_code == 0
    bodies = [body for batch in loopback.batch.batches for _, body in batch.requests]
    assert len(bodies) == 6
    assert all(_breakpoints(b) == (2 if provider == "anthropic" else 0) for b in bodies)
    records = _records(config)
    if provider == "anthropic":
        _check_split(records)
    else:
        assert all(s.usage.cache_read_tokens >= 1024 for r in records for s in r.steps[1:])
    manifest = json.loads((config.run_dir / "run.json").read_text())
    assert manifest["cost_usd"] == pytest.approx(_by_hand(records, price, 0.5), abs=2e-6)
