"""Parsing helpers shared by the sources' ``--source-opt KEY=VALUE`` options."""

from __future__ import annotations

from collections.abc import Mapping

from trajkit.core.errors import ConfigError


def number_option(
    raw: Mapping[str, str], name: str, kind: type, lo: float, hi: float, default: float
) -> float:
    """``raw[name]`` as ``kind`` (int or float) within ``[lo, hi]``, else ``default`` if absent;
    a one-line ``ConfigError`` naming the option otherwise."""
    if name not in raw:
        return default
    try:
        value = kind(raw[name])
    except ValueError:
        raise ConfigError(f"--source-opt {name}={raw[name]!r}: expected a {kind.__name__}") from None
    if not lo <= value <= hi:
        raise ConfigError(f"--source-opt {name}={raw[name]}: must be between {lo:g} and {hi:g}")
    return value
