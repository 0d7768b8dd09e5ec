"""Build the docker sandbox image (``trajkit sandbox build``), skipping work already done.

The image is ``Dockerfile`` (next to this file) with a ``BASE`` build-arg: by default
``python:3.12-slim`` from a registry; with ``--from-rootfs`` a Debian bookworm root file
system made by ``debootstrap`` from deb.debian.org (python3 and the scientific stack from
Debian's packages) and imported as ``trajkit-rootfs:bookworm``, for machines and CI that
reach no registry. The image carries a content label — a hash of the Dockerfile, the worker
and the base image's id — so a build with nothing changed is a no-op that takes a second.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from trajkit.collect.sandbox.docker_engine import WORKER, connect
from trajkit.core.errors import ConfigError, SandboxUnavailableError

DOCKERFILE = Path(__file__).resolve().parent / "Dockerfile"
DEFAULT_TAG = "trajkit-sandbox:latest"
DEFAULT_BASE = "python:3.12-slim"
ROOTFS_TAG = "trajkit-rootfs:bookworm"
ROOTFS_SUITE = "bookworm"
ROOTFS_PACKAGES = ("python3", "python3-numpy", "python3-sympy", "python3-pandas", "python3-scipy")
DEFAULT_MIRROR = "http://deb.debian.org/debian"
CONTENT_LABEL = "trajkit.content"

Log = Callable[[str], None]


@dataclass
class BuildResult:
    tag: str
    image_id: str
    cached: bool
    base: str


def content_hash(base: str, base_id: str) -> str:
    """What the image is made of; equal hashes mean an equal image."""
    digest = hashlib.sha256()
    for part in (DOCKERFILE.read_bytes(), WORKER.read_bytes(), base.encode(), base_id.encode()):
        digest.update(hashlib.sha256(part).digest())
    return digest.hexdigest()[:32]


def build_image(
    tag: str = DEFAULT_TAG,
    base: str | None = None,
    from_rootfs: bool = False,
    mirror: str = DEFAULT_MIRROR,
    force: bool = False,
    log: Log = print,
) -> BuildResult:
    """Build (or find) the sandbox image and tag it ``tag``."""
    import docker

    if from_rootfs and base:
        raise ConfigError("--base and --from-rootfs: choose one (--from-rootfs makes the base)")
    client = connect()
    if from_rootfs:
        base = ensure_rootfs_base(client, mirror, force, log)
    base = base or DEFAULT_BASE
    try:
        base_id = client.images.get(base).id
    except docker.errors.ImageNotFound:
        base_id = ""  # pulled by the build; the label then names the tag only
    label = content_hash(base, base_id)
    if not force:
        for image in client.images.list(filters={"label": f"{CONTENT_LABEL}={label}"}):
            image.tag(tag)
            return BuildResult(tag, image.id, cached=True, base=base)
    with tempfile.TemporaryDirectory(prefix="trajkit-image-") as ctx:
        shutil.copy(DOCKERFILE, Path(ctx) / "Dockerfile")
        shutil.copy(WORKER, Path(ctx) / "worker.py")
        log(f"building {tag} from {base} ...")
        try:
            image, _ = client.images.build(
                path=ctx, tag=tag, buildargs={"BASE": base}, labels={CONTENT_LABEL: label},
                network_mode="host", rm=True, forcerm=True, pull=False,
            )
        except docker.errors.BuildError as exc:
            tail = [str(c.get("stream", c.get("error", ""))).strip() for c in exc.build_log]
            detail = next((t for t in reversed(tail) if t), str(exc))
            hint = "" if from_rootfs else "; without a registry use --from-rootfs"
            raise SandboxUnavailableError(f"image build failed: {detail[:300]}{hint}") from None
        except docker.errors.APIError as exc:
            hint = "" if from_rootfs else "; without a registry use --from-rootfs"
            raise SandboxUnavailableError(f"image build failed: {exc}{hint}") from None
    return BuildResult(tag, image.id, cached=False, base=base)


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


def image_status(tag: str = DEFAULT_TAG) -> str | None:
    """None if the engine has ``tag``, else the one-line reason the docker sandbox cannot run."""
    import docker

    try:
        client = connect()
        client.images.get(tag)
    except SandboxUnavailableError as exc:
        return str(exc)
    except docker.errors.ImageNotFound:
        return f"docker image {tag} not found; build it with `trajkit sandbox build --from-rootfs`"
    return None
