"""A version's parents: which runs, files or earlier versions it was built from.

``manifest.inputs`` already lists the files read (path, sha256, records), which is what a
rebuild needs. ``parents`` says what those files *are*: a run (named by its directory), an
earlier version of some dataset (name, vN, fingerprint), or a loose JSONL file, so lineage can
be followed from a version back to the runs that produced it, across re-filtering.

A version used as a parent must still match its own manifest: building on a version whose
``data.jsonl`` drifted would record a lineage that is not true.

Parents are located the way inputs are (``dataset.inputs.place_input``): relative to the
output root when they lie under it, else by their own name only, so a published manifest
never carries the building machine's directories.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from trajkit.core.errors import DataError
from trajkit.dataset.inputs import (
    TRAJECTORIES_FILE,
    VERSION_DATA_FILE,
    VERSION_MANIFEST_FILE,
    InputSnapshot,
    Placement,
)
from trajkit.schemas import DatasetManifest, InputFile, ParentRef


def read_version_manifest(version_dir: Path) -> DatasetManifest:
    """A version's manifest, or ``DataError`` (this module cannot import ``dataset.version``)."""
    path = version_dir / VERSION_MANIFEST_FILE
    try:
        return DatasetManifest.model_validate_json(path.read_bytes())
    except (OSError, ValueError) as exc:
        raise DataError(f"{path}: cannot read the parent version's manifest ({exc})") from None


def describe_parent(snap: InputSnapshot, place: Placement) -> ParentRef:
    """The :class:`ParentRef` for one resolved input snapshot (``records`` filled in later),
    named in the manifest as ``place`` (the input file's placement) says.

    Called before streaming, so a dataset version whose data no longer matches its manifest is
    refused (``DataError``: run ``trajkit verify`` on it) before any work is done.
    """
    data = Path(snap.path)
    directory = data.parent
    where = place.directory(directory)
    if data.name == VERSION_DATA_FILE and (directory / VERSION_MANIFEST_FILE).is_file():
        manifest = read_version_manifest(directory)
        if manifest.data_sha256 != snap.sha256:
            raise DataError(
                f"{directory}: data.jsonl does not match its manifest (sha256 {snap.sha256[:12]}…, "
                f"manifest {manifest.data_sha256[:12]}…); run `trajkit verify {directory}`"
            )
        return ParentRef(
            kind="version", path=where, base=place.base, sha256=snap.sha256, records=0,
            name=manifest.name, version=manifest.version, fingerprint=manifest.fingerprint,
        )
    if data.name == TRAJECTORIES_FILE:
        return ParentRef(
            kind="run", path=where, base=place.base, sha256=snap.sha256, records=0,
            name=directory.name,
        )
    return ParentRef(
        kind="jsonl", path=place.path, base=place.base, sha256=snap.sha256, records=0, name=data.stem
    )


def describe_parents(
    snaps: Sequence[InputSnapshot], places: Sequence[Placement]
) -> list[ParentRef]:
    """Parents in input order, checked; see :func:`describe_parent`."""
    return [describe_parent(s, p) for s, p in zip(snaps, places, strict=True)]


def with_records(parents: Sequence[ParentRef], inputs: Sequence[InputFile]) -> list[ParentRef]:
    """The parents with the per-input record counts the stream found."""
    return [p.model_copy(update={"records": i.records}) for p, i in zip(parents, inputs, strict=True)]


def parent_label(parent: ParentRef) -> str:
    """A short human name: ``run math-a``, ``version demo v2``, ``file extra``."""
    if parent.kind == "version":
        return f"version {parent.name} v{parent.version}"
    if parent.kind == "run":
        return f"run {parent.name}"
    return f"file {parent.name}"


def lineage_problems(manifest: DatasetManifest) -> list[str]:
    """Disagreements between ``parents`` and ``inputs`` (they describe the same files)."""
    if manifest.parents is None:
        return []
    if len(manifest.parents) != len(manifest.inputs):
        return [f"manifest: {len(manifest.parents)} parents but {len(manifest.inputs)} inputs"]
    problems = []
    for k, (parent, inp) in enumerate(zip(manifest.parents, manifest.inputs, strict=True)):
        if parent.sha256 != inp.sha256 or parent.records != inp.records:
            problems.append(f"manifest: parent {k + 1} ({parent_label(parent)}) disagrees with input {inp.path}")
    return problems
