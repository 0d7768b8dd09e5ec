"""Yield: how many attempts became kept trajectories, and at what price, per source and teacher.

Users pay per attempt and train on what the filters keep, so the figure that matters is
tokens and dollars per *kept* trajectory. One tally, used wherever those figures are shown —
``run.json`` while a run collects, ``trajkit stats``, a dataset version's manifest and card,
the report — so they all agree. "Kept" defaults to the default filter chain's rule (a success
that self-corrects, ``core.self_correction``: the same rule as the ``self-correct`` filter); a
dataset build says instead which records its own chain kept.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from trajkit.core.self_correction import is_self_correcting_steps
from trajkit.schemas import Trajectory, YieldCounts
from trajkit.schemas.trajectory import MAX_COUNT


def teacher_key(provider: str, model: str) -> str:
    """``provider:model``, how yields name a teacher by default."""
    return f"{provider}:{model}"


def default_kept(traj: Trajectory) -> bool:
    """Whether the default chain (success, then self-correction) keeps ``traj``."""
    return is_self_correcting_steps(traj.steps, traj.success)


@dataclass
class _Group:
    counts: YieldCounts = field(default_factory=YieldCounts)
    tasks: set[str] = field(default_factory=set)


class YieldTally:
    """Streams records into per-source and per-teacher ``YieldCounts`` (a set of task ids per
    group is all it keeps besides counters)."""

    def __init__(self, name_teacher: Callable[[str, str], str] = teacher_key) -> None:
        """``name_teacher(provider, model)`` names a teacher's group (a dataset names a
        replay by its file's name, never a path of the collecting machine)."""
        self._name = name_teacher
        self._by_source: dict[str, _Group] = defaultdict(_Group)
        self._by_teacher: dict[str, _Group] = defaultdict(_Group)

    def add(self, traj: Trajectory, kept: bool | None = None) -> None:
        """Count one episode; ``kept`` defaults to the default chain's verdict."""
        corrected = default_kept(traj)
        keep = corrected if kept is None else kept
        for group in self._groups(traj):
            _count(group, traj, keep, corrected)

    def _groups(self, traj: Trajectory) -> tuple[_Group, _Group]:
        teacher = self._name(traj.teacher.provider, traj.teacher.model)
        return self._by_source[traj.source], self._by_teacher[teacher]

    def mark_kept(self, traj: Trajectory) -> None:
        """Count ``traj`` (already added) as kept by a chain other than the default."""
        for group in self._groups(traj):
            group.counts.kept = min(group.counts.kept + 1, MAX_COUNT)

    def by_source(self) -> dict[str, YieldCounts]:
        return {name: g.counts.model_copy() for name, g in sorted(self._by_source.items())}

    def by_teacher(self) -> dict[str, YieldCounts]:
        return {name: g.counts.model_copy() for name, g in sorted(self._by_teacher.items())}

    def total(self) -> YieldCounts:
        """Every episode together (the sum over sources)."""
        return sum_yields(self.by_source().values())


def _count(group: _Group, traj: Trajectory, kept: bool, corrected: bool) -> None:
    c = group.counts
    group.tasks.add(traj.task_id)
    c.episodes = min(c.episodes + 1, MAX_COUNT)
    c.tasks = len(group.tasks)
    c.succeeded = min(c.succeeded + int(traj.success), MAX_COUNT)
    c.self_corrected = min(c.self_corrected + int(corrected), MAX_COUNT)
    c.kept = min(c.kept + int(kept), MAX_COUNT)
    c.input_tokens = min(c.input_tokens + traj.usage.input_tokens, MAX_COUNT)
    c.output_tokens = min(c.output_tokens + traj.usage.output_tokens, MAX_COUNT)
    c.cost_usd = None if c.cost_usd is None or traj.cost_usd is None else c.cost_usd + traj.cost_usd


def sum_yields(groups: Iterable[YieldCounts]) -> YieldCounts:
    """The sum of several groups' counts (``tasks`` summed: groups must not share tasks)."""
    total = YieldCounts()
    for g in groups:
        for name in ("episodes", "tasks", "succeeded", "self_corrected", "kept",
                     "input_tokens", "output_tokens"):
            setattr(total, name, min(getattr(total, name) + getattr(g, name), MAX_COUNT))
        total.cost_usd = None if total.cost_usd is None or g.cost_usd is None else total.cost_usd + g.cost_usd
    return total
