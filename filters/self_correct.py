"""``self-correct``: keep episodes where the teacher recovered from a failed action.

This is the behaviour the datasets exist to teach: run code, hit an error, fix it, succeed.
The verdict is computed from ``steps`` (never from the stored ``self_corrected`` flag) so old
records, hand-edited ones and fresh ones are all judged by the same rule. The rule itself lives
in ``trajkit.core.self_correction`` (schemas-only imports), which the CodeAct loop uses to
set that flag: one rule, so the flag and the filter can never disagree.
"""

from __future__ import annotations

from typing import Any

from trajkit.core.self_correction import failed_action
from trajkit.core.self_correction import success_step_position as _success_step_position
from trajkit.filters.base import KEEP, Decision, Drop
from trajkit.schemas import Trajectory

__all__ = ["SelfCorrectFilter", "failed_action", "is_self_correcting", "success_step_position"]


def success_step_position(traj: Trajectory) -> int | None:
    """Position in ``traj.steps`` of the step that succeeded, or ``None`` if none did.

    The first step with a successful verdict; a ``success`` record without one (older or
    hand-written) falls back to its last solution step, else its last step.
    """
    return _success_step_position(traj.steps, traj.success)


def is_self_correcting(traj: Trajectory) -> bool:
    """True if at least one failed action comes strictly before the step that succeeded.

    Failed action = an observation with an error (exception, syntax, timeout, worker_restart);
    a wrong answer is not one. Errors after the success, or in an episode that never
    succeeds, correct nothing.
    """
    pos = success_step_position(traj)
    return pos is not None and any(failed_action(s) for s in traj.steps[:pos])


class SelfCorrectFilter:
    """Keeps trajectories for which :func:`is_self_correcting` holds."""

    name = "self-correct"

    @property
    def params(self) -> dict[str, Any]:
        return {}

    def decide(self, traj: Trajectory) -> Decision:
        pos = success_step_position(traj)
        if pos is None:
            return Drop("no_success_step")
        if not any(failed_action(s) for s in traj.steps[:pos]):
            return Drop("no_error_before_success")
        return KEEP
