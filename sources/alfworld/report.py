"""How an ALFWorld verdict reads: won or not, after how many environment steps, and the goal.

There is no reference answer: the game decides. The verdict's details say whether it was won,
why the episode ended and how many of the step cap's actions were used; the task's metadata
names the goal (object and receptacle). The game's file path on the collecting machine is
deliberately left out: the game's name (``train/<task>/<trial>``) identifies it.
"""

from __future__ import annotations

from typing import Any

from trajkit.schemas import Task, Verdict
from trajkit.sources.reading import ReferenceView, clip


def _steps(details: dict[str, Any]) -> str:
    steps, cap = details.get("env_steps"), details.get("max_steps")
    if not isinstance(steps, int):
        return ""
    word = "step" if steps == 1 else "steps"
    return f"{steps} of {cap} {word}" if isinstance(cap, int) else f"{steps} {word}"


class AlfWorldReport:
    """The ALFWorld source's reading of its verdicts (``sources.base`` capability list)."""

    @staticmethod
    def verdict_summary(task: Task, verdict: Verdict) -> str:
        """``won after 5 of 50 steps``, ``not won: step cap after 50 of 50 steps``."""
        details = verdict.details
        steps = _steps(details)
        if details.get("won") is True or (verdict.success and "won" not in details):
            return f"won after {steps}" if steps else "won"
        reason = details.get("reason")
        why = f": {clip(str(reason), 80, 1)}" if isinstance(reason, str) and reason != "won" else ""
        return f"not won{why}" + (f" after {steps}" if steps else "")

    @staticmethod
    def reference_view(task: Task, verdict: Verdict) -> ReferenceView:
        """The task type, the goal (object → receptacle) and the game's name."""
        meta, details = task.metadata, verdict.details
        fields = []
        kind = meta.get("type") or details.get("type")
        if kind:
            fields.append(("task", str(kind)))
        obj, recep = meta.get("object"), meta.get("receptacle")
        if obj or recep:
            fields.append(("goal", f"{obj or '?'} → {recep or '?'}"))
        game = details.get("game")
        if isinstance(game, str) and game:
            fields.append(("game", clip(game, 160, 1)))
        steps = _steps(details)
        if steps:
            fields.append(("environment", f"{steps} used"))
        return ReferenceView(tuple(fields))
