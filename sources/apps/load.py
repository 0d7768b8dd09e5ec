"""Finding APPS records (JSONL/JSON/Parquet files, directories, the Hub, the bundled sample),
selecting tasks.

Every origin yields ``(origin, record)`` pairs that go through ``record_to_task``, so a Hub
row and the same problem in a local file or problem folder become the same Task. The Hub's
``codeparrot/apps`` ships a loading script that current ``datasets`` refuses to run, so for
the Hub we list the repository's data files, download the ones for the split
(``train.jsonl``, or Parquet files such as the ``refs/convert/parquet`` export) and read them
with the local readers. A local directory, given as ``--data`` or ``--hf``, is read by its
layout (``layout.py``): the released per-problem tree or the Hub's files.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any

from trajkit.core.errors import ConfigError, DataError
from trajkit.schemas import Task
from trajkit.sources.apps.layout import read_dir
from trajkit.sources.apps.records import (
    PromptSettings,
    SkippedRecord,
    parse_difficulties,
    record_to_task,
)
from trajkit.sources.base import LoadOptions
from trajkit.sources.hub import first_line
from trajkit.sources.row_files import read_rows
from trajkit.sources.sampling import sample_tasks

logger = logging.getLogger(__name__)

SAMPLE_PATH = Path(__file__).parent / "samples" / "apps_sample.jsonl"
#: Hand-written CodeAct turns for the sample problems, played back by a replay teacher.
DEMO_REPLAY = SAMPLE_PATH.parent / "apps_demo_replay.jsonl"

DATA_SUFFIXES = (".jsonl", ".json", ".parquet")
PARQUET_BRANCH = "refs/convert/parquet"
RawRecord = tuple[str, Any]


@dataclass
class LoadReport:
    """What a load did, so the CLI can say why fewer tasks came back than expected."""

    origin: str
    read: int = 0
    skipped_no_tests: int = 0
    skipped_examples: list[str] = field(default_factory=list)
    selected: int = 0


# --------------------------------------------------------------------------- local files


def read_file(path: Path) -> Iterator[RawRecord]:
    """Records from one ``.jsonl``, ``.json`` (a list) or ``.parquet`` file."""
    return read_rows(path, (".jsonl", ".json", ".parquet"), "APPS records")


# --------------------------------------------------------------------------- Hugging Face


def pick_split_files(files: Iterable[str], split: str, config: str | None) -> list[str]:
    """The repository's data files for ``split`` (and ``config``, a directory level in the
    Parquet export), sorted: ``train.jsonl``, ``data/train-00000-of-00002.parquet``,
    ``all/train/0000.parquet``... With no config and several, ``all``/``default`` wins."""
    chosen: dict[str, list[str]] = {}
    for name in files:
        path = PurePosixPath(name)
        if path.suffix.lower() not in DATA_SUFFIXES or any(p.startswith(".") for p in path.parts):
            continue
        stem = path.name.split(".")[0]
        dirs = list(path.parts[:-1])
        if split not in dirs and not (stem == split or stem.startswith((f"{split}-", f"{split}_"))):
            continue
        cfg = dirs[dirs.index(split) - 1] if split in dirs and dirs.index(split) > 0 else ""
        chosen.setdefault(cfg, []).append(name)
    if config is not None:
        if config not in chosen and set(chosen) == {""}:
            raise ConfigError(
                f"--hf-config {config}: this dataset's files have no configs"
                " (select problems with --difficulty)"
            )
        return sorted(chosen.get(config, []))
    for preferred in ("", "all", "default"):
        if preferred in chosen:
            return sorted(chosen[preferred])
    if len(chosen) == 1:
        return sorted(next(iter(chosen.values())))
    if chosen:
        raise ConfigError(f"--hf-config: pick one of {', '.join(sorted(chosen))}")
    return []


def _hub_files(name: str, split: str, config: str | None) -> tuple[list[str], Callable[[str], Path]]:
    """List the Hub repo's files for the split and return a downloader for them."""
    import huggingface_hub as hub  # lazy: only Hub loads need it

    where = f"hf {name}"
    for revision in (None, PARQUET_BRANCH):
        try:
            files = hub.list_repo_files(name, repo_type="dataset", revision=revision)
        except Exception as exc:  # network, unknown repo, missing branch
            if revision is None:
                raise DataError(f"{where}: cannot list the dataset's files: {first_line(exc)}") from None
            break
        chosen = pick_split_files(files, split, config)
        if chosen:

            def fetch(filename: str, revision: str | None = revision) -> Path:
                try:
                    return Path(hub.hf_hub_download(name, filename, repo_type="dataset", revision=revision))
                except Exception as exc:
                    raise DataError(f"{where}: cannot download {filename}: {first_line(exc)}") from None

            return chosen, fetch
    raise DataError(f"{where}: no .jsonl/.parquet data files for split {split!r}")


