"""Tell a teacher outage from unlucky episodes, so an outage never burns through a run.

The SDKs already retry 429s, 5xx, timeouts and dropped connections; an episode that still
fails ends as ``teacher_error``. One such episode is bad luck and is recorded. Many in a row,
with no episode in between getting through, mean the provider is down or out of quota:
recording them would mark every remaining task as done-and-failed (resume skips recorded
tasks), so the run stops instead (exit code 4) and the streak's records are *not* written —
resuming when the provider is back plays those tasks again, and the response cache replays
every turn that had already been answered, so nothing is paid twice.
"""

from __future__ import annotations

from trajkit.core.errors import TeacherUnavailableError
from trajkit.schemas import Termination, Trajectory

DEFAULT_OUTAGE_STREAK = 8


class TeacherOutage:
    """Holds back ``teacher_error`` records until another episode shows the teacher works."""

    def __init__(self, threshold: int | None = DEFAULT_OUTAGE_STREAK) -> None:
        """``threshold=None``: no streak is an outage (the teachers cannot go down)."""
        self.threshold = threshold
        self._held: list[Trajectory] = []

    def observe(self, traj: Trajectory) -> list[Trajectory]:
        """Records to write now, in order; raises ``TeacherUnavailableError`` on an outage."""
        if traj.termination is not Termination.TEACHER_ERROR:
            held, self._held = self._held, []
            return [*held, traj]
        if self.threshold is None:
            return [traj]
        self._held.append(traj)
        if len(self._held) >= self.threshold:
            raise TeacherUnavailableError(
                f"teacher unavailable: {len(self._held)} episodes in a row failed on the "
                f"teacher after retries (last: {traj.termination_detail or 'no detail'}); their "
                "tasks were not recorded, so re-running the same command when the provider is "
                "back plays them again (answered turns come from the response cache)"
            )
        return []

    def release(self) -> list[Trajectory]:
        """At a normal end of the run: the held errors were bad luck after all; write them."""
        held, self._held = self._held, []
        return held
