"""Rates as people read them: never 100 % while something failed, never 0 % while one passed.

``f"{199/200:.0%}"`` prints ``100%``, which reads as "nothing was lost" when one episode was.
:func:`percent` keeps the short form where it is exact enough and adds a decimal only where
rounding would cross a boundary, and says ``>99.9%`` / ``<0.1%`` where even that would.
"""

from __future__ import annotations


def percent(n: int, d: int, *, decimals: int = 0, empty: str = "-") -> str:
    """``n / d`` as a percentage with ``decimals`` places, never rounded to 0 % or 100 %
    unless it is exactly that; ``empty`` when ``d`` is 0."""
    if d <= 0:
        return empty
    value = 100.0 * n / d
    text = f"{value:.{decimals}f}%"
    if 0 < n < d and (float(text[:-1]) >= 100.0 or float(text[:-1]) <= 0.0):
        places = max(decimals, 1)
        text = f"{value:.{places}f}%"
        if float(text[:-1]) >= 100.0:
            return f">{100 - 10 ** -places:.{places}f}%"
        if float(text[:-1]) <= 0.0:
            return f"<{10 ** -places:.{places}f}%"
    return text