def read_local(path: Path, split: str | None, config: str | None = None) -> Iterator[RawRecord]:
    """Records from a file, or from a directory in any layout ``layout.read_dir`` accepts."""
    if not path.is_dir():
        yield from read_file(path)
        return

    def split_files(names: list[str], wanted: str) -> list[str]:
        return pick_split_files(names, wanted, config)

    def read_files(root: Path, names: list[str]) -> Iterator[RawRecord]:
        for filename in names:
            yield from read_file(root / filename)

    yield from read_dir(path, split, split_files, read_files)


def read_hf(name: str, config: str | None, split: str | None) -> Iterator[RawRecord]:
    """Rows of one split from a Hub dataset id or a local directory (any accepted layout)."""
    split = split or "train"  # training data is generated from train, not the evaluation split
    local = Path(name).expanduser()
    if local.is_dir():
        yield from read_local(local, split, config)
        return
    chosen, fetch = _hub_files(name, split, config)
    for filename in chosen:
        yield from read_file(fetch(filename))


# --------------------------------------------------------------------------- conversion + selection


def convert(records: Iterable[RawRecord], report: LoadReport, settings: PromptSettings) -> list[Task]:
    """Records → tasks, counting (not failing on) problems without usable tests.

    Duplicate ids get ``-2``, ``-3``… in file order so every task id stays unique and stable.
    """
    tasks: list[Task] = []
    seen: dict[str, int] = {}
    for origin, obj in records:
        report.read += 1
        try:
            task = record_to_task(obj, origin, settings)
        except SkippedRecord as skip:
            report.skipped_no_tests += 1
            if len(report.skipped_examples) < 3:
                report.skipped_examples.append(f"{origin} ({skip.reason})")
            continue
        count = seen.get(task.task_id, 0) + 1
        seen[task.task_id] = count
        if count > 1:
            task = task.model_copy(update={"task_id": f"{task.task_id}-{count}"})
        tasks.append(task)
    return tasks


def load_tasks(options: LoadOptions, settings: PromptSettings) -> tuple[list[Task], LoadReport]:
    """Load, convert, filter by difficulty and sample per ``options``; see ``AppsSource.load``."""
    if options.data and options.hf:
        raise ConfigError("--data and --hf are mutually exclusive: pass one source of problems")
    if options.types:
        raise ConfigError("--type: APPS problems have no types; select with --difficulty")
    wanted = parse_difficulties(options.levels)
    if options.data:
        origin, records = options.data, read_local(Path(options.data).expanduser(), options.split)
    elif options.hf:
        origin, records = f"hf:{options.hf}", read_hf(options.hf, options.hf_config, options.split)
    else:
        origin, records = str(SAMPLE_PATH), read_file(SAMPLE_PATH)
    report = LoadReport(origin=origin)
    tasks = convert(records, report, settings)
    if report.skipped_no_tests:
        logger.warning(
            "apps: skipped %d of %d problems without usable tests (e.g. %s)",
            report.skipped_no_tests, report.read, ", ".join(report.skipped_examples),
        )
    if wanted:
        tasks = [t for t in tasks if t.metadata.get("difficulty") in wanted]
    tasks = sample_tasks(tasks, options.limit, options.seed)
    report.selected = len(tasks)
    return tasks, report
