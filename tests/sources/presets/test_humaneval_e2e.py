"""HumanEval end to end, as a user runs it: ``trajkit collect humaneval`` on a gzipped release
file (real CLI process, real Anthropic SDK against the loopback server, real isolated
sandboxes for the episodes and the judge).

Scripted teachers answer with the full function, with the body only, with a wrong function,
with one that loops forever, and fix an error found in the sandbox; then the hand-written demo
recording is replayed and each episode must end as intended.
"""

from __future__ import annotations

import gzip
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from loopback_teacher import ScriptedPolicy
from support import require_isolation

from trajkit.sources.presets.humaneval import DEMO_REPLAY

TRAJKIT = [sys.executable, "-m", "trajkit.cli"]
TEST = "\n\nMETADATA = {}\n\n\ndef check(candidate):\n    assert candidate([3, 1, 2]) == 1\n    assert candidate([7]) == 7\n    assert candidate([-1, -5]) == -5\n"
FULL = "def smallest(values: List[int]) -> int:\n    return min(values)"


def stub(tag: str) -> str:
    return f'from typing import List\n\n\ndef smallest(values: List[int]) -> int:\n    """ Return the smallest value. {tag}\n    >>> smallest([3, 1, 2])\n    1\n    """\n'


def trajkit(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess:
    return subprocess.run([*TRAJKIT, *args], env=env, capture_output=True, text=True, timeout=180)


def records(run_dir: Path) -> dict[str, dict]:
    lines = (run_dir / "trajectories.jsonl").read_text().splitlines()
    return {json.loads(line)["task_id"]: json.loads(line) for line in lines if line.strip()}


def sol(code: str) -> str:
    return f"Done.\n<solution>\n```python\n{code}\n```\n</solution>"


SCRIPTS = {
    "[FULL]": [sol(FULL)],
    "[BODY]": [sol("    return sorted(values)[0]")],
    "[WRONG]": [sol("def smallest(values):\n    return values[0]")] * 2,
    "[LOOP]": [sol("def smallest(values):\n    while True:\n        pass")] * 2,
    "[ERRFIX]": [
        "Trying it.\n<execute>\ndef smallest(values):\n    return min(values)\n\nprint(smallest([]))\n</execute>",
        "min() of an empty list raises; the docstring never asks for one, so min is fine.\n"
        "<execute>\nprint(smallest([3, 1, 2]), smallest([-1, -5]))\n</execute>",
        sol(FULL),
    ],
}


@pytest.fixture
def humaneval_gz(tmp_path: Path) -> Path:
    path = tmp_path / "HumanEval.jsonl.gz"
    rows = [
        {"task_id": f"Fixture/{i}", "prompt": stub(tag), "canonical_solution": "    return min(values)\n",
         "test": TEST, "entry_point": "smallest"}
        for i, tag in enumerate(SCRIPTS)
    ]
    with gzip.open(path, "wt", encoding="utf-8") as fh:
        fh.writelines(json.dumps(row) + "\n" for row in rows)
    return path


def test_collect_humaneval_through_the_cli(loopback, humaneval_gz: Path, tmp_path: Path) -> None:
    require_isolation()
    loopback.set_policy(ScriptedPolicy(SCRIPTS))
    env = {**os.environ, **loopback.env()}
    out = tmp_path / "out"
    proc = trajkit(
        "collect", "humaneval", "--teacher", "anthropic:m", "--data", str(humaneval_gz), "--out",
        str(out), "--run", "he", "--source-opt", "timeout=0.5", "--concurrency", "3", env=env,
    )
    assert proc.returncode == 0, proc.stderr
    got = records(out / "runs" / "he")
    full, body, wrong, loop, errfix = (got[f"humaneval/Fixture/{i}"] for i in range(5))

    assert full["success"] and full["score"] == 1.0 and full["score_details"]["judge"] == "tests"
    assert "def smallest(values: List[int]) -> int:" in full["messages"][1]["content"]
    assert body["success"] and body["answer"].startswith("```python\n    return sorted")

    assert not wrong["success"] and wrong["score"] == 0.0 and wrong["termination"] == "max_solutions"
    entry = wrong["score_details"]["tests"][0]
    assert entry["test"] == "check(smallest)" and entry["status"] == "fail"
    assert entry["error"] == "AssertionError (at setup line 7: assert candidate([3, 1, 2]) == 1)"

    assert loop["score_details"]["counts"] == {"timeout": 1} and loop["score_details"]["test_timeout_s"] == 0.5
    assert errfix["success"] and errfix["self_corrected"]
    assert errfix["steps"][0]["observation"]["error"]["type"] == "ValueError"


DEMO_INTENT: dict[str, tuple[list[str | None], list[float]]] = {
    "humaneval/TrajkitEval/0": ([], [1.0]),  # direct, full function
    "humaneval/TrajkitEval/1": ([None], [1.0]),  # answers with the body only
    "humaneval/TrajkitEval/2": (["AssertionError", None], [0.0, 1.0]),  # fails the check, recovers
    "humaneval/TrajkitEval/3": (["IndexError", None], [1.0]),
    "humaneval/TrajkitEval/4": (["ZeroDivisionError", None], [1.0]),
}


def test_demo_recording_shape() -> None:
    episodes = [json.loads(line) for line in DEMO_REPLAY.read_text().splitlines()]
    assert [e["task_id"] for e in episodes] == list(DEMO_INTENT)
    for ep in episodes:
        assert set(ep) == {"task_id", "note", "turns"} and "not produced by a model" in ep["note"]
        for turn in ep["turns"]:
            assert len(re.findall(r"<(execute|solution)>", turn)) == 1 and not turn.lstrip().startswith("<")


def test_demo_replays_to_the_intended_verdicts(tmp_path: Path) -> None:
    require_isolation()
    proc = trajkit("collect", "humaneval", "--teacher", f"replay:{DEMO_REPLAY}", "--out", str(tmp_path),
                   "--run", "demo", env=dict(os.environ))
    assert proc.returncode == 0, proc.stderr
    got = records(tmp_path / "runs" / "demo")
    for task_id, (errors, scores) in DEMO_INTENT.items():
        steps = got[task_id]["steps"]
        executed = [s["observation"]["error"] for s in steps if s["action"]["kind"] == "execute"]
        assert [e["type"] if e else None for e in executed] == errors, task_id
        judged = [s["verdict"]["score"] for s in steps if s["action"]["kind"] == "solution"]
        assert judged == scores, task_id
        assert got[task_id]["success"]
