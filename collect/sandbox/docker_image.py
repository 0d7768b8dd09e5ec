"""Build the docker sandbox image (``trajkit sandbox build``), skipping work already done.

The image is ``Dockerfile`` (next to this file) with a ``BASE`` build-arg: by default
``python:3.X-slim`` from a registry, 3.X being the collector's Python (the local sandbox's
default environment is made from it too, so both backends run the same minor version); with
``--from-rootfs`` a Debian bookworm root file system made by ``debootstrap`` (``docker_rootfs``)
for machines and CI that reach no registry. Either way the sandbox's packages are the pinned
stack of ``stack.py`` — the list the local sandbox's environment is made from — as wheels the
host's ``pip download`` fetched for the base's Python and platform, installed into a venv at
``/opt/trajkit/env`` during a build that fetches nothing.

Two images, each labelled with a hash of what it is made of, so a build with nothing changed
is a no-op that takes a second: the environment (``trajkit-sandbox-env:HASH``: the base, the
venv; a hash of the Dockerfile, the pins and the base image's id), and on it the sandbox image
proper (``DEFAULT_TAG``), which only adds the worker — so a new trajkit whose worker changed
rebuilds one small layer, not the stack. The sandbox image also carries the stack's id
(``trajkit.stack``, recorded by the run with the versions read inside it) and the worker's
(``trajkit.worker``, which the collector requires to be its own).
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import sys
import tempfile
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from trajkit.collect.sandbox import stack
from trajkit.collect.sandbox.config import check_image_reference
from trajkit.collect.sandbox.docker_engine import (
    WORKER,
    WORKER_LABEL,
    connect,
    require_image,
    worker_digest,
)
from trajkit.collect.sandbox.docker_host import connect_engine
from trajkit.collect.sandbox.docker_rootfs import DEFAULT_MIRROR, ensure_rootfs_base
from trajkit.collect.sandbox.docker_wheels import download_wheels
from trajkit.collect.sandbox.python_env import ENV_PYTHON, PROBE, environment_from_probe
from trajkit.core.errors import ConfigError, SandboxUnavailableError
from trajkit.schemas.manifests import SandboxEnvironment

DOCKERFILE = Path(__file__).resolve().parent / "Dockerfile"
DEFAULT_TAG = "trajkit-sandbox:latest"
ENV_REPOSITORY = "trajkit-sandbox-env"
ENV_LABEL = "trajkit.env"
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


def _hash(*parts: bytes) -> str:
    digest = hashlib.sha256()
    for part in parts:
        digest.update(hashlib.sha256(part).digest())
    return digest.hexdigest()[:32]


def env_hash(base: str, base_id: str) -> str:
    """What the environment image is made of (everything but the worker)."""
    return _hash(
        DOCKERFILE.read_bytes(), stack.requirements_text().encode(), stack.INSTALLER.encode(),
        base.encode(), base_id.encode(),
    )


def content_hash(base: str, base_id: str) -> str:
    """What the sandbox image is made of: its environment and the worker; equal hashes mean
    an equal image."""
    return _hash(env_hash(base, base_id).encode(), WORKER.read_bytes())


def build_image(
    tag: str = DEFAULT_TAG,
    base: str | None = None,
    from_rootfs: bool = False,
    mirror: str = DEFAULT_MIRROR,
    force: bool = False,
    log: Log = print,
) -> BuildResult:
    """Build (or find) the sandbox image and tag it ``tag``, on the engine DOCKER_HOST names.

    ``tag`` and ``base`` are checked first: a malformed reference fails before the engine is
    reached or anything is pulled or built."""
    for flag, reference in (("--tag", tag), ("--base", base)):
        if reference is not None:
            try:
                check_image_reference(reference)
            except ValueError as exc:
                raise ConfigError(f"{flag}: {exc}") from None
    if from_rootfs and base:
        raise ConfigError("--base and --from-rootfs: choose one (--from-rootfs makes the base)")
    client = connect()
    if from_rootfs:
        base = ensure_rootfs_base(client, mirror, force, log)
    base = base or DEFAULT_BASE
    base_id = _ensure_base(client, base, log)
    env_label, label = env_hash(base, base_id), content_hash(base, base_id)
    previous = _image_id(client, tag)
    if not force:
        for image in client.images.list(filters={"label": f"{CONTENT_LABEL}={label}"}):
            image.tag(tag)
            _discard(client, previous, keep=image.id)
            return BuildResult(tag, image.id, cached=True, base=base,
                               environment=describe_image(tag))
    env_id = None if force else _find_env(client, env_label)
    if env_id is None:
        env_id = _build_env(client, base, env_label, log)
    log(f"building {tag}: this trajkit's worker on {ENV_REPOSITORY}:{env_label[:12]} ...")
    with tempfile.TemporaryDirectory(prefix="trajkit-image-") as ctx:
        (Path(ctx) / "Dockerfile").write_text(worker_stage(env_id))
        shutil.copy(WORKER, Path(ctx) / "worker.py")
        os.chmod(Path(ctx) / "worker.py", 0o644)
        image, _ = _build(client, ctx, tag=tag, labels={
            CONTENT_LABEL: label, STACK_LABEL: stack.STACK_ID, WORKER_LABEL: worker_digest(),
        })
    _discard(client, previous, keep=image.id)
    environment = describe_image(tag)
    wrong = {n: v for n, v in environment.packages.items() if v != stack.STACK[n]}
    if wrong:
        raise SandboxUnavailableError(f"the built image {tag} holds {wrong}, not the pinned stack")
    return BuildResult(tag, image.id, cached=False, base=base, environment=environment)


def worker_stage(env_ref: str) -> str:
    """The Dockerfile's last stage (the worker), built on ``env_ref`` instead of ``env``."""
    lines = DOCKERFILE.read_text().splitlines()
    start = max(i for i, line in enumerate(lines) if line.split()[:1] == ["FROM"])
    if lines[start].split() != ["FROM", "env"]:
        raise RuntimeError(f"{DOCKERFILE}: the last stage must be `FROM env` (the worker)")
    return "\n".join([f"FROM {env_ref}", *lines[start + 1 :]]) + "\n"


