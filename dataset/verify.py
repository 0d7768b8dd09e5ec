"""Check that a dataset version is intact, and that its manifest really rebuilds it.

``verify_version`` proves nothing was altered since the version was written (hash, counts,
permissions); ``rebuild_version`` proves the manifest is a complete recipe: the recorded chain
over the recorded inputs gives the same bytes.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Sequence
from pathlib import Path

from trajkit.dataset.inputs import resolve_input, snapshot_input
from trajkit.dataset.version import (
    DATA_FILE,
    MANIFEST_FILE,
    read_manifest,
    stream_dataset,
)
from trajkit.filters.registry import chain_from_reports
from trajkit.schemas import FilterReport
from trajkit.schemas.errors import DataError


def verify_version(path: Path) -> list[str]:
    """Problems found in the version directory ``path`` (empty list = intact).

    Checks: both files present, manifest valid and naming this ``vN``, ``data.jsonl`` sha256,
    record count and per-source counts as recorded, filter counts consistent, files read-only.
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

    digest = hashlib.sha256()
    lines = 0
    by_source: dict[str, int] = {}
    with open(data_path, "rb") as fh:
        for raw in fh:
            digest.update(raw)
            lines += 1
            try:
                source = json.loads(raw).get("source", "?")
            except (ValueError, AttributeError):
                problems.append(f"{data_path}:{lines}: not a JSON record")
                continue
            by_source[source] = by_source.get(source, 0) + 1
    if digest.hexdigest() != manifest.data_sha256:
        problems.append(
            f"{data_path}: sha256 {digest.hexdigest()} != manifest {manifest.data_sha256}"
        )
    if lines != manifest.records:
        problems.append(f"{data_path}: {lines} records, manifest says {manifest.records}")
    if by_source != manifest.counts_by_source:
        problems.append(f"{data_path}: per-source counts {by_source} != manifest {manifest.counts_by_source}")

    problems += _filter_problems(manifest.filters, manifest.records)
    for file in (path / MANIFEST_FILE, data_path):
        if os.stat(file).st_mode & 0o222:
            problems.append(f"{file}: writable (dataset versions are read-only)")
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
