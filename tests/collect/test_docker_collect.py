"""``trajkit collect --sandbox docker`` end to end: the same records as ``--sandbox local``, and
no container left behind after a collector is SIGKILLed and ``trajkit sandbox prune`` runs."""

from __future__ import annotations

import importlib
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
from support import require_docker, require_isolation

from trajkit.collect.sandbox.docker_engine import LABEL, LABEL_RUN, connect

TRAJKIT = [sys.executable, "-m", "trajkit.cli"]
#: Differ by design between backends or between runs: names, clocks, durations.
VOLATILE = {"sandbox", "run", "id", "started_at", "finished_at", "created_at"}


def trajkit(*args: str, timeout: float = 300) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*TRAJKIT, *args], capture_output=True, text=True, timeout=timeout)


def normalised(value: Any) -> Any:
    """The record without backend names and timings (keys ending in ``_s`` are durations)."""
    if isinstance(value, dict):
        return {k: normalised(v) for k, v in value.items()
                if k not in VOLATILE and not k.endswith("_s")}
    if isinstance(value, list):
        return [normalised(v) for v in value]
    return value


def collected(out: Path, run: str) -> dict[str, Any]:
    path = out / "runs" / run / "trajectories.jsonl"
    rows = [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
    return {row["task_id"]: normalised(row) for row in rows}


@pytest.mark.parametrize("source", ["math", "apps", "hotpotqa"])
def test_docker_collects_the_same_records_as_local(source: str, tmp_path: Path) -> None:
    require_isolation()
    require_docker()
    replay = importlib.import_module(f"trajkit.sources.{source}").DEMO_REPLAY
    runs = {}
    for backend, extra in (("local", []), ("docker", ["--pool", "2"])):
        proc = trajkit(
            "collect", source, "--teacher", f"replay:{replay}", "--out", str(tmp_path),
            "--run", f"{source}-{backend}", "--sandbox", backend, "--concurrency", "4",
            "--no-cache", "--exec-timeout", "60", *extra,  # parity, not speed, under CI load
        )
        assert proc.returncode == 0, proc.stderr[-2000:]
        runs[backend] = collected(tmp_path, f"{source}-{backend}")
    assert runs["local"] and runs["docker"].keys() == runs["local"].keys()
    for task_id, record in runs["local"].items():
        other = runs["docker"][task_id]
        for i, (a, b) in enumerate(zip(record["steps"], other["steps"], strict=False)):
            assert b == a, f"{task_id} step {i}: local {a!r} != docker {b!r}"
        assert other == record, task_id
    manifest = json.loads((tmp_path / "runs" / f"{source}-docker" / "run.json").read_text())
    assert manifest["status"] == "completed"
    left = connect().api.containers(all=True, filters={"label": f"{LABEL_RUN}={source}-docker"})
    assert left == [], "a finished run left containers behind"


def start_slow_run(tmp_path: Path, run: str) -> tuple[subprocess.Popen[str], dict[str, Any]]:
    """A docker collect whose every episode sleeps; returns once its containers are up."""
    from trajkit.sources.math import SAMPLE_PATH

    turns = tmp_path / "slow.jsonl"
    slow = "<execute>import time\ntime.sleep(60)</execute>"
    with turns.open("w") as fh:
        for line in Path(SAMPLE_PATH).read_text().splitlines():
            if line.strip():
                task_id = json.loads(line)["unique_id"]
                fh.write(json.dumps({"task_id": task_id, "turns": [slow]}) + "\n")
    proc = subprocess.Popen(
        [*TRAJKIT, "collect", "math", "--teacher", f"replay:{turns}", "--out", str(tmp_path),
         "--run", run, "--sandbox", "docker", "--pool", "3", "--concurrency", "2",
         "--exec-timeout", "120", "--no-cache"],
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
    )
    selector = {"label": [f"{LABEL}=1", f"{LABEL_RUN}={run}"]}
    deadline = time.monotonic() + 60
    while len(connect().api.containers(filters=selector)) < 5:  # 2 episodes + 3 warm spares
        if proc.poll() is not None or time.monotonic() > deadline:
            proc.kill()
            pytest.fail(f"the run never started its containers: {proc.communicate()[1][-500:]}")
        time.sleep(0.2)
    return proc, selector


def test_sigkilled_run_leaves_nothing_after_prune(tmp_path: Path) -> None:
    require_docker()
    run = f"killed-{os.getpid()}"
    proc, selector = start_slow_run(tmp_path, run)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    client = connect()
    assert client.api.containers(all=True, filters=selector), "nothing to prune: test is void"
    pruned = trajkit("sandbox", "prune", "--run", run, timeout=120)
    assert pruned.returncode == 0, pruned.stderr
    assert client.api.containers(all=True, filters=selector) == []
    assert "removed 5 sandbox container(s)" in pruned.stdout


def test_ctrl_c_removes_every_container(tmp_path: Path) -> None:
    require_docker()
    proc, selector = start_slow_run(tmp_path, f"interrupted-{os.getpid()}")
    proc.send_signal(signal.SIGINT)
    _, stderr = proc.communicate(timeout=60)
    assert proc.returncode == 130, stderr
    assert connect().api.containers(all=True, filters=selector) == []


def test_bad_sandbox_flags_are_one_line_exit_2(tmp_path: Path) -> None:
    for args, needle in (
        (["--sandbox", "docker", "--sandbox-opt", "cpus=-1"], "--sandbox-opt cpus"),
        (["--sandbox", "docker", "--sandbox-opt", "nonsense=1"], "--sandbox-opt nonsense: unknown"),
        (["--sandbox", "podman"], "--sandbox: unknown sandbox backend 'podman' (available: docker, local)"),
        (["--pool", "2"], "--pool: the local sandbox keeps no sandboxes warm"),
    ):
        proc = trajkit("collect", "math", "--teacher", "replay:x.jsonl", "--out", str(tmp_path), *args)
        assert proc.returncode == 2 and needle in proc.stderr, proc.stderr
        assert len(proc.stderr.strip().splitlines()) == 1, proc.stderr


def test_missing_image_is_one_line_exit_2(tmp_path: Path) -> None:
    require_docker()
    from trajkit.sources.math import DEMO_REPLAY

    proc = trajkit("collect", "math", "--teacher", f"replay:{DEMO_REPLAY}", "--out", str(tmp_path),
                   "--sandbox", "docker", "--sandbox-opt", "image=trajkit-sandbox:absent")
    assert proc.returncode == 2, proc.stderr
    assert "trajkit sandbox build" in proc.stderr and len(proc.stderr.strip().splitlines()) == 1


def test_sandbox_build_skips_an_identical_image() -> None:
    require_docker()
    proc = trajkit("sandbox", "build", "--from-rootfs", timeout=900)  # CI built it already
    assert proc.returncode == 0, proc.stderr
    assert "trajkit-sandbox:latest: up to date" in proc.stdout, proc.stdout + proc.stderr
    proc = trajkit("sandbox", "build", "--from-rootfs", "--base", "debian:12")
    assert proc.returncode == 2 and "choose one" in proc.stderr
