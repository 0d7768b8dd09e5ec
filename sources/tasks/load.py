"""Where the ``tasks`` rows come from: ``--data FILE``, ``--hf ID``, or the bundled sample.

The source turns rows into tasks (``TasksSource.row_to_task``); this module picks the rows
and applies the selection every source shares (seeded ``--limit`` sampling).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from pathlib import Path

from trajkit.schemas import Task
from trajkit.sources.base import LoadOptions
from trajkit.sources.hub import pick_records
from trajkit.sources.sampling import sample_tasks
from trajkit.sources.tasks.read import RawRow, read_hf, read_local

SAMPLE_PATH = Path(__file__).parent / "samples" / "tasks_sample.jsonl"
#: Hand-written CodeAct turns for the sample questions, for an offline demo (replay teacher).
DEMO_REPLAY = SAMPLE_PATH.parent / "tasks_demo_replay.jsonl"

ReadHub = Callable[[str, str | None, str | None], Iterable[RawRow]]


def load_rows(
    options: LoadOptions,
    sample: Path,
    read_file: Callable[[str], Iterable[RawRow]] = read_local,
    read_hub: ReadHub = read_hf,
) -> tuple[str, Iterable[RawRow]]:
    """``(origin, rows)`` from ``--data``, ``--hf`` or ``sample``; both flags is a ConfigError."""
    return pick_records(options, read_file, read_hub, sample, "tasks")


def _matches(value: object, wanted: list[str]) -> bool:
    return not wanted or (value is not None and str(value).strip().lower() in wanted)


def select(tasks: list[Task], options: LoadOptions) -> list[Task]:
    """Tasks whose ``level`` field is one of ``--level`` and whose ``type`` field is one of
    ``--type`` (compared as lower-case text; no flag keeps all), then ``--limit`` of them
    chosen with ``--seed`` (``sources.sampling``), in file order."""
    levels = [v.strip().lower() for v in options.levels]
    types = [v.strip().lower() for v in options.types]
    kept = [
        t for t in tasks
        if _matches(t.metadata.get("level"), levels) and _matches(t.metadata.get("type"), types)
    ]
    return sample_tasks(kept, options.limit, options.seed)
