"""Build immutable dataset versions ``OUT/datasets/NAME/vN/{data.jsonl, manifest.json, CHANGELOG.md}``.

A version is identified by its *fingerprint* (input hashes in the given order + the chain's
unit names/params + schema version + data format), so asking for the same dataset twice returns
the existing version instead of writing a copy. A version is written into ``.tmp-*`` and then
renamed into place, so ``vN`` is either complete or absent: an interrupted build leaves only a
``.tmp-*`` directory, removed by the next build once its writer is gone.

Canonical ``data.jsonl`` form (``DATA_FORMAT``): one record per line, UTF-8, each line
``json.dumps(traj.model_dump(mode="json"), sort_keys=True, separators=(",", ":"),
ensure_ascii=False, allow_nan=False) + "\\n"`` (computed by orjson where that is provably the
same bytes: ``dataset.canonical``); records in input order (inputs as given, lines
in file order), a record whose ``id`` was already seen in an earlier line or input skipped.
Same inputs + same chain ⇒ identical bytes, which is what ``rebuild_version`` checks.

The manifest also records the parents (runs, files or earlier versions), counts by source,
teacher and termination, token totals, the sandbox environments the parents were collected in
(read from their ``run.json``/manifest; merging different ones is warned about, since the same
code printed differently there), the ``--shots`` they were collected with (``dataset.shots``,
warned about alike) and the sha256 of every file; ``CHANGELOG.md`` compares
the version with the previous one of the same dataset (``dataset.changelog``). Inputs and
parents are named relative to the output root ``OUT`` when they lie under it and by their
file name otherwise (``dataset.inputs.place_input``): a version is published, and its
manifest must not carry the building machine's paths. Paths are not part of the fingerprint,
so this naming does not change which version a request finds.
"""

from __future__ import annotations

import contextlib
import errno
import hashlib
import json
import os
import re
import shutil
import socket
import tempfile
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, BinaryIO, cast

from pydantic import ValidationError

from trajkit.core.errors import ConfigError, DataError, StorageError
from trajkit.core.jsonl import first_problem
from trajkit.core.processes import pid_alive
from trajkit.core.yields import YieldTally
from trajkit.dataset.canonical import canonical_line
from trajkit.dataset.changelog import (
    Previous,
    load_previous,
    previous_version,
    render_changelog,
    write_changelog,
)
from trajkit.dataset.inputs import (
    InputSnapshot,
    input_environments,
    iter_snapshot,
    locate_record,
    place_input,
    resolve_input,
    snapshot_input,
)
from trajkit.dataset.lineage import describe_parents, parent_label, with_records
from trajkit.dataset.naming import teacher_name
from trajkit.dataset.shots import shots_uses, shots_warning
from trajkit.dataset.summary import SummarySink, environment_differences, environment_text
from trajkit.filters.chain import FilterChain
from trajkit.schemas import (
    SCHEMA_VERSION,
    DatasetManifest,
    FileDigest,
    InputFile,
    ParentRef,
    Trajectory,
)
from trajkit.schemas.manifests import EnvironmentUse, SandboxEnvironment
from trajkit.schemas.version import toolkit_version

DATA_FORMAT = "jsonl/sorted-keys/compact/utf8/v1"
DATA_FILE = "data.jsonl"
MANIFEST_FILE = "manifest.json"
READ_ONLY = 0o444
TMP_PREFIX = ".tmp-"
STALE_FOREIGN_TMP_S = 24 * 3600  # a .tmp-* from another host is only removed once this old

_NAME_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]*")
_VERSION_RE = re.compile(r"v([1-9][0-9]*)")
_TMP_RE = re.compile(r"\.tmp-(?P<host>.+)-(?P<pid>[0-9]+)-[a-z0-9_]+")


