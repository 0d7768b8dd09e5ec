"""Cost per kept trajectory wherever a user looks: ``run.json``, the collect line, ``trajkit
stats`` (run and version), the version's manifest, the dataset card and the report — all the
same figures, from one run that sampled and escalated (real SDK, loopback server)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from support import require_isolation
from yield_policy import YieldPolicy, arithmetic_tasks

import trajkit
from trajkit.core.yields import YieldTally, sum_yields
from trajkit.dataset.yield_table import yield_line
from trajkit.schemas import YieldCounts

TRAJKIT = [sys.executable, "-m", "trajkit.cli"]
WEAK, STRONG = "weak-model", "strong-model"


def test_yield_counts_charge_every_attempt_to_the_kept_ones() -> None:
    y = YieldCounts(episodes=8, tasks=2, succeeded=4, self_corrected=2, kept=2,
                    input_tokens=900, output_tokens=100, cost_usd=0.01)
    assert y.cost_per_kept == pytest.approx(0.005) and y.tokens_per_kept == 500
    assert YieldCounts(episodes=3, cost_usd=0.2).cost_per_kept is None  # nothing kept
    assert YieldCounts(episodes=3, kept=1, cost_usd=None).cost_per_kept is None  # unpriced
    assert yield_line(y) == "2 kept of 8 episodes (25.0%), $0.0050 and 500 tokens per kept"
    total = sum_yields([y, YieldCounts(episodes=2, tasks=1, kept=1, cost_usd=None)])
    assert (total.episodes, total.kept, total.cost_usd) == (10, 3, None)
    assert YieldTally().total() == YieldCounts()


def test_cost_per_kept_is_the_same_in_every_view(loopback, tmp_path: Path) -> None:
    require_isolation()
    loopback.set_policy(YieldPolicy({WEAK: (0.6, 0.3), STRONG: (0.9, 1.0)}, seed=3))
    data = tmp_path / "sums.jsonl"
    data.write_text("".join(json.dumps(r) + "\n" for r in arithmetic_tasks(6, seed=3)))
    env = {**os.environ, **loopback.env()}
    out = tmp_path / "out"
    args = [
        "collect", "tasks", "--teacher", f"openai:{WEAK}", "--escalate", f"openai:{STRONG}",
        "--data", str(data), "--out", str(out), "--run", "y", "--source-opt", "id=id",
        "--source-opt", "judge=numeric", "--temperature", "0.7", "--samples", "2",
        "--price", f"{WEAK}=0.15,0.6", "--price", f"{STRONG}=2.5,10", "--max-turns", "4",
    ]
    collected = subprocess.run([*TRAJKIT, *args], env=env, capture_output=True, text=True, timeout=180)
    assert collected.returncode == 0, collected.stderr
    run_dir = out / "runs" / "y"
    records = [json.loads(line) for line in (run_dir / "trajectories.jsonl").read_text().splitlines()]
    kept = [r for r in records if r["self_corrected"]]
    cost = sum(r["cost_usd"] for r in records)
    assert kept and len(records) > 12  # some tasks escalated
    per_kept = cost / len(kept)

    manifest = json.loads((run_dir / "run.json").read_text())
    by_teacher = manifest["counts"]["by_teacher"]
    assert set(by_teacher) == {f"openai:{WEAK}", f"openai:{STRONG}"}
    assert sum(t["kept"] for t in by_teacher.values()) == len(kept)
    assert sum(t["cost_usd"] for t in by_teacher.values()) == pytest.approx(cost)
    assert f"${per_kept:,.4f}" in collected.stdout and "per kept" in collected.stdout

    stats = subprocess.run([*TRAJKIT, "stats", str(run_dir), "--json"], capture_output=True, text=True)
    total = json.loads(stats.stdout)["yield"]["total"]
    assert total["kept"] == len(kept) and total["cost_per_kept"] == pytest.approx(per_kept)
    assert set(json.loads(stats.stdout)["yield"]["by_teacher"]) == set(by_teacher)

    version = trajkit.filter([run_dir], dataset="sums", out=out)
    assert version.manifest.records == len(kept)
    behind = sum_yields((version.manifest.yield_by_source or {}).values())
    assert (behind.episodes, behind.kept) == (len(records), len(kept))
    assert behind.cost_per_kept == pytest.approx(per_kept)
    shown = subprocess.run([*TRAJKIT, "stats", str(version.path)], capture_output=True, text=True,
                           env={**os.environ, "COLUMNS": "200"})
    assert f"${per_kept:,.4f} and" in shown.stdout and "kept by this version" in shown.stdout

    exported = trajkit.export(version.path, format="hf", to=tmp_path / "hf")
    card = (Path(exported.path) / "README.md").read_text()
    assert "## Yield" in card and f"${per_kept:,.4f}" in card and f"`openai:{STRONG}`" in card

    report = subprocess.run([*TRAJKIT, "view", str(version.path), "--out", str(tmp_path / "site")],
                            capture_output=True, text=True)
    assert report.returncode == 0, report.stderr
    page = (tmp_path / "site" / "index.html").read_text()
    assert 'id="yield-source"' in page and f"${per_kept:,.4f}" in page
