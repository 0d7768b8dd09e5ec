"""Finding WikiTableQuestions examples (release layout, one ``.tsv``, the Hub copy, the sample)
and turning them into tasks that carry their table.

Release layout (``ppasupat/WikiTableQuestions``): ``ROOT/data/SPLIT.tsv`` with the columns
``id``, ``utterance``, ``context`` (``csv/204-csv/590.csv``, relative to ``ROOT``) and
``targetValue`` (``|``-separated, TSV escapes); tables at ``ROOT/csv/2xx-csv/N.csv`` (``.tsv``
beside it). When ``ROOT/tagged/data/SPLIT.tagged`` exists its ``targetCanon`` column gives
each target its canonical value, exactly as the official evaluator reads targets. The Hub copy
(``Stanford/wikitablequestions``, once the canonical ``wikitablequestions``; configs
``random-split-1`` to ``-5``, splits ``train``/``validation``/``test``) has ``id``,
``question``, ``answers`` (a list) and the table inline as ``{"header", "rows", "name"}``; its
loading script is not run, its Parquet export is read instead. Every task stores its table in
the Hub's layout in ``metadata["table"]``, so a record (and a Ray worker) needs nothing else
to replay it.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

from trajkit.core.errors import ConfigError, DataError
from trajkit.schemas import Task
from trajkit.sources.base import LoadOptions
from trajkit.sources.hub import load_hf_dataset
from trajkit.sources.sampling import sample_tasks
from trajkit.sources.wikitq.prompt import build_prompt
from trajkit.sources.wikitq.tables import Table, TableReader, safe_table_path, within_limit
from trajkit.sources.wikitq.tsv import read_rows, unescape, unescape_list

SOURCE = "wikitq"
SAMPLE_ROOT = Path(__file__).parent / "samples"
#: Hand-written CodeAct turns for the sample questions, for an offline demo (replay teacher).
DEMO_REPLAY = SAMPLE_ROOT / "wikitq_demo_replay.jsonl"
COLUMNS = ("id", "utterance", "context", "targetValue")
DEFAULT_SPLIT = "training"
HF_SPLIT = "train"
#: The Hub copy's configurations are the release's random splits; its Parquet export branch.
HF_CONFIG = "random-split-1"
PARQUET_EXPORT = "refs/convert/parquet"


def make_task(
    task_id: str, question: str, targets: list[str], canon: list[str] | None,
    table: Table, path: str, split: str,
) -> Task:
    """One task: the prompt names the table's path and shape, the reference is the targets."""
    return Task(
        source=SOURCE,
        task_id=task_id,
        prompt=build_prompt(question, path, len(table.rows), len(table.header)),
        reference=targets,
        metadata={
            "question": question,
            "split": split,
            "table_path": path,
            "target_canon": canon,
            "table": table.to_json(),
        },
    )


# --------------------------------------------------------------------------- release layout


def _locate(data: str, split: str | None) -> tuple[Path, Path, str]:
    """``(release root, examples tsv, split name)`` for ``--data ROOT [--split S]`` or
    ``--data FILE.tsv``."""
    path = Path(data).expanduser()
    if not path.exists():
        raise DataError(f"{path}: no such file or directory")
    if path.is_file():
        if path.suffix != ".tsv":
            raise DataError(f"{path}: expected a WikiTableQuestions .tsv or the release folder")
        root = path.parent.parent if path.parent.name == "data" else path.parent
        return root, path, path.stem
    name = split or DEFAULT_SPLIT
    tsv = path / "data" / f"{name}.tsv"
    if not tsv.is_file():
        found = sorted(p.stem for p in (path / "data").glob("*.tsv"))
        hint = f"available: {', '.join(found)}" if found else "no data/*.tsv there"
        raise DataError(f"{tsv}: no such split file for --split {name} ({hint})")
    return path, tsv, name


def _canon_map(root: Path, split: str) -> dict[str, list[str]] | None:
    """``id → targetCanon items`` from ``tagged/data/SPLIT.tagged``, if the release has it."""
    tagged = root / "tagged" / "data" / f"{split}.tagged"
    if not tagged.is_file():
        return None
    return {
        row["id"]: unescape_list(row["targetCanon"])
        for _, row in read_rows(tagged, ("id", "targetValue", "targetCanon"))
    }


