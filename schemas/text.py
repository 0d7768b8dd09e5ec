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

REPLACEMENT = "\ufffd"
_SURROGATE = re.compile("[\ud800-\udfff]")


def valid_text(text: str) -> str:
    """``text`` with every lone surrogate replaced by U+FFFD (the same object when it has none)."""
    if text.isascii():
        return text
    return _SURROGATE.sub(REPLACEMENT, text)
