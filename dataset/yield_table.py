"""The yield table — attempts, success, self-correction, kept, tokens and dollars per kept — as
rows of text, so ``trajkit stats``, the dataset card and the report show the same figures the
same way (``core.yields`` counts them)."""

from __future__ import annotations

from collections.abc import Mapping

from trajkit.core.numbers import percent
from trajkit.schemas import YieldCounts

HEADER = ("episodes", "tasks", "success", "self-corrected", "kept", "tokens / kept", "USD / kept")
#: Right-aligned numbers after the name column (Markdown alignment letters).
ALIGN = "l" + "r" * len(HEADER)


def money(usd: float | None) -> str:
    """``$0.0123``: four significant places down to a hundredth of a cent; ``-`` if unknown."""
    if usd is None:
        return "-"
    return f"${usd:,.4f}" if usd < 100 else f"${usd:,.2f}"


def yield_cells(y: YieldCounts) -> tuple[str, ...]:
    """One group's figures as text, in ``HEADER`` order."""
    per_kept = y.tokens_per_kept
    return (
        f"{y.episodes:,}",
        f"{y.tasks:,}",
        percent(y.succeeded, y.episodes, decimals=1),
        percent(y.self_corrected, y.episodes, decimals=1),
        f"{y.kept:,}",
        "-" if per_kept is None else f"{per_kept:,.0f}",
        money(y.cost_per_kept) if y.kept else ("no kept" if y.cost_usd is not None else "-"),
    )


def yield_rows(groups: Mapping[str, YieldCounts]) -> list[tuple[str, ...]]:
    """``(name, *cells)`` per group, in name order."""
    return [(name, *yield_cells(y)) for name, y in sorted(groups.items())]


def yield_line(y: YieldCounts) -> str:
    """One sentence: ``12 kept of 48 episodes (25.0%), $0.0123 per kept``."""
    kept = f"{y.kept:,} kept of {y.episodes:,} episodes ({percent(y.kept, y.episodes, decimals=1)})"
    if y.kept and y.cost_per_kept is not None:
        return f"{kept}, {money(y.cost_per_kept)} and {y.tokens_per_kept or 0:,.0f} tokens per kept"
    if y.kept:
        return f"{kept}, {y.tokens_per_kept or 0:,.0f} tokens per kept"
    return kept
