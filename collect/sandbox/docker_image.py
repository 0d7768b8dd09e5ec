"""Build the docker sandbox image (``trajkit sandbox build``), skipping work already done.

The image is ``Dockerfile`` (next to this file) with a ``BASE`` build-arg: by default
``python:3.X-slim`` from a registry, 3.X being the collector's Python (the local sandbox's
default environment is made from it too, so both backends run the same minor version); with
``--from-rootfs`` a Debian bookworm root file system made by ``debootstrap`` from
deb.debian.org (python3 only) and imported as ``trajkit-rootfs:bookworm-<hash>``, for
machines and CI that reach no registry. Either way the sandbox's packages are the pinned
stack of ``stack.py`` — the list the local sandbox's environment is made from — as wheels the
host's ``pip download`` fetched for the base's Python and platform, installed into a venv at
``/opt/trajkit/env`` during a build that fetches nothing.

The image carries a content label — a hash of the Dockerfile, the worker, the pins and the
base image's id — so a build with nothing changed is a no-op that takes a second, and the
stack's id (``trajkit.stack``), which the run records with the versions read inside it.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from trajkit.collect.sandbox import stack
from trajkit.collect.sandbox.docker_engine import BUILD_HINT, WORKER, connect
from trajkit.collect.sandbox.python_env import ENV_PYTHON, PROBE, environment_from_probe
from trajkit.core.errors import ConfigError, SandboxUnavailableError
from trajkit.schemas.manifests import SandboxEnvironment

DOCKERFILE = Path(__file__).resolve().parent / "Dockerfile"
DEFAULT_TAG = "trajkit-sandbox:latest"
ROOTFS_SUITE = "bookworm"
ROOTFS_PACKAGES = ("python3",)
#: Named by its package list: a root made for another list is never reused for this one.
ROOTFS_TAG = (
    f"trajkit-rootfs:{ROOTFS_SUITE}-"
    f"{hashlib.sha256(' '.join(ROOTFS_PACKAGES).encode()).hexdigest()[:8]}"
)
DEFAULT_MIRROR = "http://deb.debian.org/debian"
CONTENT_LABEL = "trajkit.content"
STACK_LABEL = "trajkit.stack"
#: What the base's python3 is: version, C library, machine (picks the wheels to download).
BASE_QUERY = (
    "import json, platform, sys; "
    "print(json.dumps({'version': list(sys.version_info[:2]), 'libc': platform.libc_ver(), "
    "'machine': platform.machine()}))"
)

Log = Callable[[str], None]


def default_base() -> str:
    """``python:3.X-slim`` for the collector's 3.X, within the versions the stack supports."""
    version = max(stack.PYTHON_MIN, min(stack.PYTHON_MAX, tuple(sys.version_info[:2])))
    return f"python:{version[0]}.{version[1]}-slim"


DEFAULT_BASE = default_base()


@dataclass
class BuildResult:
    tag: str
    image_id: str
    cached: bool
    base: str
    environment: SandboxEnvironment | None = None


def content_hash(base: str, base_id: str) -> str:
    """What the image is made of; equal hashes mean an equal image."""
    digest = hashlib.sha256()
    parts = (
        DOCKERFILE.read_bytes(), WORKER.read_bytes(), stack.requirements_text().encode(),
        stack.INSTALLER.encode(), base.encode(), base_id.encode(),
    )
    for part in parts:
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
    base_id = _ensure_base(client, base, log)
    label = content_hash(base, base_id)
    if not force:
        for image in client.images.list(filters={"label": f"{CONTENT_LABEL}={label}"}):
            image.tag(tag)
            return BuildResult(tag, image.id, cached=True, base=base,
                               environment=describe_image(tag))
    target = _base_python(client, base)
    with tempfile.TemporaryDirectory(prefix="trajkit-image-") as ctx:
        shutil.copy(DOCKERFILE, Path(ctx) / "Dockerfile")
        shutil.copy(WORKER, Path(ctx) / "worker.py")
        log(f"downloading the sandbox stack's wheels for Python "
            f"{target['version'][0]}.{target['version'][1]} ({stack.stack_text()}) ...")
        download_wheels(Path(ctx), target)
        log(f"building {tag} from {base} ...")
        try:
            image, build_log = client.images.build(
                path=ctx, tag=tag, buildargs={"BASE": base},
                labels={CONTENT_LABEL: label, STACK_LABEL: stack.STACK_ID},
                network_mode="none", rm=True, forcerm=True, pull=False,
            )
        except docker.errors.BuildError as exc:
            tail = [str(c.get("stream", c.get("error", ""))).strip() for c in exc.build_log]
            detail = next((t for t in reversed(tail) if t), str(exc))
            raise SandboxUnavailableError(f"image build failed: {detail[:300]}") from None
        except docker.errors.APIError as exc:
            raise SandboxUnavailableError(f"image build failed: {exc}") from None
    _remove_stage(client, list(build_log))
    environment = describe_image(tag)
    wrong = {n: v for n, v in environment.packages.items() if v != stack.STACK[n]}
    if wrong:
        raise SandboxUnavailableError(f"the built image {tag} holds {wrong}, not the pinned stack")
    return BuildResult(tag, image.id, cached=False, base=base, environment=environment)


