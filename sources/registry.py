"""Source names → implementations; the CLI resolves ``--source`` here.

Entries are import paths so that naming a source imports only that source's dependencies.
Adding a source is one line in ``_SOURCES``.
"""

from __future__ import annotations

import importlib

from trajkit.schemas.errors import ConfigError
from trajkit.sources.base import Source

_SOURCES: dict[str, str] = {
    "math": "trajkit.sources.math:MathSource",
}


def known_sources() -> list[str]:
    """Registered source names, sorted (for help text and error messages)."""
    return sorted(_SOURCES)


def get_source(name: str) -> Source:
    """A new instance of the source called ``name``; unknown names are a one-line ConfigError."""
    target = _SOURCES.get(name.strip().lower())
    if target is None:
        raise ConfigError(f"unknown source {name!r} (known: {', '.join(known_sources())})")
    module_name, _, attr = target.partition(":")
    return getattr(importlib.import_module(module_name), attr)()
