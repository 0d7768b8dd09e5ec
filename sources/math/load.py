"""Finding MATH records (local files, the Hub, the bundled sample) and selecting tasks.

Reading yields ``(origin, record, id_hint)`` triples; conversion is ``record_to_task`` for
every layout, so a Hub row and the same problem in a JSONL file become the same Task.
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from trajkit.core.errors import ConfigError, DataError
from trajkit.core.jsonl import TornTail, iter_json_lines, parse_json
from trajkit.schemas import Task
from trajkit.sources.base import LoadOptions
from trajkit.sources.hub import load_hf_dataset, pick_records
from trajkit.sources.math.records import parse_level_filter, record_to_task, type_key
from trajkit.sources.sampling import sample_tasks

logger = logging.getLogger(__name__)

SAMPLE_PATH = Path(__file__).parent / "samples" / "math_sample.jsonl"
#: Hand-written CodeAct turns for every sample task, played back by ``trajkit demo``.
DEMO_REPLAY = SAMPLE_PATH.parent / "math_demo_replay.jsonl"

RawRecord = tuple[str, Any, str | None]  # (origin for errors, record, id hint)


@dataclass
class LoadReport:
    """What a load did, so the CLI can say why fewer tasks came back than expected."""

    origin: str
    read: int = 0
    skipped_no_reference: int = 0
    skipped_examples: list[str] = field(default_factory=list)
    selected: int = 0


# --------------------------------------------------------------------------- local files


def _natural_key(path: str) -> list[Any]:
    """Sort ``algebra/2.json`` before ``algebra/10.json`` (the release's own numbering)."""
    return [int(tok) if tok.isdigit() else tok for tok in re.split(r"(\d+)", path)]


def _read_json_file(path: Path, id_hint: str | None) -> list[RawRecord]:
    """A ``.json`` file holds one record or a list of records."""
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        raise DataError(f"{path}: not UTF-8 text ({exc.reason})") from None
    try:
        obj = parse_json(text)
    except json.JSONDecodeError as exc:
        raise DataError(f"{path}:{exc.lineno}: not valid JSON ({exc.msg})") from None
    if isinstance(obj, list):
        return [(f"{path}[{i}]", rec, None) for i, rec in enumerate(obj)]
    return [(str(path), obj, id_hint)]


def _read_jsonl_file(path: Path) -> Iterator[RawRecord]:
    """One record per line; unlike our own outputs, a torn last line here is bad input."""
    torn: list[TornTail] = []
    for lineno, obj in iter_json_lines(path, torn):
        yield f"{path}:{lineno}", obj, None
    if torn:
        raise DataError(f"{path}:{torn[0].lineno}: not valid JSON (truncated last line)")


def _read_directory(root: Path) -> Iterator[RawRecord]:
    """The original release layout: ``<split>/<type>/<n>.json``, one problem per file.

    The id is the path relative to ``root`` without ``.json`` (``train/algebra/123``), so it
    is stable as long as the same directory is passed.
    """
    files = sorted(
        (p for p in root.rglob("*.json") if not any(part.startswith(".") for part in p.parts)),
        key=lambda p: _natural_key(p.relative_to(root).as_posix()),
    )
    if not files:
        raise DataError(f"{root}: directory contains no .json problem files")
    for path in files:
        rel = path.relative_to(root).with_suffix("").as_posix()
        yield from _read_json_file(path, rel)


def read_local(data: str) -> Iterator[RawRecord]:
    """Records from a ``.json``/``.jsonl`` file or a directory of per-problem files."""
    path = Path(data).expanduser()
    if not path.exists():
        raise DataError(f"{path}: no such file or directory")
    if path.is_dir():
        yield from _read_directory(path)
    elif path.suffix == ".jsonl":
        yield from _read_jsonl_file(path)
    elif path.suffix == ".json":
        yield from _read_json_file(path, None)
    else:
        raise DataError(f"{path}: unsupported format (expected .json, .jsonl or a directory)")


# --------------------------------------------------------------------------- Hugging Face


def default_split(name: str) -> str:
    """MATH-500 ships only ``test``; elsewhere default to ``train`` so training data is not
    generated from the split people evaluate on."""
    return "test" if "math-500" in name.lower() else "train"


def hf_records(rows: Iterable[Any], label: str) -> Iterator[RawRecord]:
    """Hub rows as raw records; rows carry no file id, so ids come from ``unique_id`` or the
    problem hash, exactly as for a JSONL file holding the same rows."""
    for i, row in enumerate(rows):
        yield f"{label}[{i}]", dict(row) if hasattr(row, "keys") else row, None


def read_hf(name: str, config: str | None, split: str | None) -> Iterator[RawRecord]:
    """Rows of one Hub split (``split`` defaults per ``default_split``) as raw records."""
    split = split or default_split(name)
    ds = load_hf_dataset(name, config, split)
    label = name + (f"/{config}" if config else "") + f"[{split}]"
    yield from hf_records(ds, label)


# --------------------------------------------------------------------------- conversion + selection


def convert(records: Iterable[RawRecord], report: LoadReport) -> list[Task]:
    """Turn raw records into tasks, counting (not failing on) problems with no reference.

    Duplicate ids (the same problem twice in one file) get ``-2``, ``-3``… in file order so
    every task id stays unique and stable for resume.
    """
    tasks: list[Task] = []
    seen: dict[str, int] = {}
    for origin, obj, id_hint in records:
        report.read += 1
        task = record_to_task(obj, origin, id_hint)
        if task is None:
            report.skipped_no_reference += 1
            if len(report.skipped_examples) < 3:
                report.skipped_examples.append(origin)
            continue
        count = seen.get(task.task_id, 0) + 1
        seen[task.task_id] = count
        if count > 1:
            task = task.model_copy(update={"task_id": f"{task.task_id}-{count}"})
        tasks.append(task)
    return tasks


def filter_tasks(tasks: list[Task], levels: list[Any], types: list[str]) -> list[Task]:
    """Keep tasks whose level is in ``levels`` and whose type/subject is in ``types``.

    A requested type that no task has is a ``ConfigError`` (most likely a typo), listing the
    types the data does have.
    """
    wanted_levels = parse_level_filter(levels)
    wanted_types = {type_key(t): t for t in types if t.strip()}
    if wanted_types:
        present = {
            type_key(t.metadata["type"]): t.metadata["type"]
            for t in tasks
            if t.metadata.get("type")
        }
        unknown = [raw for key, raw in wanted_types.items() if key not in present]
        if unknown:
            known = ", ".join(sorted(set(present.values()))) or "none"
            raise ConfigError(f"types: no task has type {unknown[0]!r} (data has: {known})")
    out = []
    for task in tasks:
        if wanted_levels and task.metadata.get("level") not in wanted_levels:
            continue
        subject = task.metadata.get("type")
        if wanted_types and (not subject or type_key(subject) not in wanted_types):
            continue
        out.append(task)
    return out


def load_tasks(options: LoadOptions) -> tuple[list[Task], LoadReport]:
    """Load, convert, filter and sample per ``options``; see ``MathSource.load``."""
    origin, records = pick_records(options, read_local, read_hf, SAMPLE_PATH, "problems")
    report = LoadReport(origin=origin)
    tasks = convert(records, report)
    if report.skipped_no_reference:
        logger.warning(
            "math: skipped %d of %d problems with no \\boxed answer in the solution (e.g. %s)",
            report.skipped_no_reference,
            report.read,
            ", ".join(report.skipped_examples),
        )
    tasks = sample_tasks(
        filter_tasks(tasks, options.levels, options.types), options.limit, options.seed
    )
    report.selected = len(tasks)
    return tasks, report
