"""Scale benchmark (issue 7): many episodes against a slow, faulty teacher.

``python -m benchmarks.scale [--episodes 2000] [--concurrency 64 256]``

A loopback teacher in its own process answers every request after a lognormal delay (median
1.5 s, sigma 0.5, like a real provider's long tail) and answers 5 % of requests with a
transient fault (429, 500, 503 or a dropped connection) that the SDK retries: 429 and 503
at once, like a provider's rate limiter and overload shedding, 500 and dropped connections
after the latency, like a failure mid-generation. Each episode
is two turns (a code cell, then the answer) in an isolated local sandbox, so the run does
real sandbox and judge work too. Reported, per concurrency:

* wall time vs the ideal ``episodes × turns × mean latency ÷ concurrency`` (the mean of the
  lognormal, ``median·e^(σ²/2)``; target: within 10 %), and vs the zero-overhead floor
  (``benchmarks/scheduler_floor.py``): the same workload simulated for a collector with no
  cost at all, which still pays the last wave's tail and the faults' back-off, so
  ``wall / floor`` is the collector's own overhead;
* how busy the machine's CPUs were during the run (all processes: collector, sandboxes,
  judges and the loopback teacher itself), which tells a scheduling gap from a CPU ceiling;
* memory per in-flight episode: the collector's proportional set size (PSS, so pages shared
  by forked sandbox workers are not counted once per worker) summed over its process tree
  (runner, fork server, workers), sampled every 0.5 s; peak minus the idle baseline measured
  before the run, divided by the concurrency (target: ≤ 30 MB).

``--waves W`` plays ``W × concurrency`` episodes at each concurrency instead of
``--episodes`` (a short run with the same shape at 64 and at 1,024). ``--executor ray
--ray-nodes 1 3`` runs Ray on a test cluster of that many nodes on this machine
(``benchmarks/ray_cluster.py``; its start-up is printed, not counted) instead of a local
instance started by the run; Ray rows also give the collection phase (first episode start
to last episode end, i.e. without the workers' start-up) against the floor, and the
episodes each node played.
"""

from __future__ import annotations

import argparse
import asyncio
import math
import os
import subprocess
import sys
import tempfile
import time
from datetime import datetime
from pathlib import Path
from typing import Any

from rich.console import Console

from benchmarks.ray_cluster import ray_cluster
from benchmarks.run_all import LOOPBACK, write_tasks
from benchmarks.scheduler_floor import floor_wall
from benchmarks.served_floor import served_floor
from trajkit.collect.config import CollectConfig
from trajkit.collect.loop import LoopConfig
from trajkit.collect.runner import collect
from trajkit.sources.base import LoadOptions

MEDIAN_S, SIGMA, FAULT_RATE, TURNS = 1.5, 0.5, 0.05, 2


def _children(pid: int) -> list[int]:
    try:
        with open(f"/proc/{pid}/task/{pid}/children") as fh:
            return [int(c) for c in fh.read().split()]
    except OSError:
        return []


def _tree(pid: int) -> list[int]:
    pids, todo = [], [pid]
    while todo:
        p = todo.pop()
        pids.append(p)
        todo.extend(_children(p))
    return pids


