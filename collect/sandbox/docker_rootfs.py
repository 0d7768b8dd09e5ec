"""The ``--from-rootfs`` base: Debian made by ``debootstrap`` and imported into the engine.

For machines and CI that reach no image registry: ``debootstrap`` (root, deb.debian.org or
``--mirror``) makes a minimal bookworm holding python3 only, which is streamed into the
engine as ``trajkit-rootfs:bookworm-<hash>`` through its API (so a remote engine works too).
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import tempfile
from collections.abc import Callable
from pathlib import Path

from trajkit.core.errors import SandboxUnavailableError

ROOTFS_SUITE = "bookworm"
ROOTFS_PACKAGES = ("python3",)
#: Named by its package list: a root made for another list is never reused for this one.
ROOTFS_TAG = (
    f"trajkit-rootfs:{ROOTFS_SUITE}-"
    f"{hashlib.sha256(' '.join(ROOTFS_PACKAGES).encode()).hexdigest()[:8]}"
)
DEFAULT_MIRROR = "http://deb.debian.org/debian"

Log = Callable[[str], None]


def ensure_rootfs_base(client: object, mirror: str, force: bool, log: Log) -> str:
    """``trajkit-rootfs:bookworm``, debootstrapped and imported unless it already exists."""
    import docker

    if not force:
        try:
            client.images.get(ROOTFS_TAG)  # type: ignore[attr-defined]
            return ROOTFS_TAG
        except docker.errors.ImageNotFound:
            pass
    if shutil.which("debootstrap") is None:
        raise SandboxUnavailableError(
            "--from-rootfs needs debootstrap (apt-get install -y debootstrap)"
        )
    if os.geteuid() != 0:
        raise SandboxUnavailableError("--from-rootfs runs debootstrap, which needs root")
    with tempfile.TemporaryDirectory(prefix="trajkit-rootfs-", dir="/var/tmp") as tmp:
        root = Path(tmp) / "rootfs"
        log(f"debootstrap {ROOTFS_SUITE} from {mirror} (a few minutes) ...")
        cmd = [
            "debootstrap", "--variant=minbase", f"--include={','.join(ROOTFS_PACKAGES)}",
            ROOTFS_SUITE, str(root), mirror,
        ]
        proc = subprocess.run(cmd, capture_output=True, text=True)
        if proc.returncode != 0:
            lines = (proc.stderr or proc.stdout).strip().splitlines()
            raise SandboxUnavailableError(
                f"debootstrap failed ({lines[-1] if lines else proc.returncode}); check that "
                f"{mirror} is reachable (--mirror URL)"
            )
        for junk in ("var/cache/apt/archives", "var/lib/apt/lists", "usr/share/doc",
                     "usr/share/man", "usr/share/locale"):
            shutil.rmtree(root / junk, ignore_errors=True)
        log(f"importing the root file system as {ROOTFS_TAG} ...")
        tar = subprocess.Popen(
            ["tar", "--numeric-owner", "-C", str(root), "-c", "."], stdout=subprocess.PIPE
        )
        try:
            repo, tag = ROOTFS_TAG.split(":")
            client.api.import_image(  # type: ignore[attr-defined]
                src=tar.stdout, repository=repo, tag=tag, stream_src=True
            )
        finally:
            if tar.stdout is not None:
                tar.stdout.close()
            tar.wait()
    return ROOTFS_TAG
