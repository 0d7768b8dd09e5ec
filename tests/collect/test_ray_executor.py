"""``--executor ray`` on a local two-CPU Ray instance shared by the module.

The instance is started once by this (driver) process; CLI runs join it with
``--ray-address``, in-process runs reuse it. Episodes run on real Ray worker processes with
real isolated sandboxes, talking to the loopback teacher through the real SDK.
"""

from __future__ import annotations

import asyncio
import importlib.util
import io
import json
import logging
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from loopback_teacher import TrivialPolicy
from rich.console import Console
from support import require, require_isolation

from trajkit.collect.config import CollectConfig
from trajkit.collect.loop import LoopConfig
from trajkit.collect.runner import collect
from trajkit.sources.base import LoadOptions

TRAJKIT = [sys.executable, "-m", "trajkit.cli"]
HAS_RAY = importlib.util.find_spec("ray") is not None
VOLATILE = ("id", "run", "timing", "node")  # plus every *_s duration and *_at timestamp


@pytest.fixture(scope="module")
def ray_address() -> Iterator[str]:
    """A local Ray with 2 CPUs (so 2 episode workers); its GCS address for CLI drivers."""
    require(HAS_RAY, "ray is not installed (pip install 'trajkit[ray]')")
    require_isolation()
    import ray

    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False,
             logging_level=logging.ERROR)
    try:
        yield ray.get_runtime_context().gcs_address
    finally:
        ray.shutdown()


