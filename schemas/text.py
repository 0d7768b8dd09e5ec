"""Text that can always be written: lone surrogates replaced where outside text comes in.

Python strings may hold lone surrogates (``'\\ud800'``): sandboxed code prints them, a JSON
reply escapes them, ``json.loads`` of raw bytes produces them. They are not Unicode scalar
values, so the first UTF-8 encode (a cache key, an SQLite insert, a record line) raises. Every
boundary where text enters trajkit (sandbox output, teacher replies, task files) passes it
through :func:`valid_text`, which replaces each one with U+FFFD, visibly, and leaves every
other string as it is. It lives in the ground floor so the record models can use it too.
"""

from __future__ import annotations

import re
from typing import Any

REPLACEMENT = "\ufffd"
_SURROGATE = re.compile("[\ud800-\udfff]")


def valid_text(text: str) -> str:
    """``text`` with every lone surrogate replaced by U+FFFD (the same object when it has none)."""
    if text.isascii():
        return text
    return _SURROGATE.sub(REPLACEMENT, text)


def valid_tree(value: Any) -> Any:
    """A JSON-like ``value`` (dicts, lists, strings, scalars) with every string, keys included,
    passed through :func:`valid_text`. For the rare record that could not be written as it was;
    the hot paths check text where it enters instead."""
    if isinstance(value, str):
        return valid_text(value)
    if isinstance(value, dict):
        return {valid_tree(k): valid_tree(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [valid_tree(v) for v in value]
    return value
