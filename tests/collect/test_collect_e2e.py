"""End to end, as a user runs it: ``trajkit collect`` (real CLI process, real SDK, real HTTP
to the loopback server, real isolated sandbox) → records → ``trajkit filter`` → dataset.

Scripted teachers err then fix, never answer, answer wrong, print huge output, run forever,
and try to read the collector's API keys; the records and filter decisions are asserted.
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from loopback_teacher import ScriptedPolicy
from support import require_isolation

TRAJKIT = [sys.executable, "-m", "trajkit.cli"]

# One MATH-format problem per scenario; the marker in each problem picks the script.
PROBLEMS = {
    "ERRFIX": ("Compute $7/10$ as a fraction. [ERRFIX]", "\\frac{7}{10}"),
    "DIRECT": ("What is $2+3$? [DIRECT]", "5"),
    "NEVER": ("What is $6 \\times 7$? [NEVER]", "42"),
    "WRONG": ("What is $10-4$? [WRONG]", "6"),
    "HUGE": ("What is $1+2$? [HUGE]", "3"),
    "FOREVER": ("What is $2 \\cdot 2$? [FOREVER]", "4"),
    "KEYS": ("What is $9-1$? [KEYS]", "8"),
}

KEY_HUNT = (
    "import os, glob\n"
    "print(dict(os.environ))\n"
    "for p in glob.glob('/proc/*/environ'):\n"
    "    try:\n"
    "        print(p, open(p, 'rb').read())\n"
    "    except OSError as e:\n"
    "        print(p, e)\n"
    "try:\n"
    "    print(open(f'/proc/{os.getppid()}/environ', 'rb').read())\n"
    "except OSError as e:\n"
    "    print('parent environ:', e)"
)

SCRIPTS = {
    "[ERRFIX]": [
        "Let me compute it.\n<execute>print(ratio)</execute>",
        "I forgot to define it.\n<execute>from fractions import Fraction\nratio = Fraction(7, 10)\nratio</execute>",
        "The answer is <solution>0.7</solution>",
    ],
    "[DIRECT]": ["Easy: <solution>5</solution>"],
    "[NEVER]": ["<execute>print('thinking')</execute>"] * 5,
    "[WRONG]": ["<solution>7</solution>", "<solution>5</solution>"],
    "[HUGE]": ["<execute>print('x' * 5_000_000)</execute>", "<solution>3</solution>"],
    "[FOREVER]": ["<execute>while True:\n    pass</execute>", "<execute>2*2</execute>", "<solution>4</solution>"],
    "[KEYS]": [f"<execute>{KEY_HUNT}</execute>", "<solution>8</solution>"],
}

SECRET = "sk-collector-secret-0123456789abcdef"


@pytest.fixture
def math_file(tmp_path: Path) -> Path:
    path = tmp_path / "math.jsonl"
    with path.open("w") as fh:
        for i, (problem, answer) in enumerate(PROBLEMS.values()):
            record = {
                "problem": problem,
                "solution": f"Worked out. $\\boxed{{{answer}}}$",
                "level": "Level 1",
                "type": "Prealgebra",
                "unique_id": f"test/prealgebra/{i}.json",
            }
            fh.write(json.dumps(record) + "\n")
    return path


def trajkit(*args: str, env: dict[str, str], timeout: float = 120) -> subprocess.CompletedProcess:
    return subprocess.run(
        [*TRAJKIT, *args], env=env, capture_output=True, text=True, timeout=timeout
    )


def tag(record: dict) -> str:
    found = re.search(r"\[([A-Z]+)\]", record["task"]["prompt"])
    assert found, record["task"]["prompt"]
    return found.group(1)


def read_records(run_dir: Path) -> list[dict]:
    lines = (run_dir / "trajectories.jsonl").read_text().splitlines()
    return [json.loads(line) for line in lines if line.strip()]


@pytest.mark.parametrize("provider", ["openai", "anthropic"])
def test_scripted_teachers_through_both_protocols(provider, loopback, math_file, tmp_path):
    require_isolation()
    loopback.set_policy(ScriptedPolicy(SCRIPTS))
    env = {**os.environ, **loopback.env()}
    env["TRAJKIT_TEST_SECRET"] = SECRET
    out = tmp_path / "out"
    model = "gpt-4o-mini" if provider == "openai" else "claude-test"
    proc = trajkit(
        "collect", "math", "--teacher", f"{provider}:{model}", "--data", str(math_file),
        "--out", str(out), "--run", "e2e", "--exec-timeout", "1", "--concurrency", "4",
        env=env,
    )
    assert proc.returncode == 0, proc.stderr
    run_dir = out / "runs" / "e2e"
    records = {tag(r): r for r in read_records(run_dir)}
    assert set(records) == set(PROBLEMS)

    errfix = records["ERRFIX"]
    assert errfix["success"] and errfix["self_corrected"] and errfix["termination"] == "solved"
    assert errfix["steps"][0]["observation"]["error"]["type"] == "NameError"
    assert errfix["messages"][0]["role"] == "system"
    assert errfix["messages"][2]["content"].endswith("</execute>")  # stop sequence restored
    assert errfix["teacher"]["provider"] == provider
    assert errfix["usage"]["input_tokens"] > 0 and errfix["usage"]["calls"] == 3

    assert records["DIRECT"]["success"] and not records["DIRECT"]["self_corrected"]
    assert records["NEVER"]["termination"] == "max_turns" and len(records["NEVER"]["steps"]) == 5
    assert records["WRONG"]["termination"] == "max_solutions" and not records["WRONG"]["success"]
    huge_obs = records["HUGE"]["steps"][0]["observation"]
    assert len(huge_obs["text"]) <= 2000 and huge_obs["truncated_chars"] >= 4_990_000
    assert max(len(m["content"]) for m in records["HUGE"]["messages"]) < 3000
    forever = records["FOREVER"]
    assert forever["steps"][0]["observation"]["error"]["kind"] == "timeout"
    assert forever["success"] and forever["self_corrected"]

    everything = (run_dir / "trajectories.jsonl").read_text()
    assert SECRET not in everything and loopback.api_key not in everything
    assert "/proc/" in records["KEYS"]["steps"][0]["observation"]["text"]

    manifest = json.loads((run_dir / "run.json").read_text())
    assert manifest["status"] == "completed" and manifest["counts"]["done"] == len(PROBLEMS)
    assert manifest["config"]["teacher"] == f"{provider}:{model}"

    proc = trajkit("filter", str(run_dir), "--dataset", "mix", "--out", str(out), env=env)
    assert proc.returncode == 0, proc.stderr
    data = (out / "datasets" / "mix" / "v1" / "data.jsonl").read_text().splitlines()
    kept = sorted(tag(json.loads(line)) for line in data)
    assert kept == ["ERRFIX", "FOREVER"]
    again = trajkit("filter", str(run_dir), "--dataset", "mix", "--out", str(out), env=env)
    assert again.returncode == 0 and "already" in again.stdout
    assert not (out / "datasets" / "mix" / "v2").exists()


def test_sigkill_mid_run_resumes_to_one_record_per_task(loopback, tmp_path):
    require_isolation()
    problems = tmp_path / "many.jsonl"
    with problems.open("w") as fh:
        for i in range(24):
            record = {"problem": f"What is {i}+1? [T{i}]", "solution": f"$\\boxed{{{i + 1}}}$",
                      "level": "Level 1", "type": "Prealgebra", "unique_id": f"t/{i}"}
            fh.write(json.dumps(record) + "\n")

    def policy(messages: list[dict]) -> str:
        n = sum(m["role"] == "assistant" for m in messages)
        task = messages[1]["content"].split("[T")[-1].split("]")[0]
        return "<execute>print('step')</execute>" if n == 0 else f"<solution>{int(task) + 1}</solution>"

    loopback.set_policy(policy)
    loopback.set_delay(0.15)
    env = {**os.environ, **loopback.env()}
    out = tmp_path / "out"
    args = ["collect", "math", "--teacher", "openai:m", "--data", str(problems), "--out",
            str(out), "--run", "crash", "--concurrency", "2"]
    proc = subprocess.Popen([*TRAJKIT, *args], env=env, stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE, start_new_session=True)
    traj = out / "runs" / "crash" / "trajectories.jsonl"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if traj.exists() and traj.read_text().count("\n") >= 5:
            break
        time.sleep(0.05)
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
    first = read_records(out / "runs" / "crash")
    assert 5 <= len(first) < 24
    with traj.open("a") as fh:  # what a crash mid-write leaves behind
        fh.write('{"schema_version": "1.0", "id": "torn')
    loopback.set_delay(0.0)
    proc2 = trajkit(*args, env=env)
    assert proc2.returncode == 0, proc2.stderr
    assert "torn" in proc2.stderr and "resumed" in proc2.stderr
    records = read_records(out / "runs" / "crash")
    ids = [r["task_id"] for r in records]
    assert sorted(ids) == sorted(f"t/{i}" for i in range(24))
    assert all(r["success"] for r in records)
    again = trajkit(*args, env=env)
    assert again.returncode == 0 and len(read_records(out / "runs" / "crash")) == 24


def test_bad_key_stops_with_one_line_and_keeps_data(loopback, math_file, tmp_path):
    require_isolation()
    loopback.set_policy(ScriptedPolicy(SCRIPTS))
    env = {**os.environ, **loopback.env(), "OPENAI_API_KEY": "sk-wrong"}
    out = tmp_path / "out"
    proc = trajkit("collect", "math", "--teacher", "openai:gpt-4o-mini", "--data", str(math_file),
                   "--out", str(out), "--run", "auth", env=env)
    assert proc.returncode == 2
    lines = [line for line in proc.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and "401" in lines[0] and "Traceback" not in proc.stderr
    manifest = json.loads((out / "runs" / "auth" / "run.json").read_text())
    assert manifest["status"] == "failed"


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (["collect", "math", "--teacher", "nope:x"], "--teacher"),
        (["collect", "math", "--teacher", "replay:/does/not/exist.jsonl"], "exist.jsonl"),
        (["collect", "nosuch", "--teacher", "openai:m"], "nosuch"),
        (["collect", "math", "--teacher", "openai:m", "--data", "/no/such/file.jsonl"], "file.jsonl"),
        (["collect", "math", "--teacher", "openai:m", "--run", "../escape"], "--run"),
        (["collect", "math", "--teacher", "openai:m", "--sandbox", "vm"], "--sandbox"),
        (["collect", "math", "--teacher", "openai:m", "--source-opt", "novalue"], "--source-opt"),
        (["collect", "math", "--teacher", "openai:m", "--source-opt", "a=b"], "--source-opt"),
        (["filter", "/no/such/run", "--dataset", "x"], "/no/such/run"),
        (["filter", "out", "--dataset", "x", "--keep", "bogus"], "--keep"),
        (["stats", "/no/such/dataset"], "/no/such/dataset"),
    ],
)
def test_bad_input_is_one_line_exit_2(args, needle, tmp_path):
    env = {k: v for k, v in os.environ.items() if not k.endswith("_API_KEY")}
    proc = subprocess.run([*TRAJKIT, *args], env=env, capture_output=True, text=True,
                          timeout=60, cwd=tmp_path)
    assert proc.returncode == 2, (proc.stdout, proc.stderr)
    assert "Traceback" not in proc.stderr
    assert needle in proc.stderr


def test_repeated_sigkills_at_random_moments_never_duplicate_or_tear(loopback, tmp_path):
    """Kill the collector (and its sandboxes) at five seeded-random moments, including during
    start-up and while records are being written; the final resume has each task exactly once."""
    import random

    from trajkit.core.jsonl import iter_json_lines

    require_isolation()
    n = 40
    problems = tmp_path / "many.jsonl"
    with problems.open("w") as fh:
        for i in range(n):
            fh.write(json.dumps({"problem": f"What is {i}+1? [T{i}]", "solution": f"$\\boxed{{{i + 1}}}$",
                                 "level": "Level 1", "type": "Prealgebra", "unique_id": f"t/{i}"}) + "\n")

    def policy(messages: list[dict]) -> str:
        n_done = sum(m["role"] == "assistant" for m in messages)
        task = messages[1]["content"].split("[T")[-1].split("]")[0]
        return "<execute>print('step')</execute>" if n_done == 0 else f"<solution>{int(task) + 1}</solution>"

    loopback.set_policy(policy)
    loopback.set_delay(0.05)
    env = {**os.environ, **loopback.env()}
    out = tmp_path / "out"
    args = ["collect", "math", "--teacher", "openai:m", "--data", str(problems), "--out",
            str(out), "--run", "kills", "--concurrency", "4", "--no-cache"]
    traj = out / "runs" / "kills" / "trajectories.jsonl"
    rng = random.Random(7)
    for _ in range(5):
        proc = subprocess.Popen([*TRAJKIT, *args], env=env, stdout=subprocess.DEVNULL,
                                stderr=subprocess.DEVNULL, start_new_session=True)
        time.sleep(rng.uniform(0.3, 2.5))
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
        if traj.exists():  # a torn last line is allowed here: the next open cuts it
            ids = [obj["task_id"] for _, obj in iter_json_lines(traj)]
            assert len(ids) == len(set(ids))
    final = trajkit(*args, env=env)
    assert final.returncode == 0, final.stderr
    records = read_records(out / "runs" / "kills")
    assert sorted(r["task_id"] for r in records) == sorted(f"t/{i}" for i in range(n))
    assert traj.read_bytes().endswith(b"\n") and all(r["success"] for r in records)
