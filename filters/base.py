"""The filter unit interface: ``decide(trajectory) -> Keep | Drop(reason)``.

A unit judges one trajectory at a time and never sees the whole run, so chains can stream
runs of any size. Its ``name`` and ``params`` are recorded in the dataset manifest and must be
enough to rebuild it (``trajkit.filters.registry.make_filter``), which is what makes a dataset
version reproducible from its manifest alone.

Stateful units may define ``reset()``; the chain calls it at the start of every pass so state
never leaks from one build into the next.

Two-pass units (dedup keeping the *best* copy, balance needing group counts) cannot decide a
record from the records before it alone. They also define ``prepare(trajs)``: the chain feeds
them, before the streaming pass, exactly the records they will later see (what the earlier
units keep), and they keep only compact per-record state (signatures, counts, a keep bitmap),
never whole trajectories, so memory stays bounded by the number of records, not their size.
``reset()`` on such a unit rewinds its cursor but keeps what ``prepare`` learned.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, Protocol, Union, runtime_checkable

from trajkit.core.errors import ParamError
from trajkit.schemas import Trajectory

__all__ = ["KEEP", "Decision", "Drop", "Filter", "Keep", "ParamError", "TwoPassFilter", "is_two_pass"]


@dataclass(frozen=True)
class Keep:
    """The unit lets the trajectory through to the next unit."""


@dataclass(frozen=True)
class Drop:
    """The unit rejects the trajectory.

    ``reason`` is counted in the unit's ``FilterReport.drop_reasons``, so keep it a short, stable
    key (``"unsuccessful"``), not a message with per-record numbers in it.
    """

    reason: str


Decision = Union[Keep, Drop]  # noqa: UP007 - a runtime alias, valid on the Python 3.10 target

KEEP = Keep()


@runtime_checkable
class Filter(Protocol):
    """One filter unit. ``params`` must be JSON-serialisable: it goes into the manifest and the
    dataset fingerprint, so two units with equal ``name`` and ``params`` must decide alike."""

    name: str

    @property
    def params(self) -> dict[str, Any]: ...

    def decide(self, traj: Trajectory) -> Decision: ...


@runtime_checkable
class TwoPassFilter(Filter, Protocol):
    """A unit that must see its whole input once (``prepare``) before deciding (``decide``)."""

    def prepare(self, trajs: Iterable[Trajectory]) -> None: ...


def is_two_pass(unit: object) -> bool:
    """True if ``unit`` needs a ``prepare`` pass before its decisions mean anything."""
    return callable(getattr(unit, "prepare", None))

