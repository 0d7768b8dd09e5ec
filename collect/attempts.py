"""Which episodes a task still needs: ``--samples``, ``--until`` and the ``--escalate`` ladder.

A run plays each task with a ladder of teachers — ``--teacher`` (stage 0), then each
``--escalate`` teacher in order — up to ``samples`` independent attempts per stage. A task
moves up the ladder only when every attempt it had on the stages below failed (no successful
trajectory), as the CodeAct collection sent what weaker models could not solve to stronger
ones; ``--until`` stops sampling a task once one of its attempts is a success (``success``)
or a success that self-corrects (``self-corrected``, what the default filters keep).

The plan is a pure function of the episodes a task already has, so a resumed run (whatever
was in flight when it stopped, at whatever stage) asks it again and gets exactly the episodes
still owed — never one twice. Without ``--until`` the attempts of a stage are independent and
start together; with it, one at a time (the next is only owed if the previous missed).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Literal

Until = Literal["self-corrected", "success"] | None


@dataclass(frozen=True, order=True)
class EpisodeKey:
    """Which episode of a task: the teacher's ``stage`` in the ladder and the ``attempt`` (1-based)."""

    stage: int = 0
    attempt: int = 1


FIRST = EpisodeKey()


@dataclass(frozen=True)
class Outcome:
    """What the plan needs to know of a finished episode."""

    key: EpisodeKey
    success: bool
    self_corrected: bool


@dataclass(frozen=True)
class AttemptPlan:
    """The ladder's shape for one run."""

    stages: int = 1
    samples: int = 1
    until: Until = None

    def owed(self, done: Iterable[Outcome], in_flight: Iterable[EpisodeKey] = ()) -> list[EpisodeKey]:
        """The episodes of one task to start now, given its finished and running episodes.

        Empty when the task is settled (or must wait for an episode still running).
        """
        finished = list(done)
        running = set(in_flight)
        keys = {o.key for o in finished}
        for stage in range(self.stages):
            here = [o for o in finished if o.key.stage == stage]
            if any(self._met(o) for o in here):
                return []
            # samples could be lowered on a resume: never owe an attempt beyond it
            missing = [EpisodeKey(stage, n) for n in range(1, self.samples + 1)
                       if EpisodeKey(stage, n) not in keys]
            busy = [k for k in running if k.stage == stage]
            if missing:
                if self.until is None:
                    return [k for k in missing if k not in running]
                # one at a time: the next attempt only once the running one missed
                return [] if busy else [missing[0]]
            if busy:
                return []
            if any(o.success for o in finished if o.key.stage <= stage):
                return []  # solved on this stage or below: no stronger teacher needed
        return []

    def _met(self, outcome: Outcome) -> bool:
        if self.until == "success":
            return outcome.success
        if self.until == "self-corrected":
            return outcome.self_corrected
        return False

    def most(self) -> int:
        """The most episodes one task can take (every attempt on every stage)."""
        return self.stages * self.samples
