"""MBPP end to end, as a user runs it: ``trajkit collect mbpp`` (real CLI process, real OpenAI
SDK against the loopback server, real isolated sandboxes for the episodes and the judge).

Scripted teachers submit a passing solution, one failing a hidden test, one that loops
forever, one that tries to kill the judge's worker (locally the signal is dropped: the worker is
PID 1 of its sandbox; either way its tests fail), and one that fixes an error found in the sandbox;
then the hand-written demo recording is replayed and each episode must end as intended.
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

from trajkit.schemas import Task, Verdict
from trajkit.sources.presets.mbpp import DEMO_REPLAY
from trajkit.sources.reading import VerdictReader

TRAJKIT = [sys.executable, "-m", "trajkit.cli"]
TESTS = ["assert triple(1) == 3", "assert triple(-2) == -6", "assert triple(0) == 0"]
GOOD = "def triple(x):\n    return 3 * x"


def trajkit(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess:
    return subprocess.run([*TRAJKIT, *args], env=env, capture_output=True, text=True, timeout=180)


def records(run_dir: Path) -> dict[str, dict]:
    lines = (run_dir / "trajectories.jsonl").read_text().splitlines()
    return {json.loads(line)["task_id"]: json.loads(line) for line in lines if line.strip()}


def sol(code: str) -> str:
    return f"Here is my function.\n<solution>\n```python\n{code}\n```\n</solution>"


SCRIPTS = {
    "[PASS]": [sol(GOOD)],
    "[HIDDEN]": [sol("def triple(x):\n    return 3 * abs(x)")] * 2,
    "[LOOP]": [sol("def triple(x):\n    while True:\n        pass")] * 2,
    "[KILL]": [sol("import os, signal\nos.kill(os.getppid(), signal.SIGKILL)")] * 2,
    "[ERRFIX]": [
        "Let me try it first.\n<execute>print(triple(2))</execute>",
        f"I have to define it.\n<execute>{GOOD}\n\nassert triple(1) == 3\nprint(triple(2))</execute>",
        sol(GOOD),
    ],
}


@pytest.fixture
def mbpp_file(tmp_path: Path) -> Path:
    path = tmp_path / "mbpp.jsonl"
    rows = [
        {"task_id": 600 + i, "text": f"Write a function to triple a number. {tag}", "code": GOOD,
         "test_list": TESTS, "test_setup_code": "", "challenge_test_list": []}
        for i, tag in enumerate(SCRIPTS, 1)
    ]
    path.write_text("".join(json.dumps(row) + "\n" for row in rows))
    return path


def test_collect_mbpp_through_the_cli(loopback, mbpp_file: Path, tmp_path: Path) -> None:
    require_isolation()
    loopback.set_policy(ScriptedPolicy(SCRIPTS))
    env = {**os.environ, **loopback.env()}
    out = tmp_path / "out"
    proc = trajkit(
        "collect", "mbpp", "--teacher", "openai:m", "--data", str(mbpp_file), "--out", str(out),
        "--run", "mbpp", "--source-opt", "timeout=0.5", "--concurrency", "3", env=env,
    )
    assert proc.returncode == 0, proc.stderr
    got = records(out / "runs" / "mbpp")
    assert set(got) == {f"mbpp/{600 + i}" for i in range(1, 6)}
    passed, hidden, loop, kill, errfix = (got[f"mbpp/{600 + i}"] for i in range(1, 6))

    assert passed["success"] and passed["score"] == 1.0 and passed["termination"] == "solved"
    assert passed["score_details"]["judge"] == "tests" and passed["score_details"]["counts"] == {"pass": 3}
    prompt = passed["messages"][1]["content"]
    assert TESTS[0] in prompt and TESTS[1] not in prompt and "`triple`" in prompt

    assert not hidden["success"] and hidden["score"] == pytest.approx(2 / 3)
    assert [t["status"] for t in hidden["score_details"]["tests"]] == ["pass", "fail", "pass"]
    assert hidden["score_details"]["tests"][1]["error"] == "AssertionError (at test 2 line 1: assert triple(-2) == -6)"
    reader, task = VerdictReader(), Task.model_validate(hidden["task"])
    final = Verdict.model_validate(hidden["steps"][-1]["verdict"])
    assert reader.summary("mbpp", task, final) == "2/3 tests passed: 1 failed"
    view = reader.reference("mbpp", task, final)
    assert view.fields == (("tests", "3 · 0.5s each"),) and view.tables[0].rows[1][1] == TESTS[1]

    assert loop["score_details"]["counts"] == {"timeout": 3} and loop["score_details"]["test_timeout_s"] == 0.5
    assert not kill["success"] and kill["score_details"]["counts"] == {"error": 3}

    assert errfix["success"] and errfix["self_corrected"]
    assert errfix["steps"][0]["observation"]["error"]["type"] == "NameError"

    manifest = json.loads((out / "runs" / "mbpp" / "run.json").read_text())
    assert manifest["status"] == "completed" and manifest["config"]["source_options"] == {"timeout": "0.5"}


def test_a_bad_data_file_is_one_line_and_exit_2(tmp_path: Path) -> None:
    path = tmp_path / "mbpp.jsonl"
    path.write_text(json.dumps({"task_id": 1, "text": "x", "test_list": ["assert f( =="]}) + "\n")
    proc = trajkit("collect", "mbpp", "--teacher", "replay:" + str(DEMO_REPLAY), "--data", str(path),
                   "--out", str(tmp_path / "out"), env=dict(os.environ))
    assert proc.returncode == 2
    assert proc.stderr.strip().count("\n") == 0 and "mbpp.jsonl:1: unparsable tests: test 1 line 1" in proc.stderr


# Each hand-written demo episode: the error raised by each <execute> (None = ran cleanly), and
# the score of each <solution>.
DEMO_INTENT: dict[str, tuple[list[str | None], list[float]]] = {
    "mbpp/1001": ([], [1.0]),  # direct
    "mbpp/1002": (["NameError", None], [1.0]),  # forgot an import, fixes it
    "mbpp/1003": (["AssertionError", None], [1.0]),  # its own check finds the century rule
    "mbpp/1004": (["NameError", None], [1.0]),
    "mbpp/1005": (["AssertionError", None], [2 / 3, 1.0]),  # fails a hidden test, then recovers
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
    proc = trajkit("collect", "mbpp", "--teacher", f"replay:{DEMO_REPLAY}", "--out", str(tmp_path),
                   "--run", "demo", env=dict(os.environ))
    assert proc.returncode == 0, proc.stderr
    got = records(tmp_path / "runs" / "demo")
    for task_id, (errors, scores) in DEMO_INTENT.items():
        steps = got[task_id]["steps"]
        executed = [s["observation"]["error"] for s in steps if s["action"]["kind"] == "execute"]
        assert [e["type"] if e else None for e in executed] == errors, task_id
        judged = [s["verdict"]["score"] for s in steps if s["action"]["kind"] == "solution"]
        assert judged == pytest.approx(scores), task_id
        assert got[task_id]["success"]
