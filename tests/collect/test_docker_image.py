"""The worker ships inside the sandbox image: an image with another worker is refused, and a
new worker is a one-layer rebuild on the kept environment image (real engine, real builds)."""

from __future__ import annotations

import asyncio
import hashlib
import io
import subprocess
import sys
from pathlib import Path

import docker
import pytest
from support import require, require_docker

from trajkit.collect.sandbox import docker_engine, docker_image
from trajkit.collect.sandbox.config import SandboxConfig
from trajkit.collect.sandbox.docker_engine import WORKER_LABEL, connect
from trajkit.collect.sandbox.docker_rootfs import ROOTFS_TAG
from trajkit.collect.sandbox.docker_sandbox import DockerSandbox

TRAJKIT = [sys.executable, "-m", "trajkit.cli"]


@pytest.fixture(autouse=True)
def _docker() -> None:
    require_docker()


def _remove(tag: str) -> None:
    try:
        connect().images.remove(tag, force=True)
    except docker.errors.ImageNotFound:
        pass


def _base_of(tag: str) -> str:
    """The base the engine's sandbox image was built from (``--from-rootfs``'s or the default):
    the one whose environment hash it carries, so the test never rebuilds the stack."""
    client = connect()
    want = client.images.get(tag).labels[docker_image.ENV_LABEL]
    for base in (ROOTFS_TAG, docker_image.DEFAULT_BASE):
        try:
            base_id = client.images.get(base).id
        except docker.errors.ImageNotFound:
            continue
        if docker_image.env_hash(base, base_id) == want:
            return base
    require(False, f"{tag} was built from another base than {ROOTFS_TAG} or the default")
    raise AssertionError("unreachable")


def test_an_image_carrying_another_worker_is_refused(tmp_path: Path) -> None:
    from trajkit.sources.math import DEMO_REPLAY

    tag = "trajkit-sandbox:test-other-worker"
    dockerfile = f"FROM {docker_image.DEFAULT_TAG}\nLABEL {WORKER_LABEL}=0123456789abcdef\n"
    connect().images.build(fileobj=io.BytesIO(dockerfile.encode()), tag=tag, rm=True, pull=False)
    try:
        proc = subprocess.run(
            [*TRAJKIT, "collect", "math", "--teacher", f"replay:{DEMO_REPLAY}", "--out",
             str(tmp_path), "--sandbox", "docker", "--no-cache", "--sandbox-opt", f"image={tag}"],
            capture_output=True, text=True, timeout=120,
        )
    finally:
        _remove(tag)
    assert proc.returncode == 2 and len(proc.stderr.strip().splitlines()) == 1, proc.stderr
    assert "carries another sandbox worker" in proc.stderr
    assert "trajkit sandbox build" in proc.stderr


def test_a_new_worker_rebuilds_only_the_worker_layer(tmp_path: Path, monkeypatch) -> None:
    worker = tmp_path / "worker.py"
    worker.write_text(docker_engine.WORKER.read_text() + "\n# a later trajkit's worker\n")
    monkeypatch.setattr(docker_engine, "WORKER", worker)
    monkeypatch.setattr(docker_image, "WORKER", worker)
    tag = "trajkit-sandbox:test-new-worker"
    base = _base_of(docker_image.DEFAULT_TAG)
    lines: list[str] = []
    try:
        built = docker_image.build_image(tag=tag, base=base, log=lines.append)
        assert not built.cached and not any("wheels" in line for line in lines), lines
        client = connect()
        new, current = client.images.get(tag), client.images.get(docker_image.DEFAULT_TAG)
        env = docker_image.ENV_LABEL
        assert new.labels[env] == current.labels[env]  # the same environment image under both
        assert new.labels[WORKER_LABEL] == docker_engine.worker_digest() != current.labels[WORKER_LABEL]
        assert len(new.history()) == len(current.history())  # one layer on it, as the default's

        async def worker_in_image() -> str:
            async with DockerSandbox(SandboxConfig(image=tag, label="test-new-worker")) as box:
                r = await box.run(
                    "import hashlib\n"
                    "print(hashlib.sha256(open('/opt/trajkit/worker.py','rb').read()).hexdigest())",
                    timeout=30,
                )
                return r.output.strip()

        assert asyncio.run(worker_in_image()) == hashlib.sha256(worker.read_bytes()).hexdigest()
        again = docker_image.build_image(tag=tag, base=base, log=lines.append)
        assert again.cached and again.image_id == built.image_id
    finally:
        _remove(tag)
