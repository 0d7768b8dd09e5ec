"""How an actual output is compared with an expected one (host side, our own rules).

APPS expected outputs were produced by reference programs whose whitespace and float
formatting vary, so, like the benchmark's grader, we accept more than byte equality. Each
rule is tried in order and the first that matches is recorded in the verdict details:

Standard input/output mode (text):

1. ``exact``: equal after normalising ``\\r\\n`` and stripping surrounding whitespace;
2. ``lines``: equal line by line, each line stripped, trailing empty lines ignored;
3. ``numeric``: the same number of whitespace-separated tokens, where each pair is either
   the same string or two decimal numbers within ``1e-6`` absolute *or* relative
   (``math.isclose(a, b, rel_tol=1e-6, abs_tol=1e-6)``); two integer tokens must be equal
   exactly (so ``10**18`` and ``10**18 + 1`` differ), non-numeric tokens must match;
4. ``tokens``: the same whitespace-separated tokens (blank lines and spacing ignored).

Rule 3 only reports a match when at least one pair differed as strings (otherwise rule 4
is the honest name for it).

Call-based mode (JSON values): structural equality where tuples and lists are the same
thing, numbers compare as in rule 3 (integers exactly, floats within tolerance), ``bool``
only equals ``bool``, and dict keys must match. Expected values are often wrapped in a
one-element list (``[[1, 9]]`` for a function returning ``[1, 9]``); the unwrapped value is
tried too (rule ``unwrapped``).
"""

from __future__ import annotations

import math
import re
from typing import Any

REL_TOL = 1e-6
ABS_TOL = 1e-6
_NUMBER = re.compile(r"[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?")
_INTEGER = re.compile(r"[+-]?\d+")


def expected_text(expected: Any) -> str:
    """An expected stdout as text: a list of lines is joined (a one-element list unwrapped)."""
    if isinstance(expected, list):
        return "\n".join(str(part) for part in expected)
    return expected if isinstance(expected, str) else str(expected)


def _lines(text: str) -> list[str]:
    lines = [line.strip() for line in text.split("\n")]
    while lines and not lines[-1]:
        lines.pop()
    return lines


def _canonical_int(token: str) -> str:
    """``"+007"`` → ``"7"`` without ``int()``, which refuses over 4,300 digits."""
    digits = token.lstrip("+-").lstrip("0") or "0"
    return digits if token[0] != "-" or digits == "0" else "-" + digits


def _token_match(a: str, b: str) -> bool | None:
    """True/False for two numeric tokens; ``None`` when either is not a number."""
    if not (_NUMBER.fullmatch(a) and _NUMBER.fullmatch(b)):
        return None
    if _INTEGER.fullmatch(a) and _INTEGER.fullmatch(b):
        return _canonical_int(a) == _canonical_int(b)
    x, y = float(a), float(b)
    return math.isclose(x, y, rel_tol=REL_TOL, abs_tol=ABS_TOL)


def _numeric(actual_tokens: list[str], expected_tokens: list[str]) -> bool:
    if len(actual_tokens) != len(expected_tokens):
        return False
    used_tolerance = False
    for a, b in zip(actual_tokens, expected_tokens, strict=True):
        if a == b:
            continue
        close = _token_match(a, b)
        if not close:
            return False
        used_tolerance = True
    return used_tolerance


def compare_stdout(actual: str, expected: Any) -> str | None:
    """The name of the first rule under which ``actual`` matches ``expected``, else ``None``."""
    want = expected_text(expected).replace("\r\n", "\n")
    got = actual.replace("\r\n", "\n")
    if got.strip() == want.strip():
        return "exact"
    if _lines(got) == _lines(want):
        return "lines"
    got_tokens, want_tokens = got.split(), want.split()
    if _numeric(got_tokens, want_tokens):
        return "numeric"
    if got_tokens == want_tokens:
        return "tokens"
    return None


def values_equal(actual: Any, expected: Any) -> bool:
    """Structural equality of two JSON values, tuples = lists, with numeric tolerance."""
    if isinstance(actual, bool) or isinstance(expected, bool):
        return isinstance(actual, bool) and isinstance(expected, bool) and actual == expected
    if isinstance(actual, (int, float)) and isinstance(expected, (int, float)):
        if isinstance(actual, int) and isinstance(expected, int):
            return actual == expected
        if math.isnan(actual) or math.isnan(expected):
            return math.isnan(actual) and math.isnan(expected)
        return math.isclose(actual, expected, rel_tol=REL_TOL, abs_tol=ABS_TOL)
    if isinstance(actual, (list, tuple)) and isinstance(expected, (list, tuple)):
        return len(actual) == len(expected) and all(
            values_equal(a, e) for a, e in zip(actual, expected, strict=True)
        )
    if isinstance(actual, dict) and isinstance(expected, dict):
        return actual.keys() == expected.keys() and all(
            values_equal(actual[k], expected[k]) for k in actual
        )
    return type(actual) is type(expected) and actual == expected


def compare_value(actual: Any, expected: Any) -> str | None:
    """``"exact"``/``"unwrapped"`` when the return value matches, else ``None``.

    Pathologically nested values (deeper than Python's recursion limit) simply do not match.
    """
    try:
        if values_equal(actual, expected):
            return "exact"
        if (
            isinstance(expected, list)
            and len(expected) == 1
            and values_equal(actual, expected[0])
        ):
            return "unwrapped"
    except RecursionError:
        return None
    return None
