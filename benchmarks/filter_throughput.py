"""Filter throughput: ``build_version`` over a generated 100k-trajectory run, per core.

Run: ``.venv/bin/python -m benchmarks.filter_throughput [--records N] [--keep-files]``.
Not part of the tests (it writes ~1 GB to a temp directory and takes minutes).

The run is realistic in shape and size: three sources, 1-6 turns, errors and recoveries,
observations up to 2,000 characters (the loop's cap), ~10 KB per JSON line; 5 % of records are
exact copies and 5 % near copies (a few words changed) of earlier ones, as re-collected tasks
produce. Measured in the same process, one core each:

- baseline: read each line, ``json.loads`` it, write the line (no validation, no filter);
  it and the default chain run twice, alternating, and each keeps its faster round;
- default chain (success, self-correct) through ``build_version`` (snapshot hash, validation,
  chain, canonical JSON, sha256, fsync);
- default chain + ``dedup near:0.85`` (one extra read for the prepare pass).

Prints a Markdown table: trajectories/s, MB/s and the ratio to the baseline's speed.
"""

from __future__ import annotations

import argparse
import json
import random
import resource
import shutil
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from trajkit.dataset.version import build_version
from trajkit.filters.chain import FilterChain
from trajkit.filters.dedup import DedupFilter
from trajkit.filters.presets import default_units
from trajkit.schemas import Trajectory

SOURCES = ("math", "hotpotqa", "apps")
WORDS = (
    "compute value function list result check answer number sum total print return index "
    "range count string first second final loop error test case input output problem"
).split()
SYSTEM = "You are a helpful assistant that solves tasks with Python. " * 25  # ~1.5 KB


def _words(rng: random.Random, n: int) -> str:
    return " ".join(rng.choice(WORDS) for _ in range(n))


def _step(rng: random.Random, index: int, kind: str) -> dict[str, Any]:
    usage = {"input_tokens": 900 + 300 * index, "output_tokens": 120, "calls": 1}
    if kind == "solve" or kind == "wrong":
        answer = str(rng.randint(1, 10_000))
        return {"index": index, "assistant": f"The answer is ready.\n<solution>{answer}</solution>",
                "action": {"kind": "solution", "content": answer},
                "observation": {"text": "Correct!" if kind == "solve" else "Your answer is wrong."},
                "verdict": {"success": kind == "solve", "score": float(kind == "solve"), "details": {}},
                "usage": usage, "teacher_latency_s": 1.5}
    code = "\n".join(f"x{i} = {rng.randint(0, 999)}  # {_words(rng, 6)}" for i in range(rng.randint(4, 14)))
    error = None
    text = _words(rng, rng.randint(20, 330))
    if kind == "error":
        error = {"kind": "exception", "type": "ValueError", "message": _words(rng, 8)}
        text = "Traceback (most recent call last):\n" + text
    return {"index": index, "assistant": f"{_words(rng, rng.randint(15, 60))}\n<execute>\n{code}\n</execute>",
            "action": {"kind": "execute", "content": code},
            "observation": {"text": text, "error": error, "duration_s": 0.01, "truncated_chars": 0},
            "usage": usage, "teacher_latency_s": 1.2}


def make_record(rng: random.Random, n: int) -> dict[str, Any]:
    source = SOURCES[n % 3]
    turns = rng.randint(1, 6)
    kinds = [rng.choice(["ok", "ok", "error"]) for _ in range(turns - 1)]
    kinds.append("solve" if rng.random() < 0.6 else "wrong")
    steps = [_step(rng, i, k) for i, k in enumerate(kinds)]
    prompt = f"Task {n}: {_words(rng, rng.randint(40, 300))}"
    messages = [{"role": "system", "content": SYSTEM}, {"role": "user", "content": prompt}]
    for s in steps:
        messages.append({"role": "assistant", "content": s["assistant"]})
        if s is not steps[-1]:
            messages.append({"role": "user", "content": f"Observation: {s['observation']['text']}"})
    success = kinds[-1] == "solve"
    return {
        "schema_version": "1.0", "id": f"bench/{n}", "run": "bench", "source": source,
        "task_id": f"{source}-{n}",
        "task": {"source": source, "task_id": f"{source}-{n}", "prompt": prompt, "reference": "42",
                 "metadata": {"level": f"Level {n % 5 + 1}"}},
        "teacher": {"provider": "openai", "model": "gpt-4o-mini", "params": {"temperature": 0.0}},
        "sandbox": "local", "messages": messages, "steps": steps, "success": success,
        "score": float(success), "score_details": {}, "answer": steps[-1]["action"]["content"],
        "self_corrected": False, "termination": "solved" if success else "max_turns",
        "usage": {"input_tokens": 5000, "output_tokens": 600, "calls": turns},
        "timing": {"started_at": "2024-01-01T00:00:00Z", "finished_at": "2024-01-01T00:00:09Z",
                   "duration_s": 9.0, "teacher_s": 7.0, "sandbox_s": 1.0},
        "toolkit_version": "0.1.0",
    }


