"""``DOCKER_HOST=ssh://``: the engine's socket forwarded by a real ``ssh`` through a real ``sshd``.

The sshd (``loopback_sshd``) listens on a loopback port with its own keys; the engine behind
it is the collector's own (``/var/run/docker.sock``, which the ssh forward names), so the
test needs no second engine: what it proves is the transport — every request and attach
stream through one ssh connection — and that the tunnel and its socket are gone when the
collector exits.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from loopback_sshd import LoopbackSshd, sshd_path
from remote_dockerd import free_port
from support import require, require_docker

from trajkit.collect.sandbox.config import SandboxConfig
from trajkit.collect.sandbox.docker_sandbox import DockerSandbox
from trajkit.collect.sandbox.docker_ssh import REMOTE_SOCKET
from trajkit.core.errors import SandboxUnavailableError

TRAJKIT = [sys.executable, "-m", "trajkit.cli"]


@pytest.fixture
def sshd() -> Iterator[LoopbackSshd]:
    missing = [t for t in ("ssh", "ssh-keygen") if shutil.which(t) is None]
    if sshd_path() is None:
        missing.append("sshd")
    require(not missing, f"DOCKER_HOST=ssh:// tests need {', '.join(missing)} (openssh-server)")
    require(os.geteuid() == 0, "the loopback sshd logs in as root to reach the engine's socket")
    require_docker()
    require(os.path.exists(REMOTE_SOCKET), f"the ssh forward names {REMOTE_SOCKET}")
    server = LoopbackSshd()
    try:
        server.start()
        yield server
    finally:
        server.stop()


def _run(sshd: LoopbackSshd, host: str, out: Path, tmp: str) -> subprocess.CompletedProcess[str]:
    from trajkit.sources.math import DEMO_REPLAY

    env = {k: v for k, v in os.environ.items() if not k.startswith("DOCKER_")}
    env.update(PATH=f"{sshd.bin}:{env['PATH']}", DOCKER_HOST=host, TMPDIR=tmp)
    return subprocess.run(
        [*TRAJKIT, "collect", "math", "--teacher", f"replay:{DEMO_REPLAY}", "--out", str(out),
         "--run", "ssh", "--sandbox", "docker", "--no-cache", "--limit", "1"],
        env=env, capture_output=True, text=True, timeout=180,
    )


def _processes_naming(text: str) -> list[str]:
    found = []
    for proc in Path("/proc").iterdir():
        try:
            cmdline = (proc / "cmdline").read_bytes().replace(b"\0", b" ").decode()
        except OSError:
            continue
        if text in cmdline:
            found.append(cmdline)
    return found


def test_collect_through_an_ssh_forwarded_engine(sshd: LoopbackSshd, tmp_path: Path) -> None:
    tmp = tempfile.mkdtemp(prefix="tk-ssh-t")  # short: the forwarded socket's path lives here
    try:
        proc = _run(sshd, f"ssh://root@127.0.0.1:{sshd.port}", tmp_path, tmp)
        assert proc.returncode == 0, proc.stderr[-2000:]
        rows = (tmp_path / "runs" / "ssh" / "trajectories.jsonl").read_text().splitlines()
        assert len(rows) == 1 and json.loads(rows[0])["steps"], rows
        assert "Accepted publickey" in (sshd.dir / "sshd.log").read_text()
        assert os.listdir(tmp) == [] and _processes_naming(tmp) == []  # tunnel closed at exit
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


async def test_unreachable_ssh_engine_is_named_with_ssh_s_reason(monkeypatch) -> None:
    require(shutil.which("ssh") is not None, "DOCKER_HOST=ssh:// needs the OpenSSH client")
    host = f"ssh://root@127.0.0.1:{free_port()}"  # nothing listens there
    for var in ("DOCKER_HOST", "DOCKER_TLS_VERIFY", "DOCKER_CERT_PATH"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("DOCKER_HOST", host)
    tmp = tempfile.mkdtemp(prefix="tk-ssh-t")
    monkeypatch.setattr(tempfile, "tempdir", tmp)
    try:
        with pytest.raises(SandboxUnavailableError) as caught:
            await DockerSandbox(SandboxConfig(label="ssh-nobody")).start()
        message = str(caught.value)
        assert message.startswith(f"docker engine unreachable at DOCKER_HOST={host} (ssh: ")
        assert "Connection refused" in message and "\n" not in message
        assert os.listdir(tmp) == [] and _processes_naming(tmp) == []
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
