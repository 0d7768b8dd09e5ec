"""``short-answer``: keep trajectories whose final answer is at most ``max_chars`` long.

A filter unit is a name, JSON params (recorded in the dataset manifest, so the version can be
rebuilt from it) and ``decide``; registering it (``pyproject.toml``) is what lets a manifest
that names it be rebuilt, and ``trajkit filter --keep short-answer`` use it.
"""

from __future__ import annotations

from typing import Any

from trajkit.filters.base import KEEP, Decision, Drop, ParamError
from trajkit.schemas import Trajectory


class ShortAnswerFilter:
    """Drop trajectories without an answer or with one longer than ``max_chars``."""

    name = "short-answer"

    def __init__(self, max_chars: int = 40) -> None:
        if not isinstance(max_chars, int) or max_chars < 1:
            raise ParamError("max_chars", f"must be a whole number >= 1, got {max_chars!r}")
        self.max_chars = max_chars

    @property
    def params(self) -> dict[str, Any]:
        return {"max_chars": self.max_chars}

    def decide(self, traj: Trajectory) -> Decision:
        if not traj.answer:
            return Drop("no_answer")
        if len(traj.answer) > self.max_chars:
            return Drop("answer_too_long")
        return KEEP