def _build_env(client: Any, base: str, env_label: str, log: Log) -> str:
    """Build the environment stage (base + pinned venv); its image id."""
    target = _base_python(client, base)
    env_tag = f"{ENV_REPOSITORY}:{env_label[:12]}"
    with tempfile.TemporaryDirectory(prefix="trajkit-image-") as ctx:
        shutil.copy(DOCKERFILE, Path(ctx) / "Dockerfile")
        shutil.copy(WORKER, Path(ctx) / "worker.py")  # a plain `docker build` of the file needs it
        log(f"downloading the sandbox stack's wheels for Python "
            f"{target['version'][0]}.{target['version'][1]} ({stack.stack_text()}) ...")
        download_wheels(Path(ctx), target)
        log(f"building {env_tag} from {base} ...")
        image, build_log = _build(
            client, ctx, tag=env_tag, target="env", buildargs={"BASE": base},
            labels={ENV_LABEL: env_label, STACK_LABEL: stack.STACK_ID},
        )
    _remove_stage(client, build_log)
    return str(image.id)


def _build(client: Any, ctx: str, **kwargs: Any) -> tuple[Any, list[Any]]:
    """One offline build (no pulls, no network); one-line error on failure."""
    import docker

    try:
        image, build_log = client.images.build(
            path=ctx, network_mode="none", rm=True, forcerm=True, pull=False, **kwargs
        )
    except docker.errors.BuildError as exc:
        tail = [str(c.get("stream", c.get("error", ""))).strip() for c in exc.build_log]
        detail = next((t for t in reversed(tail) if t), str(exc))
        raise SandboxUnavailableError(f"image build failed: {detail[:300]}") from None
    except docker.errors.APIError as exc:
        raise SandboxUnavailableError(f"image build failed: {exc}") from None
    return image, list(build_log)


def _find_env(client: Any, env_label: str) -> str | None:
    """An environment image already built for ``env_label`` (not a sandbox image on it,
    which inherits its labels)."""
    for image in client.images.list(filters={"label": f"{ENV_LABEL}={env_label}"}):
        if CONTENT_LABEL not in (image.labels or {}):
            return str(image.id)
    return None


def _image_id(client: Any, tag: str) -> str | None:
    import docker

    try:
        return str(client.images.get(tag).id)
    except docker.errors.ImageNotFound:
        return None


def _discard(client: Any, image_id: str | None, keep: str) -> None:
    """Remove the image ``tag`` named before this build, now untagged, unless still used."""
    import docker

    if image_id is None or image_id == keep:
        return
    try:
        if not client.images.get(image_id).tags:
            client.images.remove(image_id)
    except docker.errors.APIError:
        pass  # in use by a container or a child image, or already gone: keep it


def _remove_stage(client: Any, build_log: list[Any]) -> None:
    """Remove the first stage's image (the venv built with the wheels in a layer, ~0.8 GB):
    the classic builder keeps it, untagged, once the ``env`` stage copied the venv out of it.
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


def image_status(tag: str = DEFAULT_TAG) -> str | None:
    """None if the engine has ``tag`` with a sandbox environment and this trajkit's worker,
    else the one-line reason the docker sandbox cannot run."""
    try:
        client, address = connect_engine()
        image = require_image(client, address, tag)
    except SandboxUnavailableError as exc:
        return str(exc)
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
    Python in a throwaway, locked-down container (once per image id and process). Refuses an
    image the engine lacks or that carries another worker (``require_image``)."""
    client, address = connect_engine()
    image = require_image(client, address, tag)
    with _DESCRIBE_LOCK:
        info = _DESCRIBED.get(image.id)
        if info is None:
            info = _DESCRIBED[image.id] = _probe_image(client, image.id, tag)
    return environment_from_probe(
        info, backend="docker", stack_id=(image.labels or {}).get(STACK_LABEL), image_id=image.id
    ).model_copy(update={"per_sandbox_limits": ["memory", "cpus"]})  # the container's cgroup


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