def _remove_stage(client: Any, build_log: list[Any]) -> None:
    """Remove the first stage's image (the venv built with the wheels in a layer, ~0.8 GB):
    the classic builder keeps it, untagged, once the final image copied the venv out of it.
    It is the last layer id the log shows before the second ``FROM``."""
    import docker

    last = None
    for chunk in build_log:
        text = str(chunk.get("stream", "")) if isinstance(chunk, dict) else ""
        if text.startswith("Step ") and " : FROM " in text and last is not None:
            try:
                client.images.remove(last)
            except docker.errors.APIError:
                pass  # in use by another image (an identical earlier build): keep it
            return
        if text.startswith(" ---> ") and " " not in text.strip()[5:]:
            last = text.strip()[5:]


def _ensure_base(client: Any, base: str, log: Log) -> str:
    """The base image's id, pulling it first if the engine lacks it (a registry base)."""
    import docker

    try:
        return str(client.images.get(base).id)
    except docker.errors.ImageNotFound:
        pass
    log(f"pulling {base} ...")
    try:
        return str(client.images.pull(base).id)
    except docker.errors.APIError as exc:
        detail = str(exc).splitlines()[0][:200]
        raise SandboxUnavailableError(
            f"cannot pull {base} ({detail}); without a registry use --from-rootfs"
        ) from None


def _base_python(client: Any, base: str) -> dict[str, Any]:
    """The base's python3: version, libc and machine, asked in a throwaway container."""
    import docker

    try:
        out = client.containers.run(
            base, entrypoint=["python3", "-I", "-c", BASE_QUERY], command=[], remove=True,
            network_mode="none", stdout=True, stderr=False,
        )
        info: dict[str, Any] = json.loads(out.decode().strip().splitlines()[-1])
    except (docker.errors.DockerException, ValueError, IndexError) as exc:
        detail = str(exc).splitlines()[0][:200] if str(exc) else type(exc).__name__
        raise SandboxUnavailableError(f"base image {base}: no usable python3 ({detail})") from None
    version = (int(info["version"][0]), int(info["version"][1]))
    if not stack.python_supported(version):
        raise SandboxUnavailableError(
            f"base image {base} has Python {version[0]}.{version[1]}; the sandbox stack has "
            f"wheels for {stack.supported_text()} (--base python:3.12-slim, say)"
        )
    if info["libc"][0] != "glibc":
        raise SandboxUnavailableError(f"base image {base}: needs a glibc system (manylinux wheels)")
    return info


def platform_tags(libc_version: str, machine: str) -> list[str]:
    """The manylinux tags a system with glibc ``libc_version`` on ``machine`` accepts."""
    major, minor = (int(p) for p in libc_version.split(".")[:2])
    if major != 2:
        raise SandboxUnavailableError(f"unexpected glibc {libc_version}")
    tags = [f"manylinux_2_{m}_{machine}" for m in range(minor, 4, -1)]
    legacy = {17: "manylinux2014", 12: "manylinux2010", 5: "manylinux1"}
    tags += [f"{name}_{machine}" for m, name in legacy.items() if minor >= m]
    return tags


