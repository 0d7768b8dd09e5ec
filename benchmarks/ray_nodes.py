"""Multi-node scaling of ``--executor ray``: episodes/s per node on 1 vs N nodes, same run.

    .venv/bin/python -m benchmarks.ray_nodes [--nodes 1 3] [--per-node-concurrency 16 64]
        [--waves 6] [--delay 0.75]

Weak scaling, as a cluster is grown: each node gets the same load (``--per-node-concurrency``
episodes in flight, ``waves`` × that many episodes), so N nodes run N times the episodes at N
times the concurrency. A loopback teacher in its own process answers every call after a
fixed ``--delay``; each episode is a code cell then the answer (2 calls) in an isolated local
sandbox, judged by the MATH source's verifier pool. The nodes are a ``ray.cluster_utils``
test cluster on this machine (``benchmarks/ray_cluster.py``, one logical CPU each), driven
in-process as ``--ray-address`` would be.

Reported per row: steady-state episodes/s (the first quarter of finishes left out: worker
start-up, judge pools, fork servers), the same per node, the scaling efficiency (per-node
rate on N nodes ÷ the rate on one node at the same per-node load; 1.00 = linear), the ideal
per-node rate ``concurrency ÷ (2 × delay)``, how busy the machine's CPUs were, and how the
episodes spread over the nodes. All nodes share this machine's cores, so once the CPUs
saturate, more nodes cannot add throughput: what this measures is Ray's and trajkit's
per-node overhead, not a cluster's hardware.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import tempfile
import time
from pathlib import Path
from typing import Any

from rich.console import Console

from benchmarks.executor_compare import rates, start_loopback
from benchmarks.ray_cluster import ray_cluster
from benchmarks.run_all import write_tasks
from benchmarks.scale import cpu_jiffies
from trajkit.collect.config import CollectConfig
from trajkit.collect.loop import LoopConfig
from trajkit.collect.runner import collect
from trajkit.sources.base import LoadOptions

TURNS = 1  # code cells before the answer: 2 teacher calls per episode


def run_on_cluster(
    address: str, nodes: int, per_node: int, waves: int, tmp: Path
) -> dict[str, Any]:
    concurrency, episodes = nodes * per_node, nodes * per_node * waves
    data = tmp / f"tasks-{nodes}-{per_node}.jsonl"
    write_tasks(data, episodes)
    run = f"nodes{nodes}-c{per_node}"
    config = CollectConfig(
        source="math", teacher="openai:bench", load=LoadOptions(data=str(data)),
        out=tmp / "out", run=run, concurrency=concurrency, cache=False, executor="ray",
        ray_address=address, loop=LoopConfig(max_turns=TURNS + 1),
    )
    (busy0, total0), t = cpu_jiffies(), time.perf_counter()
    with open(os.devnull, "w") as quiet:
        result = asyncio.run(collect(config, Console(file=quiet)))
    wall = time.perf_counter() - t
    busy1, total1 = cpu_jiffies()
    done, _, steady = rates(tmp / "out" / "runs" / run)
    assert done == episodes and result.manifest.counts.succeeded == episodes
    spread = sorted((c.episodes for c in result.manifest.nodes.values()), reverse=True)
    return {"episodes": episodes, "wall": wall, "steady": steady, "spread": spread,
            "cpu": (busy1 - busy0) / max(1, total1 - total0)}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--nodes", type=int, nargs="+", default=[1, 3])
    ap.add_argument("--per-node-concurrency", type=int, nargs="+", default=[16, 64])
    ap.add_argument("--waves", type=int, default=6, help="episodes per node = waves x concurrency")
    ap.add_argument("--delay", type=float, default=0.75, help="teacher latency per call (s)")
    args = ap.parse_args()
    server, port = start_loopback(TURNS, args.delay)
    os.environ["OPENAI_BASE_URL"] = f"http://127.0.0.1:{port}/v1"
    os.environ["OPENAI_API_KEY"] = "sk-loopback"
    results: dict[tuple[int, int], dict[str, Any]] = {}
    started: dict[int, float] = {}
    try:
        with tempfile.TemporaryDirectory() as tmp:
            for nodes in args.nodes:
                with ray_cluster(nodes) as (address, started_s):
                    started[nodes] = started_s
                    for per_node in args.per_node_concurrency:
                        results[nodes, per_node] = run_on_cluster(
                            address, nodes, per_node, args.waves, Path(tmp)
                        )
    finally:
        server.terminate()
        server.wait()
    base_nodes = min(args.nodes)
    print(f"\n{args.waves} waves per node, {TURNS + 1} teacher calls per episode at "
          f"{args.delay * 1e3:.0f} ms each, MATH judge; clusters on this {os.cpu_count()}-core "
          "machine, one logical CPU per node, started in "
          + ", ".join(f"{s:.1f} s ({n} node(s))" for n, s in started.items())
          + " (not counted)\n")
    print("| per-node concurrency | nodes | episodes | wall | episodes/s (steady state) | per node "
          "| scaling efficiency | ideal per node | machine CPU busy | episodes per node |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    for per_node in args.per_node_concurrency:
        base = results[base_nodes, per_node]["steady"] / base_nodes
        for nodes in args.nodes:
            r = results[nodes, per_node]
            rate = r["steady"] / nodes
            print(f"| {per_node} | {nodes} | {r['episodes']} | {r['wall']:.1f} s "
                  f"| {r['steady']:.1f} | {rate:.1f} | {rate / base:.2f} "
                  f"| {per_node / ((TURNS + 1) * args.delay):.1f} | {r['cpu']:.0%} "
                  f"| {'/'.join(str(n) for n in r['spread'])} |")


if __name__ == "__main__":
    main()
