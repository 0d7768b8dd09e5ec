"""Name → unit factory, so a chain can be rebuilt from a manifest's ``filters`` (name + params).

Every unit that may appear in a manifest registers here; a unit whose ``params`` do not
round-trip through its factory would make dataset versions impossible to rebuild.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Sequence
from typing import Any

from trajkit.filters.balance import BalanceFilter
from trajkit.filters.base import Filter, ParamError
from trajkit.filters.chain import FilterChain
from trajkit.filters.decontaminate import DecontaminateFilter
from trajkit.filters.dedup import DedupFilter
from trajkit.filters.no_secrets import NoSecretsFilter
from trajkit.filters.paper import PaperHeuristicsFilter
from trajkit.filters.self_correct import SelfCorrectFilter
from trajkit.filters.success import SuccessFilter
from trajkit.filters.tokens import TokensFilter
from trajkit.filters.turns import TurnsFilter
from trajkit.filters.valid_format import ValidFormatFilter
from trajkit.schemas import FilterReport
from trajkit.schemas.errors import ConfigError

FilterFactory = Callable[..., Filter]

REGISTRY: dict[str, FilterFactory] = {
    unit.name: unit
    for unit in (
        SuccessFilter, SelfCorrectFilter, TurnsFilter, TokensFilter, ValidFormatFilter,
        NoSecretsFilter, PaperHeuristicsFilter, DedupFilter, DecontaminateFilter, BalanceFilter,
    )
}


def register(name: str, factory: FilterFactory) -> None:
    """Add a unit (a class taking its ``params`` as keyword arguments) under ``name``."""
    if name in REGISTRY and REGISTRY[name] is not factory:
        raise ValueError(f"filter {name!r} is already registered")
    REGISTRY[name] = factory


def param_names(name: str) -> list[str]:
    """The keyword parameters unit ``name`` accepts (for error messages naming a bad key)."""
    factory = REGISTRY[name]
    target = factory.__init__ if inspect.isclass(factory) else factory  # type: ignore[misc]
    return [
        p.name for p in inspect.signature(target).parameters.values()
        if p.name != "self" and p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY)
    ]


def build_unit(name: str, params: dict[str, Any]) -> Filter:
    """Build unit ``name``; raises ``KeyError`` (unknown name), ``ParamError`` (bad value or
    unknown key, with ``param`` set) so each caller can say where the value came from."""
    factory = REGISTRY[name]
    known = param_names(name)
    for key in params:
        if key not in known:
            raise ParamError(key, f"unknown parameter (known: {', '.join(known) or 'none'})")
    try:
        return factory(**params)
    except TypeError as exc:  # e.g. a required parameter missing
        raise ParamError("params", str(exc)) from None


def make_filter(name: str, params: dict[str, Any] | None = None) -> Filter:
    """Build the unit ``name`` from the ``params`` a manifest recorded for it."""
    if name not in REGISTRY:
        raise ConfigError(f"unknown filter {name!r} (known: {', '.join(sorted(REGISTRY))})")
    try:
        return build_unit(name, dict(params or {}))
    except ParamError as exc:
        raise ConfigError(f"filter {name!r}: bad params {params!r}: {exc.param}: {exc.message}") from None


def chain_from_reports(reports: Sequence[FilterReport]) -> FilterChain:
    """The chain a dataset manifest describes, in the recorded order."""
    return FilterChain([make_filter(r.name, r.params) for r in reports])
