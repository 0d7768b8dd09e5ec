"""Sandbox backends side by side (``python -m benchmarks.sandbox_latency [--quick]``).

Same run, same machine, same trivial cell (``x = 1`` / ``x + 1``):

* round trip p50/p99 for the local sandbox, the docker sandbox over its attached stream, and
  the naive docker alternative, one ``docker exec`` per cell into the same container;
* episode acquisition (``start()`` until the worker is ready, tools sent) for a docker cold
  start vs. a warm pool, each container used once.

Needs the engine and the image (``trajkit sandbox build``). Writes a Markdown table to
stdout and ``benchmarks/results/sandbox.md``.
"""

from __future__ import annotations

import argparse
import asyncio
import time
from pathlib import Path

from trajkit.collect.sandbox.config import SandboxConfig
from trajkit.collect.sandbox.docker_engine import engine_for
from trajkit.collect.sandbox.docker_sandbox import DockerSandbox
from trajkit.collect.sandbox.local import LocalSandbox

ROOT = Path(__file__).resolve().parent.parent
CELL = "x = 1\nx + 1"


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def ms(values: list[float]) -> str:
    return f"{pct(values, 0.5) * 1e3:.2f} ms ({pct(values, 0.99) * 1e3:.2f} ms)"


async def round_trips(box: LocalSandbox | DockerSandbox, n: int) -> list[float]:
    for _ in range(20):
        await box.run(CELL, timeout=10)
    times = []
    for _ in range(n):
        t = time.perf_counter()
        r = await box.run(CELL, timeout=10)
        times.append(time.perf_counter() - t)
        assert r.output == "2\n", r.output
    return times


async def exec_per_cell(box: DockerSandbox, n: int) -> list[float]:
    """One ``docker exec python3 -c CELL`` per cell into the episode's running container."""
    assert box._engine is not None and box._proc is not None
    container = box._engine.client.containers.get(box._proc.id)
    code = "x = 1\nprint(x + 1)"
    times = []
    for _ in range(n):
        t = time.perf_counter()
        result = await asyncio.to_thread(container.exec_run, ["python3", "-I", "-c", code])
        times.append(time.perf_counter() - t)
        assert result.output == b"2\n", result.output
    return times


async def acquisitions(config: SandboxConfig, n: int) -> list[float]:
    """``start()`` times; with a pool, wait until it is refilled so each start is warm."""
    engine = await asyncio.to_thread(engine_for, config)
    times = []
    for _ in range(n):
        while config.pool and engine.warm() < config.pool:
            await asyncio.sleep(0.05)
        box = DockerSandbox(config)
        t = time.perf_counter()
        await box.start()
        times.append(time.perf_counter() - t)
        assert box.warm == bool(config.pool)
        await box.close()
    return times


async def measure(reps: int) -> list[tuple[str, str, str]]:
    rows = []
    async with LocalSandbox() as box:
        local = await round_trips(box, reps)
    async with DockerSandbox(SandboxConfig(label="bench")) as dbox:
        attached = await round_trips(dbox, reps)
        execs = await exec_per_cell(dbox, max(reps // 10, 20))
    rows.append(("trivial cell round trip, local", ms(local), "target: -"))
    rows.append(("trivial cell round trip, docker attached", ms(attached), "target: p50 ≤ 3 ms"))
    rows.append(("trivial cell round trip, `docker exec` per cell", ms(execs),
                 f"attached is {pct(execs, 0.5) / pct(attached, 0.5):.0f}x faster"))
    n = max(reps // 20, 10)
    cold = await acquisitions(SandboxConfig(label="bench-cold"), n)
    warm = await acquisitions(SandboxConfig(label="bench-warm", pool=2), n)
    rows.append(("episode acquisition, docker cold start", ms(cold), "target: -"))
    rows.append(("episode acquisition, docker warm pool (2)", ms(warm),
                 f"target: p50 ≤ 50 ms; {pct(cold, 0.5) / pct(warm, 0.5):.0f}x faster than cold"))
    return rows


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="fewer repetitions")
    args = ap.parse_args()
    rows = asyncio.run(measure(200 if args.quick else 1000))
    lines = ["| measure | p50 (p99) | note |", "|---|---|---|"]
    lines += [f"| {a} | {b} | {c} |" for a, b, c in rows]
    table = "\n".join(lines)
    print(table)
    results = ROOT / "benchmarks" / "results"
    results.mkdir(exist_ok=True)
    (results / "sandbox.md").write_text(table + "\n")


if __name__ == "__main__":
    main()
