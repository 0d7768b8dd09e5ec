"""Named chains: the mission's default, the CodeAct paper's, and the CLI's ``--keep`` names.

``--keep NAME`` takes any registered filter unit that needs no parameters (``success``,
``self-correct``, ``valid-format``, a plugin's own unit, ...): the registry is the list.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

from trajkit.core.errors import ConfigError, ParamError
from trajkit.filters.base import Filter
from trajkit.filters.chain import FilterChain
from trajkit.filters.paper import PaperHeuristicsFilter
from trajkit.filters.registry import build_unit, known_filters
from trajkit.filters.self_correct import SelfCorrectFilter
from trajkit.filters.success import SuccessFilter
from trajkit.filters.turns import TurnsFilter

KEEP_ALL = "all"


def default_units() -> list[Filter]:
    """Successful trajectories that self-correct: what the training datasets are for."""
    return [SuccessFilter(), SelfCorrectFilter()]


def paper_units() -> list[Filter]:
    """CodeActInstruct's heuristics: successful, more than 2 turns, and the two content rules
    of ``paper-heuristics``. Looser than the default: no error-then-recovery is required."""
    return [SuccessFilter(), TurnsFilter(min_turns=3), PaperHeuristicsFilter()]


PRESETS: dict[str, Callable[[], list[Filter]]] = {"default": default_units, "paper": paper_units}


def default_chain() -> FilterChain:
    """The chain ``trajkit filter`` uses when no filter flag is given."""
    return FilterChain(default_units())


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
    if KEEP_ALL in wanted:
        if len(wanted) > 1:
            raise ConfigError(f"--keep: '{KEEP_ALL}' cannot be combined with other filters")
        return FilterChain([])
    return FilterChain([keep_unit(name) for name in wanted])


def keep_unit(name: str) -> Filter:
    """The unit ``--keep NAME`` adds: registered filter ``name`` with its default params."""
    known = known_filters()
    if name not in known:
        raise ConfigError(f"--keep: unknown filter {name!r} (choose from: {', '.join([KEEP_ALL, *known])})")
    try:
        return build_unit(name, {})
    except ParamError as exc:
        raise ConfigError(
            f"--keep {name}: this filter needs parameters ({exc.message}); use its own flag or "
            "a --config chain file"
        ) from None
