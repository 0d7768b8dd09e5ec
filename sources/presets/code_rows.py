"""Reading the code benchmarks' rows (MBPP, HumanEval) from their official files and the Hub.

Every origin yields ``(origin, row)`` pairs, ``origin`` naming file and line (or Hub split and
row) for one-line ``DataError``s, so the presets convert a row the same way wherever it came
from. Local files: ``.jsonl`` (MBPP's ``mbpp.jsonl``, HumanEval's ``HumanEval.jsonl``),
``.jsonl.gz`` (HumanEval's release is gzipped), ``.json`` (a list of rows: MBPP's
``sanitized-mbpp.json``) and ``.parquet`` (a Hub data file). ``--hf`` takes a Hub id or a local
folder in the Hub's layout (its ``README.md`` declares the configs), read with ``datasets``.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

from trajkit.core.errors import DataError
from trajkit.sources.base import LoadOptions
from trajkit.sources.hub import load_hf_dataset, pick_records
from trajkit.sources.row_files import Row, read_rows


def read_local(name: str) -> Iterator[Row]:
    """Rows of one ``.jsonl``/``.jsonl.gz``/``.json``/``.parquet`` file, in file order."""
    path = Path(name).expanduser()
    if path.is_dir():
        raise DataError(f"{path}: a directory; pass a data file, or a Hub-layout folder with --hf")
    return read_rows(path, (".jsonl", ".jsonl.gz", ".json", ".parquet"))


def read_hub(name: str, config: str | None, split: str) -> Iterator[Row]:
    """Rows of a Hub dataset split (or a local folder in the Hub's layout)."""
    dataset = load_hf_dataset(name, config, split)
    where = f"hf:{name}" + (f" ({config})" if config else "")
    for i, row in enumerate(dataset):
        yield f"{where}[{split} row {i}]", row


def load_rows(options: LoadOptions, sample: Path, config: str | None, split: str, noun: str) -> tuple[str, list[Row]]:
    """``(origin, rows)`` from ``--data``, ``--hf`` (``config`` and ``split`` are the defaults
    when the flags leave them out) or the bundled ``sample``."""

    def hub(name: str, hf_config: str | None, hf_split: str | None) -> Iterator[Row]:
        return read_hub(name, hf_config or config, hf_split or split)

    origin, rows = pick_records(options, read_local, hub, sample, noun)
    return origin, list(rows)


def field(row: Any, origin: str, key: str, kind: type | tuple[type, ...] = str, required: bool = True) -> Any:
    """``row[key]`` checked to be of ``kind``; a one-line ``DataError`` naming origin and field."""
    if not isinstance(row, dict):
        raise DataError(f"{origin}: expected a JSON object, got {type(row).__name__}")
    value: Any = row.get(key)
    if value is None and not required:
        return None
    if value is not None and hasattr(value, "tolist") and not isinstance(value, (str, bytes)):
        value = value.tolist()  # numpy arrays from Arrow
    if value is None:
        raise DataError(f"{origin}: missing field {key!r}")
    if not isinstance(value, kind):
        names = kind.__name__ if isinstance(kind, type) else " or ".join(k.__name__ for k in kind)
        raise DataError(f"{origin}: field {key!r} must be {names}, got {type(value).__name__}")
    return value
