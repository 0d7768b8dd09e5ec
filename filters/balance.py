"""``balance``: cap how much of the dataset each group may take, seeded and deterministic.

Runs are lopsided (a cheap source yields ten times the trajectories of a hard one), and a
model trained on the raw mix learns the mix. Groups are ``by`` fields: ``source`` and/or keys
of ``task.metadata`` such as ``type`` or ``level`` (a missing key groups as ``-``), joined
with ``/`` (``math/Algebra``). ``limits`` maps a group, or ``*`` for every group not named, to:

- an int N: keep at most N records of the group;
- a float p in (0, 1): keep round(p × group size) records of the group.

Groups with no limit (and no ``*``) are kept whole. Which records stay is a seeded uniform
sample within the group, not the first N, which would favour whatever was collected first;
the sample depends only on the group's size, the seed and the group name, so rebuilding from
the manifest picks the same records. Two passes: counts first, then the sample is replayed.
"""

from __future__ import annotations

import math
import random
from collections.abc import Iterable, Sequence
from typing import Any

from trajkit.core.errors import DataError
from trajkit.filters.base import ParamError
from trajkit.filters.two_pass import KeepBitmap, TwoPassUnit
from trajkit.schemas import Trajectory

ANY_GROUP = "*"
MISSING = "-"
#: Metadata keys named when a ``by`` field is found in no record.
MAX_KEYS_SHOWN = 12


def _limit(group: str, value: Any) -> int | float:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ParamError("limits", f"{group}: expected a count or a fraction, got {value!r}")
    if isinstance(value, int):
        if value < 0:
            raise ParamError("limits", f"{group}: a count must be >= 0, got {value}")
        return value
    if not 0 < value < 1:
        raise ParamError("limits", f"{group}: a fraction must be in (0, 1), got {value}")
    return value


class BalanceFilter(TwoPassUnit):
    """Drops ``balanced_out:GROUP`` for the records a group's limit leaves out."""

    name = "balance"

    def __init__(
        self, limits: dict[str, int | float], by: Sequence[str] = ("source",), seed: int = 0
    ) -> None:
        super().__init__()
        if not isinstance(limits, dict) or not limits:
            raise ParamError("limits", "give at least one GROUP=LIMIT")
        if isinstance(by, str):
            by = [by]
        if not isinstance(by, (list, tuple)) or not by or not all(isinstance(f, str) and f for f in by):
            raise ParamError("by", f"expected field names such as source, type, level; got {by!r}")
        if isinstance(seed, bool) or not isinstance(seed, int):
            raise ParamError("seed", f"must be a whole number, got {seed!r}")
        self.limits = {str(g): _limit(str(g), v) for g, v in sorted(limits.items())}
        self.by, self.seed = list(by), seed
        self._groups: list[str] = []
        self._selected: dict[str, set[int] | None] = {}

    @property
    def params(self) -> dict[str, Any]:
        return {"limits": dict(self.limits), "by": list(self.by), "seed": self.seed}

    def group(self, traj: Trajectory) -> str:
        """The record's group name, e.g. ``math/Level 5``."""
        values = []
        for field in self.by:
            value = traj.source if field == "source" else traj.task.metadata.get(field, MISSING)
            values.append(str(value))
        return "/".join(values)

    def quota(self, group: str, size: int) -> int:
        """How many of a group of ``size`` records stay."""
        limit = self.limits.get(group, self.limits.get(ANY_GROUP))
        if limit is None:
            return size
        if isinstance(limit, int):
            return min(limit, size)
        return min(size, math.floor(limit * size + 0.5))

    def plan(self, trajs: Iterable[Trajectory]) -> KeepBitmap:
        """Counts per group, then each group's seeded sample. A ``by`` field that no record
        has is refused (``DataError``): every record would fall into one ``-`` group and the
        whole dataset be cut to that group's limit, silently, over a typo."""
        groups: list[str] = []  # per position; group names are shared strings
        names: dict[str, str] = {}
        sizes: dict[str, int] = {}
        unseen = {f for f in self.by if f != "source"}
        keys: set[str] = set()  # metadata keys seen, to name in the refusal
        for traj in trajs:
            g = self.group(traj)
            g = names.setdefault(g, g)
            groups.append(g)
            sizes[g] = sizes.get(g, 0) + 1
            if unseen:
                unseen.difference_update(traj.task.metadata)
                if len(keys) < MAX_KEYS_SHOWN:
                    keys.update(traj.task.metadata)
        if unseen and groups:
            shown = ", ".join(sorted(keys)[:MAX_KEYS_SHOWN]) or "none"
            raise DataError(
                f"balance by {sorted(unseen)[0]!r}: no record has this field (group by source, "
                f"or by a key of the tasks' metadata: {shown})"
            )
        chosen: dict[str, set[int] | None] = {}
        for g, size in sizes.items():
            q = self.quota(g, size)
            # str seeds are hashed with SHA-512 by random.seed: the same in every process.
            chosen[g] = None if q >= size else set(random.Random(f"{self.seed}:{g}").sample(range(size), q))
        keep = KeepBitmap(len(groups))
        index: dict[str, int] = {}
        for pos, g in enumerate(groups):
            i = index.get(g, 0)
            index[g] = i + 1
            picked = chosen[g]
            if picked is None or i in picked:
                keep.set(pos)
        self._groups = groups
        return keep

    def reason_at(self, pos: int, traj: Trajectory) -> str:
        return f"balanced_out:{self._groups[pos]}"
