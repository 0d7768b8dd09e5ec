"""``FilterChain``: run units in order over a stream of trajectories, counting each unit.

Streaming (an iterator in, an iterator out) is what lets a multi-gigabyte run be filtered in
constant memory; the per-unit counts become the ``filters`` table of the dataset manifest.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from typing import Any

from trajkit.filters.base import Drop, Filter
from trajkit.schemas import FilterReport, Trajectory


class FilterChain:
    """Units applied in order; a trajectory dropped by unit k is never shown to unit k+1.

    ``reports`` holds one ``FilterReport`` per unit, updated as :meth:`run` streams. An empty
    chain keeps everything (the CLI's ``--keep all``).
    """

    def __init__(self, filters: Sequence[Filter]) -> None:
        self.filters: tuple[Filter, ...] = tuple(filters)
        self.reports: list[FilterReport] = []
        self.reset()

    def __len__(self) -> int:
        return len(self.filters)

    def __repr__(self) -> str:
        return f"FilterChain({[f.name for f in self.filters]!r})"

    @property
    def names(self) -> list[str]:
        return [f.name for f in self.filters]

    def spec(self) -> list[dict[str, Any]]:
        """``[{"name", "params"}]`` per unit: what the dataset fingerprint is computed over."""
        return [{"name": f.name, "params": dict(f.params)} for f in self.filters]

    def reset(self) -> None:
        """Zero the reports and reset stateful units (those defining ``reset()``)."""
        self.reports = [FilterReport(name=f.name, params=dict(f.params)) for f in self.filters]
        for unit in self.filters:
            reset = getattr(unit, "reset", None)
            if callable(reset):
                reset()

    def decide(self, traj: Trajectory) -> Drop | None:
        """Run one trajectory through the units, counting; return the ``Drop`` or ``None``."""
        for unit, report in zip(self.filters, self.reports, strict=True):
            report.seen += 1
            decision = unit.decide(traj)
            if isinstance(decision, Drop):
                report.dropped += 1
                report.drop_reasons[decision.reason] = report.drop_reasons.get(decision.reason, 0) + 1
                return decision
            report.kept += 1
        return None

    def run(self, trajs: Iterable[Trajectory]) -> Iterator[Trajectory]:
        """Yield the kept trajectories lazily; each run starts from fresh reports and state."""
        self.reset()
        for traj in trajs:
            if self.decide(traj) is None:
                yield traj