def trajkit(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([*TRAJKIT, *args], env=env, capture_output=True, text=True, timeout=240)


def records(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def stable(value: Any) -> Any:
    """A record without what differs between two runs of the same episode (ids, timings)."""
    if isinstance(value, dict):
        return {
            k: stable(v) for k, v in value.items()
            if k not in VOLATILE and not k.endswith(("_s", "_at"))
        }
    if isinstance(value, list):
        return [stable(v) for v in value]
    return value


def write_problems(path: Path, n: int) -> Path:
    with path.open("w") as fh:
        for i in range(n):
            fh.write(json.dumps({"problem": f"What is 1+1? [T{i}]", "solution": "$\\boxed{2}$",
                                 "level": "Level 1", "type": "Prealgebra",
                                 "unique_id": f"t/{i}"}) + "\n")
    return path


@pytest.mark.timeout(300)
def test_math_sample_on_ray_matches_the_local_executor(ray_address, tmp_path):
    from trajkit.sources.math import DEMO_REPLAY

    base = ["collect", "math", "--teacher", f"replay:{DEMO_REPLAY}", "--out", str(tmp_path),
            "--concurrency", "4"]
    local = trajkit(*base, "--run", "local")
    assert local.returncode == 0, local.stderr
    remote = trajkit(*base, "--run", "ray", "--executor", "ray", "--ray-address", ray_address,
                     "--ray-workers", "2")
    assert remote.returncode == 0, remote.stderr
    assert "ray: 2 worker(s)" in remote.stderr
    by_task = {}
    for run in ("local", "ray"):
        got = records(tmp_path / "runs" / run / "trajectories.jsonl")
        assert len(got) == len({r["task_id"] for r in got}) == 10
        by_task[run] = {r["task_id"]: stable(r) for r in got}
    assert by_task["ray"] == by_task["local"]
    assert sum(r["self_corrected"] for r in by_task["ray"].values()) >= 2
    manifest = json.loads((tmp_path / "runs" / "ray" / "run.json").read_text())
    assert manifest["status"] == "completed" and manifest["config"]["executor"] == "ray"


def worker_pids(run: str) -> list[int]:
    """PIDs of this run's episode workers (named ``trajkit-RUN-…``), asked of the workers."""
    import ray

    named = [a for a in ray.util.list_named_actors(all_namespaces=True)
             if a["name"].startswith(f"trajkit-{run}-")]
    pids = []
    for actor in named:
        try:
            handle = ray.get_actor(actor["name"], namespace=actor["namespace"])
            pids.append(ray.get(handle.ready.remote(), timeout=30)["pid"])
        except Exception:  # a worker that was just killed
            continue
    return pids


@pytest.mark.timeout(300)
async def test_a_killed_worker_costs_only_its_in_flight_episodes(ray_address, loopback, tmp_path):
    n = 16
    loopback.set_policy(TrivialPolicy(turns=1))
    loopback.set_delay(0.4)  # every call takes a while, so both workers always have episodes
    config = CollectConfig(
        source="math", teacher="openai:m", load=LoadOptions(data=str(write_problems(
            tmp_path / "p.jsonl", n))), out=tmp_path / "out", run="kill", concurrency=4,
        executor="ray", ray_workers=2, loop=LoopConfig(max_turns=3),
    )
    log = io.StringIO()
    run = asyncio.create_task(collect(config, Console(file=log, width=200)))
    traj = config.run_dir / "trajectories.jsonl"
    deadline = time.monotonic() + 120
    while not (traj.exists() and len(records(traj)) >= 2) and time.monotonic() < deadline:
        assert not run.done(), run.result()
        await asyncio.sleep(0.1)
    pids = await asyncio.to_thread(worker_pids, "kill")
    assert len(pids) == 2, pids
    before = len(records(traj))
    os.kill(pids[0], signal.SIGKILL)
    result = await asyncio.wait_for(run, 180)
    assert before < n, "the kill came after the run had finished"
    assert result.manifest.status == "completed"
    got = records(traj)
    assert sorted(r["task_id"] for r in got) == sorted(f"t/{i}" for i in range(n))
    assert all(r["success"] for r in got)
    assert "1 worker(s) lost" in log.getvalue(), log.getvalue()


@pytest.mark.timeout(300)
def test_ray_run_resumes_after_the_driver_is_interrupted(ray_address, loopback, tmp_path):
    n = 20
    loopback.set_policy(TrivialPolicy(turns=1))
    loopback.set_delay(0.2)
    env = {**os.environ, **loopback.env()}
    out = tmp_path / "out"
    args = ["collect", "math", "--teacher", "openai:m", "--data",
            str(write_problems(tmp_path / "p.jsonl", n)), "--out", str(out), "--run", "sigint",
            "--concurrency", "2", "--executor", "ray", "--ray-address", ray_address]
    proc = subprocess.Popen([*TRAJKIT, *args], env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    traj = out / "runs" / "sigint" / "trajectories.jsonl"
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and not (traj.exists() and len(records(traj)) >= 3):
        assert proc.poll() is None, proc.communicate()
        time.sleep(0.1)
    proc.send_signal(signal.SIGINT)
    _, stderr = proc.communicate(timeout=120)
    assert proc.returncode == 130, stderr
    assert "Traceback" not in stderr
    assert json.loads((out / "runs" / "sigint" / "run.json").read_text())["status"] == "interrupted"
    partial = records(traj)
    assert 3 <= len(partial) < n
    loopback.set_delay(0)
    done = trajkit(*args, env=env)
    assert done.returncode == 0, done.stderr
    assert "resumed" in done.stderr and "ray: 1 worker(s) on 1 host(s)" in done.stderr
    final = records(traj)
    assert sorted(r["task_id"] for r in final) == sorted(f"t/{i}" for i in range(n))
    assert all(r["success"] for r in final)


@pytest.mark.parametrize(
    ("extra", "needle"),
    [
        (["--executor", "ray"], "pip install 'trajkit[ray]'"),
        (["--executor", "ray", "--ray-address", "127.0.0.1:1"], "--ray-address 127.0.0.1:1"),
        (["--executor", "ray", "--ray-address", "nonsense"], "--ray-address"),
        (["--ray-address", "127.0.0.1:6379"], "only meaningful with --executor ray"),
        (["--executor", "spark"], "--executor"),
    ],
)
def test_bad_executor_input_is_one_line_exit_2(extra, needle, tmp_path):
    """Without Ray installed (an import that fails, as on a machine lacking the extra)."""
    fake = tmp_path / "noray" / "ray"
    fake.mkdir(parents=True)
    (fake / "__init__.py").write_text("raise ImportError('No module named ray')\n")
    env = {**os.environ, "PYTHONPATH": str(fake.parent)}
    proc = trajkit("collect", "math", "--teacher", "openai:m", "--out", str(tmp_path / "out"),
                   "--run", "x", *extra, env=env)
    assert proc.returncode == 2, (proc.stdout, proc.stderr)
    lines = [line for line in proc.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and needle in lines[0], proc.stderr
    assert not (tmp_path / "out" / "runs").exists()


def test_a_bad_key_on_the_workers_stops_the_run_with_one_line(ray_address, loopback, tmp_path):
    loopback.set_policy(TrivialPolicy(turns=1))
    env = {**os.environ, **loopback.env(), "OPENAI_API_KEY": "sk-wrong"}
    out = tmp_path / "out"
    proc = trajkit("collect", "math", "--teacher", "openai:m", "--data",
                   str(write_problems(tmp_path / "p.jsonl", 4)), "--out", str(out), "--run", "auth",
                   "--executor", "ray", "--ray-address", ray_address, env=env)
    assert proc.returncode == 2, proc.stderr
    assert "Traceback" not in proc.stderr
    errors = [line for line in proc.stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == 1 and "401" in errors[0], proc.stderr
    assert json.loads((out / "runs" / "auth" / "run.json").read_text())["status"] == "failed"


async def test_the_worker_builds_once_and_plays_in_process(tmp_path):
    """The actor class itself, without Ray: one build serves every episode."""
    require_isolation()
    from trajkit.collect.executors.ray_worker import EpisodeWorker
    from trajkit.sources.base import make_source
    from trajkit.sources.math import DEMO_REPLAY

    config = CollectConfig(source="math", teacher=f"replay:{DEMO_REPLAY}", out=tmp_path, run="w",
                           executor="ray")
    worker = EpisodeWorker(config.model_dump(mode="json"), os.getcwd())
    try:
        info = await worker.ready()
        assert info["pid"] == os.getpid() and info["cache"].startswith("off")
        teachers = worker._teachers
        tasks = make_source("math").load(config.load)[:2]
        got = [await worker.play(task) for task in tasks]
        assert worker._teachers is teachers and (await worker.ready())["pid"] == os.getpid()
        assert [t.task_id for t in got] == [t.task_id for t in tasks]
        assert all(t.run == "w" and t.teacher.provider == "replay" for t in got)
    finally:
        await worker.aclose()


def test_a_worker_that_cannot_create_the_cache_runs_uncached(tmp_path):
    from trajkit.collect.executors.ray_worker import _cached
    from trajkit.schemas import TeacherInfo

    class Teacher:
        info = TeacherInfo(provider="openai", model="m", params={})

    blocker = tmp_path / "not-a-dir"
    blocker.write_text("")
    teacher = Teacher()
    same, note = _cached(teacher, blocker / "cache" / "responses.sqlite", "r")  # type: ignore[arg-type]
    assert same is teacher and note.startswith("off (") and "not-a-dir" in note
    wrapped, note = _cached(teacher, tmp_path / "cache" / "responses.sqlite", "r")  # type: ignore[arg-type]
    assert wrapped is not teacher and note == str(tmp_path / "cache" / "responses.sqlite")
    wrapped.cache.close()


@pytest.mark.timeout(300)
def test_max_cost_on_ray_stops_new_episodes_like_the_local_executor(ray_address, loopback, tmp_path):
    loopback.set_policy(TrivialPolicy(turns=1))
    env = {**os.environ, **loopback.env()}
    out = tmp_path / "out"
    base = ["collect", "math", "--teacher", "openai:m", "--data",
            str(write_problems(tmp_path / "p.jsonl", 10)), "--out", str(out), "--run", "budget",
            "--concurrency", "1", "--price", "m=1000,1000", "--executor", "ray",
            "--ray-address", ray_address]
    capped = trajkit(*base, "--max-cost", "4.0", env=env)  # an episode costs ~$1.5 here
    assert capped.returncode == 3, capped.stderr
    manifest = json.loads((out / "runs" / "budget" / "run.json").read_text())
    assert manifest["status"] == "budget_reached" and 1 <= manifest["counts"]["done"] < 10
    assert 0 < manifest["cost_usd"] <= 4.0
    finished = trajkit(*base, "--max-cost", "100", env=env)
    assert finished.returncode == 0, finished.stderr
    got = records(out / "runs" / "budget" / "trajectories.jsonl")
    assert sorted(r["task_id"] for r in got) == sorted(f"t/{i}" for i in range(10))


@pytest.mark.timeout(300)
def test_attempts_and_escalation_on_ray_are_each_played_once(ray_address, loopback, tmp_path):
    """``--samples`` and ``--escalate`` through Ray workers: every (task, stage, attempt) once,
    each stage on its own teacher, each attempt its own sample (the cache salt travels)."""
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "fixtures"))
    from yield_policy import YieldPolicy, arithmetic_tasks

    import trajkit as api

    loopback.set_policy(YieldPolicy({"weak": (0.5, 0.0), "strong": (1.0, 1.0)}))
    data = tmp_path / "sums.jsonl"
    data.write_text("".join(json.dumps(r) + "\n" for r in arithmetic_tasks(4)))
    run = api.collect(
        "tasks", "openai:weak", data=str(data), out=tmp_path / "out", run="ray-attempts",
        source_opt={"id": "id", "judge": "numeric"}, temperature=0.7, samples=2,
        escalate=["openai:strong"], executor="ray", ray_address=ray_address, max_turns=4,
    )
    got = list(run.records())
    keys = [(r.task_id, r.stage, r.attempt) for r in got]
    assert len(keys) == len(set(keys)) == 16  # 4 tasks x (2 weak, all wrong, + 2 strong)
    assert {r.teacher.model for r in got if r.stage == 1} == {"strong"}
    assert all(r.success for r in got if r.stage == 1) and not any(r.success for r in got if r.stage == 0)
    assert len({(r.task_id, r.steps[0].assistant) for r in got}) == 16
    assert all(r.node for r in got)


@pytest.mark.timeout(300)
@pytest.mark.parametrize("fmt", ["tools", "json"])
def test_action_formats_on_ray_match_the_local_executor(ray_address, loopback, tmp_path, fmt):
    """Ray workers play every action format as the local executor does: the format travels in
    the run's config and is looked up by name on each worker."""
    from tools_tour_policy import ToolsTourPolicy

    from trajkit.core import registry

    tasks = registry.instance("source", "hotpotqa").load(LoadOptions(limit=4))
    oracle = {t.prompt: str(t.reference) for t in tasks}
    if fmt == "tools":
        loopback.set_policy(ToolsTourPolicy(oracle))
    else:
        def answer(messages: list[dict[str, Any]]) -> str:
            call = {"tool": "submit", "args": [oracle[messages[1]["content"]]]}
            return f"Action: {json.dumps(call)} End Action"

        loopback.set_policy(answer)
    env = {**os.environ, **loopback.env()}
    base = ["collect", "hotpotqa", "--teacher", "openai:m", "--limit", "4", "--out", str(tmp_path),
            "--action-format", fmt, "--no-cache"]
    local = trajkit(*base, "--run", "local", env=env)
    assert local.returncode == 0, local.stderr
    remote = trajkit(*base, "--run", "ray", "--executor", "ray", "--ray-address", ray_address,
                     "--ray-workers", "2", env=env)
    assert remote.returncode == 0, remote.stderr
    by_run = {}
    for run in ("local", "ray"):
        got = records(tmp_path / "runs" / run / "trajectories.jsonl")
        assert len(got) == 4 and all(r["success"] and r["action_format"] == fmt for r in got)
        # the loopback numbers its calls' ids across its life: only they differ
        by_run[run] = {r["task_id"]: stable(strip_call_ids(r)) for r in got}
    assert by_run["ray"] == by_run["local"]


def strip_call_ids(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: strip_call_ids(v) for k, v in value.items() if k not in ("tool_call_id",)}
    if isinstance(value, list):
        return [strip_call_ids(v) for v in value]
    return value
