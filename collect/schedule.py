"""The run's queue of episodes: which (task, teacher stage, attempt) to play next.

``AttemptPlan`` says what one task is owed; this keeps, for every task, the outcomes it has
(from the run file on a resume, then from each episode as it finishes) and the episodes queued
or running, and turns the plan into a FIFO of ready episodes. The runner's workers take from
it; when an episode finishes its task is planned again, which is how a second attempt
(``--until``) or the next teacher (``--escalate``) joins the queue.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Mapping, Sequence

from trajkit.collect.attempts import AttemptPlan, EpisodeKey, Outcome
from trajkit.schemas import Task, Trajectory
from trajkit.schemas.text import valid_text


class Schedule:
    """Ready episodes in order, and what every task has had and has in flight."""

    def __init__(
        self, plan: AttemptPlan, tasks: Sequence[Task], outcomes: Mapping[str, list[Outcome]]
    ) -> None:
        """``outcomes``: the run's recorded episodes by task id (as valid text, as records
        hold them); copied, so the run store's own view is never changed here."""
        self.plan = plan
        self.total = len(tasks)
        self._outcomes = {_id(t): list(outcomes.get(_id(t), [])) for t in tasks}
        self._queued: dict[str, set[EpisodeKey]] = {_id(t): set() for t in tasks}
        self.ready: deque[tuple[Task, EpisodeKey]] = deque()
        self.in_flight = 0
        self._settled: set[str] = set()  # kept up to date per task: counting is O(1)
        for task in tasks:
            self._plan(task)

    def _plan(self, task: Task) -> None:
        tid = _id(task)
        for key in self.plan.owed(self._outcomes[tid], self._queued[tid]):
            self._queued[tid].add(key)
            self.ready.append((task, key))
        if self.settled(task):
            self._settled.add(tid)
        else:
            self._settled.discard(tid)

    def next(self) -> tuple[Task, EpisodeKey]:
        """The next episode to play (the caller checked ``ready``)."""
        self.in_flight += 1
        return self.ready.popleft()

    def finished(self, task: Task, key: EpisodeKey, traj: Trajectory) -> None:
        """Note how episode ``key`` of ``task`` ended and queue whatever the task is owed now."""
        tid = _id(task)
        self.in_flight -= 1
        self._queued[tid].discard(key)
        self._outcomes[tid].append(Outcome(key, traj.success, traj.self_corrected))
        self._plan(task)

    def played(self, task: Task) -> bool:
        return bool(self._outcomes[_id(task)])

    def settled(self, task: Task) -> bool:
        """Nothing queued, running or owed for ``task``."""
        tid = _id(task)
        return not self._queued[tid] and not self.plan.owed(self._outcomes[tid])

    def settled_count(self) -> int:
        return len(self._settled)

    def most_remaining(self) -> int:
        """An upper bound on the episodes that could still run at once (at least 1)."""
        return max(1, sum(self.plan.most() - len(o) for o in self._outcomes.values()))


def _id(task: Task) -> str:
    return valid_text(task.task_id)
