"""Reading JSONL record files written append-only, where a crash may tear the last line.

A torn *last* line (no trailing newline, not valid JSON) is the normal trace of a crash and is
reported, not raised; anything malformed before it is a ``DataError`` naming file and line.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import pydantic_core
from pydantic import BaseModel, ValidationError

from trajkit.core.errors import DataError

M = TypeVar("M", bound=BaseModel)

MAX_DEPTH = 200
"""Deepest nesting of arrays and objects trajkit reads. Pydantic's JSON parser (the fast path
of ``filter``, ``export``, ``view``) refuses anything deeper and Python's ``json`` dies of
``RecursionError`` a few hundred levels further, so every reader holds to the same limit and
one record is never valid to one command and invalid to the next."""

_TOKEN = re.compile(rb'"(?:[^"\\]|\\.)*"|[\[\]{}]')


class NestingError(json.JSONDecodeError):
    """Valid JSON nested deeper than ``MAX_DEPTH``: a ``JSONDecodeError`` (so a ``ValueError``)
    with ``msg``/``lineno``/``colno``, so every reader that reports malformed JSON as
    ``FILE:LINE`` reports this the same way instead of leaking a ``RecursionError``."""

    def __init__(self, doc: str | bytes) -> None:
        data = doc.encode("utf-8", "surrogatepass") if isinstance(doc, str) else doc
        pos = _too_deep_at(data)
        lineno = data.count(b"\n", 0, pos) + 1
        colno = pos - data.rfind(b"\n", 0, pos)
        msg = f"nested more than {MAX_DEPTH} deep"
        ValueError.__init__(self, f"{msg}: line {lineno} column {colno}")
        self.msg, self.pos, self.lineno, self.colno = msg, pos, lineno, colno
        self.doc = doc if isinstance(doc, str) else doc.decode("utf-8", "replace")

    def __reduce__(self) -> tuple[Any, ...]:
        return type(self), (self.doc,)


def _too_deep_at(data: bytes) -> int:
    """Byte offset of the bracket that goes past ``MAX_DEPTH`` (0 if none: the caller only asks
    of a document already known to be too deep). Strings are skipped whole, so brackets
    inside them do not count; only run on the error path."""
    depth = 0
    for m in _TOKEN.finditer(data):
        token = m.group()
        if token in (b"[", b"{"):
            depth += 1
            if depth > MAX_DEPTH:
                return m.start()
        elif token in (b"]", b"}"):
            depth -= 1
    return 0


def _deeper_than_limit(obj: Any) -> bool:
    """Whether ``obj`` nests lists/dicts more than ``MAX_DEPTH`` deep (iterative: no recursion
    limit of its own)."""
    stack = [(obj, 1)]
    while stack:
        value, depth = stack.pop()
        if depth > MAX_DEPTH:
            return True
        children = value.values() if isinstance(value, dict) else value
        stack.extend((c, depth + 1) for c in children if isinstance(c, (dict, list)))
    return False


def _brackets(doc: str | bytes) -> int:
    """How many ``[`` and ``{`` ``doc`` holds, strings included: a cheap bound on its depth."""
    if isinstance(doc, str):
        return doc.count("[") + doc.count("{")
    return doc.count(b"[") + doc.count(b"{")


def parse_json(doc: str | bytes, **kwargs: Any) -> Any:
    """``json.loads(doc, **kwargs)`` for a document from a user's file, with deep nesting
    (past ``MAX_DEPTH``, or enough to exhaust Python's stack) raised as ``NestingError``,
    i.e. as malformed JSON, never as ``RecursionError``.

    The depth check runs only when the document has more than ``MAX_DEPTH`` brackets at all,
    so ordinary lines pay two ``count`` calls.
    """
    try:
        obj = json.loads(doc, **kwargs)
    except RecursionError:
        raise NestingError(doc) from None
    if not isinstance(obj, (dict, list)):
        return obj
    if _brackets(doc) > MAX_DEPTH and _too_deep(doc, obj):
        raise NestingError(doc)
    return obj


def _too_deep(doc: str | bytes, obj: Any) -> bool:
    """Whether ``doc`` (parsed: ``obj``) nests past ``MAX_DEPTH``. Pydantic's parser, whose
    limit ``MAX_DEPTH`` is, answers several times faster than walking ``obj`` in Python; the
    walk is only for the rare document it refuses for another reason (a lone surrogate)."""
    try:
        pydantic_core.from_json(doc)
    except ValueError as exc:
        return "recursion limit exceeded" in str(exc) or _deeper_than_limit(obj)
    return False


@dataclass
class TornTail:
    """Where a torn final line starts (byte offset) so a writer can truncate it away."""

    offset: int
    lineno: int


def iter_json_lines(path: Path, torn: list[TornTail] | None = None) -> Iterator[tuple[int, Any]]:
    """Yield ``(lineno, obj)`` for each non-blank line; a torn final line is skipped.

    If ``torn`` is given, a ``TornTail`` is appended to it when the last line was torn.
    """
    offset = 0
    with open(path, "rb") as fh:
        lineno = 0
        for raw in fh:
            lineno += 1
            start, offset = offset, offset + len(raw)
            if not raw.strip():
                continue
            try:
                obj = parse_json(raw)
            except ValueError as exc:
                if not raw.endswith(b"\n") and fh.read(1) == b"":
                    if torn is not None:
                        torn.append(TornTail(offset=start, lineno=lineno))
                    return
                reason = getattr(exc, "msg", None) or type(exc).__name__
                raise DataError(f"{path}:{lineno}: not valid JSON ({reason})") from None
            yield lineno, obj


def iter_records(
    path: Path, model: type[M], torn: list[TornTail] | None = None
) -> Iterator[tuple[int, M]]:
    """Yield ``(lineno, record)`` validated against ``model``; errors name file and line."""
    for lineno, obj in iter_json_lines(path, torn):
        try:
            yield lineno, model.model_validate(obj)
        except ValidationError as exc:
            raise DataError(f"{path}:{lineno}: invalid {model.__name__}: {first_problem(exc)}") from None


def first_problem(exc: ValidationError) -> str:
    """``field.path: message`` of a validation error's first problem: one line that says
    what to fix (pydantic's own text starts "N validation errors for Model")."""
    first = exc.errors()[0]
    where = ".".join(str(p) for p in first["loc"]) or "record"
    return f"{where}: {first['msg']}"
