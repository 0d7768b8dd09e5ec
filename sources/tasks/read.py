"""Rows of a task file (JSONL, JSON list, CSV, Parquet) or a Hub split, each with its origin.

Every reader yields ``(origin, row)``: the origin (``file:LINE`` for line-based formats,
``file[i]`` for a JSON list, ``file[row N]`` for Parquet, ``ID[split][i]`` for the Hub) is
what a bad row's one-line error starts with, so the user can open the file at the spot.
The format follows the extension; rows are checked later, in one place (``rows.py``).
"""

from __future__ import annotations

import csv
import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from trajkit.core.errors import DataError
from trajkit.core.jsonl import TornTail, iter_json_lines
from trajkit.sources.hub import first_line, load_hf_dataset

RawRow = tuple[str, Any]  # (origin for error messages, row)

SUFFIXES = (".jsonl", ".json", ".csv", ".parquet")


def _read_jsonl(path: Path) -> Iterator[RawRow]:
    torn: list[TornTail] = []
    try:
        for lineno, obj in iter_json_lines(path, torn):
            yield f"{path}:{lineno}", obj
    except UnicodeDecodeError as exc:
        raise DataError(f"{path}: not UTF-8 text ({exc.reason})") from None
    if torn:
        raise DataError(f"{path}:{torn[0].lineno}: not valid JSON (truncated last line)")


def _read_json(path: Path) -> Iterator[RawRow]:
    try:
        obj = json.loads(path.read_text(encoding="utf-8"))
    except UnicodeDecodeError as exc:
        raise DataError(f"{path}: not UTF-8 text ({exc.reason})") from None
    except json.JSONDecodeError as exc:
        raise DataError(f"{path}:{exc.lineno}: not valid JSON ({exc.msg})") from None
    if not isinstance(obj, list):
        raise DataError(f"{path}: expected a JSON list of task objects, got {type(obj).__name__}")
    for i, row in enumerate(obj):
        yield f"{path}[{i}]", row


def _read_csv(path: Path) -> Iterator[RawRow]:
    """Rows of a CSV file with a header line; origins give the line the row starts on.
    Every value is text, as CSV has no types (``"42"``, not ``42``)."""
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


def _read_parquet(path: Path) -> Iterator[RawRow]:
    """Rows in file order; origins say ``file[row N]`` (0-based, as pandas/pyarrow count)."""
    import pyarrow.parquet as pq

    try:
        parquet = pq.ParquetFile(path)
        row = 0
        for batch in parquet.iter_batches(batch_size=256):
            for rec in batch.to_pylist():
                yield f"{path}[row {row}]", rec
                row += 1
    except (OSError, ValueError) as exc:  # ArrowInvalid is a ValueError
        raise DataError(f"{path}: not a readable Parquet file ({first_line(exc)})") from None


READERS: dict[str, Callable[[Path], Iterator[RawRow]]] = {
    ".jsonl": _read_jsonl,
    ".json": _read_json,
    ".csv": _read_csv,
    ".parquet": _read_parquet,
}


def read_local(data: str) -> Iterator[RawRow]:
    """Rows of ``data``, read by its extension (``.jsonl``, ``.json``, ``.csv``, ``.parquet``)."""
    path = Path(data).expanduser()
    if not path.exists():
        raise DataError(f"{path}: no such file")
    if path.is_dir():
        raise DataError(f"{path}: is a directory (expected a {', '.join(SUFFIXES)} file)")
    reader = READERS.get(path.suffix.lower())
    if reader is None:
        raise DataError(f"{path}: unsupported format (expected {', '.join(SUFFIXES)})")
    try:
        yield from reader(path)
    except PermissionError as exc:
        raise DataError(f"{path}: cannot read ({exc.strerror})") from None


def read_hf(name: str, config: str | None, split: str | None) -> Iterator[RawRow]:
    """Rows of one split of a Hub dataset (or a local folder in the Hub's layout, or a
    ``save_to_disk`` directory) through ``datasets``; the split defaults to ``train``."""
    split = split or "train"
    ds = load_hf_dataset(name, config, split)
    label = name + (f"/{config}" if config else "") + f"[{split}]"
    for i, row in enumerate(ds):
        yield f"{label}[{i}]", dict(row) if hasattr(row, "keys") else row
