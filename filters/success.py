"""``success``: keep trajectories the judge accepted with a score at or above a threshold."""

from __future__ import annotations

import math
from typing import Any

from trajkit.filters.base import KEEP, Decision, Drop, ParamError
from trajkit.schemas import Trajectory


class SuccessFilter:
    """Keeps ``success`` trajectories whose ``score >= min_score``.

    Both are checked because some judges report partial credit (APPS tests passed) with
    ``success`` only for a full pass; ``min_score`` lets a dataset demand more (or less) than
    the judge's own bar while never admitting an episode the judge rejected.
    """

    name = "success"

    def __init__(self, min_score: float = 1.0) -> None:
        if (
            isinstance(min_score, bool) or not isinstance(min_score, (int, float))
            or not math.isfinite(min_score)
        ):
            raise ParamError("min_score", f"must be a finite number, got {min_score!r}")
        self.min_score = float(min_score)

    @property
    def params(self) -> dict[str, Any]:
        return {"min_score": self.min_score}

    def decide(self, traj: Trajectory) -> Decision:
        if not traj.success:
            return Drop("unsuccessful")
        if not traj.score >= self.min_score:  # also drops a NaN score
            return Drop("score_below_min")
        return KEEP
