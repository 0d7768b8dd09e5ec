"""Name → unit factory, so a chain can be rebuilt from a manifest's ``filters`` (name + params).

Every unit that may appear in a manifest registers here; a unit whose ``params`` do not
round-trip through its factory would make dataset versions impossible to rebuild.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from trajkit.filters.base import Filter
from trajkit.filters.chain import FilterChain
from trajkit.filters.self_correct import SelfCorrectFilter
from trajkit.filters.success import SuccessFilter
from trajkit.schemas import FilterReport
from trajkit.schemas.errors import ConfigError

FilterFactory = Callable[..., Filter]

REGISTRY: dict[str, FilterFactory] = {
    SuccessFilter.name: SuccessFilter,
    SelfCorrectFilter.name: SelfCorrectFilter,
}


def register(name: str, factory: FilterFactory) -> None:
    """Add a unit (a class taking its ``params`` as keyword arguments) under ``name``."""
    if name in REGISTRY and REGISTRY[name] is not factory:
        raise ValueError(f"filter {name!r} is already registered")
    REGISTRY[name] = factory


def make_filter(name: str, params: dict[str, Any] | None = None) -> Filter:
    """Build the unit ``name`` from the ``params`` a manifest recorded for it."""
    factory = REGISTRY.get(name)
    if factory is None:
        raise ConfigError(f"unknown filter {name!r} (known: {', '.join(sorted(REGISTRY))})")
    try:
        return factory(**(params or {}))
    except TypeError as exc:
        raise ConfigError(f"filter {name!r}: bad params {params!r}: {exc}") from None


def chain_from_reports(reports: Sequence[FilterReport]) -> FilterChain:
    """The chain a dataset manifest describes, in the recorded order."""
    return FilterChain([make_filter(r.name, r.params) for r in reports])