def download_wheels(ctx: Path, target: dict[str, Any]) -> None:
    """``ctx/wheels`` (the stack's wheels and ``requirements.txt``) and ``ctx/installer/pip.whl``,
    fetched by this machine's ``pip download`` (its index, proxy and certificates) for the
    base's Python and platform: the image build itself needs no network."""
    wheels, installer = ctx / "wheels", ctx / "installer"
    wheels.mkdir()
    installer.mkdir()
    requirements = wheels / "requirements.txt"
    requirements.write_text(stack.requirements_text())
    version = f"{target['version'][0]}.{target['version'][1]}"
    platforms = [
        arg for tag in platform_tags(target["libc"][1], target["machine"]) for arg in ("--platform", tag)
    ]
    common = [sys.executable, "-m", "pip", "download", "--disable-pip-version-check", "--no-input",
              "-q", "--only-binary=:all:"]
    _pip([*common, "--python-version", version, "--implementation", "cp", *platforms,
          "-d", str(wheels), "-r", str(requirements)])
    _pip([*common, "--no-deps", "-d", str(installer), stack.INSTALLER])
    found = sorted(installer.glob("pip-*.whl"))
    if not found:
        raise SandboxUnavailableError(f"pip download left no {stack.INSTALLER} wheel")
    found[0].rename(installer / "pip.whl")


def _pip(cmd: list[str]) -> None:
    try:
        proc = subprocess.run(cmd, capture_output=True, text=True, stdin=subprocess.DEVNULL)
    except OSError as exc:
        raise SandboxUnavailableError(f"cannot run pip ({exc})") from None
    if proc.returncode != 0:
        lines = [ln for ln in (proc.stderr or proc.stdout).strip().splitlines() if ln.strip()]
        detail = next((ln for ln in reversed(lines) if "error" in ln.lower()), lines[-1] if lines else "")
        raise SandboxUnavailableError(
            f"cannot download the sandbox stack's wheels ({' '.join(detail.split())[:300]}); "
            "the image build needs PyPI (or your pip index) reachable from this machine"
        )


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
    """None if the engine has ``tag`` with a sandbox environment, else the one-line reason
    the docker sandbox cannot run."""
    import docker

    try:
        client = connect()
        image = client.images.get(tag)
    except SandboxUnavailableError as exc:
        return str(exc)
    except docker.errors.ImageNotFound:
        return f"docker image {tag} not found; build it with `trajkit sandbox build --from-rootfs`"
    if STACK_LABEL not in (image.labels or {}):
        return (
            f"docker image {tag} predates the pinned sandbox environment (no {STACK_LABEL} "
            "label); rebuild it with `trajkit sandbox build --from-rootfs`"
        )
    return None


_DESCRIBED: dict[str, dict[str, Any]] = {}
_DESCRIBE_LOCK = threading.Lock()


def describe_image(tag: str) -> SandboxEnvironment:
    """The sandbox environment of image ``tag``: ``probe.py`` run by its ``/opt/trajkit/env``
    Python in a throwaway, locked-down container (once per image id and process)."""
    import docker

    client = connect()
    try:
        image = client.images.get(tag)
    except docker.errors.ImageNotFound:
        raise SandboxUnavailableError(f"docker image {tag} not found; {BUILD_HINT}") from None
    with _DESCRIBE_LOCK:
        info = _DESCRIBED.get(image.id)
        if info is None:
            info = _DESCRIBED[image.id] = _probe_image(client, image.id, tag)
    return environment_from_probe(
        info, backend="docker", stack_id=(image.labels or {}).get(STACK_LABEL), image_id=image.id
    )


def _probe_image(client: Any, image_id: str, tag: str) -> dict[str, Any]:
    import docker

    try:
        out = client.containers.run(
            image_id, entrypoint=[ENV_PYTHON, "-I", "-c", PROBE.read_text(),
                                  json.dumps(list(stack.STACK))],
            command=[], remove=True, network_mode="none", user="65534:65534", read_only=True,
            cap_drop=["ALL"], security_opt=["no-new-privileges"], mem_limit=512 * 1024 * 1024,
            stdout=True, stderr=True,
        )
        info: dict[str, Any] = json.loads(out.decode().strip().splitlines()[-1])
    except (docker.errors.DockerException, ValueError, IndexError) as exc:
        detail = " ".join(str(exc).split())[:200] or type(exc).__name__
        raise SandboxUnavailableError(
            f"docker image {tag} has no sandbox environment at {ENV_PYTHON} ({detail}); "
            "rebuild it with `trajkit sandbox build` (offline: --from-rootfs)"
        ) from None
    return info
