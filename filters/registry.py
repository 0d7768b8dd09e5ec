"""Filter units by name, from the plugin registry (entry-point group ``trajkit.filters``).

A chain is rebuilt from a manifest's ``filters`` (name + params) through here, so every unit
that may appear in a manifest must be registered, and its ``params`` must round-trip through
its factory: otherwise a dataset version could not be rebuilt from its manifest.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Sequence
from typing import Any

from trajkit.core import registry
from trajkit.core.errors import ConfigError, ParamError, PluginError
from trajkit.filters.base import Filter
from trajkit.filters.chain import FilterChain
from trajkit.schemas import FilterReport

FilterFactory = Callable[..., Filter]


def known_filters() -> list[str]:
    """Every registered unit name, sorted (for error messages and listings)."""
    return registry.names("filter")


def filter_factory(name: str) -> FilterFactory:
    """The factory (usually a class) of unit ``name``; unknown names list the known ones."""
    try:
        factory: FilterFactory = registry.get("filter", name)
    except PluginError as exc:
        if "unknown filter" in str(exc):
            raise PluginError(f"unknown filter {name!r} (known: {', '.join(known_filters())})") from None
        raise
    return factory


def param_names(name: str) -> list[str]:
    """The keyword parameters unit ``name`` accepts (for error messages naming a bad key)."""
    factory = filter_factory(name)
    target = factory.__init__ if inspect.isclass(factory) else factory
    return [
        p.name for p in inspect.signature(target).parameters.values()
        if p.name != "self" and p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY)
    ]


def build_unit(name: str, params: dict[str, Any]) -> Filter:
    """Build unit ``name``; raises ``PluginError`` (unknown name) or ``ParamError`` (bad value
    or unknown key, with ``param`` set) so each caller can say where the value came from."""
    factory = filter_factory(name)
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
    try:
        return build_unit(name, dict(params or {}))
    except ParamError as exc:
        raise ConfigError(f"filter {name!r}: bad params {params!r}: {exc.param}: {exc.message}") from None


def chain_from_reports(reports: Sequence[FilterReport]) -> FilterChain:
    """The chain a dataset manifest describes, in the recorded order."""
    return FilterChain([make_filter(r.name, r.params) for r in reports])


def rebuildable(units: Sequence[Filter]) -> list[Filter]:
    """``units`` unchanged, after checking each can be rebuilt from its name and params
    (what the manifest will record); a unit that cannot is a one-line ``ConfigError``."""
    for unit in units:
        try:
            make_filter(unit.name, dict(unit.params))
        except ConfigError as exc:
            raise ConfigError(
                f"filter {unit.name!r} cannot be rebuilt from the manifest it would write ({exc}); "
                "register it (entry point trajkit.filters) and keep its params JSON"
            ) from None
    return list(units)
