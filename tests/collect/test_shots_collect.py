"""``--shots`` end to end: the real CLI in a subprocess and ``trajkit.collect`` put the source's
own demonstration at the end of every recorded system prompt by default and leave it out with
0; ``run.json`` records the choice; the replayed episodes are the same either way."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from support import require_isolation

import trajkit
from trajkit.core.demonstration import split_demonstration
from trajkit.sources.math import MathSource
from trajkit.sources.math.demonstration import DEMONSTRATION

TRAJKIT = [sys.executable, "-m", "trajkit.cli"]
REPLAY = f"replay:{MathSource.demo_replay}"


def records(out: Path, run: str) -> list[dict]:
    path = out / "runs" / run / "trajectories.jsonl"
    return sorted((json.loads(line) for line in path.read_text().splitlines()), key=lambda r: r["task_id"])


def loop_config(out: Path, run: str) -> dict:
    return json.loads((out / "runs" / run / "run.json").read_text())["config"]["loop"]


def test_shots_through_the_cli_and_the_python_api(tmp_path: Path) -> None:
    require_isolation()
    out = tmp_path / "out"
    proc = subprocess.run(
        [*TRAJKIT, "collect", "math", "--teacher", REPLAY, "--run", "cli0", "--out", str(out),
         "--limit", "3", "--concurrency", "3", "--shots", "0"],
        capture_output=True, text=True, timeout=300,
    )
    assert proc.returncode == 0, proc.stderr
    trajkit.collect("math", REPLAY, run="api1", out=out, limit=3, concurrency=3)
    with pytest.raises(trajkit.UserError, match="--shots: Input should be less than or equal to 1"):
        trajkit.collect("math", REPLAY, run="bad", out=out, shots=2)

    assert loop_config(out, "cli0")["shots"] == 0 and loop_config(out, "api1")["shots"] == 1
    bare, shown = records(out, "cli0"), records(out, "api1")
    assert len(bare) == len(shown) == 3
    for without, with_ in zip(bare, shown, strict=True):
        prompt, section = split_demonstration(with_["messages"][0]["content"])
        assert section and DEMONSTRATION.task in section and DEMONSTRATION.task not in prompt
        assert prompt == without["messages"][0]["content"]
        assert split_demonstration(prompt)[1] == ""
        # The episode itself is what it was without the example: same turns, same outcome.
        assert with_["messages"][1:] == without["messages"][1:]
        assert (with_["success"], with_["self_corrected"]) == (without["success"], without["self_corrected"])
