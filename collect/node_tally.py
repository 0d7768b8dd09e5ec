"""Where a run's episodes were played: per worker node, for ``run.json`` and the progress line.

``episodes`` are counted from the records themselves (each carries the opaque ``node`` id
of the node that played it), so a resumed run recounts them from its file; ``lost`` and
``replayed`` are events only the executor sees (a worker lost with episodes in flight, an
episode played again elsewhere), so they are carried over from the previous ``run.json``.
In-process runs record no node and leave the tally empty.
"""

from __future__ import annotations

from collections.abc import Mapping

from trajkit.schemas import Trajectory
from trajkit.schemas.manifests import NodeCounts

#: Nodes named on the progress line; more are summed up as ``+N more``.
SHOWN_NODES = 6


class NodeTally:
    """Episodes, lost and replayed attempts per node id."""

    def __init__(self) -> None:
        self._nodes: dict[str, NodeCounts] = {}

    def _node(self, node: str) -> NodeCounts:
        return self._nodes.setdefault(node, NodeCounts())

    def carry_over(self, previous: Mapping[str, NodeCounts]) -> None:
        """Keep a resumed run's lost and replayed counts (its episodes are in its records)."""
        for node, counts in previous.items():
            if counts.lost or counts.replayed:
                mine = self._node(node)
                mine.lost += counts.lost
                mine.replayed += counts.replayed

    def played(self, traj: Trajectory) -> None:
        if traj.node is not None:
            self._node(traj.node).episodes += 1

    def lost(self, node: str) -> None:
        """An attempt in flight on ``node`` was lost with its worker."""
        self._node(node).lost += 1

    def replayed(self, node: str) -> None:
        """``node`` played an episode that an earlier attempt lost elsewhere."""
        self._node(node).replayed += 1

    def counts(self) -> dict[str, NodeCounts]:
        """A copy for ``run.json``, busiest node first."""
        ordered = sorted(self._nodes.items(), key=lambda item: (-item[1].episodes, item[0]))
        return {node: counts.model_copy() for node, counts in ordered}

    def summary(self) -> str:
        """``nodes 3f2a9c01d4e5 12, 81bd07aa90c1 11, +2 more; lost 2, replayed 2`` (empty
        when no episode names a node)."""
        if not self._nodes:
            return ""
        ordered = self.counts()
        shown = [f"{node} {c.episodes}" for node, c in list(ordered.items())[:SHOWN_NODES]]
        if len(ordered) > SHOWN_NODES:
            shown.append(f"+{len(ordered) - SHOWN_NODES} more")
        lost = sum(c.lost for c in ordered.values())
        replayed = sum(c.replayed for c in ordered.values())
        return f"nodes {', '.join(shown)}; lost {lost}, replayed {replayed}"
