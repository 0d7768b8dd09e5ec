"""Whether an episode is self-correcting: it succeeded after at least one failed action.

Both the loop (which sets ``Trajectory.self_corrected``) and ``filters/self_correct.py`` need
the same rule. It lives here, importing only the schemas, so either side can use it without
the collection stage and the filters importing each other; the functions take ``steps`` and
``success`` rather than a ``Trajectory`` so the loop can decide before building the record.
"""

from __future__ import annotations

from collections.abc import Sequence

from trajkit.schemas import ActionKind, Step


def failed_action(step: Step) -> bool:
    """A step whose observation carries an error: exception, syntax, timeout, worker_restart.

    A wrong answer (a verdict, not an error) or an invalid turn is not a failed action: neither
    shows the model reading an error and fixing its code.
    """
    return step.observation is not None and step.observation.error is not None


def success_step_position(steps: Sequence[Step], success: bool) -> int | None:
    """Position of the step that succeeded: the first with a successful verdict.

    A record marked ``success`` without such a verdict (older or hand-written records) falls
    back to its last solution step, else its last step. Unsuccessful episodes have none.
    """
    if not success:
        return None
    for pos, step in enumerate(steps):
        if step.verdict is not None and step.verdict.success:
            return pos
    for pos in range(len(steps) - 1, -1, -1):
        if steps[pos].action.kind == ActionKind.SOLUTION:
            return pos
    return len(steps) - 1 if steps else None


def is_self_correcting_steps(steps: Sequence[Step], success: bool) -> bool:
    """True when a failed action comes strictly before the step that succeeded.

    Errors after the success, or in an episode that never succeeds, correct nothing.
    """
    pos = success_step_position(steps, success)
    return pos is not None and any(failed_action(s) for s in steps[:pos])
