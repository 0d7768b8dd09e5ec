"""Files a dataset's recipe depends on, named by content instead of by path.

A filter parameter can be a file of the building machine: a decontamination reference set,
an ``hf:`` tokenizer file. The manifest records every parameter, so that a version can be
rebuilt from it; but a manifest is published, and a path names the machine's user and
layout while identifying nothing for anyone else. So such a file is recorded by its name and
its sha256, and a copy is kept in a content-addressed store (``$TRAJKIT_REFERENCE_STORE``,
else ``$XDG_CACHE_HOME/trajkit/references``, one folder per sha256 holding the file under its
own name, which keeps the extension that decides its format). A rebuild from the manifest
finds the file there by its hash, even after the original was edited or moved; on another
machine, the one-line error names the file and the hash to put back.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path

from trajkit.core.errors import ParamError

STORE_ENV = "TRAJKIT_REFERENCE_STORE"
#: ``NAME@sha256:HEX``: how a pinned file is written where one string must name it.
PIN_MARK = "@sha256:"


def store_dir() -> Path:
    """Where pinned files are kept (see the module doc)."""
    configured = os.environ.get(STORE_ENV)
    if configured:
        return Path(configured).expanduser()
    cache = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(cache) / "trajkit" / "references"


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        while chunk := fh.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()


@dataclass(frozen=True)
class PinnedFile:
    """A file as a recipe names it (``name``, ``sha256``) and where it is read here."""

    name: str
    sha256: str
    path: Path

    @property
    def pin(self) -> str:
        return f"{self.name}{PIN_MARK}{self.sha256}"


def _stored(name: str, sha256: str) -> Path:
    return store_dir() / sha256 / name


def _keep(path: Path, sha256: str) -> Path:
    """Copy ``path`` into the store (once; atomically, so a reader never sees half a file).
    A store that cannot be written is not an error: the file is then read where it is, and
    only a rebuild elsewhere would miss it."""
    target = _stored(path.name, sha256)
    if target.is_file():
        return target
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=".partial-")
        os.close(fd)
        try:
            shutil.copyfile(path, tmp)
            os.replace(tmp, target)
        finally:
            Path(tmp).unlink(missing_ok=True)
    except OSError:
        return path
    return target


def pin_file(param: str, given: str | Path, sha256: str | None = None) -> PinnedFile:
    """The file ``given`` names, pinned: ``given`` is a path (as a user passes it) or the bare
    name a manifest recorded; ``sha256``, when known (from a manifest), is the content the
    recipe needs, looked up in the store first.

    ``ParamError(param, ...)`` when the file is missing, or when the file at ``given`` no
    longer has the pinned content and the store has no copy of it.
    """
    name = Path(str(given)).name
    if sha256 is not None:
        kept = _stored(name, sha256)
        if kept.is_file():
            return PinnedFile(name, sha256, kept)
    path = Path(str(given)).expanduser()
    if not path.is_file():
        if sha256 is not None:
            raise ParamError(param, f"{given}: no such file here, and no copy with sha256 "
                             f"{sha256[:12]}… in the reference store {store_dir()} "
                             f"(put the file {name} there as {sha256}/{name}, or give its path)")
        if path.is_dir():
            raise ParamError(param, f"{given}: a directory; give the reference file(s) in it")
        if path.exists():  # /dev/null, a FIFO, a socket: not read (a FIFO could wait forever)
            raise ParamError(param, f"{given}: not a regular file")
        raise ParamError(param, f"{given}: no such file")
    try:
        got = file_sha256(path)
    except OSError as exc:
        raise ParamError(param, f"{given}: cannot read ({type(exc).__name__}: {exc})") from None
    if sha256 is not None and got != sha256:
        raise ParamError(param, f"{given} changed since it was recorded "
                         f"(sha256 {got[:12]}…, recorded {sha256[:12]}…)")
    return PinnedFile(name, got, _keep(path.resolve(), got))


def split_pin(text: str) -> tuple[str, str | None]:
    """``NAME@sha256:HEX`` → (``NAME``, ``HEX``); anything else → (``text``, ``None``)."""
    name, mark, digest = text.rpartition(PIN_MARK)
    if mark and name and len(digest) == 64 and all(c in "0123456789abcdef" for c in digest):
        return name, digest
    return text, None
