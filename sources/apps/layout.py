"""Reading a directory of APPS data: the released per-problem tree, or the Hub's files.

The APPS release (``APPS.tar.gz``) unpacks as ``train/0000/`` … ``test/4999/``, one folder per
problem holding ``question.txt``, ``input_output.json``, ``solutions.json``,
``metadata.json`` (``difficulty``, ``url``) and, for call-based problems,
``starter_code.py``; tools built on it leave more files there (CodeRL's
``baseline_solutions.json``, ``gen_solutions.json``). The Hub's ``codeparrot/apps`` instead
ships one file per split (``train.jsonl``, or Parquet shards). A directory is recognised as
one of these layouts by its shape, never by reading every ``.json`` in it as records, and
each problem folder becomes the same record a Hub row is: ``problem_id`` is the folder's
number (``train/0001`` → ``1``, as on the Hub), so both give the same Task.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from trajkit.core.errors import DataError
from trajkit.core.jsonl import parse_json

RawRecord = tuple[str, Any]
QUESTION = "question.txt"
SPLITS = ("train", "test")
ACCEPTED = (
    "accepted: a problem folder (question.txt, input_output.json, solutions.json, "
    "metadata.json, starter_code.py), a split folder of them (train/ or test/ of the APPS "
    "release), the release root holding train/ and test/ (pick one with --split), or a "
    "folder of .jsonl/.json/.parquet files named by split (the Hub layout)"
)

HubReader = Callable[[Path, list[str]], Iterator[RawRecord]]


def is_problem_dir(path: Path) -> bool:
    return (path / QUESTION).is_file()


def problem_dirs(path: Path) -> list[Path]:
    """The problem folders directly inside ``path``, numbered ones in number order."""
    found = [child for child in path.iterdir() if child.is_dir() and is_problem_dir(child)]
    return sorted(found, key=lambda p: (not p.name.isdigit(), int(p.name) if p.name.isdigit() else 0, p.name))


def _read_text(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        raise DataError(f"{path}: not UTF-8 text ({exc.reason})") from None
    except OSError as exc:
        raise DataError(f"{path}: cannot read ({exc.strerror or exc})") from None


def _read_json(path: Path) -> Any:
    try:
        return parse_json(_read_text(path))
    except json.JSONDecodeError as exc:
        raise DataError(f"{path}:{exc.lineno}: not valid JSON ({exc.msg})") from None


def problem_record(folder: Path) -> dict[str, Any]:
    """One problem folder as an APPS record (decoded fields; absent files are absent)."""
    name = folder.name
    record: dict[str, Any] = {
        "problem_id": int(name) if name.isdigit() else name,
        "question": _read_text(folder / QUESTION),
    }
    for key, filename in (("input_output", "input_output.json"), ("solutions", "solutions.json")):
        if (folder / filename).is_file():
            record[key] = _read_json(folder / filename)
    starter = folder / "starter_code.py"
    if starter.is_file():
        record["starter_code"] = _read_text(starter)
    meta_path = folder / "metadata.json"
    if meta_path.is_file():
        meta = _read_json(meta_path)
        if not isinstance(meta, dict):
            raise DataError(f"{meta_path}: expected a JSON object, got {type(meta).__name__}")
        for key in ("difficulty", "url"):
            if key in meta:
                record[key] = meta[key]
    return record


def read_problem_dirs(folders: list[Path]) -> Iterator[RawRecord]:
    for folder in folders:
        yield str(folder), problem_record(folder)


def read_dir(path: Path, split: str | None, hub_files: Callable[[list[str], str], list[str]],
             read_files: HubReader) -> Iterator[RawRecord]:
    """Records from a directory in any accepted layout; anything else is one ``DataError``
    that lists the layouts. ``split`` (default ``train``) picks within a release root or a
    Hub-layout folder; ``hub_files(names, split)`` chooses that split's data files."""
    if is_problem_dir(path):
        yield from read_problem_dirs([path])
        return
    folders = problem_dirs(path)
    if folders:
        yield from read_problem_dirs(folders)
        return
    wanted = split or "train"
    present = [name for name in SPLITS if (path / name).is_dir() and problem_dirs(path / name)]
    if present:
        if wanted not in present:
            found = ", ".join(f"{name}/" for name in present)
            raise DataError(f"{path}: no {wanted}/ split here (found {found}; pick one with --split)")
        yield from read_problem_dirs(problem_dirs(path / wanted))
        return
    names = [  # a problem folder's own JSON is never a data file, wherever the tree sits
        p.relative_to(path).as_posix() for p in path.rglob("*")
        if p.is_file() and not is_problem_dir(p.parent)
    ]
    chosen = hub_files(names, wanted)
    if chosen:
        yield from read_files(path, chosen)
        return
    raise DataError(
        f"{path}: no .jsonl/.parquet data files for split {wanted!r} and no APPS problem folders; {ACCEPTED}"
    )