@dataclass
class DatasetVersion:
    """A dataset version ``OUT/datasets/NAME/vN``: what :func:`build_version` returns, and what
    :meth:`open` gives for one already on disk.

    ``existed``: an equal-fingerprint version was found and nothing was written. ``dry_run``:
    nothing was written; ``path``/``version`` say where it would go. ``torn`` lists inputs whose
    torn tail was left out (a live or crashed run). ``sandbox_warning`` says when the parents
    ran in different sandbox environments (also logged as a warning when built), and
    ``shots_warning`` when they were collected with different ``--shots``.
    """

    path: Path
    version: int
    manifest: DatasetManifest
    existed: bool = True
    dry_run: bool = False
    torn: list[Path] = field(default_factory=list)
    sandbox_warning: str | None = None
    shots_warning: str | None = None

    @classmethod
    def open(cls, path: Path) -> DatasetVersion:
        """The version at ``path`` (a ``vN`` directory); ``DataError`` if it is not one."""
        path = Path(path)
        m = _VERSION_RE.fullmatch(path.name)
        if m is None or not path.is_dir():
            raise DataError(f"{path}: not a dataset version (expected OUT/datasets/NAME/vN)")
        return cls(path, int(m.group(1)), read_manifest(path))

    @property
    def duplicates(self) -> int:
        return duplicate_count(self.manifest)

    def records(self) -> Iterator[Trajectory]:
        """The version's trajectories in file order, validated (``DataError`` names the line)."""
        if self.dry_run:
            raise DataError(f"{self.path}: a dry run wrote nothing")
        for traj, _ in iter_data(self.path):
            yield traj


def iter_data(version_dir: Path) -> Iterator[tuple[Trajectory, int]]:
    """``(trajectory, line size in bytes)`` for each record of ``data.jsonl``, streamed."""
    data = Path(version_dir) / DATA_FILE
    with open(data, "rb") as fh:
        for lineno, raw in enumerate(fh, start=1):
            try:
                yield Trajectory.model_validate_json(raw), len(raw)
            except ValueError as exc:
                raise DataError(f"{data}:{lineno}: invalid Trajectory ({str(exc).splitlines()[0]})") from None


