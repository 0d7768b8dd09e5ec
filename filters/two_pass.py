"""Shared machinery for two-pass units: a keep bitmap by position, and a replay check.

``prepare`` sees the records in the same order as the later streaming pass, so a record can be
named by its position alone: the plan is one bit per record (125 KB per million records)
instead of a set of ids. Because a plan by position is only right if the second pass replays
exactly the first pass's records, both passes hash the ids they see; a mismatch (a caller that
fed a different stream) raises instead of silently keeping the wrong copies.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Iterator
from typing import Any

from trajkit.filters.base import KEEP, Decision, Drop
from trajkit.schemas import Trajectory


class KeepBitmap:
    """One bit per position; positions are appended in order during ``prepare``."""

    def __init__(self, size: int) -> None:
        self._bits = bytearray((size + 7) // 8)
        self.size = size

    def set(self, pos: int) -> None:
        self._bits[pos >> 3] |= 1 << (pos & 7)

    def __contains__(self, pos: int) -> bool:
        return bool(self._bits[pos >> 3] & (1 << (pos & 7)))


class TwoPassUnit:
    """Base for units that plan in ``prepare`` and replay the plan in ``decide``.

    Subclasses implement :meth:`plan` (consume the records, return the positions to keep and a
    reason per dropped position via :meth:`reason_at`) and ``name``/``params``.
    """

    name: str = ""

    def __init__(self) -> None:
        self._keep: KeepBitmap | None = None
        self._expected: tuple[int, str] | None = None
        self._cursor = 0
        self._replay = hashlib.sha256()

    @property
    def params(self) -> dict[str, Any]:  # pragma: no cover - every subclass overrides
        raise NotImplementedError

    def plan(self, trajs: Iterable[Trajectory]) -> KeepBitmap:
        """Consume every record once; return which positions to keep."""
        raise NotImplementedError

    def reason_at(self, pos: int, traj: Trajectory) -> str:
        """The drop reason for a position the plan does not keep."""
        raise NotImplementedError

    def prepare(self, trajs: Iterable[Trajectory]) -> None:
        """Plan over ``trajs`` (exactly what this unit will see next), replacing any old plan."""
        digest = hashlib.sha256()
        count = 0

        def tracked() -> Iterator[Trajectory]:
            nonlocal count
            for traj in trajs:
                count += 1
                digest.update(traj.id.encode("utf-8") + b"\n")
                yield traj

        self._keep = None
        keep = self.plan(tracked())
        self._keep, self._expected = keep, (count, digest.hexdigest())
        self.reset()

    def reset(self) -> None:
        """Rewind to the first record; the plan is kept (only ``prepare`` replaces it)."""
        self._cursor = 0
        self._replay = hashlib.sha256()

    def decide(self, traj: Trajectory) -> Decision:
        if self._keep is None or self._expected is None:
            raise RuntimeError(f"filter {self.name!r} is two-pass: the chain must prepare() it first")
        pos = self._cursor
        if pos >= self._expected[0]:
            raise RuntimeError(f"filter {self.name!r}: more records than in its prepare pass")
        self._cursor += 1
        self._replay.update(traj.id.encode("utf-8") + b"\n")
        return KEEP if pos in self._keep else Drop(self.reason_at(pos, traj))

    def finish(self) -> None:
        """Called by the chain after a complete pass: the replay must equal the prepare pass."""
        if self._expected is None:
            return
        if (self._cursor, self._replay.hexdigest()) != self._expected:
            raise RuntimeError(
                f"filter {self.name!r}: the streaming pass saw other records than its prepare pass"
            )
