"""Prompt caching: billed input per 5-turn episode with caching vs without, same run.

The real collector (``collect()``: runner → loop → real Anthropic/OpenAI SDK over HTTP →
isolated sandbox → math-verify judge → JSONL) plays MATH-style tasks against the loopback
teacher, whose server bills prompt caching the way each provider documents it
(``tests/fixtures/loopback_cache.py``): Anthropic caches at the request's breakpoints,
prefixes of at least 1,024 tokens, writes at 1.25x and reads at 0.1x the input price;
OpenAI caches prompts of at least 1,024 tokens automatically, in 128-token steps.

Every episode has 5 turns written like a CodeAct teacher's (a thought, ~10 lines of code, an
observation of a few lines; the second cell fails with a traceback and the third fixes it),
so the conversation grows by ~150 tokens a turn. Each setting runs the same tasks twice:

* Anthropic (claude-sonnet-4's list price): trajkit's breakpoints vs ``--no-prompt-cache``;
* OpenAI (gpt-4.1, gpt-4o and gpt-4o-mini list prices over one run's usage): the server's
  automatic caching on vs off.

Reported per episode: input tokens by how they were billed, the input bill in USD, and its
ratio to the uncached bill. How long the first request is (system prompt + task) decides
everything: below the minimum nothing is cached. ``--shots 0`` and ``--shots 1`` (the
source's in-context demonstration in the system prompt) are both measured.

    .venv/bin/python -m benchmarks.prompt_cache [--episodes 24] [--concurrency 4]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
import tempfile
import time
from pathlib import Path

from rich.console import Console

from trajkit.collect.config import CollectConfig
from trajkit.collect.loop import LoopConfig
from trajkit.collect.pricing import cost_parts, price_for
from trajkit.collect.runner import collect
from trajkit.schemas import Trajectory, Usage
from trajkit.sources.base import LoadOptions

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests" / "fixtures"))

from loopback_teacher import LoopbackServer  # noqa: E402

TURNS = 5
ANTHROPIC_MODEL = "claude-sonnet-4"
OPENAI_MODELS = ("gpt-4.1", "gpt-4o", "gpt-4o-mini")


#: A thought of ~100 tokens that opens each turn (teachers explain before they code).
THOUGHT = (
    "I will work through this carefully: first restate what is given, then compute the "
    "intermediate quantities one at a time, printing each of them so that any mistake shows "
    "up in the output instead of hiding in the final number. If a cell fails I will read the "
    "traceback, fix the one thing it points at, and run the computation again before I answer."
)
#: ~40 tokens of code that prints ~80 tokens of output, as the source's typical turn does.
PRINTS = (
    "for k in range(1, 7):\n"
    "    print(f'step {k}: partial value {k * base} and running check {k * base + k}')\n"
)


def codeact_policy(messages: list[dict[str, str]]) -> str:
    """Five CodeAct turns of MATH's typical size (~250 tokens written, ~80 observed each):
    explore, err (a NameError), fix, check, answer."""
    turn = sum(m["role"] == "assistant" for m in messages)
    task = int(messages[1]["content"].split("[T")[-1].split("]")[0])
    head = f"{THOUGHT} (turn {turn + 1})\n<execute>\nbase = {task}\n{PRINTS}"
    if turn == 0:
        return head + "print('first term:', base)\n</execute>"
    if turn == 1:
        return head + "print('second term:', answer)\n</execute>"
    if turn == 2:
        return head + "answer = base + 1\nprint('second term:', answer)\n</execute>"
    if turn == 3:
        return head + "assert answer == base + 1\nprint('checked', answer)\n</execute>"
    return f"The checks agree, so the answer is <solution>{task + 1}</solution>"


def write_tasks(path: Path, n: int, pad_words: int = 0) -> None:
    """MATH-format tasks of a typical length (~70 tokens of problem text), or longer by
    ``pad_words`` words of given data (APPS-like problem statements run to ~1,000 tokens)."""
    data = " Given data: " + " ".join(f"v{k}={k % 97}" for k in range(pad_words)) if pad_words else ""
    with path.open("w") as fh:
        for i in range(n):
            problem = (
                f"A sequence starts at {i} and each term is one more than the previous one. "
                "Compute the second term of the sequence, showing each step of the computation "
                f"and checking the arithmetic before giving the final answer. [T{i}]{data}"
            )
            fh.write(json.dumps({
                "problem": problem, "solution": f"$\\boxed{{{i + 1}}}$", "level": "Level 1",
                "type": "Algebra", "unique_id": f"bench/{i}",
            }) + "\n")


#: (label, --shots, words of data padding each task)
SETTINGS = (
    ("MATH-length task, --shots 1", 1, 0),
    ("MATH-length task, --shots 0", 0, 0),
    ("~1,000-token task, --shots 1", 1, 550),
)


async def play(server: LoopbackServer, tmp: Path, teacher: str, run: str, *, shots: int,
               pad: int, prompt_cache: bool, episodes: int, concurrency: int) -> list[Trajectory]:
    data = tmp / f"tasks-{pad}.jsonl"
    write_tasks(data, episodes, pad)
    config = CollectConfig(
        source="math", teacher=teacher, load=LoadOptions(data=str(data)), out=tmp / "out",
        run=run, concurrency=concurrency, cache=False, prompt_cache=prompt_cache,
        loop=LoopConfig(max_turns=TURNS, shots=shots),
    )
    with open(os.devnull, "w") as sink:
        result = await collect(config, Console(file=sink))
    records = list(result.records())
    turns = {len(r.steps) for r in records}
    assert result.exit_code == 0 and turns == {TURNS}, (result.manifest.counts, turns)
    return records


def usage_of(records: list[Trajectory]) -> Usage:
    return sum((r.usage for r in records), Usage())


def first_request_tokens(server: LoopbackServer) -> int:
    """Server-counted tokens of the first request of the first episode (system + task)."""
    first = next(r for r in server.requests if r.messages)
    return sum(-(-len(m["content"]) // 4) + 3 for m in first.messages)


def row(label: str, cached: Usage, plain: Usage, model: str, episodes: int) -> tuple[str, ...]:
    price = price_for(model)
    assert price is not None
    bill = cost_parts(cached, price).input / episodes
    base = cost_parts(plain, price).input / episodes
    per = episodes
    return (
        label,
        f"{cached.input_tokens / per:,.0f} = {cached.uncached_input_tokens / per:,.0f} + "
        f"{cached.cache_write_tokens / per:,.0f} + {cached.cache_read_tokens / per:,.0f}",
        f"${bill:.5f}",
        f"{plain.input_tokens / per:,.0f}, ${base:.5f}",
        f"{bill / base:.0%}",
    )


async def main_async(episodes: int, concurrency: int) -> str:
    rows: list[tuple[str, ...]] = []
    notes: list[str] = []
    server = LoopbackServer(codeact_policy)
    server.start()
    saved = {k: os.environ.get(k) for k in server.env()}
    os.environ.update(server.env())
    try:
        with tempfile.TemporaryDirectory() as tmp_dir:
            tmp = Path(tmp_dir)
            for n, (label, shots, pad) in enumerate(SETTINGS):
                server.reset()
                anthropic = f"anthropic:{ANTHROPIC_MODEL}"
                common = {"shots": shots, "pad": pad, "episodes": episodes,
                          "concurrency": concurrency}
                cached = await play(server, tmp, anthropic, f"a-on-{n}", prompt_cache=True,
                                    **common)
                first = first_request_tokens(server)
                plain = await play(server, tmp, anthropic, f"a-off-{n}", prompt_cache=False,
                                   **common)
                notes.append(f"{label}: first request (system prompt + task) {first:,} tokens")
                rows.append(row(f"{label}: Anthropic {ANTHROPIC_MODEL}", usage_of(cached),
                                usage_of(plain), ANTHROPIC_MODEL, episodes))
                server.reset()
                on = await play(server, tmp, f"openai:{OPENAI_MODELS[0]}", f"o-on-{n}",
                                prompt_cache=True, **common)
                server.prompt_cache.enabled = False
                off = await play(server, tmp, f"openai:{OPENAI_MODELS[0]}", f"o-off-{n}",
                                 prompt_cache=True, **common)
                server.prompt_cache.enabled = True
                for model in OPENAI_MODELS:
                    rows.append(row(f"{label}: OpenAI {model} (automatic)", usage_of(on),
                                    usage_of(off), model, episodes))
    finally:
        server.stop()
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
    lines = [
        f"Prompt caching, {episodes} episodes of {TURNS} turns each (same run, "
        f"{time.strftime('%Y-%m-%d')}); input tokens per episode = uncached + cache write + "
        "cache read; bills are the input side only (output is the same either way).",
        "",
        "| setting | input tokens / episode, cached run | input bill / episode | uncached run: "
        "tokens, bill | ratio |",
        "|---|---|---|---|---|",
        *(f"| {' | '.join(r)} |" for r in rows),
        "",
        *(f"- {n}" for n in notes),
    ]
    return "\n".join(lines)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--episodes", type=int, default=24)
    ap.add_argument("--concurrency", type=int, default=4)
    args = ap.parse_args()
    table = asyncio.run(main_async(args.episodes, args.concurrency))
    print(table)
    results = ROOT / "benchmarks" / "results"
    results.mkdir(exist_ok=True)
    (results / "prompt_cache.md").write_text(table + "\n")


if __name__ == "__main__":
    main()
