"""``trajkit publish``: upload a version's ``hf`` export to a Hugging Face dataset repo.

One version = one commit (its message names the version) tagged ``vN``, so a training recipe can
pin ``revision="v3"`` and get exactly what v3's manifest describes. The steps:

1. export the version as ``hf`` into a scratch directory (deterministic bytes, see
   ``export_version``) and hash every file the way the Hub does (git blob sha1 for regular
   files, sha256 for LFS ones);
2. create the repo if needed (``HF_TOKEN``; endpoint ``HF_ENDPOINT`` or the public Hub);
3. if tag ``vN`` exists: its files equal ours → nothing to do ("already published"); otherwise
   refuse, since a tag must never be moved to different data;
4. if ``main`` already holds exactly these files (a publish that committed but died before
   tagging) → tag that commit; else commit every file, delete shards under ``data/`` that are
   not ours (so ``load_dataset`` never mixes versions), and tag the new commit. The commit is
   made against the ``main`` head seen in this step, so a concurrent writer makes it fail
   rather than be overwritten.

``dry_run`` only exports and lists the files; it needs neither a token nor the network.
"""

from __future__ import annotations

import hashlib
import os
import re
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from trajkit.core.errors import ConfigError, UserError
from trajkit.dataset.export_hf import DATA_DIR
from trajkit.dataset.export_version import export_version
from trajkit.schemas import DatasetManifest
from trajkit.schemas.version import toolkit_version

DEFAULT_ENDPOINT = "https://huggingface.co"
#: A Hugging Face repo id, ``ORG/NAME`` (checked by ``PublishOptions``, and here again).
REPO_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]*/[A-Za-z0-9][A-Za-z0-9._-]*")


class PublishError(UserError):
    """The Hub refused or could not be reached; one line naming the repo and the step."""


@dataclass(frozen=True)
class LocalFile:
    """A file of the export, with the hashes the Hub reports for regular and LFS files."""

    path: str  # POSIX path in the repo
    local: Path
    size: int
    sha256: str
    git_sha1: str


@dataclass
class PublishResult:
    repo_id: str
    tag: str
    manifest: DatasetManifest
    files: list[LocalFile]
    dry_run: bool = False
    already: bool = False  # the tag already held exactly these files: nothing was done
    commit: str | None = None
    committed: bool = False  # False when main already held the files and was only tagged
    deleted: list[str] = field(default_factory=list)

    @property
    def commit_message(self) -> str:
        return commit_message(self.manifest)


def commit_message(manifest: DatasetManifest) -> str:
    """The commit summary: names the dataset and version, so the Hub's history reads as a log."""
    return f"trajkit: {manifest.name} v{manifest.version} ({manifest.records} records)"


def hash_file(root: Path, path: Path) -> LocalFile:
    data = path.read_bytes()
    git = hashlib.sha1(b"blob %d\0" % len(data) + data).hexdigest()  # git's blob id
    return LocalFile(path.relative_to(root).as_posix(), path, len(data), hashlib.sha256(data).hexdigest(), git)


def repo_id_problem(repo_id: str) -> str | None:
    """Why the Hub would refuse ``repo_id``, or ``None``: ``ORG/NAME``, and the Hub client's
    own rules (at most 96 characters a name, no ``--``/``..``, no ``.git`` or ``.`` at the end),
    so a bad id fails before the export is built, not at the upload."""
    from huggingface_hub.utils import HFValidationError, validate_repo_id

    if not REPO_ID.fullmatch(repo_id or ""):
        return f"{repo_id!r} is not ORG/NAME"
    try:
        validate_repo_id(repo_id)
    except HFValidationError as exc:
        return str(exc).rstrip(".")
    return None


def check_repo_id(repo_id: str) -> str:
    problem = repo_id_problem(repo_id)
    if problem:
        raise ConfigError(f"--repo-id: {problem}")
    return repo_id


@contextmanager
def exported(version: Path, repo_id: str, license: str) -> Iterator[tuple[Any, list[LocalFile]]]:
    """The ``hf`` export in a scratch directory for the duration of the block."""
    with tempfile.TemporaryDirectory(prefix="trajkit-publish-") as scratch:
        target = Path(scratch) / "export"
        result = export_version(version, "hf", target, license=license, repo_id=repo_id)
        files = [hash_file(target, target / rel) for rel in result.files]
        yield result, files


def _same(files: list[LocalFile], siblings: list[Any] | None) -> bool:
    """The remote tree holds exactly our files (and no other data shards)."""
    remote = {s.rfilename: s for s in siblings or []}
    for f in files:
        s = remote.get(f.path)
        if s is None:
            return False
        if s.lfs is not None:
            if s.lfs.sha256 != f.sha256:
                return False
        elif s.blob_id != f.git_sha1:
            return False
    ours = {f.path for f in files}
    return not [p for p in remote if p.startswith(f"{DATA_DIR}/") and p not in ours]


