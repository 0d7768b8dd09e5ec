"""The CLI as scheduled jobs use it: demo, Ctrl-C and resume, run locks, replays, schemas."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from factories import DEEP_LINE
from math_tasks import solve_after_one_error, write_problems
from support import require, require_isolation

from trajkit.cli.demo_command import demo_sources

TRAJKIT = [sys.executable, "-m", "trajkit.cli"]


def run(*args: str, env: dict[str, str] | None = None, cwd: Path | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([*TRAJKIT, *args], env=env, cwd=cwd, capture_output=True, text=True, timeout=180)


def records(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]






def test_demo_runs_the_whole_pipeline_without_a_key(tmp_path):
    require_isolation()
    env = {k: v for k, v in os.environ.items() if not k.endswith("_API_KEY")}
    proc = run("demo", "--out", str(tmp_path), env=env)
    assert proc.returncode == 0, proc.stderr
    version = tmp_path / "datasets" / "demo" / "v1"
    manifest = json.loads((version / "manifest.json").read_text())
    self_corrected = 0
    for source, _, unavailable in demo_sources():  # every source the demo collects
        if unavailable:
            continue  # the demo skips it here (its extra is not installed)
        run_manifest = json.loads((tmp_path / "runs" / f"demo-{source}" / "run.json").read_text())
        assert run_manifest["status"] == "completed", source
        assert run_manifest["counts"]["self_corrected"] >= 2, source
        self_corrected += run_manifest["counts"]["self_corrected"]
        assert manifest["counts_by_source"][source] >= 2
    assert manifest["records"] == self_corrected
    assert all(r["success"] and r["self_corrected"] for r in records(version / "data.jsonl"))
    assert str(version) in proc.stdout
    again = run("demo", "--out", str(tmp_path), env=env)
    assert again.returncode == 0 and "already holds" in again.stdout
    assert not (tmp_path / "datasets" / "demo" / "v2").exists()


def test_ctrl_c_stops_cleanly_and_resumes(loopback, tmp_path):
    require_isolation()
    data = write_problems(tmp_path / "p.jsonl", 30)
    loopback.set_policy(solve_after_one_error)
    loopback.set_delay(0.1)
    env = {**os.environ, **loopback.env()}
    args = ["collect", "math", "--teacher", "openai:m", "--data", str(data), "--out",
            str(tmp_path / "out"), "--run", "sigint", "--concurrency", "2"]
    proc = subprocess.Popen([*TRAJKIT, *args], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    traj = tmp_path / "out" / "runs" / "sigint" / "trajectories.jsonl"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and not (traj.exists() and traj.read_text().count("\n") >= 3):
        time.sleep(0.05)
    proc.send_signal(signal.SIGINT)
    _, stderr = proc.communicate(timeout=60)
    assert proc.returncode == 130, stderr
    assert "Traceback" not in stderr and "resume" in stderr
    manifest = json.loads((tmp_path / "out" / "runs" / "sigint" / "run.json").read_text())
    assert manifest["status"] == "interrupted"
    partial = records(traj)
    assert 3 <= len(partial) < 30
    loopback.set_delay(0)
    done = run(*args, env=env)
    assert done.returncode == 0, done.stderr
    final = records(traj)
    assert sorted(r["task_id"] for r in final) == sorted(f"t/{i}" for i in range(30))
    assert all(r["success"] and r["self_corrected"] for r in final)


def test_second_writer_of_a_run_is_refused(loopback, tmp_path):
    require_isolation()
    data = write_problems(tmp_path / "p.jsonl", 6)
    loopback.set_policy(solve_after_one_error)
    loopback.set_delay(0.3)
    env = {**os.environ, **loopback.env()}
    args = ["collect", "math", "--teacher", "openai:m", "--data", str(data), "--out",
            str(tmp_path / "out"), "--run", "locked", "--concurrency", "1"]
    first = subprocess.Popen([*TRAJKIT, *args], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    run_json = tmp_path / "out" / "runs" / "locked" / "run.json"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and not run_json.exists():
        time.sleep(0.05)
    second = run(*args, env=env)
    first.communicate(timeout=120)
    assert second.returncode == 2 and "another trajkit process" in second.stderr
    assert first.returncode == 0
    assert len(records(run_json.parent / "trajectories.jsonl")) == 6


def test_resume_with_another_teacher_is_refused(loopback, tmp_path):
    require_isolation()
    data = write_problems(tmp_path / "p.jsonl", 2)
    loopback.set_policy(solve_after_one_error)
    env = {**os.environ, **loopback.env()}
    base = ["collect", "math", "--data", str(data), "--out", str(tmp_path / "out"), "--run", "r"]
    assert run(*base, "--teacher", "openai:m", env=env).returncode == 0
    other = run(*base, "--teacher", "anthropic:c", env=env)
    assert other.returncode == 2 and "--run r" in other.stderr and "teacher" in other.stderr


def test_replay_of_a_run_reproduces_it_in_fresh_sandboxes(loopback, tmp_path):
    require_isolation()
    data = write_problems(tmp_path / "p.jsonl", 4)
    loopback.set_policy(solve_after_one_error)
    env = {**os.environ, **loopback.env()}
    out = tmp_path / "out"
    assert run("collect", "math", "--teacher", "anthropic:c", "--data", str(data), "--out", str(out),
               "--run", "live", env=env).returncode == 0
    live = out / "runs" / "live" / "trajectories.jsonl"
    replay = run("collect", "math", "--teacher", f"replay:{live}", "--data", str(data), "--out", str(out),
                 "--run", "again", env={k: v for k, v in env.items() if not k.endswith("_API_KEY")})
    assert replay.returncode == 0, replay.stderr
    first = {r["task_id"]: r for r in records(live)}
    second = {r["task_id"]: r for r in records(out / "runs" / "again" / "trajectories.jsonl")}
    assert first.keys() == second.keys()
    for task_id, rec in first.items():
        assert [m["content"] for m in rec["messages"]] == [m["content"] for m in second[task_id]["messages"]]
        assert second[task_id]["teacher"]["provider"] == "replay"


def test_schema_command_exports_json_schema(tmp_path):
    proc = run("schema", "Trajectory")
    assert proc.returncode == 0
    schema = json.loads(proc.stdout)
    assert schema["title"] == "Trajectory" and "messages" in schema["properties"]
    written = run("schema", "--out", str(tmp_path))
    assert written.returncode == 0
    names = sorted(p.name for p in tmp_path.glob("*.schema.json"))
    assert "DatasetManifest.schema.json" in names and "RunManifest.schema.json" in names
    assert run("schema", "Nope").returncode == 2


def test_counts_and_costs_are_never_negative_in_the_schemas(tmp_path):
    """Token counts and costs are >= 0 in every record trajkit writes: the JSON Schema says
    so, a negative cost is refused, and a negative count from an old record reads as 0."""
    from pydantic import ValidationError

    from trajkit.schemas import RunManifest
    from trajkit.schemas.manifests import YieldCounts
    from trajkit.schemas.trajectory import Usage

    written = run("schema", "--out", str(tmp_path))
    assert written.returncode == 0, written.stderr
    trajectory = json.loads((tmp_path / "Trajectory.schema.json").read_text())
    usage = trajectory["$defs"]["Usage"]["properties"]
    assert all(usage[k]["minimum"] == 0 for k in ("input_tokens", "output_tokens", "calls"))
    assert {"minimum": 0, "type": "number"} in trajectory["properties"]["cost_usd"]["anyOf"]
    manifest = json.loads((tmp_path / "RunManifest.schema.json").read_text())
    assert {"minimum": 0, "type": "number"} in manifest["properties"]["cost_usd"]["anyOf"]
    assert Usage(input_tokens=-5000, output_tokens=-1).input_tokens == 0
    with pytest.raises(ValidationError, match="cost_usd"):
        YieldCounts(cost_usd=-1.0)
    with pytest.raises(ValidationError, match="cost_usd"):
        RunManifest(run="r", status="completed", config={}, cost_usd=-0.5, started_at="t",
                    updated_at="t", toolkit_version="0")


@pytest.mark.parametrize("flag", ["--json", None])
def test_stats_of_a_run(flag, loopback, tmp_path):
    require_isolation()
    data = write_problems(tmp_path / "p.jsonl", 3)
    loopback.set_policy(solve_after_one_error)
    env = {**os.environ, **loopback.env()}
    out = tmp_path / "out"
    assert run("collect", "math", "--teacher", "openai:m", "--data", str(data), "--out", str(out),
               "--run", "s", env=env).returncode == 0
    proc = run("stats", str(out / "runs" / "s"), *([flag] if flag else []))
    assert proc.returncode == 0, proc.stderr
    if flag:
        stats = json.loads(proc.stdout)
        assert stats["records"] == 3


def test_machine_without_user_namespaces_fails_closed(tmp_path):
    """Where the kernel refuses namespaces, collect stops before any spend, with a hint;
    ``--no-isolation`` is the explicit way through."""
    import shutil

    require(shutil.which("unshare") is not None, "util-linux `unshare` not installed")
    require_isolation()
    from trajkit.sources.math import DEMO_REPLAY

    def collect_without_userns(*extra: str) -> subprocess.CompletedProcess:
        inner = " ".join([
            "echo 0 > /proc/sys/user/max_user_namespaces &&", "exec", *TRAJKIT, "collect", "math",
            "--teacher", f"replay:{DEMO_REPLAY}", "--out", str(tmp_path / "out"), "--limit", "2", *extra,
        ])
        return subprocess.run(["unshare", "--user", "--map-root-user", "sh", "-c", inner],
                              capture_output=True, text=True, timeout=120)

    refused = collect_without_userns("--run", "refused")
    assert refused.returncode == 2, refused.stderr
    lines = [line for line in refused.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and "cannot be isolated" in lines[0] and "--no-isolation" in lines[0]
    assert not (tmp_path / "out" / "runs" / "refused" / "trajectories.jsonl").read_text().strip()

    allowed = collect_without_userns("--run", "unsafe", "--no-isolation")
    assert allowed.returncode == 0, allowed.stderr
    assert "--no-isolation" in allowed.stderr  # the warning
    assert len(records(tmp_path / "out" / "runs" / "unsafe" / "trajectories.jsonl")) == 2


def test_response_cache_means_a_repeat_run_pays_nothing(loopback, tmp_path):
    require_isolation()
    data = write_problems(tmp_path / "p.jsonl", 3)
    loopback.set_policy(solve_after_one_error)
    env = {**os.environ, **loopback.env()}
    out = tmp_path / "out"
    base = ["collect", "math", "--teacher", "openai:m", "--data", str(data), "--out", str(out)]
    assert run(*base, "--run", "first", env=env).returncode == 0
    paid = loopback.request_count
    assert paid == 9  # 3 tasks x 3 turns
    repeat = run(*base, "--run", "second", env=env)
    assert repeat.returncode == 0, repeat.stderr
    assert loopback.request_count == paid  # every turn came from the cache
    assert "9 of 9 calls from the response cache" in repeat.stdout
    first = {r["task_id"]: r for r in records(out / "runs" / "first" / "trajectories.jsonl")}
    second = {r["task_id"]: r for r in records(out / "runs" / "second" / "trajectories.jsonl")}
    for task_id, rec in first.items():
        assert rec["messages"] == second[task_id]["messages"]
        assert second[task_id]["usage"]["cached_calls"] == 3 and rec["usage"]["cached_calls"] == 0
    uncached = run(*base, "--run", "third", "--no-cache", env=env)
    assert uncached.returncode == 0
    assert loopback.request_count == 2 * paid
    changed = run(*base, "--run", "fourth", "--temperature", "0.7", env=env)
    assert changed.returncode == 0
    assert loopback.request_count == 3 * paid  # other sampling params: another request


def test_max_cost_stops_new_episodes_and_resumes_with_a_higher_budget(loopback, tmp_path):
    require_isolation()
    data = write_problems(tmp_path / "p.jsonl", 10)
    loopback.set_policy(solve_after_one_error)
    env = {**os.environ, **loopback.env()}
    # Without the in-context demonstration: at this price one episode then costs well under
    # the $2 budget (with it, one episode alone passes $2 and nothing is left to stop).
    base = ["collect", "math", "--teacher", "openai:m", "--data", str(data), "--out",
            str(tmp_path / "out"), "--run", "budget", "--concurrency", "1", "--price", "m=1000,1000",
            "--shots", "0"]
    capped = run(*base, "--max-cost", "2.0", env=env)
    assert capped.returncode == 3, capped.stderr
    manifest = json.loads((tmp_path / "out" / "runs" / "budget" / "run.json").read_text())
    assert manifest["status"] == "budget_reached"
    done = manifest["counts"]["done"]
    assert 1 <= done < 10
    assert 0 < manifest["cost_usd"] <= 2.0
    finished = run(*base, "--max-cost", "100", env=env)
    assert finished.returncode == 0, finished.stderr
    manifest = json.loads((tmp_path / "out" / "runs" / "budget" / "run.json").read_text())
    assert manifest["status"] == "completed" and manifest["counts"]["done"] == 10
    unpriced = run("collect", "math", "--teacher", "openai:unknown-model", "--data", str(data),
                   "--out", str(tmp_path / "out"), "--run", "nop", "--max-cost", "1", env=env)
    assert unpriced.returncode == 2 and "--price" in unpriced.stderr


MATH_REPLAY = Path(__file__).resolve().parents[2] / "sources" / "math" / "samples" / "math_demo_replay.jsonl"


def test_valid_json_too_deep_to_read_stops_collect_with_one_line_and_leaves_the_run(tmp_path):
    """Python's ``json`` raises ``RecursionError`` (not ``ValueError``) on JSON nested ~1000
    deep. In a run being resumed, a replay file or a task file it is malformed data: exit 2,
    one line naming ``FILE:LINE``, and the run's files byte for byte as they were."""
    require_isolation()
    out = tmp_path / "out"
    first = run("collect", "math", "--teacher", f"replay:{MATH_REPLAY}", "--out", str(out), "--run", "m1")
    assert first.returncode == 0, first.stderr
    run_dir = out / "runs" / "m1"
    with open(run_dir / "trajectories.jsonl", "a", encoding="utf-8") as fh:
        fh.write(DEEP_LINE)
    lines = len((run_dir / "trajectories.jsonl").read_text().splitlines())
    before = {p.name: p.read_bytes() for p in run_dir.iterdir() if p.is_file()}
    resumed = run("collect", "math", "--teacher", f"replay:{MATH_REPLAY}", "--out", str(out), "--run", "m1")
    assert resumed.returncode == 2, resumed.stderr
    assert f"trajectories.jsonl:{lines}: not valid JSON (nested more than 200 deep)" in resumed.stderr
    assert len(resumed.stderr.strip().splitlines()) == 1, resumed.stderr
    assert {p.name: p.read_bytes() for p in run_dir.iterdir() if p.is_file()} == before

    deep = tmp_path / "deep.jsonl"
    deep.write_text(DEEP_LINE, encoding="utf-8")
    for args in ([f"replay:{deep}"], [f"replay:{MATH_REPLAY}", "--data", str(deep)]):
        proc = run("collect", "math", "--teacher", *args, "--out", str(tmp_path / "cc"), "--run", "a")
        assert proc.returncode == 2, proc.stderr
        assert f"{deep}:1: not valid JSON (nested more than 200 deep)" in proc.stderr
        assert "Traceback" not in proc.stderr


