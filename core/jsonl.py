"""Reading JSONL record files written append-only, where a crash may tear the last line.

A torn *last* line (no trailing newline, not valid JSON) is the normal trace of a crash and is
reported, not raised; anything malformed before it is a ``DataError`` naming file and line.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError

from trajkit.core.errors import DataError

M = TypeVar("M", bound=BaseModel)


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
                obj = json.loads(raw)
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
            first = exc.errors()[0]
            where = ".".join(str(p) for p in first["loc"]) or "record"
            raise DataError(f"{path}:{lineno}: invalid {model.__name__}: {where}: {first['msg']}") from None
