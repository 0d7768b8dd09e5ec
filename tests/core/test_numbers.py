"""Rates never read as 'nothing lost' (100 %) or 'nothing kept' (0 %) unless they are."""

from __future__ import annotations

import pytest

from trajkit.core.numbers import percent


@pytest.mark.parametrize(
    ("n", "d", "decimals", "text"),
    [
        (199, 200, 0, "99.5%"),  # was "100%"
        (1, 200, 0, "0.5%"),  # was "0%"
        (1999, 2000, 0, ">99.9%"),
        (99_999, 100_000, 1, ">99.9%"),
        (1, 100_000, 0, "<0.1%"),
        (200, 200, 0, "100%"),
        (0, 200, 0, "0%"),
        (1, 3, 0, "33%"),
        (1, 3, 1, "33.3%"),
        (0, 0, 0, "-"),
    ],
)
def test_percent(n: int, d: int, decimals: int, text: str) -> None:
    assert percent(n, d, decimals=decimals) == text
