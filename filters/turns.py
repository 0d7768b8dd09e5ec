"""``turns``: keep trajectories whose number of assistant turns lies in ``[min_turns, max_turns]``.

Counted on ``messages`` (what a model is trained on), not ``steps``, so a record whose parsed
form disagrees with its conversation is judged by the conversation.
"""

from __future__ import annotations

from typing import Any

from trajkit.filters.base import KEEP, Decision, Drop, ParamError
from trajkit.schemas import Trajectory


def assistant_turns(traj: Trajectory) -> int:
    """How many times the teacher spoke."""
    return sum(1 for m in traj.messages if m.role == "assistant")


def _bound(param: str, value: Any) -> int | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise ParamError(param, f"must be a whole number >= 0, got {value!r}")
    return value


class TurnsFilter:
    """Drops ``too_few_turns`` below ``min_turns`` and ``too_many_turns`` above ``max_turns``.

    Either bound may be ``None`` (unbounded); the CodeAct paper's "more than 2 turns" is
    ``min_turns=3``.
    """

    name = "turns"

    def __init__(self, min_turns: int | None = None, max_turns: int | None = None) -> None:
        self.min_turns = _bound("min_turns", min_turns)
        self.max_turns = _bound("max_turns", max_turns)
        if self.min_turns is not None and self.max_turns is not None and self.min_turns > self.max_turns:
            raise ParamError("max_turns", f"{self.max_turns} is below min_turns {self.min_turns}")

    @property
    def params(self) -> dict[str, Any]:
        # Unset bounds are left out (they are the constructor's defaults) to keep tables short.
        bounds = {"min_turns": self.min_turns, "max_turns": self.max_turns}
        return {k: v for k, v in bounds.items() if v is not None}

    def decide(self, traj: Trajectory) -> Decision:
        n = assistant_turns(traj)
        if self.min_turns is not None and n < self.min_turns:
            return Drop("too_few_turns")
        if self.max_turns is not None and n > self.max_turns:
            return Drop("too_many_turns")
        return KEEP
