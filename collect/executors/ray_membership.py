"""Which Ray nodes may get an episode worker, as the cluster's membership changes mid-run.

Ray takes a while to call a node dead: a node whose raylet was killed stays ``Alive`` in
``ray.nodes()`` until it misses enough health checks (about 15 s by default), while its
actors already fail within a second or two. A placement that trusts ``Alive`` alone can
therefore put the replacement of a lost worker back on the very node that lost it, where
it never starts. So the driver keeps its own view, fed by what it saw:

* a node Ray reports dead, or no longer lists, is **lost** for the rest of the run (a node
  that comes back gets a new node id, so it is a new node);
* a node that just lost a worker is **suspect**: no worker is placed there until Ray has
  kept reporting it alive for ``trust_after_s`` (longer than Ray's own failure detection),
  except the driver's own node, which cannot be dead while the driver runs;
* a node where a worker failed its checks (no isolation, no sandbox image) is **refused**
  for the rest of the run, like a lost one;
* every other live node with a CPU is **placeable**; a placement goes to the placeable
  node running the fewest of the run's workers.

Pure bookkeeping over ``ray.nodes()`` snapshots, so it is tested without a cluster.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Mapping
from typing import Any

#: Longer than Ray's default failure detection (health checks every 3 s, 5 misses).
TRUST_AFTER_S = 60.0


class Membership:
    """The driver's view of the cluster's nodes for worker placement."""

    def __init__(
        self,
        driver_node: str | None = None,
        *,
        trust_after_s: float = TRUST_AFTER_S,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.driver_node = driver_node
        self.trust_after_s = trust_after_s
        self._clock = clock
        #: alive nodes with at least one CPU, in Ray's order: node id → CPUs
        self.alive: dict[str, float] = {}
        self.lost: set[str] = set()
        self.suspect: dict[str, float] = {}  # node id → when it lost a worker

    def update(self, nodes: Iterable[Mapping[str, Any]]) -> set[str]:
        """Take a ``ray.nodes()`` snapshot; return the nodes that left since the last one
        (reported dead, or no longer listed)."""
        seen: dict[str, float] = {}
        dead: set[str] = set()
        for node in nodes:
            node_id = node.get("NodeID")
            if not isinstance(node_id, str):
                continue
            if not node.get("Alive"):
                dead.add(node_id)
                continue
            seen[node_id] = float((node.get("Resources") or {}).get("CPU", 0) or 0)
        left = {n for n in self.alive if n not in seen}
        self.lost |= left | dead
        for node_id in self.lost & self.suspect.keys():
            del self.suspect[node_id]
        self.alive = {n: cpus for n, cpus in seen.items() if n not in self.lost}
        return left

    def worker_lost(self, node_id: str | None, *, spawn: bool = False) -> None:
        """A worker on ``node_id`` was lost (``spawn``: could not even start): keep new
        workers off that node for a while; a worker lost on the driver's own node is
        replaced there at once (that node is alive), one that cannot start there is not."""
        if node_id is None or node_id in self.lost:
            return
        if spawn or node_id != self.driver_node:
            self.suspect[node_id] = self._clock()

    def refuse(self, node_id: str) -> None:
        """``node_id`` cannot play episodes (a worker there failed its checks): never again."""
        self.lost.add(node_id)
        self.suspect.pop(node_id, None)
        self.alive.pop(node_id, None)

    def placeable(self) -> list[str]:
        """Live nodes with a CPU that are neither lost nor (still) suspect, in Ray's order."""
        now = self._clock()
        for node_id, since in list(self.suspect.items()):
            if now - since >= self.trust_after_s:
                del self.suspect[node_id]  # Ray kept it alive long past a dead node's notice
        return [n for n, cpus in self.alive.items() if cpus >= 1 and n not in self.suspect]

    def choose(self, workers: Mapping[str, int]) -> str | None:
        """The placeable node running the fewest workers (``workers``: node id → count)."""
        nodes = self.placeable()
        return min(nodes, key=lambda n: workers.get(n, 0)) if nodes else None

    def cpus(self, node_id: str) -> float:
        return self.alive.get(node_id, 0.0)