def compute_fingerprint(input_shas: Sequence[str], filters: Sequence[dict[str, Any]]) -> str:
    """sha256 identifying a version's content: inputs (order matters), units, formats."""
    payload = {
        "data_format": DATA_FORMAT,
        "schema_version": SCHEMA_VERSION,
        "inputs": list(input_shas),
        "filters": [{"name": f["name"], "params": f.get("params", {})} for f in filters],
    }
    blob = json.dumps(payload, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(blob.encode("utf-8")).hexdigest()


def duplicate_count(manifest: DatasetManifest) -> int:
    """Records skipped because their ``id`` was already taken (derived: read − first unit seen)."""
    read = sum(i.records for i in manifest.inputs)
    passed = manifest.filters[0].seen if manifest.filters else manifest.records
    return read - passed


def read_manifest(version_dir: Path) -> DatasetManifest:
    """Load ``vN/manifest.json``; ``DataError`` naming the file if missing or invalid."""
    path = Path(version_dir) / MANIFEST_FILE
    try:
        return DatasetManifest.model_validate_json(path.read_bytes())
    except FileNotFoundError:
        raise DataError(f"{path}: missing") from None
    except ValidationError as exc:
        raise DataError(f"{path}: invalid manifest: {first_problem(exc)}") from None
    except ValueError as exc:
        raise DataError(f"{path}: invalid manifest: {str(exc).splitlines()[0]}") from None


def list_versions(dataset_dir: Path) -> list[int]:
    """Version numbers present under ``OUT/datasets/NAME``, ascending."""
    if not Path(dataset_dir).is_dir():
        return []
    found = []
    for entry in Path(dataset_dir).iterdir():
        m = _VERSION_RE.fullmatch(entry.name)
        if m and entry.is_dir():
            found.append(int(m.group(1)))
    return sorted(found)


def find_version(
    dataset_dir: Path, fingerprint: str, versions: Sequence[int] | None = None
) -> tuple[int, DatasetManifest] | None:
    """The existing version with this fingerprint, if any (unreadable manifests never match).

    ``versions`` restricts the search to an earlier ``list_versions`` scan.
    """
    for n in list_versions(dataset_dir) if versions is None else versions:
        try:
            manifest = read_manifest(Path(dataset_dir) / f"v{n}")
        except DataError:
            continue
        if manifest.fingerprint == fingerprint:
            return n, manifest
    return None


@dataclass
class StreamResult:
    """What streaming inputs through a chain produced (the data bytes went to the sink)."""

    sha256: str
    records: int
    counts_by_source: dict[str, int]
    inputs: list[InputFile]  # paths as read here; ``build_version`` names them for the manifest
    #: every unique input record's attempt, tokens and cost, and which ones the chain kept
    yields: YieldTally = field(default_factory=lambda: YieldTally(teacher_name))


def stream_dataset(
    snaps: Sequence[InputSnapshot], chain: FilterChain, sink: BinaryIO | None
) -> StreamResult:
    """Read snapshots, drop repeated ids, filter, and write canonical lines to ``sink``.

    Memory holds only the set of ids seen. ``sink=None`` computes everything without writing
    (dry runs). ``chain.reports`` hold the per-unit counts afterwards. A chain with two-pass
    units (dedup, balance) first gets one extra read of the same snapshots per such unit
    (``FilterChain.prepare``); each read re-checks the snapshot hashes.
    """
    per_input: list[int] = []
    yields = YieldTally(teacher_name)

    def unique(counts: list[int] | None = None) -> Iterator[Trajectory]:
        seen_ids: set[str] = set()
        for snap in snaps:
            count = 0
            for _lineno, traj in iter_snapshot(snap):
                count += 1
                if traj.id not in seen_ids:
                    seen_ids.add(traj.id)
                    if counts is not None:  # the pass that writes (not a two-pass prepare)
                        yields.add(traj, kept=False)
                    yield traj
            if counts is not None:
                counts.append(count)

    if chain.two_pass:
        chain.prepare(unique)
    digest = hashlib.sha256()
    records = 0
    by_source: dict[str, int] = {}
    for traj in chain.run(unique(per_input)):
        try:
            line = canonical_line(traj)
        except ValueError as exc:
            where = locate_record(snaps, traj.id)
            raise DataError(f"{where}: cannot be written as JSON: {exc}") from None
        digest.update(line)
        if sink is not None:
            record_write = getattr(sink, "write_record", None)
            if record_write is not None:
                record_write(line, traj)  # counts from the object: no re-parse of the line
            else:
                sink.write(line)
        records += 1
        by_source[traj.source] = by_source.get(traj.source, 0) + 1
        yields.mark_kept(traj)
    inputs = [
        InputFile(path=str(s.path), sha256=s.sha256, records=n)
        for s, n in zip(snaps, per_input, strict=True)
    ]
    return StreamResult(digest.hexdigest(), records, dict(sorted(by_source.items())), inputs, yields)


def environment_uses(
    snaps: Sequence[InputSnapshot], parents: Sequence[ParentRef]
) -> list[EnvironmentUse]:
    """The parents grouped by the sandbox environment each was collected in (a parent that
    ran in several, after a resume elsewhere, is in several groups), first seen first."""
    groups: dict[str, tuple[SandboxEnvironment | None, list[str]]] = {}
    for snap, parent in zip(snaps, parents, strict=True):
        for env in input_environments(snap.path):
            key = "" if env is None else env.model_dump_json()
            entry = groups.setdefault(key, (env, []))
            if parent.path not in entry[1]:
                entry[1].append(parent.path)
    return [EnvironmentUse(environment=env, parents=paths) for env, paths in groups.values()]


def environment_warning(uses: Sequence[EnvironmentUse], parents: Sequence[ParentRef]) -> str | None:
    """One line when the parents' recorded sandbox environments differ, naming which parents
    ran where and what differs; None when they agree (or nothing was recorded)."""
    differs = environment_differences(list(uses))
    if not differs:
        return None
    labels = {p.path: parent_label(p) for p in parents}
    where = "; ".join(
        f"{', '.join(labels.get(p, p) for p in use.parents)}: {environment_text(use.environment)}"
        for use in uses if use.environment is not None
    )
    return (
        f"warning: these inputs were collected in different sandbox environments ({', '.join(differs)} "
        f"differ), so the same code may have printed differently in them: {where}"
    )


def _check_name(name: str) -> None:
    if not _NAME_RE.fullmatch(name or ""):
        raise ConfigError(
            f"--dataset: invalid dataset name {name!r} (letters, digits, '.', '_', '-'; "
            "not starting with '.' or '-')"
        )


def _utc_now() -> str:
    return datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def _fsync_dir(path: Path) -> None:
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def clean_stale_tmp(dataset_dir: Path) -> list[Path]:
    """Remove ``.tmp-*`` dirs left by interrupted builds; never one whose writer is alive.

    Temp dirs are named ``.tmp-HOST-PID-RANDOM``: on this host a dead PID means stale; from
    another host (shared filesystem) only dirs older than a day are removed.
    """
    removed: list[Path] = []
    if not Path(dataset_dir).is_dir():
        return removed
    host = socket.gethostname()
    for entry in Path(dataset_dir).iterdir():
        if not entry.name.startswith(TMP_PREFIX) or not entry.is_dir():
            continue
        m = _TMP_RE.fullmatch(entry.name)
        if m and m.group("host") == host:
            stale = not pid_alive(int(m.group("pid")))
        else:
            try:
                stale = time.time() - entry.stat().st_mtime > STALE_FOREIGN_TMP_S
            except OSError:
                continue
        if stale:
            shutil.rmtree(entry, ignore_errors=True)
            removed.append(entry)
    return removed


def _write_manifest(directory: Path, manifest: DatasetManifest) -> None:
    path = directory / MANIFEST_FILE
    try:
        if path.exists():
            path.unlink()
        with open(path, "wb") as fh:
            fh.write((manifest.model_dump_json(indent=2) + "\n").encode("utf-8"))
            fh.flush()
            os.fsync(fh.fileno())
        os.chmod(path, READ_ONLY)
    except OSError as exc:
        raise _write_error(path, exc) from None


def _write_error(path: Path, exc: OSError) -> StorageError:
    """The one-line error for a dataset file the disk refused (full, quota, read-only); the
    unfinished version is removed, and every version published before stays as it was."""
    return StorageError(
        f"{path}: cannot write ({exc.strerror or exc}); no new version was published and the "
        "existing ones are intact: free space or check --out"
    )


class _OutputFile:
    """The data file being written, as ``stream_dataset`` writes to it: a write the disk
    refuses is a ``StorageError`` naming the file (a failure to read an input stays its own)."""

    def __init__(self, fh: BinaryIO, path: Path) -> None:
        self.fh = fh
        self.path = path

    def write(self, data: bytes) -> int:
        try:
            return self.fh.write(data)
        except OSError as exc:
            raise _write_error(self.path, exc) from None


def build_version(
    run_dirs: Sequence[Path],
    name: str,
    out: Path,
    chain: FilterChain,
    *,
    dry_run: bool = False,
) -> DatasetVersion:
    """Filter runs into ``OUT/datasets/NAME/vN`` unless an equal version already exists.

    ``run_dirs`` are run directories or ``trajectories.jsonl`` files, in the order that defines
    the data order and the fingerprint. Raises ``DataError`` (missing input, bad line with
    ``file:line``) and ``ConfigError`` (bad name, no inputs); on any error no ``vN`` appears.
    Safe to call concurrently: versions are claimed by an exclusive rename, retried at N+1.
    """
    _check_name(name)
    if not run_dirs:
        raise ConfigError("no input runs given")
    snaps = [snapshot_input(resolve_input(Path(p))) for p in run_dirs]
    places = [place_input(s.path, Path(p), Path(out)) for s, p in zip(snaps, run_dirs, strict=True)]
    parents = describe_parents(snaps, places)  # refuses a drifted parent version, before any work
    torn = [s.path for s in snaps if s.torn]
    uses = environment_uses(snaps, parents)
    warning = environment_warning(uses, parents)  # returned on the version; the CLI prints it
    shots = shots_uses(snaps, parents)
    shots_note = shots_warning(shots, parents)
    fingerprint = compute_fingerprint([s.sha256 for s in snaps], chain.spec())
    root = Path(out) / "datasets" / name

    found = find_version(root, fingerprint)
    if found is not None:
        n, manifest = found
        return DatasetVersion(root / f"v{n}", n, manifest, existed=True, dry_run=dry_run, torn=torn,
                              sandbox_warning=warning, shots_warning=shots_note)

    def manifest_for(
        version: int, result: StreamResult, sink: SummarySink, previous: int | None
    ) -> DatasetManifest:
        counts = sink.summary.counts()
        inputs = [
            i.model_copy(update={"path": place.path, "base": place.base})
            for i, place in zip(result.inputs, places, strict=True)
        ]
        return DatasetManifest(
            name=name,
            version=version,
            fingerprint=fingerprint,
            created_at=_utc_now(),
            inputs=inputs,
            filters=[r.model_copy(deep=True) for r in chain.reports],
            records=result.records,
            counts_by_source=result.counts_by_source,
            data_sha256=result.sha256,
            toolkit_version=toolkit_version(),
            data_format=DATA_FORMAT,
            parents=with_records(parents, inputs),
            counts_by_teacher=counts["teacher"],
            counts_by_termination=counts["termination"],
            counts_by_action_format=counts["action_format"],
            usage=sink.summary.usage,
            files=[FileDigest(path=DATA_FILE, sha256=result.sha256, bytes=sink.size)],
            previous_version=previous,
            sandbox_environments=uses,
            shots=shots,
            yield_by_source=result.yields.by_source(),
            yield_by_teacher=result.yields.by_teacher(),
        )

    if dry_run:
        sink = SummarySink(None)
        result = stream_dataset(snaps, chain, cast(BinaryIO, sink))
        versions = list_versions(root)
        n = max(versions, default=0) + 1
        manifest = manifest_for(n, result, sink, previous_version(versions, n))
        return DatasetVersion(root / f"v{n}", n, manifest, existed=False, dry_run=True, torn=torn,
                              sandbox_warning=warning, shots_warning=shots_note)

    created = not root.exists()  # a build that fails leaves no empty dataset behind
    try:
        root.mkdir(parents=True, exist_ok=True)
        clean_stale_tmp(root)
        prefix = f"{TMP_PREFIX}{socket.gethostname()}-{os.getpid()}-"
        tmp = Path(tempfile.mkdtemp(prefix=prefix, dir=root))
    except OSError as exc:  # read-only, full, or a parent that cannot exist
        raise StorageError(
            f"{root}: cannot create the dataset directory ({exc.strerror or exc}); check --out"
        ) from None
    placed = False  # once renamed into place, the scratch directory is the version
    try:
        data_path = tmp / DATA_FILE
        try:
            os.chmod(tmp, 0o755)  # mkdtemp makes it 0o700; the published version must be readable
            fh = open(data_path, "wb")
        except OSError as exc:
            raise _write_error(data_path, exc) from None
        try:
            # counts teachers/terminations/tokens/ids as lines are written
            sink = SummarySink(cast(BinaryIO, _OutputFile(fh, data_path)))
            result = stream_dataset(snaps, chain, cast(BinaryIO, sink))
            try:
                fh.flush()
                os.fsync(fh.fileno())
            except OSError as exc:
                raise _write_error(data_path, exc) from None
        finally:
            # after a failed write, close's flush of the rest fails too: the error already
            # raised is the one to report (the scratch directory is removed below)
            with contextlib.suppress(OSError):
                fh.close()
        try:
            os.chmod(data_path, READ_ONLY)
        except OSError as exc:
            raise _write_error(data_path, exc) from None
        previous_cache: dict[int, Previous] = {}
        while True:
            # One scan decides both "already there?" and N: versions are contiguous, so
            # anything published after this scan makes the rename below collide, and the
            # retry's scan sees it (an equal-fingerprint one is then returned, not duplicated).
            versions = list_versions(root)
            found = find_version(root, fingerprint, versions)
            if found is not None:
                n, manifest = found
                return DatasetVersion(root / f"v{n}", n, manifest, existed=True, torn=torn,
                                      sandbox_warning=warning, shots_warning=shots_note)
            n = max(versions, default=0) + 1
            prev_n = previous_version(versions, n)
            previous = None
            if prev_n is not None:
                if prev_n not in previous_cache:
                    previous_cache[prev_n] = load_previous(root / f"v{prev_n}", prev_n)
                previous = previous_cache[prev_n]
            manifest = manifest_for(n, result, sink, prev_n)
            changelog = write_changelog(tmp, render_changelog(manifest, sink.summary, previous))
            manifest.files = [*(manifest.files or []), changelog]
            _write_manifest(tmp, manifest)
            _fsync_dir(tmp)
            target = root / f"v{n}"
            try:
                # POSIX rename onto an existing non-empty directory fails, and a published
                # version is never empty: this is the create-exclusive claim of vN.
                os.rename(tmp, target)
            except OSError as exc:
                if target.is_dir():  # another writer published vN first: look again
                    continue
                if target.exists() or target.is_symlink():  # never a version: no retry helps
                    raise DataError(
                        f"{target}: exists and is not a dataset version directory; move it "
                        "away and run again"
                    ) from None
                if exc.errno in (errno.EEXIST, errno.ENOTEMPTY):
                    continue
                raise _write_error(target, exc) from None
            placed = True
            _fsync_dir(root)
            return DatasetVersion(target, n, manifest, existed=False, torn=torn,
                                  sandbox_warning=warning, shots_warning=shots_note)
    finally:
        if not placed:
            shutil.rmtree(tmp, ignore_errors=True)
            if created:
                with contextlib.suppress(OSError):  # not empty: another writer's, kept
                    root.rmdir()
