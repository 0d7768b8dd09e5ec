"""Seeded task sampling shared by every source, so ``--limit``/``--seed`` mean one thing."""

from __future__ import annotations

import random

from trajkit.core.errors import ConfigError
from trajkit.schemas import Task


def sample_tasks(tasks: list[Task], limit: int | None, seed: int) -> list[Task]:
    """Pick ``limit`` tasks with ``random.Random(seed)``, returned in file order.

    The choice is the first ``limit`` entries of one seeded shuffle, so a larger limit with
    the same seed is a superset of a smaller one: raising ``--limit`` on a resumed run keeps
    the tasks already done. ``None`` keeps everything.
    """
    if limit is None:
        return list(tasks)
    if limit < 0:
        raise ConfigError(f"--limit: must be >= 0, got {limit}")
    order = list(range(len(tasks)))
    random.Random(seed).shuffle(order)
    return [tasks[i] for i in sorted(order[:limit])]
