"""What ``--estimate`` says about yield: episodes per task and cost per kept trajectory.

``--samples N`` plays up to N episodes per task; with ``--until`` fewer, as many as it takes
to meet the condition. The run's own finished episodes give the rate an episode meets it (and
is kept by the default filters), so a pilot (``--limit 20``) followed by ``--estimate`` on the
full selection projects both: episodes per task ``Σ_{i<N} (1 − p)^i`` and dollars per kept
trajectory = what the finished episodes cost ÷ how many of them the default filters keep.
Escalation steps are not projected (they play only the tasks the first teacher could not
solve, which a pilot of that teacher measures); the estimate says so.
"""

from __future__ import annotations

from dataclasses import dataclass

from trajkit.collect.config import CollectConfig
from trajkit.core.yields import default_kept
from trajkit.schemas import Trajectory

#: Finished episodes a run needs before its own rates are trusted for a projection.
PILOT_MIN = 5


@dataclass(frozen=True)
class YieldProjection:
    """Episodes per pending task (expected; the most when no rate is known yet), the rate an
    episode is kept at, and USD per kept trajectory so far (``None``: not known yet)."""

    episodes_per_task: float
    kept_rate: float | None
    cost_per_kept: float | None
    finished: int

    def describe(self, config: CollectConfig) -> str:
        """A sentence for the estimate line (empty for a plain one-episode-per-task run)."""
        parts = []
        if config.samples > 1:
            how = "at most" if config.until is None or self.kept_rate is None else "~"
            parts.append(f"{how} {self.episodes_per_task:.2f} episode(s) per task")
        if self.kept_rate is not None:
            per_kept = (f"${self.cost_per_kept:,.4f}" if self.cost_per_kept is not None
                        else "unknown (none kept yet, or unpriced)")
            parts.append(
                f"{self.kept_rate:.1%} of this run's {self.finished} finished episodes kept by "
                f"the default filters, {per_kept} per kept trajectory so far"
            )
        elif config.samples > 1 or config.escalate:
            parts.append(
                f"cost per kept trajectory: unknown until {PILOT_MIN} episodes have finished "
                "(collect a pilot with --limit, then --estimate again)"
            )
        if config.escalate:
            parts.append(f"escalation to {', '.join(config.escalate)} not included")
        return "; ".join(parts)


def project_yield(config: CollectConfig, done: list[Trajectory]) -> YieldProjection:
    """The projection for ``config`` from its run's finished episodes ``done``."""
    first = [t for t in done if t.stage == 0]
    kept = sum(default_kept(t) for t in first)
    rate: float | None = kept / len(first) if len(first) >= PILOT_MIN else None
    meets = rate
    if rate is not None and config.until == "success":
        meets = sum(t.success for t in first) / len(first)
    n = config.samples
    if config.until is None or meets is None:
        per_task = float(n)
    else:
        per_task = sum((1 - meets) ** i for i in range(n))
    costs = [t.cost_usd for t in done]
    cost_per_kept = None
    if rate is not None and kept and all(c is not None for c in costs):
        all_kept = sum(default_kept(t) for t in done)
        cost_per_kept = sum(c or 0.0 for c in costs) / all_kept
    return YieldProjection(per_task, rate, cost_per_kept, len(first))
