"""Rows of a local data file, for any source that reads tabular task data: JSONL (gzipped
too), a JSON list, CSV and Parquet, each row paired with its origin for one-line errors.

Origins name the file and where the row is in it: ``file:LINE`` for JSONL and CSV (the line
a row starts on), ``file[i]`` in a JSON list, ``file[row N]`` in Parquet (0-based, as pandas
and pyarrow count). Every failure to read is a one-line ``DataError`` naming the file (and
line), never a traceback: a truncated last JSONL line, text that is not UTF-8, a JSON
document that is not a list, a CSV row wider than its header, an unreadable gzip or Parquet
file. Which formats a source accepts is its own choice (``suffixes``).
"""

from __future__ import annotations

import csv
import gzip
import json
from collections.abc import Callable, Iterable, Iterator, Sequence
from pathlib import Path
from typing import Any

from trajkit.core.errors import DataError
from trajkit.core.jsonl import TornTail, iter_json_lines, parse_json
from trajkit.sources.hub import first_line

Row = tuple[str, Any]  # (origin, row)


def _json_lines(path: Path, lines: Iterable[bytes]) -> Iterator[Row]:
    for lineno, raw in enumerate(lines, 1):
        if not raw.strip():
            continue
        try:
            yield f"{path}:{lineno}", parse_json(raw)
        except UnicodeDecodeError as exc:
            raise DataError(f"{path}:{lineno}: not UTF-8 text ({exc.reason})") from None
        except json.JSONDecodeError as exc:
            raise DataError(f"{path}:{lineno}: not valid JSON ({exc.msg})") from None


def read_jsonl(path: Path) -> Iterator[Row]:
    """One JSON value per line (blank lines skipped); ``.gz`` files are decompressed."""
    if path.name.lower().endswith(".gz"):
        try:
            with gzip.open(path, "rb") as fh:
                yield from _json_lines(path, fh)
        except (OSError, EOFError) as exc:
            raise DataError(f"{path}: not a readable gzip file ({first_line(exc)})") from None
        return
    torn: list[TornTail] = []
    try:
        for lineno, obj in iter_json_lines(path, torn):
            yield f"{path}:{lineno}", obj
    except UnicodeDecodeError as exc:
        raise DataError(f"{path}: not UTF-8 text ({exc.reason})") from None
    if torn:
        raise DataError(f"{path}:{torn[0].lineno}: not valid JSON (truncated last line)")


def read_json_list(path: Path, noun: str = "rows") -> Iterator[Row]:
    """The items of a JSON document that is a list (``noun`` says what they should be)."""
    try:
        obj = parse_json(path.read_text(encoding="utf-8"))
    except UnicodeDecodeError as exc:
        raise DataError(f"{path}: not UTF-8 text ({exc.reason})") from None
    except json.JSONDecodeError as exc:
        raise DataError(f"{path}:{exc.lineno}: not valid JSON ({exc.msg})") from None
    if not isinstance(obj, list):
        raise DataError(f"{path}: expected a JSON list of {noun}, got {type(obj).__name__}")
    for i, row in enumerate(obj):
        yield f"{path}[{i}]", row


def read_csv(path: Path) -> Iterator[Row]:
    """Rows of a CSV file with a header line, as dicts of text (CSV has no types)."""
    try:
        with path.open(encoding="utf-8-sig", newline="") as fh:
            reader = csv.DictReader(fh)
            if not reader.fieldnames:
                raise DataError(f"{path}: empty CSV file (expected a header line)")
            start = reader.line_num + 1
            for row in reader:
                where = f"{path}:{start}"
                start = reader.line_num + 1
                if None in row:
                    raise DataError(f"{where}: more values than the header has columns")
                yield where, row
    except UnicodeDecodeError as exc:
        raise DataError(f"{path}: not UTF-8 text ({exc.reason})") from None
    except csv.Error as exc:
        raise DataError(f"{path}: not valid CSV ({exc})") from None


def read_parquet(path: Path) -> Iterator[Row]:
    """Rows in file order, streamed a batch at a time."""
    try:
        import pyarrow.parquet as pq
    except ImportError:  # pragma: no cover - pyarrow comes with datasets
        raise DataError(f"{path}: reading Parquet needs pyarrow (pip install pyarrow)") from None
    try:
        parquet = pq.ParquetFile(path)
        row = 0
        for batch in parquet.iter_batches(batch_size=256):
            for rec in batch.to_pylist():
                yield f"{path}[row {row}]", rec
                row += 1
    except (OSError, ValueError) as exc:  # ArrowInvalid is a ValueError
        raise DataError(f"{path}: not a readable Parquet file ({first_line(exc)})") from None


def reader_for(suffix: str, noun: str = "rows") -> Callable[[Path], Iterator[Row]] | None:
    """The reader of files ending in ``suffix`` (``.jsonl``, ``.jsonl.gz``, ``.json``,
    ``.csv``, ``.parquet``), or None."""
    if suffix in (".jsonl", ".jsonl.gz"):
        return read_jsonl
    if suffix == ".json":
        return lambda path: read_json_list(path, noun)
    return {".csv": read_csv, ".parquet": read_parquet}.get(suffix)


def read_rows(path: Path, suffixes: Sequence[str], noun: str = "rows") -> Iterator[Row]:
    """Rows of ``path``, read by which of ``suffixes`` its name ends in (longest first, so
    ``.jsonl.gz`` before ``.gz``); a missing file, another format or a file this process may
    not read is one line naming it and the formats accepted."""
    if not path.exists():
        raise DataError(f"{path}: no such file")
    name = path.name.lower()
    suffix = next((s for s in sorted(suffixes, key=len, reverse=True) if name.endswith(s)), None)
    reader = reader_for(suffix, noun) if suffix is not None else None
    if reader is None:
        raise DataError(f"{path}: unsupported format (expected {_listing(suffixes)})")
    try:
        yield from reader(path)
    except PermissionError as exc:
        raise DataError(f"{path}: cannot read ({exc.strerror})") from None


def _listing(suffixes: Sequence[str]) -> str:
    return suffixes[0] if len(suffixes) == 1 else f"{', '.join(suffixes[:-1])} or {suffixes[-1]}"
