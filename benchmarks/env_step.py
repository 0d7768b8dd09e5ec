"""Environment step latency: one ``search``/``click``-style action through the tool bridge
(teacher code in the isolated sandbox → worker protocol → host → environment → back) against
the same action called directly in-process, measured in the same run.

The bridge figure is timed inside the sandbox around each call, so it is what the teacher's
code waits for; the direct figure is the environment alone, so the difference is the bridge.

Environments are entries of ``ENVIRONMENTS``: a name and a function returning a ``BenchEnv``
(how to open a fresh episode environment, and a cycle of actions that keeps it running).
Each interactive source adds its own entry::

    .venv/bin/python -m benchmarks.env_step [--env webshop ...] [--n 500]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass

from trajkit.collect.sandbox.local import LocalSandbox
from trajkit.sources.base import EpisodeEnv


@dataclass(frozen=True)
class BenchEnv:
    """An environment to measure: ``open()`` gives a fresh episode env; ``actions`` is a
    cycle of ``(tool name, argument)`` calls that never ends the episode."""

    name: str
    open: Callable[[], Awaitable[EpisodeEnv]]
    actions: Sequence[tuple[str, str]]


def webshop() -> BenchEnv:
    """The local WebShop on the bundled sample: search, open a product, read its
    description, go back twice (five actions per cycle, all text pages)."""
    from trajkit.sources.base import LoadOptions
    from trajkit.sources.webshop import WebShopOptions, WebShopSource

    source = WebShopSource(WebShopOptions(max_steps=10**9))
    task = source.load(LoadOptions())[14]

    async def open_env() -> EpisodeEnv:
        return await source.open_env(task)

    cycle = [("search", "men running shoes"), ("click", "B0TKS00001"), ("click", "Description"),
             ("click", "< Prev"), ("click", "< Prev")]
    return BenchEnv("webshop", open_env, cycle)


def alfworld() -> BenchEnv:
    """The real ALFWorld engine on the bundled pick-and-place game: walk between shelf, drawer
    and desk, opening and closing the drawer (five actions per cycle). Needs the extra."""
    from trajkit.sources.alfworld import AlfWorldOptions, AlfWorldSource
    from trajkit.sources.base import LoadOptions

    source = AlfWorldSource(AlfWorldOptions(max_steps=10**9))
    (task,) = source.load(LoadOptions(types=["pick_and_place_simple"]))

    async def open_env() -> EpisodeEnv:
        return await source.open_env(task)

    cycle = [("goto", "shelf 1"), ("goto", "drawer 1"), ("open_receptacle", "drawer 1"),
             ("close_receptacle", "drawer 1"), ("goto", "desk 1")]
    return BenchEnv("alfworld", open_env, cycle)


#: name -> factory; add an entry per interactive source.
ENVIRONMENTS: dict[str, Callable[[], BenchEnv]] = {"webshop": webshop, "alfworld": alfworld}


def pct(values: Sequence[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


Timings = dict[str, list[float]]  # tool name -> seconds per call


async def direct(bench: BenchEnv, n: int) -> Timings:
    """Per-call seconds of ``n`` actions awaited in-process, no sandbox."""
    env = await bench.open()
    tools = {t.name: t for t in env.tools()}
    times: Timings = {}
    try:
        for i in range(n + 20):
            name, arg = bench.actions[i % len(bench.actions)]
            t = time.perf_counter()
            await tools[name].call([arg], {})
            if i >= 20:  # the first calls warm caches
                times.setdefault(name, []).append(time.perf_counter() - t)
    finally:
        await env.aclose()
    return times


_CELL = """\
import json, time
_actions = {actions}
_times = {{}}
for _i in range({total}):
    _name, _arg = _actions[_i % len(_actions)]
    _t = time.perf_counter()
    globals()[_name](_arg)
    if _i >= 20:
        _times.setdefault(_name, []).append(time.perf_counter() - _t)
print(json.dumps(_times))
"""


async def bridged(bench: BenchEnv, n: int) -> Timings:
    """Per-call seconds of ``n`` actions made by code in the isolated sandbox."""
    env = await bench.open()
    box = LocalSandbox(tools=env.tools())
    try:
        await box.start()
        code = _CELL.format(actions=json.dumps([list(a) for a in bench.actions]), total=n + 20)
        result = await box.run(code, timeout=600)
        if result.error is not None:
            raise RuntimeError(f"{bench.name}: benchmark cell failed: {result.output[-500:]}")
        return json.loads(result.output.strip().splitlines()[-1])
    finally:
        await box.close()
        await env.aclose()


async def measure(bench: BenchEnv, n: int) -> list[tuple[str, str, str, str]]:
    """README rows, one per tool: bridged p50 (p99), direct p50 (p99), the bridge's cost."""
    through = await bridged(bench, n)
    alone = await direct(bench, n)
    rows = []
    for name in sorted(through):
        b, d = through[name], alone[name]
        b50, b99, d50, d99 = pct(b, 0.5), pct(b, 0.99), pct(d, 0.5), pct(d, 0.99)
        rows.append((
            f"{bench.name} `{name}` step through the tool bridge, p50 (p99)",
            f"{b50 * 1e3:.2f} ms ({b99 * 1e3:.2f} ms)",
            f"direct in-process call: {d50 * 1e3:.2f} ms ({d99 * 1e3:.2f} ms)",
            f"+{(b50 - d50) * 1e3:.2f} ms",
        ))
    return rows


def main(argv: Sequence[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--env", action="append", choices=sorted(ENVIRONMENTS),
                    help="environment to measure (repeatable; default: all)")
    ap.add_argument("--n", type=int, default=500, help="actions measured per environment")
    args = ap.parse_args(argv)
    rows = [
        row
        for name in args.env or sorted(ENVIRONMENTS)
        for row in asyncio.run(measure(ENVIRONMENTS[name](), args.n))
    ]
    print("| measure | result | baseline (same run) | ratio |\n|---|---|---|---|")
    for row in rows:
        print("| " + " | ".join(row) + " |")


if __name__ == "__main__":
    main()
