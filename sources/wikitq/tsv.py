"""The release's TSV conventions: ``\\n``, ``\\\\`` and ``\\p`` escapes, ``|``-separated lists.

The release README defines them: inside a field a newline is written ``\\n``, a backslash
``\\\\`` and a pipe ``\\p``, so splitting a list field on ``|`` is safe before unescaping. We
decode left to right (the official ``evaluator.py`` replaces the three escapes one after the
other, which differs only for a literal backslash followed by ``n`` or ``p``, absent from the
released targets).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

from trajkit.core.errors import DataError

_ESCAPES = {"n": "\n", "p": "|", "\\": "\\"}


def unescape(field: str) -> str:
    """One TSV field as text: ``\\n`` → newline, ``\\p`` → ``|``, ``\\\\`` → ``\\``; any other
    backslash is kept as it is."""
    if "\\" not in field:
        return field
    out: list[str] = []
    i = 0
    while i < len(field):
        char = field[i]
        if char == "\\" and i + 1 < len(field) and field[i + 1] in _ESCAPES:
            out.append(_ESCAPES[field[i + 1]])
            i += 2
        else:
            out.append(char)
            i += 1
    return "".join(out)


def unescape_list(field: str) -> list[str]:
    """A ``|``-separated list field (``targetValue``, ``targetCanon``) as its unescaped items."""
    return [unescape(item) for item in field.split("|")]


def read_rows(path: Path, required: tuple[str, ...]) -> Iterator[tuple[int, dict[str, str]]]:
    """``(line number, {column: raw field})`` for each example line of a TSV with a header
    naming at least ``required``; a short or long line is a one-line ``DataError``."""
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        raise DataError(f"{path}: not UTF-8 text ({exc.reason})") from None
    except OSError as exc:
        raise DataError(f"{path}: cannot read ({exc.strerror})") from None
    lines = text.split("\n")
    header = lines[0].rstrip("\r").split("\t") if lines else []
    missing = [name for name in required if name not in header]
    if missing:
        raise DataError(
            f"{path}:1: header has no {missing[0]!r} column "
            f"(expected tab-separated {', '.join(required)})"
        )
    for lineno, line in enumerate(lines[1:], start=2):
        line = line.rstrip("\r")
        if not line.strip():
            continue
        fields = line.split("\t")
        if len(fields) != len(header):
            raise DataError(
                f"{path}:{lineno}: expected {len(header)} tab-separated fields, got {len(fields)}"
            )
        yield lineno, dict(zip(header, fields, strict=True))
