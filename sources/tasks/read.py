"""Rows of a task file (JSONL, JSON list, CSV, Parquet) or a Hub split, each with its origin.

Every reader yields ``(origin, row)``: the origin (``file:LINE`` for line-based formats,
``file[i]`` for a JSON list, ``file[row N]`` for Parquet, ``ID[split][i]`` for the Hub) is
what a bad row's one-line error starts with, so the user can open the file at the spot.
The format follows the extension; rows are checked later, in one place (``rows.py``).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

from trajkit.core.errors import DataError
from trajkit.sources.hub import load_hf_dataset
from trajkit.sources.row_files import read_rows

RawRow = tuple[str, Any]  # (origin for error messages, row)

SUFFIXES = (".jsonl", ".json", ".csv", ".parquet")


def read_local(data: str) -> Iterator[RawRow]:
    """Rows of ``data``, read by its extension (``.jsonl``, ``.json``, ``.csv``, ``.parquet``)."""
    path = Path(data).expanduser()
    if path.is_dir():
        raise DataError(f"{path}: is a directory (expected a {', '.join(SUFFIXES)} file)")
    return read_rows(path, SUFFIXES, "task objects")


def read_hf(name: str, config: str | None, split: str | None) -> Iterator[RawRow]:
    """Rows of one split of a Hub dataset (or a local folder in the Hub's layout, or a
    ``save_to_disk`` directory) through ``datasets``; the split defaults to ``train``."""
    split = split or "train"
    ds = load_hf_dataset(name, config, split)
    label = name + (f"/{config}" if config else "") + f"[{split}]"
    for i, row in enumerate(ds):
        yield f"{label}[{i}]", dict(row) if hasattr(row, "keys") else row
