"""Kept trajectories per dollar: a cheap teacher sampled, then escalated, vs the strong one alone.

The real collector (``collect()``: runner → loop → real OpenAI SDK over HTTP → isolated
sandbox → numeric judge → JSONL, priced per record at each teacher's list price) plays the same
arithmetic tasks twice against the loopback teacher:

* **baseline**: the strong teacher (gpt-4o's list price), one attempt per task;
* **ladder**: the weak teacher (gpt-4o-mini's list price) with ``--samples 4 --until
  self-corrected``, then ``--escalate openai:gpt-4o`` (same samples and stop rule) for the tasks
  no weak attempt solved — the CodeAct collection's recipe.

What each "model" does comes from ``tests/fixtures/yield_policy.py``, a documented success
and error model, not from a real model: per episode the weak one runs code that fails half the
time (``p_error`` 0.5) and answers right 40 % of the time; the strong one errs 35 % of the time
and answers right 85 % of the time. An episode is kept by the default filters (a success that
self-corrects) with probability ``p_error · p_right``: 0.20 weak, 0.30 strong — so these are
the assumptions the ratio rests on, and a user should plug in their own teachers' rates
(``trajkit stats`` of a small pilot run reports them). Episodes are 2-3 turns; the strong and
weak episodes are the same length, so the price ratio (16.7x) is the cost ratio per episode.

Reported: episodes, kept, dollars, kept per dollar and dollars per kept for each arm, and the
ratio of kept per dollar (ladder / baseline).

    .venv/bin/python -m benchmarks.yield_per_dollar [--tasks 120] [--concurrency 16]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

from rich.console import Console

from trajkit.collect.options import CollectOptions
from trajkit.collect.runner import collect

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests" / "fixtures"))

from loopback_teacher import LoopbackServer  # noqa: E402
from yield_policy import YieldPolicy, arithmetic_tasks  # noqa: E402

WEAK, STRONG = "gpt-4o-mini", "gpt-4o"
PROFILES = {WEAK: (0.5, 0.4), STRONG: (0.35, 0.85)}


@dataclass
class Arm:
    name: str
    episodes: int
    kept: int
    cost: float

    @property
    def kept_per_dollar(self) -> float:
        return self.kept / self.cost if self.cost else 0.0

    @property
    def cost_per_kept(self) -> float:
        return self.cost / self.kept if self.kept else float("inf")


async def play(name: str, data: Path, out: Path, concurrency: int, **flags: object) -> Arm:
    config = CollectOptions(
        source="tasks", data=str(data), out=out / name, run=name,  # own response cache concurrency=concurrency,
        source_opt={"id": "id", "judge": "numeric"}, temperature=0.7, max_turns=4,
        **flags,  # type: ignore[arg-type]
    ).resolve()
    result = await collect(config, Console(stderr=True, quiet=True))
    records = list(result.records())
    return Arm(
        name, len(records), sum(r.self_corrected for r in records),
        sum(r.cost_usd or 0.0 for r in records),
    )


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--tasks", type=int, default=120)
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp, LoopbackServer(
        policy=YieldPolicy(PROFILES, seed=args.seed)
    ) as server:
        import os

        os.environ.update(server.env())
        data = Path(tmp) / "sums.jsonl"
        data.write_text("".join(json.dumps(r) + "\n" for r in arithmetic_tasks(args.tasks, args.seed)))
        out = Path(tmp) / "out"
        baseline = asyncio.run(play("strong", data, out, args.concurrency, teacher=f"openai:{STRONG}"))
        ladder = asyncio.run(play(
            "ladder", data, out, args.concurrency, teacher=f"openai:{WEAK}",
            samples=4, until="self-corrected", escalate=[f"openai:{STRONG}"],
        ))
    ratio = ladder.kept_per_dollar / baseline.kept_per_dollar if baseline.kept_per_dollar else 0.0
    lines = [
        f"Kept trajectories per dollar, {args.tasks} tasks (same run; loopback teacher, "
        "success/error model in the docstring)",
        "",
        "| arm | episodes | kept | cost | kept per $ | $ per kept |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    for arm, label in ((baseline, f"{STRONG} alone, 1 attempt"),
                       (ladder, f"{WEAK} x4 until self-corrected, then {STRONG}")):
        lines.append(
            f"| {label} | {arm.episodes} | {arm.kept} | ${arm.cost:.4f} | "
            f"{arm.kept_per_dollar:,.0f} | ${arm.cost_per_kept:.5f} |"
        )
    lines += ["", f"kept per dollar, ladder / baseline: **{ratio:.2f}x**"]
    table = "\n".join(lines)
    print(table)
    results = ROOT / "benchmarks" / "results"
    results.mkdir(exist_ok=True)
    (results / "yield.md").write_text(table + "\n")


if __name__ == "__main__":
    main()
