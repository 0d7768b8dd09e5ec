"""Benchmarks for the spine (``make bench``): sandbox latency, worker start, loop throughput.

Every figure is reported next to a baseline measured in the same run, so ratios survive a
slower or busier machine:

* trivial cell round trip in a persistent sandbox vs. a fresh ``python -c`` per cell;
* isolated worker start vs. a bare ``python -c pass`` start;
* turns/s of the whole collect pipeline (runner → loop → real OpenAI SDK → loopback server
  → isolated sandbox → math-verify judge → JSONL) at concurrency 1, 16 and 64, against a
  zero-latency loopback teacher running in its own process.

Writes a Markdown table to stdout and ``benchmarks/results/latest.md``.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from rich.console import Console

from trajkit.collect.config import CollectConfig
from trajkit.collect.loop import LoopConfig
from trajkit.collect.runner import collect
from trajkit.collect.sandbox.local import LocalSandbox
from trajkit.sources.base import LoadOptions

ROOT = Path(__file__).resolve().parent.parent
LOOPBACK = ROOT / "tests" / "fixtures" / "loopback_teacher.py"


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


async def bench_cells(n: int) -> tuple[float, float]:
    async with LocalSandbox() as box:
        for _ in range(20):
            await box.run("1", timeout=10)
        times = []
        for _ in range(n):
            t = time.perf_counter()
            await box.run("x = 1\nx + 1", timeout=10)
            times.append(time.perf_counter() - t)
    return pct(times, 0.5), pct(times, 0.99)


def bench_fresh_process(n: int) -> float:
    times = []
    for _ in range(n):
        t = time.perf_counter()
        subprocess.run([sys.executable, "-c", "x = 1\nprint(x + 1)"], capture_output=True, check=True)
        times.append(time.perf_counter() - t)
    return pct(times, 0.5)


async def bench_start(n: int) -> tuple[float, float]:
    times = []
    for _ in range(n):
        box = LocalSandbox()
        t = time.perf_counter()
        await box.start()
        times.append(time.perf_counter() - t)
        await box.close()
    return pct(times, 0.5), pct(times, 0.9)


def bench_bare_start(n: int) -> float:
    times = []
    for _ in range(n):
        t = time.perf_counter()
        subprocess.run([sys.executable, "-I", "-c", "pass"], check=True)
        times.append(time.perf_counter() - t)
    return pct(times, 0.5)


def start_loopback(turns: int) -> tuple[subprocess.Popen, int]:
    proc = subprocess.Popen(
        [sys.executable, str(LOOPBACK), "--port", "0", "--policy", "trivial", "--turns", str(turns)],
        stdout=subprocess.PIPE,
        text=True,
    )
    assert proc.stdout is not None
    port = int(proc.stdout.readline())
    return proc, port


def write_tasks(path: Path, n: int) -> None:
    with path.open("w") as fh:
        for i in range(n):
            fh.write(json.dumps({
                "problem": f"Benchmark problem {i}: what is 1+1?",
                "solution": "$\\boxed{2}$", "level": "Level 1", "type": "Algebra",
                "unique_id": f"bench/{i}",
            }) + "\n")


async def bench_throughput(concurrency: int, episodes: int, turns: int, port: int, tmp: Path) -> tuple[float, float]:
    data = tmp / f"tasks-{concurrency}.jsonl"
    write_tasks(data, episodes)
    os.environ["OPENAI_BASE_URL"] = f"http://127.0.0.1:{port}/v1"
    os.environ["OPENAI_API_KEY"] = "sk-loopback"
    config = CollectConfig(
        source="math", teacher="openai:bench", load=LoadOptions(data=str(data)),
        out=tmp / "out", run=f"bench-c{concurrency}", concurrency=concurrency,
        loop=LoopConfig(max_turns=turns + 1),
    )
    t = time.perf_counter()
    result = await collect(config, Console(file=open(os.devnull, "w")))
    elapsed = time.perf_counter() - t
    steps = result.manifest.usage.calls
    assert result.manifest.counts.succeeded == episodes, result.manifest.counts
    return steps / elapsed, episodes / elapsed


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="fewer repetitions")
    args = ap.parse_args()
    reps = 50 if args.quick else 300
    rows: list[tuple[str, str, str, str]] = []

    cell_p50, cell_p99 = asyncio.run(bench_cells(reps * 4))
    fresh = bench_fresh_process(max(reps // 5, 10))
    rows.append(("trivial cell round trip, p50 (p99)", f"{cell_p50 * 1e3:.2f} ms ({cell_p99 * 1e3:.2f} ms)",
                 f"fresh `python -c` per cell: {fresh * 1e3:.1f} ms", f"{fresh / cell_p50:.0f}x faster"))

    start_p50, start_p90 = asyncio.run(bench_start(max(reps // 5, 10)))
    bare = bench_bare_start(max(reps // 5, 10))
    rows.append(("isolated worker start, p50 (p90)", f"{start_p50 * 1e3:.0f} ms ({start_p90 * 1e3:.0f} ms)",
                 f"bare `python -I -c pass`: {bare * 1e3:.0f} ms", f"{start_p50 / bare:.2f}x the time"))

    turns = 4  # 4 executes + 1 solution = 5 turns, the default budget
    server, port = start_loopback(turns)
    try:
        with tempfile.TemporaryDirectory() as tmp:
            base = None
            for conc in (1, 16, 64):
                episodes = {1: 20, 16: 120, 64: 320}[conc] // (4 if args.quick else 1)
                tps, eps = asyncio.run(bench_throughput(conc, episodes, turns, port, Path(tmp)))
                base = base or tps
                rows.append((f"collect throughput, concurrency {conc}", f"{tps:.0f} turns/s ({eps:.1f} episodes/s)",
                             "concurrency 1 (same run)", f"{tps / base:.1f}x"))
    finally:
        server.terminate()
        server.wait()

    lines = ["| measure | result | baseline (same run) | ratio |", "|---|---|---|---|"]
    lines += [f"| {a} | {b} | {c} | {d} |" for a, b, c, d in rows]
    table = "\n".join(lines)
    print(table)
    results = ROOT / "benchmarks" / "results"
    results.mkdir(exist_ok=True)
    (results / "latest.md").write_text(table + "\n")


if __name__ == "__main__":
    main()
