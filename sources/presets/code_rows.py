"""Reading the code benchmarks' rows (MBPP, HumanEval) from their official files and the Hub.

Every origin yields ``(origin, row)`` pairs, ``origin`` naming file and line (or Hub split and
row) for one-line ``DataError``s, so the presets convert a row the same way wherever it came
from. Local files: ``.jsonl`` (MBPP's ``mbpp.jsonl``, HumanEval's ``HumanEval.jsonl``),
``.jsonl.gz`` (HumanEval's release is gzipped), ``.json`` (a list of rows: MBPP's
``sanitized-mbpp.json``) and ``.parquet`` (a Hub data file). ``--hf`` takes a Hub id or a local
folder in the Hub's layout (its ``README.md`` declares the configs), read with ``datasets``.
"""

from __future__ import annotations

import gzip
import json
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

from trajkit.core.errors import DataError
from trajkit.sources.base import LoadOptions
from trajkit.sources.hub import first_line, load_hf_dataset, pick_records

Row = tuple[str, Any]


def _json_lines(path: Path, lines: Iterable[bytes]) -> Iterator[Row]:
    for lineno, raw in enumerate(lines, 1):
        if not raw.strip():
            continue
        try:
            yield f"{path}:{lineno}", json.loads(raw)
        except UnicodeDecodeError as exc:
            raise DataError(f"{path}:{lineno}: not UTF-8 text ({exc.reason})") from None
        except json.JSONDecodeError as exc:
            raise DataError(f"{path}:{lineno}: not valid JSON ({exc.msg})") from None


def _read_jsonl(path: Path) -> Iterator[Row]:
    if path.name.lower().endswith(".gz"):
        try:
            with gzip.open(path, "rb") as fh:
                yield from _json_lines(path, fh)
        except (OSError, EOFError) as exc:
            raise DataError(f"{path}: not a readable gzip file ({first_line(exc)})") from None
        return
    with open(path, "rb") as fh:
        yield from _json_lines(path, fh)


def _read_json(path: Path) -> Iterator[Row]:
    try:
        obj = json.loads(path.read_text(encoding="utf-8"))
    except UnicodeDecodeError as exc:
        raise DataError(f"{path}: not UTF-8 text ({exc.reason})") from None
    except json.JSONDecodeError as exc:
        raise DataError(f"{path}:{exc.lineno}: not valid JSON ({exc.msg})") from None
    if not isinstance(obj, list):
        raise DataError(f"{path}: expected a JSON list of rows, got {type(obj).__name__}")
    for i, row in enumerate(obj):
        yield f"{path}[{i}]", row


def _read_parquet(path: Path) -> Iterator[Row]:
    try:
        import pyarrow.parquet as pq
    except ImportError:  # pragma: no cover - pyarrow comes with datasets
        raise DataError(f"{path}: reading Parquet needs pyarrow (pip install pyarrow)") from None
    try:
        rows = pq.read_table(path).to_pylist()
    except (OSError, ValueError) as exc:  # ArrowInvalid is a ValueError
        raise DataError(f"{path}: not a readable Parquet file ({first_line(exc)})") from None
    for i, row in enumerate(rows):
        yield f"{path}[row {i}]", row


def read_local(name: str) -> Iterator[Row]:
    """Rows of one ``.jsonl``/``.jsonl.gz``/``.json``/``.parquet`` file, in file order."""
    path = Path(name).expanduser()
    if path.is_dir():
        raise DataError(f"{path}: a directory; pass a data file, or a Hub-layout folder with --hf")
    if not path.exists():
        raise DataError(f"{path}: no such file")
    suffix = path.name.lower()
    if suffix.endswith((".jsonl", ".jsonl.gz")):
        return _read_jsonl(path)
    if suffix.endswith(".json"):
        return _read_json(path)
    if suffix.endswith(".parquet"):
        return _read_parquet(path)
    raise DataError(f"{path}: unsupported format (expected .jsonl, .jsonl.gz, .json or .parquet)")


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
