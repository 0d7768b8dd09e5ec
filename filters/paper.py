"""``paper-heuristics``: the CodeAct collection's two content heuristics (Wang et al., 2024).

CodeActInstruct kept successful multi-turn episodes (``success`` + ``turns(min_turns=3)``) and
dropped two kinds that teach nothing about acting with code:

- ``all_nonfinal_invalid``: every action before the final one was invalid (the model never
  produced a usable action until it answered); a trajectory with no non-final action is not
  judged by this rule (that is the ``turns`` unit's job);
- ``only_solutions_or_errors``: every exchange is a solution or an execution that errored, so
  there is no successful code execution to learn from. Invalid turns are neither, so they
  keep a trajectory out of this rule, as the rule is stated.

The ``paper`` preset (``filters/presets.py``) combines the three; our default chain is stricter
(success + an explicit error-then-recovery, the ``self-correct`` unit).
"""

from __future__ import annotations

from typing import Any

from trajkit.filters.base import KEEP, Decision, Drop
from trajkit.schemas import ActionKind, Step, Trajectory


def _solution_or_error(step: Step) -> bool:
    if step.action.kind is ActionKind.SOLUTION:
        return True
    return (
        step.action.kind in (ActionKind.EXECUTE, ActionKind.TOOL)
        and step.observation is not None
        and step.observation.error is not None
    )


class PaperHeuristicsFilter:
    """The two drop rules above, in that order."""

    name = "paper-heuristics"

    @property
    def params(self) -> dict[str, Any]:
        return {}

    def decide(self, traj: Trajectory) -> Decision:
        nonfinal = traj.steps[:-1]
        if nonfinal and all(s.action.kind is ActionKind.INVALID for s in nonfinal):
            return Drop("all_nonfinal_invalid")
        if traj.steps and all(_solution_or_error(s) for s in traj.steps):
            return Drop("only_solutions_or_errors")
        return KEEP