def read_release(data: str, split: str | None, max_chars: int) -> list[Task]:
    """Tasks of one release split (or one ``.tsv``), each with its table read and checked."""
    root, tsv, name = _locate(data, split)
    canons = _canon_map(root, name)
    reader = TableReader(root, max_chars)
    tasks: list[Task] = []
    seen: dict[str, int] = {}
    for lineno, row in read_rows(tsv, COLUMNS):
        where = f"{tsv}:{lineno}"
        for column in COLUMNS:
            if not row[column].strip():
                raise DataError(f"{where}: empty {column}")
        task_id = row["id"].strip()
        if task_id in seen:
            raise DataError(f"{where}: id {task_id!r} already on line {seen[task_id]}")
        seen[task_id] = lineno
        targets = unescape_list(row["targetValue"])
        canon = canons.get(task_id) if canons is not None else None
        if canon is not None and len(canon) != len(targets):
            canon = None  # the tagged file disagrees with this split: fall back, never guess
        table, path = reader.read(row["context"].strip(), where)
        question = unescape(row["utterance"])
        tasks.append(make_task(task_id, question, targets, canon, table, path, name))
    return tasks


# --------------------------------------------------------------------------- the Hub copy


def _parquet_export(name: str, config: str | None, split: str, first: DataError) -> Any:
    """The Hub's Parquet export of ``name`` (``CONFIG/SPLIT/*.parquet`` on the
    ``refs/convert/parquet`` branch): how ``Stanford/wikitablequestions``, a loading-script
    dataset that current ``datasets`` refuses to run, is read."""
    import datasets  # slow import, only needed here

    try:
        return datasets.load_dataset(
            name, data_dir=config or HF_CONFIG, revision=PARQUET_EXPORT, split=split
        )
    except Exception:
        raise first from None  # the main branch's error says more than the export's


def _hub_rows(name: str, config: str | None, split: str | None) -> Iterator[tuple[str, Any]]:
    split = split or HF_SPLIT
    try:
        ds = load_hf_dataset(name, config, split)
    except DataError as exc:
        if Path(name).expanduser().exists():
            raise
        ds = _parquet_export(name, config, split, exc)
    for i, row in enumerate(ds):
        yield f"hf {name}[{split}][{i}]", row


def _hub_task(where: str, row: Any, split: str, max_chars: int) -> Task:
    if not isinstance(row, dict):
        raise DataError(f"{where}: expected a row with id, question, answers, table")
    for key in ("id", "question"):
        if not isinstance(row.get(key), str) or not row[key].strip():
            raise DataError(f"{where}: {key}: expected non-empty text")
    answers = row.get("answers")
    if not isinstance(answers, list) or not answers or not all(isinstance(a, str) for a in answers):
        raise DataError(f"{where}: answers: expected a non-empty list of strings")
    table = within_limit(Table.from_json(row.get("table"), where), max_chars, where)
    name = (row.get("table") or {}).get("name")
    path = safe_table_path(name, where) if isinstance(name, str) and name else "table.csv"
    return make_task(row["id"].strip(), row["question"], list(answers), None, table, path, split)


def read_hub(name: str, config: str | None, split: str | None, max_chars: int) -> list[Task]:
    """Tasks from a Hub dataset in ``Stanford/wikitablequestions``' layout (or a local
    folder / ``save_to_disk`` copy of it)."""
    tasks: list[Task] = []
    seen: set[str] = set()
    for where, row in _hub_rows(name, config, split):
        record = dict(row) if hasattr(row, "keys") else row
        task = _hub_task(where, record, split or HF_SPLIT, max_chars)
        if task.task_id in seen:
            raise DataError(f"{where}: id {task.task_id!r} appears twice")
        seen.add(task.task_id)
        tasks.append(task)
    return tasks


def load_tasks(options: LoadOptions, max_chars: int) -> list[Task]:
    """Tasks from ``--data`` (release root or ``.tsv``), ``--hf`` or the bundled sample, then
    seeded ``--limit`` sampling."""
    if options.data and options.hf:
        raise ConfigError("--data and --hf are mutually exclusive: pass one source of questions")
    if options.levels or options.types:
        raise ConfigError("--level/--type: wikitq has no levels or types")
    if options.hf:
        tasks = read_hub(options.hf, options.hf_config, options.split, max_chars)
    elif options.data:
        tasks = read_release(options.data, options.split, max_chars)
    else:
        tasks = read_release(str(SAMPLE_ROOT), options.split or "sample", max_chars)
    return sample_tasks(tasks, options.limit, options.seed)
