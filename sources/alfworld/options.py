"""``--source-opt KEY=VALUE`` settings of the ALFWorld source, checked before any episode."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from trajkit.core.errors import ConfigError
from trajkit.sources.alfworld.openings import default_cache_dir

#: ALFWorld's own training configs cap an episode at 50 environment steps.
DEFAULT_MAX_STEPS = 50
#: The most a run may allow (WebShop's bound too): a cap past it is no cap at all.
MAX_MAX_STEPS = 10_000


@dataclass(frozen=True)
class AlfWorldOptions:
    """``max_steps``: environment actions per episode, counted across all of its cells, so a
    loop inside one cell cannot run forever; reaching it ends the episode as ``env_ended``.
    ``cache``: where games' opening observations are kept between loads (``none``: off)."""

    max_steps: int = DEFAULT_MAX_STEPS
    cache: Path | None = field(default_factory=default_cache_dir)

    @classmethod
    def parse(cls, raw: Mapping[str, str]) -> AlfWorldOptions:
        unknown = sorted(set(raw) - {"max_steps", "cache"})
        if unknown:
            raise ConfigError(
                f"--source-opt {unknown[0]}: unknown ALFWorld option (known: max_steps, cache)"
            )
        text = raw.get("max_steps", str(DEFAULT_MAX_STEPS))
        try:
            value = int(text)
        except ValueError:
            value = 0
        if not 1 <= value <= MAX_MAX_STEPS:
            raise ConfigError(
                f"--source-opt max_steps={text!r}: expected a whole number from 1 to {MAX_MAX_STEPS:,}"
            )
        cache = raw.get("cache")
        if cache is None:
            return cls(max_steps=value)
        return cls(max_steps=value, cache=None if cache.lower() == "none" else Path(cache))