@contextmanager
def _hub_step(repo_id: str, step: str) -> Iterator[None]:
    """Turn whatever the Hub client raises during ``step`` into one ``PublishError`` line."""
    from huggingface_hub.errors import HfHubHTTPError

    try:
        yield
    except HfHubHTTPError as exc:
        status = exc.response.status_code if exc.response is not None else "?"
        hint = " (check HF_TOKEN: it must have write access)" if status in (401, 403) else ""
        first = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise PublishError(f"{repo_id}: {step} failed: HTTP {status}: {first}{hint}") from None
    except (OSError, ValueError, RuntimeError) as exc:  # connection errors, bad metadata, LFS
        cause = exc.__cause__ or exc
        raise PublishError(f"{repo_id}: {step} failed: {type(cause).__name__}: {cause}") from None
    except Exception as exc:  # httpx transport errors are not OSErrors
        if type(exc).__module__.split(".")[0] not in ("httpx", "httpx2", "httpcore", "huggingface_hub"):
            raise
        raise PublishError(f"{repo_id}: {step} failed: {type(exc).__name__}: {exc}") from None


def publish_version(
    version: Path,
    repo_id: str,
    *,
    private: bool = False,
    dry_run: bool = False,
    license: str = "other",
    token: str | None = None,
    endpoint: str | None = None,
) -> PublishResult:
    """Publish ``version`` to the dataset repo ``repo_id`` (see the module docstring).

    ``token``/``endpoint`` default to ``HF_TOKEN``/``HF_ENDPOINT``; a missing token is a
    ``ConfigError`` (checked before the export, so it fails fast). Hub failures raise
    ``PublishError``; nothing partial is tagged.
    """
    check_repo_id(repo_id)
    token = token or os.environ.get("HF_TOKEN") or None
    if not dry_run and not token:
        raise ConfigError("HF_TOKEN is not set: export a Hugging Face token with write access")
    endpoint = (endpoint or os.environ.get("HF_ENDPOINT") or DEFAULT_ENDPOINT).rstrip("/")

    with exported(version, repo_id, license) as (export, files):
        manifest = export.manifest
        tag = f"v{manifest.version}"
        result = PublishResult(repo_id, tag, manifest, files, dry_run=dry_run)
        if dry_run:
            return result
        from huggingface_hub import CommitOperationAdd, CommitOperationDelete, HfApi

        api = HfApi(endpoint=endpoint, token=token, library_name="trajkit",
                    library_version=toolkit_version())
        with _hub_step(repo_id, "create repo"):
            api.create_repo(repo_id, repo_type="dataset", private=True if private else None, exist_ok=True)
        with _hub_step(repo_id, "list tags"):
            refs = api.list_repo_refs(repo_id, repo_type="dataset")
        tagged = {t.name: t.target_commit for t in refs.tags}
        if tag in tagged:
            with _hub_step(repo_id, f"read {tag}"):
                info = api.dataset_info(repo_id, revision=tag, files_metadata=True)
            if not _same(files, info.siblings):
                raise PublishError(
                    f"{repo_id}: tag {tag} already exists with different files; a published "
                    f"version is never replaced (publish to another repo, or delete the tag on the Hub)"
                )
            result.already, result.commit = True, tagged[tag]
            return result
        with _hub_step(repo_id, "read main"):
            main = api.dataset_info(repo_id, files_metadata=True)
        if _same(files, main.siblings) and main.sha:
            result.commit = main.sha
        else:
            ours = {f.path for f in files}
            result.deleted = sorted(
                s.rfilename for s in main.siblings or []
                if s.rfilename.startswith(f"{DATA_DIR}/") and s.rfilename not in ours
            )
            operations: list[Any] = [CommitOperationAdd(f.path, str(f.local)) for f in files]
            operations += [CommitOperationDelete(p) for p in result.deleted]
            with _hub_step(repo_id, "commit"):
                commit = api.create_commit(
                    repo_id, operations, repo_type="dataset",
                    commit_message=commit_message(manifest),
                    commit_description=(f"fingerprint {manifest.fingerprint}\n"
                                        f"data sha256 {manifest.data_sha256}\n"
                                        f"created {manifest.created_at}"),
                    parent_commit=main.sha,
                )
            result.commit, result.committed = commit.oid, True
        with _hub_step(repo_id, f"tag {tag}"):
            api.create_tag(repo_id, tag=tag, revision=result.commit, repo_type="dataset",
                           tag_message=f"{manifest.name} {tag} (fingerprint {manifest.fingerprint})")
        return result
