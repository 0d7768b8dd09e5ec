"""The canonical byte form of a record in ``data.jsonl``, produced fast and exactly.

The canonical form is defined by the reference encoder (``DATA_FORMAT`` in ``dataset.version``):
``json.dumps(obj, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False)``
encoded as UTF-8. Every published version's hashes depend on those bytes, so they can never
change; but that encoder is the largest per-record cost of building a version (~4x orjson's).

orjson with ``OPT_SORT_KEYS`` writes the same bytes for everything a record holds except in
three places, each handled here rather than trusted:

- floats with ``0 < |x| < 1e-4``: Python writes ``1e-05``, orjson ``0.00001`` or ``1e-5``;
- non-finite floats: Python refuses them (``allow_nan=False``), orjson writes ``null``;
- integers beyond 64 bits and non-string keys: orjson refuses them.

So the record's floats are checked first (one walk over the dumped tree, ~1/2 of orjson's
time): a non-finite one raises like the reference encoder, a tiny one sends the record to the
reference encoder, as does anything orjson refuses. Strings (every code point), key order
(code point order = UTF-8 byte order) and all other numbers agree byte for byte;
``tests/dataset/test_canonical_encoding.py`` holds the equivalence checks. Since a user may
have another orjson release than the one those checks ran on, the fast path is also probed
once per process (``_orjson_agrees``) and switched off if any probe differs.
"""

from __future__ import annotations

import functools
import json
import math
from typing import Any

import orjson
from pydantic import BaseModel

_SMALLEST_PLAIN = 1e-4  # Python's repr switches to exponent form below this magnitude
_ORJSON_OPTIONS = orjson.OPT_SORT_KEYS


def reference_bytes(obj: Any) -> bytes:
    """The canonical form by definition (the standard library's encoder), with newline."""
    text = json.dumps(obj, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False)
    return (text + "\n").encode("utf-8")


def _orjson_safe(node: Any) -> bool:
    """False if a float in ``node`` is written differently by orjson; raise if non-finite."""
    items = node.values() if type(node) is dict else node
    for value in items:
        kind = type(value)
        if kind is dict or kind is list:
            if not _orjson_safe(value):
                return False
        elif kind is float:
            if not math.isfinite(value):
                raise ValueError(f"Out of range float values are not JSON compliant: {value!r}")
            if value != 0.0 and -_SMALLEST_PLAIN < value < _SMALLEST_PLAIN:
                return False
    return True


#: Values whose encodings are where encoders differ: float forms across magnitudes, escapes,
#: non-ASCII text, key order, integer bounds.
_PROBES: list[Any] = [
    {"b": 1, "a": [0.0, -0.0, 1e-4, 0.1, 1 / 3, 1.5, 100.0, 1e15, 1e16, 1.5e16, 1e22, 1e300,
                   -2.5e-3, 123456789.123, 2**63 - 1, -(2**63), 2**64 - 1]},
    {"s": "\x00\x1f\"\\/\b\f\n\r\t\x7f\u2028\u00e9\u4e2d\U0001f600", "\u00e9": 1, "z": 2, "A": 3},
]


@functools.cache
def _orjson_agrees() -> bool:
    """True if this orjson writes the reference bytes for every probe."""
    try:
        return all(
            orjson.dumps(p, option=_ORJSON_OPTIONS | orjson.OPT_APPEND_NEWLINE) == reference_bytes(p)
            for p in _PROBES
        )
    except TypeError:
        return False


def canonical_bytes(obj: Any) -> bytes:
    """``reference_bytes(obj)``, computed by orjson whenever that gives the same bytes.

    ``obj`` is a JSON-mode dump (dicts, lists, str, int, float, bool, None); ``ValueError``
    for what has no JSON form, as the reference encoder raises.
    """
    if type(obj) in (dict, list) and _orjson_safe(obj) and _orjson_agrees():
        try:
            return orjson.dumps(obj, option=_ORJSON_OPTIONS | orjson.OPT_APPEND_NEWLINE)
        except TypeError:  # orjson.JSONEncodeError: a >64-bit int, a non-str key, a lone surrogate
            pass
    return reference_bytes(obj)


def canonical_line(record: BaseModel) -> bytes:
    """The one byte form a record has in ``data.jsonl``, newline included."""
    return canonical_bytes(record.model_dump(mode="json"))
