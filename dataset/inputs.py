"""Input trajectory files as fixed snapshots: a content hash plus the byte range it covers.

A run may still be appending (or have crashed mid-line) while a dataset is built from it. A
snapshot covers only the *complete* lines, so a torn tail neither changes the fingerprint nor
crashes the build, and records are then read from exactly that byte range, so records appended
after hashing can never slip into a version whose manifest claims the older hash.

Complete-line rule: every newline-terminated line, plus a final unterminated line that is valid
JSON (a hand-edited file missing its last newline). Such a final line is hashed *as if* it ended
with ``\\n``, so the hash does not change when the writer later adds that newline. An
unterminated final line that is not valid JSON is a torn tail: excluded, and reported.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

import pydantic_core
from pydantic import ValidationError

from trajkit.core.errors import DataError
from trajkit.core.jsonl import parse_json
from trajkit.schemas import SCHEMA_VERSION, DatasetManifest, InputFile, RunManifest, Trajectory
from trajkit.schemas.manifests import PathBase, SandboxEnvironment

TRAJECTORIES_FILE = "trajectories.jsonl"
RUN_FILE = "run.json"  # ``collect.run_store.RUN_JSON`` (dataset code must not import collect)
# A dataset version's files; the same names as ``dataset.version.DATA_FILE``/``MANIFEST_FILE``
# (spelled out here because that module imports this one).
VERSION_DATA_FILE = "data.jsonl"
VERSION_MANIFEST_FILE = "manifest.json"
_CHUNK = 1 << 20


def is_version_dir(path: Path) -> bool:
    """A dataset version directory ``…/NAME/vN``: it holds ``manifest.json`` (and data)."""
    return Path(path).is_dir() and (Path(path) / VERSION_MANIFEST_FILE).is_file()


def resolve_input(path: Path) -> Path:
    """The trajectories file an input names; missing → ``DataError``.

    A run directory → its ``trajectories.jsonl``; a dataset version directory (``…/vN``) → its
    ``data.jsonl``, so an earlier version can be filtered again; a file → itself. A dataset
    directory holding several versions is refused: which one was meant must be explicit, or the
    new version's lineage would depend on what happened to be latest.
    """
    path = Path(path)
    if path.is_dir():
        if is_version_dir(path):
            data = path / VERSION_DATA_FILE
            if not data.is_file():
                raise DataError(f"{path}: dataset version has no {VERSION_DATA_FILE}")
            return data.resolve()
        target = path / TRAJECTORIES_FILE
        if not target.is_file():
            versions = [
                p.name
                for p in sorted(path.glob("v[0-9]*"), key=lambda p: (len(p.name), p.name))
                if is_version_dir(p)
            ]
            if versions:
                raise DataError(
                    f"{path}: a dataset with versions {', '.join(versions)}; name one, "
                    f"e.g. {path / versions[-1]}"
                )
            raise DataError(f"{path}: run directory has no {TRAJECTORIES_FILE}")
        return target.resolve()
    if path.is_file():
        return path.resolve()
    raise DataError(f"{path}: no such run directory or trajectories file")


@dataclass(frozen=True)
class Placement:
    """How a manifest names an input file: ``path`` anchored as ``base`` says (``PathBase``).

    Published manifests must not carry the building machine's directories (they name its
    user and layout), yet a rebuild must find its inputs again: an input under the output
    root is named relative to it, which is both private and still resolvable; any other is
    named by its file name alone, and its location has to be given back with ``--input``.
    """

    path: str
    base: PathBase

    def directory(self, resolved_dir: Path) -> str:
        """The same anchoring for the directory holding the file (a run's, a version's);
        ``resolved_dir`` is that directory on this machine (its name is all that is kept of
        it when it lies elsewhere)."""
        if self.base == "out":
            return PurePosixPath(self.path).parent.as_posix()
        return resolved_dir.name


def place_input(file: Path, given: Path, root: Path) -> Placement:
    """Name ``file`` (an input as :func:`resolve_input` returned it) for a manifest of a
    version built under the output root ``root``; ``given`` is the input as the user named it.

    Inside the root it is a POSIX path relative to the root. "Inside" is judged both on the
    resolved paths and on the paths as named (so an ``out/runs`` that is a symlink to a
    bigger disk still counts as inside), and a relative path is only used if it leads from
    the root back to this very file. Anything else is outside: the file name alone.
    """
    root_named = Path(os.path.abspath(root))
    named = Path(os.path.abspath(given))
    if named.is_dir():  # a run or version directory: the file is the one found in it
        named = named / file.name
    for base_dir, candidate in ((root_named, named), (root_named.resolve(), file)):
        try:
            rel = candidate.relative_to(base_dir)
        except ValueError:
            continue
        if rel.parts and (root_named / rel).resolve() == file:
            return Placement(rel.as_posix(), "out")
    return Placement(file.name, "elsewhere")


def output_root(version_dir: Path) -> Path:
    """The output root of a version directory ``OUT/datasets/NAME/vN``: ``OUT``.

    Taken lexically from the path as given (``os.path.abspath``), as the user sees the
    layout, rather than through symlinks of its parts. A version directory copied somewhere
    shallower than that layout gets the top of its path (inputs are then not found there,
    and the rebuild says so).
    """
    parents = Path(os.path.abspath(version_dir)).parents
    return parents[min(2, len(parents) - 1)]


def recorded_location(inp: InputFile, root: Path) -> Path | None:
    """Where a manifest says an input is: under ``root`` (``base="out"``), as written (an
    older manifest's absolute path), or ``None`` when only its name was kept."""
    if inp.base == "elsewhere":
        return None
    if inp.base == "out":
        return root / PurePosixPath(inp.path)
    return Path(inp.path)


@dataclass(frozen=True)
class InputSnapshot:
    """``sha256`` of the complete lines in ``path[0:end]``; ``torn`` if a torn tail was left out.

    ``stamp`` is the file's identity when it was hashed (inode, size, mtime and ctime in ns):
    while it is unchanged the bytes are too (ctime moves on every write and cannot be set
    back), so reading the records need not hash them again. A file that changed since, even
    by an append from a live run, is re-hashed while it is read.
    """

    path: Path
    sha256: str
    end: int
    torn: bool
    stamp: tuple[int, ...] | None = None


def _is_json(raw: bytes) -> bool:
    try:
        parse_json(raw)
    except ValueError:
        return False
    return True


def snapshot_input(path: Path) -> InputSnapshot:
    """Hash the complete lines of ``path`` (see the module docstring), streaming."""
    digest = hashlib.sha256()
    size = 0
    pending = b""
    before = _stamp(path)
    with open(path, "rb") as fh:
        while chunk := fh.read(_CHUNK):
            size += len(chunk)
            cut = chunk.rfind(b"\n")
            if cut < 0:
                pending += chunk
                continue
            digest.update(pending)
            digest.update(chunk[: cut + 1])
            pending = chunk[cut + 1 :]
    stamp = before if _stamp(path) == before else None  # written to while we read: no stamp
    if not pending.strip():
        return InputSnapshot(path, digest.hexdigest(), size - len(pending), False, stamp)
    if _is_json(pending):
        digest.update(pending + b"\n")
        return InputSnapshot(path, digest.hexdigest(), size, False, stamp)
    return InputSnapshot(path, digest.hexdigest(), size - len(pending), True, stamp)


def _stamp(path: Path) -> tuple[int, ...]:
    st = os.stat(path)
    return (st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns, st.st_ctime_ns)


_SLOW = object()
_VALIDATE_JSON = Trajectory.__pydantic_validator__.validate_json
_MAJOR = SCHEMA_VERSION.split(".")[0]


def _no_constants(name: str) -> None:
    raise ValueError(f"{name} is not JSON")


def _parse(path: Path, lineno: int, raw: bytes) -> Trajectory:
    """Validate one line, raising ``DataError`` with ``file:line`` like ``schemas.jsonl``.

    Parsing is the largest single cost of filtering, so the common case takes pydantic's
    one-step parse-and-validate of the raw bytes (no intermediate dict). A line that fails
    that, or has another schema major version, takes the careful path: pydantic's JSON parser
    refusing ``NaN``/``Infinity``, then ``json.loads`` for what it rejects, so error messages,
    and the rare input only ``json.loads`` accepts (a lone surrogate escape), are exactly as
    before.

    Non-finite numbers have no JSON form: the schema refuses them in every typed field (so
    the fast path fails and the careful one names the line), and the record's free-form
    dicts, the only place one can survive validation, are checked here (a few microseconds,
    against ~20 for scanning the raw line for ``NaN``/``Infinity``).
    """
    try:
        traj = _VALIDATE_JSON(raw)
    except ValueError:
        pass  # the path below words the error exactly
    else:
        if traj.schema_version.split(".")[0] == _MAJOR:
            _refuse_non_finite(path, lineno, traj)
            return traj
    try:
        obj = pydantic_core.from_json(raw, allow_inf_nan=False)
    except ValueError:
        obj = _SLOW
    try:
        if obj is _SLOW:
            obj = parse_json(raw, parse_constant=_no_constants)
    except ValueError as exc:
        raise DataError(f"{path}:{lineno}: not valid JSON ({exc})") from None
    if isinstance(obj, dict):
        version = str(obj.get("schema_version", SCHEMA_VERSION))
        if version.split(".")[0] != SCHEMA_VERSION.split(".")[0]:
            raise DataError(
                f"{path}:{lineno}: schema_version {version} is not readable by this trajkit "
                f"(reads {SCHEMA_VERSION.split('.')[0]}.x)"
            )
    try:
        traj = Trajectory.model_validate(obj)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"]) or "record"
        raise DataError(f"{path}:{lineno}: invalid Trajectory: {where}: {first['msg']}") from None
    _refuse_non_finite(path, lineno, traj)
    return traj


def _refuse_non_finite(path: Path, lineno: int, traj: Trajectory) -> None:
    where = traj.first_non_finite()
    if where is not None:
        raise DataError(f"{path}:{lineno}: not valid JSON (a non-finite number at {where})")


def iter_snapshot(snap: InputSnapshot) -> Iterator[tuple[int, Trajectory]]:
    """Yield ``(lineno, trajectory)`` from the snapshot's byte range, re-validating each record.

    Unless the file is provably untouched since the snapshot (its stamp), the bytes are
    re-hashed while reading; if the file was rewritten (not merely appended to) since the
    snapshot, that is a ``DataError`` rather than a silently different dataset.
    """
    untouched = snap.stamp is not None and _stamp(snap.path) == snap.stamp
    digest = None if untouched else hashlib.sha256()
    offset = lineno = 0
    with open(snap.path, "rb") as fh:
        while offset < snap.end:
            raw = fh.readline(snap.end - offset)
            if not raw:
                break
            offset += len(raw)
            lineno += 1
            if digest is not None:
                digest.update(raw if raw.endswith(b"\n") else raw + b"\n")
            if not raw.strip():
                continue
            try:
                traj = _parse(snap.path, lineno, raw)
            except DataError:
                if snapshot_input(snap.path).sha256 != snap.sha256:
                    _changed(snap)
                raise
            yield lineno, traj
    if digest is not None and digest.hexdigest() != snap.sha256:
        _changed(snap)
    elif digest is None and _stamp(snap.path) != snap.stamp:  # touched while we read it
        if _range_sha256(snap.path, snap.end) != snap.sha256:  # appends alone are fine
            _changed(snap)


def _range_sha256(path: Path, end: int) -> str:
    """The snapshot hash of ``path[0:end]`` (a final line without its newline counts with it)."""
    digest = hashlib.sha256()
    last = b"\n"
    with open(path, "rb") as fh:
        left = end
        while left > 0 and (chunk := fh.read(min(_CHUNK, left))):
            digest.update(chunk)
            left -= len(chunk)
            last = chunk[-1:]
    if end and last != b"\n":
        digest.update(b"\n")
    return digest.hexdigest()


def _changed(snap: InputSnapshot) -> None:
    raise DataError(f"{snap.path}: changed while being read (not just appended to); retry")


def input_environments(data: Path) -> list[SandboxEnvironment | None]:
    """The sandbox environments an input file's records were collected in, as recorded beside
    it: a run's ``run.json``, a version's ``manifest.json``. ``[None]`` when nothing says (a
    bare JSONL file, a run or version from before environments were recorded, an unreadable
    file: the records themselves do not carry it), so the input still counts as unknown."""
    data = Path(data)
    directory = data.parent
    found: list[SandboxEnvironment | None] = []
    try:
        if data.name == TRAJECTORIES_FILE and (directory / RUN_FILE).is_file():
            run = RunManifest.model_validate_json((directory / RUN_FILE).read_bytes())
            found = list(run.sandbox_environments)
        elif data.name == VERSION_DATA_FILE and (directory / VERSION_MANIFEST_FILE).is_file():
            manifest = DatasetManifest.model_validate_json(
                (directory / VERSION_MANIFEST_FILE).read_bytes()
            )
            found = [use.environment for use in manifest.sandbox_environments or []]
    except (OSError, ValueError):
        found = []
    return found or [None]


def locate_record(snaps: Sequence[InputSnapshot], record_id: str) -> str:
    """``file:line`` of the first line holding ``record_id`` (for error messages; re-reads)."""
    for snap in snaps:
        for lineno, traj in iter_snapshot(snap):
            if traj.id == record_id:
                return f"{snap.path}:{lineno}"
    return f"trajectory {record_id}"
