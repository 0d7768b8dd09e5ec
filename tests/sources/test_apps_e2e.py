"""APPS end to end, as a user runs it: ``trajkit collect apps`` (real CLI process, real SDK,
real HTTP to the loopback server, real isolated sandboxes for episodes *and* the judge).

Scripted teachers submit programs that pass, fail one hidden test, time out, crash, and
fix an error found in the sandbox; the records are asserted. The hand-written demo recording
is replayed and every episode must end as intended, its code raising exactly the intended
errors in the sandbox.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from loopback_teacher import ScriptedPolicy
from support import require_isolation

from trajkit.sources.apps import DEMO_REPLAY

TRAJKIT = [sys.executable, "-m", "trajkit.cli"]
ADD = "a, b = map(int, input().split())\nprint(a + b)"


def trajkit(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess:
    return subprocess.run([*TRAJKIT, *args], env=env, capture_output=True, text=True, timeout=120)


def records(run_dir: Path) -> dict[str, dict]:
    lines = (run_dir / "trajectories.jsonl").read_text().splitlines()
    return {json.loads(line)["task_id"]: json.loads(line) for line in lines if line.strip()}


def sol(code: str) -> str:
    return f"Here is my program.\n<solution>\n```python\n{code}\n```\n</solution>"


SCRIPTS = {
    "[PASS]": [sol(ADD)],
    "[HIDDEN]": [sol("a, b = map(int, input().split())\nprint(max(a, 0) + b)")] * 2,
    "[TIMEOUT]": [sol("while True:\n    pass")] * 2,
    "[CRASH]": [sol("print(a + b)")] * 2,
    "[ERRFIX]": [
        "Let me test a helper first.\n<execute>print(solve('1 2'))</execute>",
        "I have to define it.\n<execute>def solve(line):\n    a, b = map(int, line.split())\n"
        "    return a + b\n\nassert solve('30 12') == 42\nprint(solve('1 2'))</execute>",
        sol(ADD),
    ],
    "[CALL]": [sol("class Solution:\n    def add(self, a: int, b: int) -> int:\n        return a + b")],
}


def problem(tag: str, difficulty: str = "introductory") -> dict:
    tests = {"inputs": ["1 2\n", "30 12\n", "-5 5\n", "1000000 1\n"], "outputs": ["3\n", "42\n", "0\n", "1000001\n"]}
    starter = ""
    if tag == "CALL":
        tests = {"inputs": [[1, 2], [-5, 5]], "outputs": [3, 0], "fn_name": "add"}
        starter = "class Solution:\n    def add(self, a: int, b: int) -> int:\n        "
    return {
        "problem_id": tag.lower(), "question": f"Print the sum of two integers a and b. [{tag}]",
        "solutions": "[]", "starter_code": starter, "input_output": json.dumps(tests),
        "difficulty": difficulty, "url": "",
    }


@pytest.fixture
def apps_file(tmp_path: Path) -> Path:
    path = tmp_path / "apps.jsonl"
    tags = [t.strip("[]") for t in SCRIPTS]
    rows = [problem(tag) for tag in tags] + [problem("SKIPPED", "competition")]
    path.write_text("".join(json.dumps(row) + "\n" for row in rows))
    return path


def test_collect_apps_through_the_cli(loopback, apps_file: Path, tmp_path: Path) -> None:
    require_isolation()
    loopback.set_policy(ScriptedPolicy(SCRIPTS))
    env = {**os.environ, **loopback.env()}
    out = tmp_path / "out"
    proc = trajkit(
        "collect", "apps", "--teacher", "openai:m", "--data", str(apps_file), "--out", str(out),
        "--run", "apps", "--difficulty", "introductory", "--difficulty", "interview",
        "--source-opt", "test_timeout=0.5", "--concurrency", "3", env=env,
    )
    assert proc.returncode == 0, proc.stderr
    got = records(out / "runs" / "apps")
    assert set(got) == {f"apps/{t.strip('[]').lower()}" for t in SCRIPTS}  # competition left out

    passed = got["apps/pass"]
    assert passed["success"] and passed["score"] == 1.0 and passed["termination"] == "solved"
    assert passed["score_details"]["counts"] == {"pass": 4}
    assert passed["answer"].startswith("```python")  # recorded as given; the judge removes the fence
    assert "reads from standard input" in passed["messages"][1]["content"]

    hidden = got["apps/hidden"]
    assert not hidden["success"] and hidden["termination"] == "max_solutions"
    assert hidden["score"] == 0.75
    assert [t["status"] for t in hidden["score_details"]["tests"]] == ["pass", "pass", "wrong", "pass"]
    assert hidden["score_details"]["tests"][2]["got"] == "5\n"
    assert [s["verdict"]["score"] for s in hidden["steps"]] == [0.75, 0.75]

    timeout = got["apps/timeout"]
    assert not timeout["success"] and timeout["score"] == 0.0
    assert timeout["score_details"]["counts"] == {"timeout": 4}
    assert timeout["score_details"]["test_timeout_s"] == 0.5

    crash = got["apps/crash"]
    assert crash["score_details"]["counts"] == {"runtime_error": 4}
    assert crash["score_details"]["tests"][0]["error"] == "NameError: name 'a' is not defined"

    errfix = got["apps/errfix"]
    assert errfix["success"] and errfix["self_corrected"]
    assert errfix["steps"][0]["observation"]["error"]["type"] == "NameError"

    call = got["apps/call"]
    assert call["success"] and call["task"]["reference"]["class_name"] == "Solution"

    manifest = json.loads((out / "runs" / "apps" / "run.json").read_text())
    assert manifest["status"] == "completed" and manifest["config"]["source_options"] == {"test_timeout": "0.5"}


# What each hand-written demo episode is meant to do: the error type raised by each
# <execute> block (None = runs cleanly) and the score of each <solution>.
DEMO_INTENT: dict[str, tuple[list[str | None], list[float]]] = {
    "apps/sample-01-pair-sums": ([], [1.0]),  # direct
    "apps/sample-02-divisible-count": (["AssertionError", None], [1.0]),  # brute force catches a bug
    "apps/sample-03-circle-areas": (["NameError", None], [1.0]),  # self-corrects
    "apps/sample-04-longest-palindrome": ([None, "AssertionError", None], [4 / 6, 1.0]),  # hidden test
    "apps/sample-05-balanced-prefixes": (["TypeError", None], [1.0]),  # self-corrects
    "apps/sample-06-shift-letters": ([None], [0.8, 0.8]),  # fails a hidden test twice
    "apps/sample-07-min-max": ([], [1.0]),  # direct
}


def test_demo_recording_shape() -> None:
    episodes = [json.loads(line) for line in DEMO_REPLAY.read_text().splitlines()]
    assert [e["task_id"] for e in episodes] == list(DEMO_INTENT)
    for ep in episodes:
        assert set(ep) == {"task_id", "note", "turns"} and "not produced by a model" in ep["note"]
        for turn in ep["turns"]:
            actions = re.findall(r"<(execute|solution)>", turn)
            assert len(actions) == 1 and not turn.lstrip().startswith("<"), turn


def test_demo_replays_to_the_intended_verdicts(tmp_path: Path) -> None:
    require_isolation()
    env = {k: v for k, v in os.environ.items() if not k.endswith("_API_KEY")}
    out = tmp_path / "out"
    proc = trajkit("collect", "apps", "--teacher", f"replay:{DEMO_REPLAY}", "--out", str(out), "--run", "demo", env=env)
    assert proc.returncode == 0, proc.stderr
    got = records(out / "runs" / "demo")
    assert set(got) == set(DEMO_INTENT)
    for task_id, (errors, scores) in DEMO_INTENT.items():
        rec = got[task_id]
        steps = rec["steps"]
        ran = [s["observation"]["error"] for s in steps if s["action"]["kind"] == "execute"]
        assert [e["type"] if e else None for e in ran] == errors, task_id
        judged = [s["verdict"]["score"] for s in steps if s["verdict"]]
        assert judged == pytest.approx(scores), task_id
        assert rec["success"] == (scores[-1] == 1.0)
    proc = trajkit("filter", str(out / "runs" / "demo"), "--dataset", "demo-apps", "--out", str(out), env=env)
    assert proc.returncode == 0, proc.stderr
    kept = (out / "datasets" / "demo-apps" / "v1" / "data.jsonl").read_text().splitlines()
    assert sorted(json.loads(line)["task_id"] for line in kept) == [
        "apps/sample-02-divisible-count", "apps/sample-03-circle-areas",
        "apps/sample-04-longest-palindrome", "apps/sample-05-balanced-prefixes",
    ]
