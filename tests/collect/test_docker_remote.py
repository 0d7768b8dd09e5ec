"""``--sandbox docker`` on a remote engine: a second ``dockerd`` reached over loopback TCP.

The second engine (``remote_dockerd``) has its own data root, exec root, pid file, socket and
containerd namespace and speaks TLS with client certificates; the sandbox image is copied
into it with ``docker save | docker -H tcp://… load`` once per session. The collector gives
it nothing but API calls: no bind mount of the collector's files, the worker is the image's
own, and every container's stream is an attach connection over that TCP port.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from loopback_teacher import ScriptedPolicy
from remote_dockerd import RemoteDockerd, TcpRelay, free_port
from support import require, require_docker

from trajkit.collect.sandbox.config import SandboxConfig
from trajkit.collect.sandbox.docker_engine import LABEL_RUN, WORKER, connect
from trajkit.collect.sandbox.docker_image import DEFAULT_TAG
from trajkit.collect.sandbox.docker_sandbox import DockerSandbox
from trajkit.core.errors import SandboxUnavailableError
from trajkit.core.tools import Tool

TRAJKIT = [sys.executable, "-m", "trajkit.cli"]
DOCKER_VARS = ("DOCKER_HOST", "DOCKER_TLS_VERIFY", "DOCKER_CERT_PATH", "DOCKER_CONTEXT")

PROBLEMS = {
    "ERRFIX": ("Compute $7/10$ as a fraction. [ERRFIX]", "\\frac{7}{10}"),
    "HUGE": ("What is $1+2$? [HUGE]", "3"),
}
SCRIPTS = {
    "[ERRFIX]": [
        "<execute>print(ratio)</execute>",
        "<execute>from fractions import Fraction\nratio = Fraction(7, 10)\nratio</execute>",
        "The answer is <solution>0.7</solution>",
    ],
    "[HUGE]": ["<execute>print('x' * 5_000_000)</execute>", "<solution>3</solution>"],
}


@pytest.fixture(scope="session")
def remote_engine() -> Iterator[RemoteDockerd]:
    """A second dockerd on a loopback TCP port (TLS), holding a copy of the sandbox image."""
    missing = [tool for tool in ("dockerd", "docker", "openssl") if shutil.which(tool) is None]
    require(not missing, f"a second docker engine needs {', '.join(missing)} installed")
    require(os.geteuid() == 0, "a second docker engine needs root")
    require_docker()  # the image to copy over, and the collector's own engine to compare with
    engine = RemoteDockerd()
    try:
        engine.start()
        engine.load(DEFAULT_TAG)
        yield engine
    finally:
        engine.stop()


def _clean_env(extra: dict[str, str]) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in DOCKER_VARS}
    return {**env, **extra}


def _math_file(tmp_path: Path) -> Path:
    path = tmp_path / "math.jsonl"
    with path.open("w") as fh:
        for i, (problem, answer) in enumerate(PROBLEMS.values()):
            fh.write(json.dumps({
                "problem": problem, "solution": f"So $\\boxed{{{answer}}}$", "level": "Level 1",
                "type": "Prealgebra", "unique_id": f"test/remote/{i}.json",
            }) + "\n")
    return path


def _created(docker: list[str], run: str, since: float, env: dict[str, str]) -> int:
    """How many containers of ``run`` the engine created since ``since`` (its event log)."""
    proc = subprocess.run(
        [*docker, "events", "--since", f"{since:.0f}", "--until", f"{time.time() + 1:.0f}",
         "--filter", "type=container", "--filter", "event=create",
         "--filter", f"label={LABEL_RUN}={run}", "--format", "{{.ID}}"],
        env=env, capture_output=True, text=True, timeout=60,
    )
    assert proc.returncode == 0, proc.stderr
    return len(proc.stdout.split())


def test_collect_runs_on_a_remote_tls_engine(remote_engine, loopback, tmp_path) -> None:
    loopback.set_policy(ScriptedPolicy(SCRIPTS))
    env = _clean_env({**loopback.env(), **remote_engine.env})
    since = time.time() - 1
    proc = subprocess.run(
        [*TRAJKIT, "collect", "math", "--teacher", "openai:m", "--data", str(_math_file(tmp_path)),
         "--out", str(tmp_path / "out"), "--run", "remote", "--sandbox", "docker",
         "--exec-timeout", "60", "--concurrency", "2", "--no-cache"],
        env=env, capture_output=True, text=True, timeout=300,
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    run_dir = tmp_path / "out" / "runs" / "remote"
    rows = [json.loads(line) for line in (run_dir / "trajectories.jsonl").read_text().splitlines()]
    records = {re.search(r"\[([A-Z]+)\]", r["task"]["prompt"]).group(1): r for r in rows}
    assert set(records) == set(PROBLEMS)
    errfix = records["ERRFIX"]
    assert errfix["success"] and errfix["self_corrected"]
    assert errfix["steps"][0]["observation"]["error"]["type"] == "NameError"
    assert errfix["steps"][1]["observation"]["text"].strip().endswith("Fraction(7, 10)")
    huge = records["HUGE"]["steps"][0]["observation"]  # 5 MB through the TLS stream, capped
    assert huge["truncated_chars"] >= 4_990_000 and records["HUGE"]["success"]
    manifest = json.loads((run_dir / "run.json").read_text())
    assert manifest["status"] == "completed"
    image = json.loads(remote_engine.docker("image", "inspect", DEFAULT_TAG,
                                            capture_output=True, check=True).stdout)[0]
    assert [e["image_id"] for e in manifest["sandbox_environments"]] == [image["Id"]]
    # Every container was made, and removed, on the remote engine; none on the local one.
    assert _created(["docker"], "remote", since, env) >= len(PROBLEMS)
    assert _created(["docker"], "remote", since, _clean_env({})) == 0
    left = remote_engine.docker("ps", "-aq", "--filter", f"label={LABEL_RUN}=remote",
                                capture_output=True, text=True, check=True).stdout
    assert left == ""


def _echo_tool() -> Tool:
    def lookup(key: str) -> str:
        """Answered on the host."""
        return f"host says {key}"

    return Tool.from_function(lookup)


@pytest.mark.parametrize("transport", ["tls", "plain"])
async def test_remote_container_mounts_nothing_and_calls_host_tools(
    remote_engine, transport, monkeypatch
) -> None:
    relay = TcpRelay(remote_engine.socket) if transport == "plain" else None
    for var in DOCKER_VARS:
        monkeypatch.delenv(var, raising=False)
    for var, value in ({"DOCKER_HOST": relay.host} if relay else remote_engine.env).items():
        monkeypatch.setenv(var, value)
    try:
        config = SandboxConfig(label=f"remote-{transport}", kill_grace_s=1.0)
        async with DockerSandbox(config, [_echo_tool()]) as box:
            r = await box.run(
                "import hashlib\nprint(lookup('hi'))\n"
                "print(hashlib.sha256(open('/opt/trajkit/worker.py', 'rb').read()).hexdigest())",
                timeout=20,
            )
            assert r.error is None, r.error
            assert r.output.splitlines() == [
                "host says hi", hashlib.sha256(WORKER.read_bytes()).hexdigest()
            ]
            info = connect().api.inspect_container(box._proc.id)  # via DOCKER_HOST: the remote one
            assert info["Mounts"] == [] and not info["HostConfig"]["Binds"]
            hc = info["HostConfig"]
            assert hc["NetworkMode"] == "none" and hc["ReadonlyRootfs"] and hc["CapDrop"] == ["ALL"]
    finally:
        if relay is not None:
            relay.close()


async def test_image_missing_on_the_remote_engine_says_how_to_put_it_there(
    remote_engine, monkeypatch
) -> None:
    for var, value in remote_engine.env.items():
        monkeypatch.setenv(var, value)
    box = DockerSandbox(SandboxConfig(image="trajkit-sandbox:absent", label="remote-absent"))
    with pytest.raises(SandboxUnavailableError) as caught:
        await box.start()
    message = str(caught.value)
    assert f"DOCKER_HOST={remote_engine.host} trajkit sandbox build" in message
    assert f"docker save trajkit-sandbox:absent | docker -H {remote_engine.host} load" in message


async def test_unreachable_tcp_engine_is_named(monkeypatch) -> None:
    nobody = f"tcp://127.0.0.1:{free_port()}"
    for var in DOCKER_VARS:
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("DOCKER_HOST", nobody)
    with pytest.raises(SandboxUnavailableError, match=f"docker engine unreachable at DOCKER_HOST={nobody} "):
        await DockerSandbox(SandboxConfig(label="remote-nobody")).start()
