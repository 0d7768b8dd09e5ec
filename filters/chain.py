"""``FilterChain``: run units in order over a stream of trajectories, counting each unit.

Streaming (an iterator in, an iterator out) is what lets a multi-gigabyte run be filtered in
constant memory; the per-unit counts become the ``filters`` table of the dataset manifest.

A chain holding two-pass units (``base.is_two_pass``) needs :meth:`FilterChain.prepare` with a
way to re-read its input before :meth:`FilterChain.run`: each such unit gets one extra pass
over the records the units before it keep. Chains of single-pass units read their input once.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Sequence
from typing import Any

from trajkit.filters.base import Drop, Filter, is_two_pass
from trajkit.schemas import FilterReport, Trajectory


class FilterChain:
    """Units applied in order; a trajectory dropped by unit k is never shown to unit k+1.

    ``reports`` holds one ``FilterReport`` per unit, current as :meth:`run` streams. An empty
    chain keeps everything (the CLI's ``--keep all``). Counting uses plain ints, turned into
    reports when read: a pydantic attribute update per unit per record was a measurable share
    of filtering time.
    """

    def __init__(self, filters: Sequence[Filter]) -> None:
        self.filters: tuple[Filter, ...] = tuple(filters)
        self._seen: list[int] = []
        self._kept: list[int] = []
        self._reasons: list[dict[str, int]] = []
        self._prepared = False
        self.reset()

    def __len__(self) -> int:
        return len(self.filters)

    def __repr__(self) -> str:
        return f"FilterChain({[f.name for f in self.filters]!r})"

    @property
    def names(self) -> list[str]:
        return [f.name for f in self.filters]

    def spec(self) -> list[dict[str, Any]]:
        """``[{"name", "params"}]`` per unit: what the dataset fingerprint is computed over."""
        return [{"name": f.name, "params": dict(f.params)} for f in self.filters]

    @property
    def two_pass(self) -> bool:
        """True if some unit must see the whole input before deciding (needs :meth:`prepare`)."""
        return any(is_two_pass(f) for f in self.filters)

    def prepare(self, source: Callable[[], Iterable[Trajectory]]) -> None:
        """Give each two-pass unit its first pass; ``source()`` must yield the same records,
        in the same order, every time it is called (and as the later :meth:`run` gets).

        Unit k's pass holds the records that units 0..k-1 keep, with earlier two-pass units
        already deciding from their own plans, so the plan matches what :meth:`run` shows it.
        """
        for k, unit in enumerate(self.filters):
            if not is_two_pass(unit):
                continue
            upstream = self.filters[:k]
            for earlier in upstream:
                _reset(earlier)
            unit.prepare(  # type: ignore[attr-defined]
                t for t in source() if not any(isinstance(u.decide(t), Drop) for u in upstream)
            )
            for earlier in upstream:
                _finish(earlier)
        self._prepared = True

    def reset(self) -> None:
        """Zero the reports and reset stateful units (those defining ``reset()``)."""
        n = len(self.filters)
        self._seen, self._kept, self._reasons = [0] * n, [0] * n, [{} for _ in range(n)]
        for unit in self.filters:
            _reset(unit)

    @property
    def reports(self) -> list[FilterReport]:
        """One ``FilterReport`` per unit with the counts so far (fresh objects on each read)."""
        return [
            FilterReport(name=f.name, params=dict(f.params), seen=seen, kept=kept,
                         dropped=seen - kept, drop_reasons=dict(reasons))
            for f, seen, kept, reasons in zip(self.filters, self._seen, self._kept, self._reasons, strict=True)
        ]

    def decide(self, traj: Trajectory) -> Drop | None:
        """Run one trajectory through the units, counting; return the ``Drop`` or ``None``."""
        seen, kept = self._seen, self._kept
        for i, unit in enumerate(self.filters):
            seen[i] += 1
            decision = unit.decide(traj)
            if isinstance(decision, Drop):
                reasons = self._reasons[i]
                reasons[decision.reason] = reasons.get(decision.reason, 0) + 1
                return decision
            kept[i] += 1
        return None

    def run(self, trajs: Iterable[Trajectory]) -> Iterator[Trajectory]:
        """Yield the kept trajectories lazily; each run starts from fresh reports and state.

        With two-pass units, call :meth:`prepare` first; an in-memory sequence is prepared
        here automatically. Each preparation serves one run.
        """
        if self.two_pass and not self._prepared:
            if not isinstance(trajs, Sequence):
                raise RuntimeError(
                    f"{self!r} has two-pass units: call prepare(source) before run(stream)"
                )
            materialised = trajs
            self.prepare(lambda: materialised)
        self.reset()
        try:
            for traj in trajs:
                if self.decide(traj) is None:
                    yield traj
        finally:
            self._prepared = False
        for unit in self.filters:
            _finish(unit)


def _reset(unit: Filter) -> None:
    reset = getattr(unit, "reset", None)
    if callable(reset):
        reset()


def _finish(unit: Filter) -> None:
    finish = getattr(unit, "finish", None)
    if callable(finish):
        finish()
