"""``trajkit export``: a verified dataset version → a training file or a Hugging Face folder.

Formats: ``openai`` (chat fine-tuning JSONL, optional per-message ``weight``), ``sharegpt``,
``codeact`` (CodeActInstruct rows) and ``hf`` (a folder of Parquet shards + dataset card +
CHANGELOG, loadable with ``datasets.load_dataset(PATH)``). See ``export_chat`` for how a
trajectory becomes a conversation and which records are skipped.

Whether the teacher's in-context demonstration stays in each system prompt is the
``keep_demonstration`` flag (default: cut out; ``export_chat`` says why and how exactly).

Records collected with native function calling (``--action-format tools``) keep their calls:
``openai`` lines get ``tools`` and ``tool_calls``/``tool`` messages, ``sharegpt`` rows
LLaMA-Factory's ``function_call``/``observation`` turns and ``tools``, ``hf`` the tool fields
(``export_hf``); ``codeact`` skips them (``export_chat`` has the rules).

Guarantees: the version is verified first (exporting drifted data would publish numbers the
card contradicts); output is deterministic (rows in data order, no timestamps beyond the
manifest's own ``created_at``); it is written into a temporary sibling and renamed into place,
so ``--to`` is either the complete old export or the complete new one; an existing ``--to`` is
replaced only with ``force``, and only when it is an earlier export (``check_replaceable``:
never the version itself, an output root, a run's or a version's files, or a user's folder).
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from trajkit.core.demonstration import demonstration_text
from trajkit.core.errors import ConfigError, DataError
from trajkit.dataset.changelog import CHANGELOG_FILE, public_changelog
from trajkit.dataset.export_chat import (
    Unexportable,
    codeact_row,
    conversation,
    is_native,
    offered_functions,
    openai_row,
    sharegpt_row,
)
from trajkit.dataset.inputs import RUN_FILE, is_version_dir
from trajkit.dataset.summary import DataSummary
from trajkit.dataset.verify import require_intact
from trajkit.dataset.version import iter_data, list_versions
from trajkit.schemas import DatasetManifest

FORMATS = ("openai", "sharegpt", "codeact", "hf")
README_FILE = "README.md"


@dataclass
class ExportResult:
    """What an export wrote: ``rows`` rows to ``path``; ``skipped`` counts by reason."""

    path: Path
    format: str
    version_dir: Path
    manifest: DatasetManifest
    rows: int = 0
    skipped: dict[str, int] = field(default_factory=dict)
    #: rows whose teacher was shown an in-context demonstration (cut out unless kept)
    demonstrations: int = 0
    keep_demonstration: bool = False
    files: list[str] = field(default_factory=list)  # relative to ``path`` for hf


def locate_version(path: Path) -> Path:
    """A version directory, or a dataset directory → its latest version; else ``DataError``."""
    path = Path(path)
    if is_version_dir(path):
        return path
    versions = list_versions(path)
    if versions:
        return path / f"v{versions[-1]}"
    if path.exists():
        raise DataError(f"{path}: not a dataset version (expected OUT/datasets/NAME/vN)")
    raise DataError(f"{path}: no such dataset version")


def _dump(row: dict[str, Any]) -> bytes:
    return (json.dumps(row, ensure_ascii=False, separators=(",", ":"), allow_nan=False) + "\n").encode()


def _write_jsonl(version_dir: Path, fmt: str, dest: Path, *, weights: bool, mask_failed: bool,
                 keep_demonstration: bool, result: ExportResult) -> None:
    skipped: Counter[str] = Counter()
    with open(dest, "wb") as fh:
        for traj, _size in iter_data(version_dir):
            try:
                turns = conversation(traj, keep_demonstration=keep_demonstration)
                if fmt == "openai":
                    tools = offered_functions(traj) if is_native(traj) else []
                    row = openai_row(turns, weights=weights, mask_failed=mask_failed, tools=tools)
                elif fmt == "sharegpt":
                    row = sharegpt_row(traj, turns)
                else:
                    row = codeact_row(traj, turns)
            except Unexportable as exc:
                skipped[exc.reason] += 1
                continue
            fh.write(_dump(row))
            result.rows += 1
            result.demonstrations += bool(demonstration_text(traj.messages))
        fh.flush()
        os.fsync(fh.fileno())
    result.skipped = dict(sorted(skipped.items()))


def write_hf_folder(
    version_dir: Path, dest: Path, manifest: DatasetManifest, *, license: str,
    repo_id: str | None, max_shard_bytes: int, result: ExportResult,
    keep_demonstration: bool = False,
) -> None:
    """Parquet shards under ``dest/data``, ``README.md`` card and ``CHANGELOG.md`` (if any;
    its teacher rows named as the card names teachers: ``changelog.public_changelog``)."""
    from trajkit.dataset.card import CardInputs, render_card
    from trajkit.dataset.export_hf import (
        HF_SCHEMA,
        HF_TOOLS_SCHEMA,
        ShardWriter,
        hf_row,
        offers_functions,
        version_offers_functions,
    )

    dest.mkdir(parents=True, exist_ok=True)
    tools = version_offers_functions(version_dir)
    writer = ShardWriter(dest / "data", "train", max_bytes=max_shard_bytes,
                         schema=HF_TOOLS_SCHEMA if tools else HF_SCHEMA)
    summary = DataSummary()
    skipped: Counter[str] = Counter()
    function_rows = 0
    for traj, size in iter_data(version_dir):
        summary.add(traj.model_dump(mode="json", include={"source", "teacher", "termination", "usage"}))
        try:
            turns = conversation(traj, keep_demonstration=keep_demonstration)
        except Unexportable as exc:
            skipped[exc.reason] += 1
            continue
        writer.add(hf_row(traj, turns, tools=tools), size)
        result.demonstrations += bool(demonstration_text(traj.messages))
        function_rows += offers_functions(traj)
    shards = [p.relative_to(dest).as_posix() for p in writer.close()]
    result.rows = writer.rows
    result.skipped = dict(sorted(skipped.items()))
    card = render_card(
        manifest, summary,
        CardInputs({"train": writer.rows}, result.skipped, shards, keep_demonstration,
                   result.demonstrations, tool_columns=tools, function_rows=function_rows),
        license=license, repo_id=repo_id,
    )
    (dest / README_FILE).write_text(card, encoding="utf-8")
    files = [README_FILE, *shards]
    changelog = version_dir / CHANGELOG_FILE
    if changelog.is_file():
        text = public_changelog(changelog.read_bytes().decode("utf-8"))
        (dest / CHANGELOG_FILE).write_bytes(text.encode("utf-8"))
        files.append(CHANGELOG_FILE)
    result.files = sorted(files)


#: What an ``hf`` export folder holds (``write_hf_folder``): the only directory ``--force``
#: may replace.
HF_EXPORT_ENTRIES = frozenset({README_FILE, CHANGELOG_FILE, "data"})


def check_replaceable(target: Path, version_dir: Path, fmt: str) -> None:
    """Refuse a ``--force`` that would destroy more than an earlier export: the version being
    exported or anything holding it (the output root), any file inside a run or a dataset
    version, a directory for a one-file format, and a directory that is not an ``hf``
    export (a user's folder: ``--force`` replaces exports, it does not empty directories)."""
    where = target.resolve()
    source = version_dir.resolve()
    if where == source or where in source.parents or source in where.parents:
        raise ConfigError(f"--to {target}: is, or holds, the dataset version being exported")
    for folder in (where, *where.parents):
        if is_version_dir(folder) or (folder / RUN_FILE).is_file():
            kind = "a dataset version" if is_version_dir(folder) else "a collection run"
            raise ConfigError(f"--to {target}: is inside {kind} ({folder}); --force never "
                              "replaces collected data")
    if not target.is_dir() or target.is_symlink():
        return
    if fmt != "hf":
        raise ConfigError(f"--to {target}: is a directory; --format {fmt} writes one file")
    entries = {entry.name for entry in target.iterdir()}
    if not entries <= HF_EXPORT_ENTRIES or (entries and README_FILE not in entries):
        raise ConfigError(f"--to {target}: is a directory but not an earlier hf export "
                          "(README.md, data/, CHANGELOG.md); --force replaces only those")


def place(tmp: Path, target: Path, force: bool) -> None:
    """Move the finished ``tmp`` onto ``target``: atomic for a file, old-aside-then-swap for a
    directory (both renames are on one filesystem, so a reader sees old or new, never half)."""
    if not target.exists() and not target.is_symlink():
        os.rename(tmp, target)
        return
    if not force:
        raise ConfigError(f"--to {target}: already exists (use --force to replace it)")
    if tmp.is_file() and not target.is_dir():
        os.replace(tmp, target)
        return
    old = Path(tempfile.mkdtemp(prefix=f".{target.name}.old-", dir=target.parent))
    aside = old / target.name
    os.rename(target, aside)
    try:
        os.rename(tmp, target)
    except OSError:
        os.rename(aside, target)
        raise
    shutil.rmtree(old, ignore_errors=True)


def check_format_options(fmt: str, *, weights: bool, hf_only: bool) -> None:
    """Options another format would silently ignore are refused: ``--weights``/``--mask-failed``
    exist for ``openai`` only, ``--license``/``--max-shard-mb`` for ``hf`` only."""
    if weights and fmt != "openai":
        raise ConfigError("--weights/--mask-failed: only for --format openai")
    if hf_only and fmt != "hf":
        raise ConfigError("--license/--max-shard-mb: only for --format hf")


def export_version(
    version: Path,
    fmt: str,
    to: Path,
    *,
    force: bool = False,
    weights: bool = False,
    mask_failed: bool = False,
    license: str | None = None,
    repo_id: str | None = None,
    max_shard_bytes: int | None = None,
    keep_demonstration: bool = False,
) -> ExportResult:
    """Export ``version`` (a ``vN`` directory, or a dataset directory → latest) as ``fmt`` to ``to``.

    ``keep_demonstration``: keep the in-context demonstration in each system prompt (by default
    it is cut out exactly; see ``export_chat``)."""
    from trajkit.dataset.card import DEFAULT_LICENSE
    from trajkit.dataset.export_hf import DEFAULT_MAX_SHARD_BYTES

    if fmt not in FORMATS:
        raise ConfigError(f"--format: unknown format {fmt!r} (choose from: {', '.join(FORMATS)})")
    check_format_options(fmt, weights=weights or mask_failed,
                         hf_only=license is not None or max_shard_bytes is not None)
    if max_shard_bytes is not None and max_shard_bytes < 1:
        raise ConfigError("--max-shard-mb: must be positive")
    version_dir = locate_version(version)
    manifest = require_intact(version_dir)
    target = Path(to)
    if target.exists() and not force:
        raise ConfigError(f"--to {target}: already exists (use --force to replace it)")
    if target.exists() or target.is_symlink():
        check_replaceable(target, version_dir, fmt)
    if not target.parent.is_dir():
        raise ConfigError(f"--to {target}: directory {target.parent} does not exist")
    result = ExportResult(path=target, format=fmt, version_dir=version_dir, manifest=manifest,
                          keep_demonstration=keep_demonstration)
    work = Path(tempfile.mkdtemp(prefix=f".{target.name}.tmp-", dir=target.parent))
    try:
        out = work / target.name
        if fmt == "hf":
            write_hf_folder(version_dir, out, manifest, license=license or DEFAULT_LICENSE, repo_id=repo_id,
                            max_shard_bytes=max_shard_bytes or DEFAULT_MAX_SHARD_BYTES, result=result,
                            keep_demonstration=keep_demonstration)
        else:
            _write_jsonl(version_dir, fmt, out, weights=weights, mask_failed=mask_failed,
                         keep_demonstration=keep_demonstration, result=result)
            result.files = [target.name]
        place(out, target, force)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return result
