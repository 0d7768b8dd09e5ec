"""APPS grading throughput: test cases judged per second, sandbox judge vs a naive baseline.

Run: ``.venv/bin/python -m benchmarks.apps_grading [--rounds N]``. Both sides grade the
reference solution of every bundled sample problem (stdin and call-based), ``--rounds``
times, with the same host-side comparison:

* **sandbox judge**: ``AppsJudge`` as the collector uses it: a fresh isolated sandbox per
  judged solution, the program forked per test inside it, outputs compared on the host;
  sequentially, and with several judgements in flight;
* **baseline**: a fresh ``python`` process per test case on the host (``subprocess.run``
  with the input on stdin, or a tiny driver calling the function), unsandboxed, sequential.

A second workload, one problem with 200 trivial tests, isolates the per-test grading
overhead (the samples include a test that takes ~0.3 s of CPU in any grader).

Prints a Markdown table; the ratio is against the baseline measured in the same run.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from trajkit.collect.sandbox.config import SandboxConfig
from trajkit.collect.sandbox.local import LocalSandbox
from trajkit.schemas import Task
from trajkit.sources.apps import SAMPLE_PATH, AppsJudge, AppsSource, compare_stdout, compare_value
from trajkit.sources.base import LoadOptions

CALL_DRIVER = """
import json, sys
ns = {"__name__": "__main__"}
exec(compile(open(sys.argv[1]).read(), sys.argv[1], "exec"), ns)
cls, fn = sys.argv[2], sys.argv[3]
target = getattr(ns[cls](), fn) if cls else ns[fn]
args = json.loads(sys.stdin.read())
print(json.dumps(target(*args)))
"""


def workload() -> list[tuple[Task, str]]:
    """Every sample problem with its reference solution."""
    solutions = {
        json.loads(line)["problem_id"]: json.loads(json.loads(line)["solutions"])[0]
        for line in SAMPLE_PATH.read_text().splitlines()
    }
    return [(t, solutions[t.metadata["problem_id"]]) for t in AppsSource().load(LoadOptions())]


def trivial_workload(n: int = 200) -> list[tuple[Task, str]]:
    """One stdin problem with ``n`` tiny tests: what grading itself costs per test."""
    task = Task(source="apps", task_id="apps/bench-echo", prompt="", reference={
        "mode": "stdin", "fn_name": None, "class_name": None, "examples": [],
        "inputs": [f"{i}\n" for i in range(n)], "outputs": [f"{i + 1}\n" for i in range(n)],
    })
    return [(task, "print(int(input()) + 1)\n")]


def tests_in(work: list[tuple[Task, str]]) -> int:
    return sum(len(task.reference["inputs"]) for task, _ in work)


async def bench_judge(work: list[tuple[Task, str]], rounds: int, in_flight: int) -> tuple[float, list[float]]:
    """Seconds to judge ``rounds`` × ``work`` with ``in_flight`` judgements at a time."""
    judge = AppsJudge(lambda tools: LocalSandbox(SandboxConfig(), tools))
    jobs = [item for _ in range(rounds) for item in work]
    gate = asyncio.Semaphore(in_flight)
    latencies: list[float] = []

    async def one(task: Task, program: str) -> None:
        async with gate:
            t = time.perf_counter()
            verdict = await judge.judge(task.reference, program)
            latencies.append(time.perf_counter() - t)
            assert verdict.success, (task.task_id, verdict.details)

    await one(*work[0])  # warm the fork server and imports
    latencies.clear()
    started = time.perf_counter()
    await asyncio.gather(*(one(task, program) for task, program in jobs))
    elapsed = time.perf_counter() - started
    await judge.aclose()
    return elapsed, latencies


def bench_baseline(work: list[tuple[Task, str]], rounds: int) -> float:
    """Seconds to grade the same tests with a fresh interpreter per test case."""
    with tempfile.TemporaryDirectory() as tmp:
        files = []
        for i, (_, program) in enumerate(work):
            path = Path(tmp) / f"solution_{i}.py"
            path.write_text(program)
            files.append(path)
        driver = Path(tmp) / "driver.py"
        driver.write_text(CALL_DRIVER)
        started = time.perf_counter()
        for _ in range(rounds):
            for (task, _), path in zip(work, files, strict=True):
                ref = task.reference
                for test_input, expected in zip(ref["inputs"], ref["outputs"], strict=True):
                    if ref["mode"] == "stdin":
                        proc = subprocess.run([sys.executable, str(path)], input=test_input,
                                              capture_output=True, text=True, timeout=4)
                        ok = compare_stdout(proc.stdout, expected)
                    else:
                        argv = [sys.executable, str(driver), str(path), ref["class_name"] or "", ref["fn_name"]]
                        proc = subprocess.run(argv, input=json.dumps(test_input),
                                              capture_output=True, text=True, timeout=4)
                        ok = compare_value(json.loads(proc.stdout), expected)
                    assert ok, (task.task_id, proc.stderr)
        return time.perf_counter() - started


def report(title: str, work: list[tuple[Task, str]], rounds: int, in_flight: int) -> None:
    n_tests = tests_in(work) * rounds
    base_s = bench_baseline(work, rounds)
    seq_s, seq_lat = asyncio.run(bench_judge(work, rounds, 1))
    par_s, _ = asyncio.run(bench_judge(work, rounds, in_flight))
    base_rate = n_tests / base_s
    print(f"\n{title}: {len(work) * rounds} solutions, {n_tests} test cases\n")
    print("| grader | test cases/s | wall time | ratio vs baseline |")
    print("|---|---|---|---|")
    print(f"| baseline: fresh `python` per test case (unsandboxed) | {base_rate:.0f} | {base_s:.2f} s | 1.0x |")
    for label, seconds in (("sandbox judge, 1 in flight", seq_s), (f"sandbox judge, {in_flight} in flight", par_s)):
        rate = n_tests / seconds
        print(f"| {label} | {rate:.0f} | {seconds:.2f} s | {rate / base_rate:.1f}x |")
    print(f"\nPer judged solution (sandbox start, harness, every test), 1 in flight: "
          f"p50 {statistics.median(seq_lat) * 1000:.0f} ms, max {max(seq_lat) * 1000:.0f} ms.")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5, help="passes over the sample problems")
    parser.add_argument("--in-flight", type=int, default=4, help="concurrent judgements")
    args = parser.parse_args()
    print(f"# APPS grading throughput (Python {sys.version.split()[0]})")
    work = workload()
    report(f"Sample problems ({len(work)} x {args.rounds} rounds)", work, args.rounds, args.in_flight)
    report("Grading overhead (200 trivial tests)", trivial_workload(), 2, 2)


if __name__ == "__main__":
    main()
