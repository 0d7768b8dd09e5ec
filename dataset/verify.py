"""Check that a dataset version is intact, and that its manifest really rebuilds it.

``verify_version`` proves nothing was altered since the version was written (hashes and sizes of
every file, record and per-source/teacher/termination counts, token totals, unique ids,
lineage, permissions); ``rebuild_version`` proves the manifest is a complete recipe: the
recorded chain over the recorded inputs gives the same bytes.

A rebuild finds each input where the manifest says (``dataset.inputs.recorded_location``):
under the version's own output root (``vN/../../..``) for inputs named relative to it, so a
whole output tree can move, or a copy of it be checked elsewhere; at the written path for
manifests older than that; and, for an input that lay outside the output root and so was
recorded by name only, wherever ``--input`` says.
"""

from __future__ import annotations

import filecmp
import os
import tempfile
from collections.abc import Sequence
from pathlib import Path

from trajkit.core.errors import DataError, UserError
from trajkit.dataset.inputs import output_root, recorded_location, resolve_input, snapshot_input
from trajkit.dataset.lineage import lineage_problems, parent_label
from trajkit.dataset.summary import file_sha256, named_counts, summarize_file
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
    by_teacher = manifest.counts_by_teacher
    for label, recorded, actual in (
        # An older manifest's keys may hold a replay's path; recounts name teachers by file.
        ("per-teacher", named_counts(by_teacher) if by_teacher is not None else None, counts["teacher"]),
        ("per-termination", manifest.counts_by_termination, counts["termination"]),
        ("per-action-format", manifest.counts_by_action_format, counts["action_format"]),
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


def _input_name(manifest: DatasetManifest, k: int) -> str:
    """``2 (run math-a, sha256 8a69a767df70…)``: input ``k`` as a person knows it."""
    inp = manifest.inputs[k]
    parents = manifest.parents or []
    label = parent_label(parents[k]) if len(parents) == len(manifest.inputs) else inp.path
    return f"{k + 1} ({label}, sha256 {inp.sha256[:12]}…)"


def input_paths(
    path: Path, manifest: DatasetManifest, given: Sequence[Path] | None = None
) -> list[tuple[Path, bool]]:
    """Where to read each of the manifest's inputs for a rebuild, in manifest order, and
    whether that place was given (``--input``) rather than recorded.

    ``given`` names either every input (in manifest order) or exactly the inputs whose place
    the manifest does not record (those that lay outside the output root, in manifest order):
    the common case, one run kept apart, then needs one ``--input``, not a list of them all.
    Without them a rebuild is impossible, and the ``DataError`` names what to give.
    """
    root = output_root(path)
    recorded = [recorded_location(i, root) for i in manifest.inputs]
    unknown = [k for k, where in enumerate(recorded) if where is None]
    if given is not None:
        given = list(given)
        if len(given) == len(recorded):
            return [(p, True) for p in given]
        if unknown and len(given) == len(unknown):
            fill = iter(given)
            return [(where, False) if where is not None else (next(fill), True) for where in recorded]
        also = f" (or {len(unknown)}: those it does not locate)" if unknown else ""
        raise DataError(
            f"{path}: manifest has {len(recorded)} inputs{also}, got {len(given)} --input"
        )
    if unknown:
        which = ", ".join(_input_name(manifest, k) for k in unknown)
        noun = "input" if len(unknown) == 1 else "inputs"
        raise DataError(
            f"{path}: {noun} {which} lay outside the output root when {manifest.name} "
            f"v{manifest.version} was built, so the manifest keeps only a name; give "
            f"{'its place' if len(unknown) == 1 else 'their places, in order,'} with --input"
        )
    return [(where, False) for where in recorded if where is not None]


def rebuild_version(
    path: Path, out_dir: Path, inputs: Sequence[Path] | None = None
) -> str:
    """Re-run the manifest's chain over its inputs into ``out_dir/data.jsonl``; return its sha256.

    Equal to the manifest's ``data_sha256`` if the version is reproducible. Inputs are found
    as :func:`input_paths` says (``inputs`` relocates all of them, or gives those the manifest
    does not locate); each must still hash to the recorded sha256, otherwise a ``DataError``
    names the input that changed. Unknown filter names raise ``ConfigError``.
    """
    manifest = read_manifest(Path(path))
    snaps = []
    for k, (recorded, (given, named)) in enumerate(
        zip(manifest.inputs, input_paths(Path(path), manifest, inputs), strict=True)
    ):
        try:
            found = resolve_input(given)
        except DataError as exc:
            if named:
                raise
            raise DataError(
                f"{exc}; input {_input_name(manifest, k)} is not where the manifest says "
                "(moved? give its place with --input)"
            ) from None
        snap = snapshot_input(found)
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


def require_intact(version_dir: Path) -> DatasetManifest:
    """The manifest of a version that verifies clean; ``DataError`` naming the first problem.

    What reads a version to publish or show it (export, publish, filter, view, compare)
    calls this first: drifted data would go out under numbers its card contradicts."""
    problems = verify_version(version_dir)
    if problems:
        more = f" (+{len(problems) - 1} more)" if len(problems) > 1 else ""
        raise DataError(
            f"{version_dir}: fails verification: {problems[0]}{more}; see `trajkit verify {version_dir}`"
        )
    return read_manifest(version_dir)