def _pss_kb(pid: int) -> int:
    try:
        with open(f"/proc/{pid}/smaps_rollup") as fh:
            for line in fh:
                if line.startswith("Pss:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


def cpu_jiffies() -> tuple[int, int]:
    """(busy, total) jiffies of the whole machine, from /proc/stat."""
    with open("/proc/stat") as fh:
        fields = [int(v) for v in fh.readline().split()[1:]]
    idle = fields[3] + fields[4]  # idle + iowait
    return sum(fields) - idle, sum(fields)


def tree_pss_mb() -> float:
    """PSS of this process and all its descendants (the fork server and the sandboxes)."""
    return sum(_pss_kb(p) for p in _tree(os.getpid())) / 1024


async def _sample(peak: list[float], stop: asyncio.Event) -> None:
    while not stop.is_set():
        peak[0] = max(peak[0], await asyncio.to_thread(tree_pss_mb))
        try:
            await asyncio.wait_for(stop.wait(), 0.5)
        except asyncio.TimeoutError:
            pass


async def run_once(
    concurrency: int, episodes: int, port: int, tmp: Path, executor: str = "local",
    fault_rate: float = FAULT_RATE, ray_address: str | None = None, label: str = "",
    served_log: Path | None = None,
) -> dict[str, Any]:
    data = tmp / f"tasks-{concurrency}.jsonl"
    write_tasks(data, episodes)
    config = CollectConfig(
        source="math", teacher="openai:bench", load=LoadOptions(data=str(data)),
        out=tmp / "out", run=f"scale-{executor}{label}-c{concurrency}", concurrency=concurrency,
        cache=False, executor=executor, ray_address=ray_address,
        loop=LoopConfig(max_turns=TURNS + 1), teacher_params={"max_retries": 8},
    )
    offset = served_log.stat().st_size if served_log is not None else 0
    baseline = tree_pss_mb()
    peak, stop = [baseline], asyncio.Event()
    sampler = asyncio.create_task(_sample(peak, stop))
    t, (busy0, total0), cpu0 = time.perf_counter(), cpu_jiffies(), time.process_time()
    result = await collect(config, Console(file=open(os.devnull, "w")))
    wall = time.perf_counter() - t
    busy1, total1 = cpu_jiffies()
    collector_cpu = (time.process_time() - cpu0) / wall
    stop.set()
    await sampler
    mean_latency = MEDIAN_S * math.exp(SIGMA**2 / 2)
    ideal = episodes * TURNS * mean_latency / concurrency
    floor = floor_wall(episodes, concurrency, TURNS, MEDIAN_S, SIGMA, fault_rate)
    same_run, seen = served_floor(served_log, offset, concurrency) if served_log else (0.0, 0)
    if served_log is not None and seen != episodes:
        raise SystemExit(f"the teacher's log shows {seen} episodes, not {episodes}")
    counts = result.manifest.counts
    starts, ends = zip(*((r.timing.started_at, r.timing.finished_at) for r in result.records()),
                       strict=True)
    phase = (datetime.fromisoformat(max(ends)) - datetime.fromisoformat(min(starts))).total_seconds()
    per_node = sorted((c.episodes for c in result.manifest.nodes.values()), reverse=True)
    return {
        "phase": phase, "per_node": per_node,
        "wall": wall, "ideal": ideal, "floor": floor, "same_run": same_run, "solved": counts.succeeded, "done": counts.done,
        "mb_per_episode": (peak[0] - baseline) / concurrency, "peak_mb": peak[0],
        "baseline_mb": baseline, "cpu_busy": (busy1 - busy0) / max(1, total1 - total0),
        "collector_cpu": collector_cpu,
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--episodes", type=int, default=2000)
    ap.add_argument("--waves", type=int, default=None,
                    help="play WAVES x concurrency episodes at each concurrency (not --episodes)")
    ap.add_argument("--concurrency", type=int, nargs="+", default=[64, 256])
    ap.add_argument("--fault-rate", type=float, default=FAULT_RATE)
    ap.add_argument("--executor", choices=("local", "ray"), nargs="+", default=["local"],
                    help="ray: workers are Ray's processes, so memory covers the driver only")
    ap.add_argument("--ray-nodes", type=int, nargs="+", default=None,
                    help="ray: on a test cluster of this many nodes (one row each), started first")
    args = ap.parse_args()
    served_dir = tempfile.TemporaryDirectory()
    served_log = Path(served_dir.name) / "served.jsonl"
    server = subprocess.Popen(
        [sys.executable, str(LOOPBACK), "--port", "0", "--policy", "trivial", "--turns", "1",
         "--latency-median", str(MEDIAN_S), "--latency-sigma", str(SIGMA),
         "--fault-rate", str(args.fault_rate), "--served-log", str(served_log)],
        stdout=subprocess.PIPE, text=True,
    )
    assert server.stdout is not None
    port = int(server.stdout.readline())
    os.environ["OPENAI_BASE_URL"] = f"http://127.0.0.1:{port}/v1"
    os.environ["OPENAI_API_KEY"] = "sk-loopback"
    rows, notes = [], []

    def sweep(executor: str, tmp: Path, name: str, address: str | None = None) -> None:
        for c in args.concurrency:
            episodes = args.waves * c if args.waves else args.episodes
            label = "".join(ch for ch in name if ch.isalnum())
            r = asyncio.run(run_once(c, episodes, port, tmp, executor, args.fault_rate,
                                     ray_address=address, label=label,
                                     served_log=served_log))
            rows.append((f"{executor}{name}, {c}", episodes, r))

    try:
        with tempfile.TemporaryDirectory() as tmp:
            for executor in args.executor:
                if executor != "ray" or not args.ray_nodes:
                    sweep(executor, Path(tmp), "")
                    continue
                for nodes in args.ray_nodes:
                    with ray_cluster(nodes) as (address, started_s):
                        notes.append(f"{nodes}-node test cluster started in {started_s:.1f} s")
                        sweep(executor, Path(tmp), f" {nodes} node(s)", address)
    finally:
        server.terminate()
        server.wait()
        served_dir.cleanup()
    size = f"{args.waves} x concurrency" if args.waves else f"{args.episodes}"
    print(f"\n{size} episodes x {TURNS} turns, lognormal latency (median {MEDIAN_S} s, "
          f"sigma {SIGMA}), {args.fault_rate:.0%} transient faults"
          + (f"; {'; '.join(notes)} (not counted)" if notes else "") + "\n")
    print("| executor, concurrency | episodes | wall time | ideal | wall / ideal | zero-overhead "
          "floor (floor / ideal) | wall / floor | collection phase / floor | same-run floor "
          "| wall / same-run floor | phase / same-run floor | solved "
          "| machine CPU busy | memory per in-flight episode (PSS) | episodes per node |")
    print("|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|")
    for c, episodes, r in rows:
        per_node = "/".join(str(n) for n in r["per_node"]) or "-"
        print(f"| {c} | {episodes} | {r['wall']:.1f} s | {r['ideal']:.1f} s "
              f"| {r['wall'] / r['ideal']:.2f} | {r['floor']:.1f} s ({r['floor'] / r['ideal']:.2f}) "
              f"| {r['wall'] / r['floor']:.2f} | {r['phase'] / r['floor']:.2f} "
              f"| {r['same_run']:.1f} s | {r['wall'] / r['same_run']:.2f} "
              f"| {r['phase'] / r['same_run']:.2f} "
              f"| {r['solved']:.0f}/{r['done']:.0f} | {r['cpu_busy']:.0%} (collector process "
              f"{r['collector_cpu']:.0%} of a core) | {r['mb_per_episode']:.1f} MB "
              f"(peak {r['peak_mb']:.0f} MB, idle {r['baseline_mb']:.0f} MB) | {per_node} |")


if __name__ == "__main__":
    main()
