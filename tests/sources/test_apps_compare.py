"""The comparison rules of the APPS judge, as a table: (actual, expected) → matching rule.

``None`` means the output is wrong. The rules and their order are documented in
``sources/apps/compare.py``.
"""

from __future__ import annotations

from typing import Any

import pytest

from trajkit.sources.apps import compare_stdout, compare_value

STDOUT_CASES: list[tuple[str, Any, str | None]] = [
    # exact: surrounding whitespace and \r\n do not matter
    ("3\n", "3\n", "exact"),
    ("3", "3\n", "exact"),
    ("\n  3  \n\n", "3", "exact"),
    ("1\r\n2\r\n", "1\n2\n", "exact"),
    ("", "", "exact"),
    # lines: per-line surrounding spaces, trailing empty lines
    ("1 2 \n3\n", "1 2\n3", "lines"),
    ("a\n  b\n\n\n", "a\nb\n", "lines"),
    # numeric: tolerance 1e-6 absolute or relative; integers exact; words exact
    ("3.141592653589793\n", "3.141593\n", "numeric"),
    ("3141592.653589793\n", "3141592.653590\n", "numeric"),
    ("1.0000000\n", "1\n", "numeric"),
    ("case 1: 0.5000001\n", "case 1: 0.5\n", "numeric"),
    ("1e-7\n", "0\n", "numeric"),
    ("0.500002\n", "0.5\n", None),
    ("3.1416\n", "3.141593\n", None),
    ("1000000000000000001\n", "1000000000000000000\n", None),  # integers never approximate
    ("+007\n", "7\n", "numeric"),
    ("nan\n", "nan\n", "exact"),
    ("inf 2\n", "inf 2.0\n", "numeric"),
    ("Case 1: 0.5\n", "case 1: 0.5\n", None),
    # tokens: any whitespace between the same tokens
    ("1 2 3\n", "1\n2\n3\n", "tokens"),
    ("1  2\n\n3\n", "1 2\n3\n", "tokens"),
    ("\n1\n2", "1\n2", "exact"),
    # wrong
    ("YES\n", "yes\n", None),
    ("1 2\n", "1 2 3\n", None),
    ("12\n", "1 2\n", None),
    ("3\n", "", None),
    # expected outputs stored as a list of lines / wrapped in a one-element list
    ("second\nfirst\n", ["second", "first"], "exact"),
    ("42\n", ["42\n"], "exact"),
    ("42\n", ["4", "2"], None),
]


@pytest.mark.parametrize(("actual", "expected", "rule"), STDOUT_CASES)
def test_stdout_rules(actual: str, expected: Any, rule: str | None) -> None:
    assert compare_stdout(actual, expected) == rule


VALUE_CASES: list[tuple[Any, Any, str | None]] = [
    (3, 3, "exact"),
    (3, [3], "unwrapped"),
    ([1, 3], [[1, 3]], "unwrapped"),
    ([1, 3], [1, 3], "exact"),
    ([[1, 3]], [[1, 3]], "exact"),
    ("bcd", ["bcd"], "unwrapped"),
    (0.30000000000000004, 0.3, "exact"),
    (0.31, 0.3, None),
    (1, 1.0, "exact"),
    (10**30, 10**30 + 1, None),  # integers exact, however large
    (True, 1, None),  # bool only equals bool
    (1, True, None),
    (True, [True], "unwrapped"),
    (None, None, "exact"),
    (None, [None], "unwrapped"),
    ("3", 3, None),
    ({"a": [1, 2.0]}, {"a": [1, 2]}, "exact"),
    ({"a": 1}, {"a": 1, "b": 2}, None),
    ([1, 2], [2, 1], None),
    ([], [[]], "unwrapped"),
    ([1], [[1], [2]], None),
    (float("nan"), float("nan"), "exact"),
]


@pytest.mark.parametrize(("actual", "expected", "rule"), VALUE_CASES)
def test_value_rules(actual: Any, expected: Any, rule: str | None) -> None:
    assert compare_value(actual, expected) == rule


def test_tuples_equal_lists_and_deep_values_do_not_crash() -> None:
    assert compare_value((1, (2, 3)), [1, [2, 3]]) == "exact"
    deep: Any = 0
    for _ in range(5000):
        deep = [deep]
    assert compare_value(deep, 0) is None


def test_huge_integer_tokens_compare_without_int_conversion_limits() -> None:
    big = "9" * 10_000
    assert compare_stdout(big + " 0.1\n", big + " 0.1000001\n") == "numeric"
    assert compare_stdout(big + "8\n", big + "9\n") is None