def test_a_recording_of_other_tasks_is_refused_and_a_partial_one_warns_and_plays_the_rest(tmp_path):
    """A replay that answers none of the run's tasks (an empty file, another source's or
    another split's ids) is one line, exit 2, before the run directory exists: each episode
    used to end as teacher_error until eight in a row stopped the run as a provider 'outage'
    (exit 4, 're-run when the provider is back'). A partial recording says how many it lacks
    and plays the rest; its failures are the episodes' own, never an outage."""
    require_isolation()
    out = tmp_path / "out"
    empty = tmp_path / "empty.jsonl"
    empty.write_text("\n")
    other = tmp_path / "other.jsonl"
    other.write_text(json.dumps({"task_id": "gsm8k/1", "turns": ["<solution>1</solution>"]}) + "\n")
    one = tmp_path / "one.jsonl"
    one.write_text(MATH_REPLAY.read_text().splitlines()[0] + "\n")
    cases = [
        ([f"replay:{empty}"], f"{empty}: no recordings"),
        ([f"replay:{other}"], f"--teacher replay:{other}: no recording for any of the run's 10 task(s) "
                              "(first: 'sample/001-dice-sum'; the recording's first: 'gsm8k/1')"),
        ([f"replay:{MATH_REPLAY}", "--escalate", f"replay:{other}"], f"--escalate replay:{other}: no recording"),
    ]
    for teacher, message in cases:
        proc = run("collect", "math", "--teacher", *teacher, "--out", str(out), "--run", "r")
        assert proc.returncode == 2 and message in proc.stderr, proc.stderr
        assert len(proc.stderr.strip().splitlines()) == 1 and not out.exists(), proc.stderr

    partial = run("collect", "math", "--teacher", f"replay:{one}", "--out", str(out), "--run", "r")
    assert "has no recording for 9 of the run's 10 task(s) (first: 'sample/002-smaller-root')" in partial.stderr
    assert "teacher unavailable" not in partial.stderr and partial.returncode == 1, partial.stderr
    done = records(out / "runs" / "r" / "trajectories.jsonl")
    assert sorted(r["termination"] for r in done) == ["solved"] + ["teacher_error"] * 9
