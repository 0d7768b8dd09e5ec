"""Finding HotpotQA records (local JSON/JSONL, the Hub, the bundled sample) and selecting tasks.

Reading yields ``(origin, record)`` pairs; ``record_to_task`` converts every layout, so a Hub
row and the same item in the original JSON become the same Task.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from trajkit.core.errors import DataError
from trajkit.core.jsonl import parse_json
from trajkit.schemas import Task
from trajkit.sources.base import LoadOptions
from trajkit.sources.hotpotqa.records import LEVELS, TYPES, parse_choices, record_to_task
from trajkit.sources.hub import load_hf_dataset, pick_records
from trajkit.sources.row_files import read_jsonl
from trajkit.sources.sampling import sample_tasks

logger = logging.getLogger(__name__)

SAMPLE_PATH = Path(__file__).parent / "samples" / "hotpotqa_sample.json"
#: Hand-written CodeAct turns for the sample questions, for an offline demo (replay teacher).
DEMO_REPLAY = SAMPLE_PATH.parent / "hotpotqa_demo_replay.jsonl"

RawRecord = tuple[str, Any]  # (origin for error messages, record)


@dataclass
class LoadReport:
    """What a load did, so the CLI can say why fewer tasks came back than expected."""

    origin: str
    read: int = 0
    skipped_no_answer: int = 0
    skipped_examples: list[str] = field(default_factory=list)
    selected: int = 0


def _read_json(path: Path) -> list[RawRecord]:
    """The original release: one JSON list (a single object is one record)."""
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        raise DataError(f"{path}: not UTF-8 text ({exc.reason})") from None
    try:
        obj = parse_json(text)
    except json.JSONDecodeError as exc:
        raise DataError(f"{path}:{exc.lineno}: not valid JSON ({exc.msg})") from None
    if isinstance(obj, list):
        return [(f"{path}[{i}]", rec) for i, rec in enumerate(obj)]
    return [(str(path), obj)]


def read_local(data: str) -> Iterator[RawRecord]:
    """Records from a ``.json`` (list) or ``.jsonl`` file."""
    path = Path(data).expanduser()
    if not path.exists():
        raise DataError(f"{path}: no such file")
    if path.is_dir():
        raise DataError(f"{path}: is a directory (expected a .json or .jsonl file)")
    if path.suffix == ".jsonl":
        yield from read_jsonl(path)
    elif path.suffix == ".json":
        yield from _read_json(path)
    else:
        raise DataError(f"{path}: unsupported format (expected .json or .jsonl)")


# --------------------------------------------------------------------------- Hugging Face


def hf_defaults(name: str, config: str | None, split: str | None) -> tuple[str | None, str]:
    """Hub ``hotpot_qa`` needs a config: ``distractor`` unless told otherwise (``fullwiki``
    is the other). Local paths (parquet/JSON folders, ``save_to_disk``) take none. The split
    defaults to ``train``, so training data is not made from what people evaluate on."""
    if config is None and not Path(name).expanduser().exists():
        config = "distractor"
    return config, split or "train"


def read_hf(name: str, config: str | None, split: str | None) -> Iterator[RawRecord]:
    """Rows of one split as raw records (dict-shaped columns are handled in conversion)."""
    config, split = hf_defaults(name, config, split)
    ds = load_hf_dataset(name, config, split)
    label = name + (f"/{config}" if config else "") + f"[{split}]"
    for i, row in enumerate(ds):
        yield f"{label}[{i}]", dict(row) if hasattr(row, "keys") else row


# --------------------------------------------------------------------------- conversion + selection


def convert(records: Iterable[RawRecord], report: LoadReport) -> list[Task]:
    """Raw records → tasks; unanswered items are counted, duplicate ids get ``-2``, ``-3``…"""
    tasks: list[Task] = []
    seen: dict[str, int] = {}
    for origin, obj in records:
        report.read += 1
        task = record_to_task(obj, origin)
        if task is None:
            report.skipped_no_answer += 1
            if len(report.skipped_examples) < 3:
                report.skipped_examples.append(origin)
            continue
        count = seen.get(task.task_id, 0) + 1
        seen[task.task_id] = count
        if count > 1:
            task = task.model_copy(update={"task_id": f"{task.task_id}-{count}"})
        tasks.append(task)
    return tasks


def filter_tasks(tasks: list[Task], levels: list[str], types: list[str]) -> list[Task]:
    """Keep tasks whose level is in ``levels`` and whose type is in ``types`` (empty = all)."""
    want_levels = parse_choices(levels, LEVELS, "--level")
    want_types = parse_choices(types, TYPES, "--type")
    return [
        t
        for t in tasks
        if (not want_levels or t.metadata.get("level") in want_levels)
        and (not want_types or t.metadata.get("type") in want_types)
    ]


def load_tasks(options: LoadOptions) -> tuple[list[Task], LoadReport]:
    """Load, convert, filter and sample per ``options``; see ``HotpotQASource.load``."""
    origin, records = pick_records(options, read_local, read_hf, SAMPLE_PATH, "questions")
    report = LoadReport(origin=origin)
    tasks = convert(records, report)
    if report.skipped_no_answer:
        logger.warning(
            "hotpotqa: skipped %d of %d questions without an answer (e.g. %s)",
            report.skipped_no_answer,
            report.read,
            ", ".join(report.skipped_examples),
        )
    tasks = sample_tasks(
        filter_tasks(tasks, options.levels, options.types), options.limit, options.seed
    )
    report.selected = len(tasks)
    return tasks, report
