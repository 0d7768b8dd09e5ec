"""``--executor local`` vs ``--executor ray`` on the same run, same machine, same minute.

A loopback teacher (its own process) answers every call after an injected latency, as a
real provider does; each executor then collects the same tasks through the real CLI
(``trajkit collect math --teacher openai:bench``: real SDK over HTTP, isolated sandboxes,
math-verify judge). Reported per executor: wall time of the whole command, throughput over
the collection phase (first episode start to last episode end) and in steady state (without
the first quarter of the episodes: worker warm-up), and the driver's peak RSS (``VmHWM`` of the CLI process only — the Ray
workers and the sandboxes are other processes).

    .venv/bin/python -m benchmarks.executor_compare [--episodes 96] [--concurrency 16]
        [--delay 0.25] [--ray-workers 2]

Ray runs on a local instance started here first (like joining a running cluster with
``--ray-address``); its start-up time is printed separately.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import subprocess
import sys
import tempfile
import time
from datetime import datetime
from pathlib import Path

from benchmarks.run_all import LOOPBACK, ROOT, write_tasks

TRAJKIT = [sys.executable, "-m", "trajkit.cli"]


def start_loopback(turns: int, delay: float) -> tuple[subprocess.Popen, int]:
    proc = subprocess.Popen(
        [sys.executable, str(LOOPBACK), "--port", "0", "--policy", "trivial",
         "--turns", str(turns), "--delay", str(delay)],
        stdout=subprocess.PIPE, text=True,
    )
    assert proc.stdout is not None
    return proc, int(proc.stdout.readline())


def peak_rss_mb(pid: int) -> float | None:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        return None
    return None


def run_collect(args: list[str], env: dict[str, str]) -> tuple[float, float]:
    """(wall seconds, driver peak RSS MB) of one ``trajkit collect``; fails loudly."""
    t = time.perf_counter()
    proc = subprocess.Popen([*TRAJKIT, *args], env=env, stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE, text=True)
    peak = 0.0
    while proc.poll() is None:
        peak = max(peak, peak_rss_mb(proc.pid) or 0.0)
        time.sleep(0.05)
    wall = time.perf_counter() - t
    stderr = proc.stderr.read() if proc.stderr else ""
    if proc.returncode != 0:
        raise SystemExit(f"trajkit collect failed ({proc.returncode}): {stderr}")
    return wall, peak


def rates(run_dir: Path) -> tuple[int, float, float]:
    """(episodes, episodes/s over the collection phase, episodes/s in steady state).

    The collection phase runs from the first episode's start to the last one's end; the
    steady state leaves out the first quarter of finishes (worker warm-up: judge pools,
    fork servers, connections).
    """
    starts, ends = [], []
    for line in (run_dir / "trajectories.jsonl").read_text().splitlines():
        record = json.loads(line)
        assert record["success"], record["termination"]
        starts.append(datetime.fromisoformat(record["timing"]["started_at"]))
        ends.append(datetime.fromisoformat(record["timing"]["finished_at"]))
    ends.sort()
    n, q = len(ends), len(ends) // 4
    phase = (ends[-1] - min(starts)).total_seconds()
    steady = (ends[-1] - ends[q]).total_seconds()
    return n, n / phase, (n - 1 - q) / steady


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--episodes", type=int, default=96)
    ap.add_argument("--concurrency", type=int, default=16)
    ap.add_argument("--delay", type=float, default=0.25, help="teacher latency per call (s)")
    ap.add_argument("--turns", type=int, default=2, help="execute turns before the solution")
    ap.add_argument("--ray-workers", type=int, default=2, help="workers of the last row")
    args = ap.parse_args()

    import ray

    t = time.perf_counter()
    cpus = max(2, args.ray_workers)
    ray.init(num_cpus=cpus, include_dashboard=False, log_to_driver=False,
             logging_level=logging.ERROR)
    ray_start = time.perf_counter() - t
    address = ray.get_runtime_context().gcs_address
    server, port = start_loopback(args.turns, args.delay)
    env = {**os.environ, "OPENAI_BASE_URL": f"http://127.0.0.1:{port}/v1",
           "OPENAI_API_KEY": "sk-loopback"}
    rows = []
    try:
        with tempfile.TemporaryDirectory() as tmp:
            data = Path(tmp) / "tasks.jsonl"
            write_tasks(data, args.episodes)
            common = ["collect", "math", "--teacher", "openai:bench", "--data", str(data),
                      "--out", tmp, "--concurrency", str(args.concurrency), "--no-cache",
                      "--max-turns", str(args.turns + 1)]
            ray_args = ["--executor", "ray", "--ray-address", address]
            for name, extra in (
                ("local", []),
                ("ray, 1 worker (default: one per node)", ray_args),
                (f"ray, {args.ray_workers} workers", [*ray_args, "--ray-workers",
                                                      str(args.ray_workers)]),
            ):
                run = f"run{len(rows)}"
                wall, rss = run_collect([*common, "--run", run, *extra], env)
                episodes, phase, steady = rates(Path(tmp) / "runs" / run)
                assert episodes == args.episodes
                rows.append((name, wall, phase, steady, rss))
    finally:
        server.terminate()
        server.wait()
        ray.shutdown()

    local = rows[0]
    lines = [
        f"{args.episodes} episodes x {args.turns + 1} turns, teacher latency {args.delay * 1e3:.0f} ms "
        f"per call, --concurrency {args.concurrency}, Ray: a local {cpus}-CPU "
        f"instance (started in {ray_start:.1f} s, not counted)",
        "",
        "| executor | wall (whole command) | episodes/s, collection phase | episodes/s, steady "
        "state | driver peak RSS |",
        "|---|---|---|---|---|",
    ]
    for name, wall, phase, steady, rss in rows:
        ratio = f" ({steady / local[3]:.2f}x local)" if name != "local" else ""
        lines.append(f"| {name} | {wall:.1f} s | {phase:.1f} | {steady:.1f}{ratio} | {rss:.0f} MB |")
    table = "\n".join(lines)
    print(table)
    results = ROOT / "benchmarks" / "results"
    results.mkdir(exist_ok=True)
    (results / "executor_compare.md").write_text(table + "\n")


if __name__ == "__main__":
    main()
