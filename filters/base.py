"""The filter unit interface: ``decide(trajectory) -> Keep | Drop(reason)``.

A unit judges one trajectory at a time and never sees the whole run, so chains can stream
runs of any size. Its ``name`` and ``params`` are recorded in the dataset manifest and must be
enough to rebuild it (``trajkit.filters.registry.make_filter``), which is what makes a dataset
version reproducible from its manifest alone.

Stateful units (e.g. dedup by signature) may define ``reset()``; the chain calls it at the start
of every pass so state never leaks from one build into the next.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol, Union, runtime_checkable

from trajkit.schemas import Trajectory


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
