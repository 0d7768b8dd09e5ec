"""Source names → implementations; the CLI resolves ``--source`` here.

Entries are import paths so that naming a source imports only that source's dependencies.
Adding a source is one line in ``_SOURCES``.
"""

from __future__ import annotations

import importlib
from collections.abc import Mapping

from trajkit.schemas.errors import ConfigError
from trajkit.sources.base import Source

_SOURCES: dict[str, str] = {
    "math": "trajkit.sources.math:MathSource",
    "apps": "trajkit.sources.apps:AppsSource",
    "hotpotqa": "trajkit.sources.hotpotqa:HotpotQASource",
    "alfworld": "trajkit.sources.alfworld:AlfWorldSource",
    "webshop": "trajkit.sources.webshop:WebShopSource",
}


def known_sources() -> list[str]:
    """Registered source names, sorted (for help text and error messages)."""
    return sorted(_SOURCES)


def get_source(name: str, options: Mapping[str, str] | None = None) -> Source:
    """A new instance of the source called ``name``.

    ``options`` are the ``--source-opt KEY=VALUE`` pairs; each source validates its own and
    names the bad one. Unknown names and options are one-line ``ConfigError``s.
    """
    target = _SOURCES.get(name.strip().lower())
    if target is None:
        raise ConfigError(f"unknown source {name!r} (known: {', '.join(known_sources())})")
    module_name, _, attr = target.partition(":")
    cls = getattr(importlib.import_module(module_name), attr)
    options = dict(options or {})
    if not options:
        return cls()
    from_options = getattr(cls, "from_options", None)
    if from_options is None:
        raise ConfigError(f"--source-opt: source {name!r} takes no options (got {', '.join(options)})")
    return from_options(options)
