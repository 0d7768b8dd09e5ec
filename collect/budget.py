"""``--max-cost``: stop starting episodes before the projected spend passes the budget.

Projection = what finished episodes cost + (episodes in flight + the one about to start) ×
the mean cost of a finished episode. In-flight episodes always finish (their tokens are
already being paid for); the run then ends as ``budget_reached`` and resumes with a higher
budget. Before any episode has finished there is no mean, so up to ``--concurrency``
episodes start.
"""

from __future__ import annotations


class Budget:
    """Spend accounting for one run (including episodes recorded before a resume)."""

    def __init__(self, max_cost: float | None, spent: float = 0.0, finished: int = 0) -> None:
        self.max_cost = max_cost
        self.spent = spent
        self.finished = finished
        self.in_flight = 0
        self.exhausted = False

    def mean_cost(self) -> float:
        return self.spent / self.finished if self.finished else 0.0

    def projected(self, starting: int = 1) -> float:
        return self.spent + (self.in_flight + starting) * self.mean_cost()

    def try_start(self) -> bool:
        """Reserve a slot for one more episode, or say the budget is reached."""
        if self.max_cost is not None and (
            self.spent >= self.max_cost or self.projected() > self.max_cost
        ):
            self.exhausted = True
            return False
        self.in_flight += 1
        return True

    def finish(self, cost: float) -> None:
        self.in_flight -= 1
        self.finished += 1
        self.spent += cost
