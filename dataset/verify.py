"""Check that a dataset version is intact, and that its manifest really rebuilds it.

``verify_version`` proves nothing was altered since the version was written (hashes and sizes of
every file, record and per-source/teacher/termination counts, token totals, unique ids,
lineage, permissions); ``rebuild_version`` proves the manifest is a complete recipe: the
recorded chain over the recorded inputs gives the same bytes.
"""

from __future__ import annotations

import filecmp
import os
import tempfile
from collections.abc import Sequence
from pathlib import Path

from trajkit.core.errors import DataError, UserError
from trajkit.dataset.inputs import resolve_input, snapshot_input
from trajkit.dataset.lineage import lineage_problems
from trajkit.dataset.summary import file_sha256, summarize_file
from trajkit.dataset.version import (
    DATA_FILE,
    MANIFEST_FILE,
    read_manifest,
    stream_dataset,
)
from trajkit.filters.registry import chain_from_reports
from trajkit.schemas import DatasetManifest, FilterReport


def verify_version(path: Path) -> list[str]:
    """Problems found in the version directory ``path`` (empty list = intact).

    Always checked: both files present, manifest valid and naming this ``vN``, ``data.jsonl``
    sha256, record count and per-source counts, filter counts consistent, files read-only.
    Checked when the manifest records them (newer manifests): every listed file's sha256 and
    size, no unlisted files, counts by teacher and termination, token totals, ids unique,
    parents agreeing with inputs.
    """
    path = Path(path)
    if not path.is_dir():
        return [f"{path}: not a dataset version directory"]
    problems: list[str] = []
    data_path = path / DATA_FILE
    for required in (path / MANIFEST_FILE, data_path):
        if not required.is_file():
            problems.append(f"{required}: missing")
    if problems:
        return problems
    try:
        manifest = read_manifest(path)
    except DataError as exc:
        return [str(exc)]

    if path.name != f"v{manifest.version}":
        problems.append(f"{path}: directory name does not match manifest version {manifest.version}")

    scanned = summarize_file(data_path)
    summary = scanned.summary
    problems += [f"{data_path}:{n}: not a JSON record" for n in scanned.bad_lines[:10]]
    if scanned.sha256 != manifest.data_sha256:
        problems.append(f"{data_path}: sha256 {scanned.sha256} != manifest {manifest.data_sha256}")
    lines = summary.records + len(scanned.bad_lines)
    if lines != manifest.records:
        problems.append(f"{data_path}: {lines} records, manifest says {manifest.records}")
    counts = summary.counts()
    if counts["source"] != manifest.counts_by_source:
        problems.append(
            f"{data_path}: per-source counts {counts['source']} != manifest {manifest.counts_by_source}"
        )
    for label, recorded, actual in (
        ("per-teacher", manifest.counts_by_teacher, counts["teacher"]),
        ("per-termination", manifest.counts_by_termination, counts["termination"]),
    ):
        if recorded is not None and recorded != actual:
            problems.append(f"{data_path}: {label} counts {actual} != manifest {recorded}")
    if manifest.usage is not None and manifest.usage != summary.usage:
        u, m = summary.usage, manifest.usage
        problems.append(
            f"{data_path}: token totals in/out {u.input_tokens}/{u.output_tokens} != manifest "
            f"{m.input_tokens}/{m.output_tokens}"
        )
    if summary.duplicate_ids:
        problems.append(f"{data_path}: repeated record ids: {', '.join(sorted(set(summary.duplicate_ids))[:5])}")

    problems += _file_problems(path, manifest)
    problems += lineage_problems(manifest)
    problems += _filter_problems(manifest.filters, manifest.records)
    for file in sorted(p for p in path.iterdir() if p.is_file()):
        if os.stat(file).st_mode & 0o222:
            problems.append(f"{file}: writable (dataset versions are read-only)")
    return problems


