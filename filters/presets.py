"""Named chains: the mission's default and the CLI's ``--keep`` names."""

from __future__ import annotations

from collections.abc import Iterable

from trajkit.filters.base import Filter
from trajkit.filters.chain import FilterChain
from trajkit.filters.self_correct import SelfCorrectFilter
from trajkit.filters.success import SuccessFilter
from trajkit.schemas.errors import ConfigError

KEEP_ALL = "all"

# CLI name → unit factory with default params. Add new units here to expose them to --keep.
KEEP_NAMES = {
    "success": SuccessFilter,
    "self-correct": SelfCorrectFilter,
}


def default_chain() -> FilterChain:
    """Successful trajectories that self-correct: what the training datasets are for."""
    return FilterChain([SuccessFilter(), SelfCorrectFilter()])


def build_chain(names: Iterable[str]) -> FilterChain:
    """The chain for CLI ``--keep`` values, in the given order.

    Values may repeat the flag or be comma-separated (``success,self-correct``); repeats are
    ignored. No names means :func:`default_chain`; ``all`` alone means no filter at all.
    """
    wanted: list[str] = []
    for raw in names:
        for part in raw.split(","):
            name = part.strip()
            if name and name not in wanted:
                wanted.append(name)
    if not wanted:
        return default_chain()
    choices = ", ".join([KEEP_ALL, *KEEP_NAMES])
    if KEEP_ALL in wanted:
        if len(wanted) > 1:
            raise ConfigError(f"--keep: '{KEEP_ALL}' cannot be combined with other filters")
        return FilterChain([])
    units: list[Filter] = []
    for name in wanted:
        factory = KEEP_NAMES.get(name)
        if factory is None:
            raise ConfigError(f"--keep: unknown filter {name!r} (choose from: {choices})")
        units.append(factory())
    return FilterChain(units)