def generate(path: Path, records: int, seed: int = 0) -> None:
    """Write the run: 90 % fresh records, 5 % exact and 5 % near copies of earlier ones."""
    rng = random.Random(seed)
    kept: list[dict[str, Any]] = []
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w", encoding="utf-8") as fh:
        for n in range(records):
            roll = rng.random()
            if kept and roll < 0.10:
                rec = json.loads(json.dumps(rng.choice(kept)))
                rec["id"] = f"bench/{n}"
                if roll < 0.05:  # near copy: change a few words of one assistant turn
                    msg = rec["messages"][2]
                    msg["content"] = msg["content"].replace("value", "amount", 2) + " ok"
            else:
                rec = make_record(rng, n)
                if len(kept) < 2000:
                    kept.append(rec)
            fh.write(json.dumps(rec) + "\n")
    with open(path, encoding="utf-8") as fh:
        Trajectory.model_validate_json(fh.readline())  # the generator writes valid records


def baseline(src: Path, dst: Path) -> int:
    """Read, ``json.loads`` and write back each line: the floor any filter pays."""
    n = 0
    with open(src, "rb") as inp, open(dst, "wb") as out:
        for line in inp:
            json.loads(line)
            out.write(line)
            n += 1
    return n


def _rss() -> str:
    """Peak resident memory of this process so far (rows run in order, so a row's growth over
    the previous row's is what it needed: streaming chains stay flat, near-dedup adds its
    signatures and LSH tables)."""
    return f"peak RSS {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MB"


def timed(fn: Callable[[], Any]) -> tuple[float, float]:
    """(wall seconds, CPU seconds of this process) for one call."""
    wall, cpu = time.perf_counter(), time.process_time()
    fn()
    return time.perf_counter() - wall, time.process_time() - cpu


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, default=100_000)
    parser.add_argument("--keep-files", action="store_true")
    parser.add_argument("--rounds", type=int, default=2, choices=(1, 2),
                        help="rounds of baseline and default chain (the faster of each is kept)")
    args = parser.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="trajkit-filter-bench-"))
    try:
        run = tmp / "runs" / "bench" / "trajectories.jsonl"
        gen_s, _ = timed(lambda: generate(run, args.records))
        size_mb = run.stat().st_size / 1e6
        print(f"generated {args.records} trajectories, {size_mb:.0f} MB, in {gen_s:.1f} s\n")
        baseline(run, tmp / "warm.jsonl")  # warm the page cache so every measure reads from memory
        (tmp / "warm.jsonl").unlink()

        def copy() -> None:
            baseline(run, tmp / "copy.jsonl")
            (tmp / "copy.jsonl").unlink()

        chains = {
            "default chain (success, self-correct)": lambda: FilterChain(default_units()),
            "default chain + dedup near:0.85": lambda: FilterChain(
                [*default_units(), DedupFilter(mode="near", threshold=0.85)]),
        }
        measures: dict[str, list[tuple[float, float, str]]] = {}
        # Baseline and default chain alternate, twice each, and each keeps its faster round:
        # a 1-2 GB copy's kernel time varies from round to round, and a single slow baseline
        # round would flatter the ratio. Near-dedup (minutes) runs once.
        order = ["baseline", *chains] if args.rounds < 2 else [
            "baseline", *list(chains)[:1], "baseline", *list(chains)[:1], *list(chains)[1:]]
        for label in order:
            if label == "baseline":
                wall, cpu = timed(copy)
                measures.setdefault("baseline: json.loads + write", []).append((wall, cpu, _rss()))
                continue
            got: dict[str, Any] = {}
            name = f"bench{sum(map(len, measures.values()))}"

            def build(make: Callable[[], FilterChain] = chains[label], name: str = name,
                      got: dict = got) -> None:
                got["result"] = build_version([run.parent], name, tmp / "out", make())

            wall, cpu = timed(build)
            measures.setdefault(label, []).append(
                (wall, cpu, f"{got['result'].manifest.records} kept; {_rss()}"))
        rows = [(label, *min(runs, key=lambda r: r[1])) for label, runs in measures.items()]
        _, base_wall, base_cpu, _ = rows[0]
        print("Rates per CPU-second of the one process (= per core); wall-clock ratio alongside.\n")
        print("| pipeline | trajectories/s | MB/s | vs baseline (CPU) | vs baseline (wall) | note |")
        print("|---|---|---|---|---|---|")
        for label, wall, cpu, note in rows:
            print(f"| {label} | {args.records / cpu:,.0f} | {size_mb / cpu:.1f} | "
                  f"{base_cpu / cpu:.0%} | {base_wall / wall:.0%} | {note} |")
    finally:
        if args.keep_files:
            print(f"\nfiles kept in {tmp}")
        else:
            shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