def _file_problems(path: Path, manifest: DatasetManifest) -> list[str]:
    """Every file the manifest lists matches its digest; nothing unlisted sits beside them."""
    if manifest.files is None:
        return []
    problems = []
    listed = {f.path for f in manifest.files}
    for f in manifest.files:
        file = path / f.path
        if not file.is_file():
            problems.append(f"{file}: missing")
            continue
        if f.path == DATA_FILE and f.sha256 != manifest.data_sha256:
            problems.append(f"{MANIFEST_FILE}: files entry for {DATA_FILE} disagrees with data_sha256")
        if f.path == DATA_FILE:
            continue  # its bytes were hashed above against data_sha256
        sha, size = file_sha256(file)
        if (sha, size) != (f.sha256, f.bytes):
            problems.append(f"{file}: sha256 {sha} ({size} bytes) != manifest {f.sha256} ({f.bytes} bytes)")
    for entry in sorted(path.iterdir()):
        if entry.name not in listed and entry.name != MANIFEST_FILE:
            problems.append(f"{entry}: not part of this version (not in the manifest)")
    return problems


def _filter_problems(reports: Sequence[FilterReport], records: int) -> list[str]:
    """Each unit sees what the previous one kept; the last keeps exactly the records."""
    problems = []
    for k, r in enumerate(reports):
        if r.seen != r.kept + r.dropped or sum(r.drop_reasons.values()) != r.dropped:
            problems.append(f"filter {r.name}: seen/kept/dropped/reasons do not add up")
        if k and r.seen != reports[k - 1].kept:
            problems.append(f"filter {r.name}: saw {r.seen}, previous unit kept {reports[k - 1].kept}")
    if reports and reports[-1].kept != records:
        problems.append(f"filter {reports[-1].name}: kept {reports[-1].kept}, manifest has {records} records")
    return problems


def rebuild_version(
    path: Path, out_dir: Path, inputs: Sequence[Path] | None = None
) -> str:
    """Re-run the manifest's chain over its inputs into ``out_dir/data.jsonl``; return its sha256.

    Equal to the manifest's ``data_sha256`` if the version is reproducible. ``inputs`` may
    relocate the inputs (same order); each must still hash to the recorded sha256, otherwise a
    ``DataError`` names the input that changed. Unknown filter names raise ``ConfigError``.
    """
    manifest = read_manifest(Path(path))
    paths = list(inputs) if inputs is not None else [Path(i.path) for i in manifest.inputs]
    if len(paths) != len(manifest.inputs):
        raise DataError(f"{path}: manifest has {len(manifest.inputs)} inputs, got {len(paths)}")
    snaps = []
    for recorded, given in zip(manifest.inputs, paths, strict=True):
        snap = snapshot_input(resolve_input(given))
        if snap.sha256 != recorded.sha256:
            raise DataError(
                f"{given}: input changed since {manifest.name} v{manifest.version} was built "
                f"(sha256 {snap.sha256[:12]}…, manifest {recorded.sha256[:12]}…)"
            )
        snaps.append(snap)
    chain = chain_from_reports(manifest.filters)
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    target = out_dir / DATA_FILE
    partial = out_dir / f".{DATA_FILE}.partial-{os.getpid()}"
    try:
        with open(partial, "wb") as fh:
            result = stream_dataset(snaps, chain, fh)
        os.replace(partial, target)
    finally:
        partial.unlink(missing_ok=True)
    return result.sha256


def rebuild_problems(path: Path, inputs: Sequence[Path] | None = None) -> list[str]:
    """Rebuild ``path`` from its parents into a scratch directory and compare bytes.

    Empty list = the manifest reproduces ``data.jsonl`` exactly. A parent that is missing or
    changed, or an unknown filter, is a problem too: the recipe no longer gives this version.
    """
    path = Path(path)
    with tempfile.TemporaryDirectory(prefix="trajkit-rebuild-") as scratch:
        try:
            sha = rebuild_version(path, Path(scratch), inputs)
        except UserError as exc:
            return [f"rebuild: {exc}"]
        rebuilt = Path(scratch) / DATA_FILE
        if not filecmp.cmp(rebuilt, path / DATA_FILE, shallow=False):
            return [
                f"rebuild: {path / DATA_FILE} differs from a rebuild from its parents "
                f"(rebuilt sha256 {sha}, {rebuilt.stat().st_size} bytes)"
            ]
    return []
