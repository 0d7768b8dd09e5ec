"""The docker sandbox against the real engine: protocol, lock-down, warm pool, errors.

Needs a reachable engine and the image (``trajkit sandbox build --from-rootfs``); without
them the tests skip with the reason (and fail in CI, where ``.ci/run`` provides both).
"""

from __future__ import annotations

import asyncio
import hashlib
import time

import pytest
from support import require_docker

from trajkit.collect.sandbox.config import SandboxConfig
from trajkit.collect.sandbox.docker_engine import LABEL_RUN, WORKER, Engine, connect, engine_for
from trajkit.collect.sandbox.docker_sandbox import DockerSandbox
from trajkit.core.errors import SandboxUnavailableError
from trajkit.core.tools import Tool
from trajkit.schemas import ErrorKind

CONFIG = SandboxConfig(pool=2, label="docker-tests", kill_grace_s=1.0)


@pytest.fixture(autouse=True)
def _docker() -> None:
    require_docker()


async def _until_warm(engine: Engine, n: int) -> None:
    """Wait for the pool's own thread to have ``n`` containers started (slow on a busy CI)."""
    for _ in range(600):
        if engine.warm() >= n:
            return
        await asyncio.sleep(0.1)
    pytest.fail(f"the warm pool did not reach {n} containers in 60 s")


def _echo_tool() -> Tool:
    def lookup(key: str, n: int = 1) -> str:
        """Answered on the host."""
        return f"host says {key * n}"

    return Tool.from_function(lookup)


async def test_cells_keep_state_and_tools_answer_on_the_host() -> None:
    async with DockerSandbox(CONFIG, [_echo_tool()]) as box:
        assert (await box.run("x = 20\nx + 1", timeout=10)).output == "21\n"
        r = await box.run("print(lookup('ab', n=2))\nx * 2", timeout=10)
        assert r.output == "host says abab\n40\n" and r.error is None
        r = await box.run("1/0", timeout=10)
        assert r.error is not None and r.error.type == "ZeroDivisionError"
        r = await box.run("import numpy, sympy, pandas, scipy\nprint(numpy.arange(3).sum())", timeout=30)
        assert r.output == "3\n", r.output


async def test_container_is_locked_down_and_runs_the_installed_worker() -> None:
    async with DockerSandbox(CONFIG) as box:
        info = connect().api.inspect_container(box._proc.id)
        hc = info["HostConfig"]
        assert hc["NetworkMode"] == "none" and hc["ReadonlyRootfs"] is True
        assert hc["CapDrop"] == ["ALL"] and "no-new-privileges" in hc["SecurityOpt"]
        assert hc["PidsLimit"] == CONFIG.max_processes
        assert hc["Memory"] == CONFIG.memory_mb * 2**20 and hc["NanoCpus"] == int(CONFIG.cpus * 1e9)
        assert info["Config"]["User"] == "65534:65534"
        assert info["Config"]["Labels"][LABEL_RUN] == "docker-tests"
        r = await box.run(
            "import os, hashlib\nprint(os.getuid(), os.getcwd())\n"
            "print([l for l in open('/proc/self/status') if l.startswith(('CapEff', 'NoNewPrivs'))])\n"
            "print(hashlib.sha256(open('/opt/trajkit/worker.py', 'rb').read()).hexdigest())",
            timeout=10,
        )
        uid_cwd, caps, digest = r.output.splitlines()
        assert uid_cwd == "65534 /sandbox"
        assert "CapEff:\\t0000000000000000" in caps and "NoNewPrivs:\\t1" in caps
        assert digest == hashlib.sha256(WORKER.read_bytes()).hexdigest()


async def test_warm_pool_hands_out_each_container_once() -> None:
    engine = await asyncio.to_thread(engine_for, CONFIG)
    await _until_warm(engine, 2)
    boxes = [DockerSandbox(CONFIG) for _ in range(3)]
    ids = []
    for box in boxes:
        t0 = time.perf_counter()
        await box.start()
        ids.append(box._proc.id)
        assert box.acquire_s <= time.perf_counter() - t0
    assert boxes[0].warm and boxes[1].warm and boxes[0].acquire_s < 1.0
    assert len(set(ids)) == 3
    await asyncio.gather(*(box.close() for box in boxes))
    running = {c["Id"] for c in connect().api.containers(all=True)}
    assert not running & set(ids), "a used container outlived its episode"


async def test_timeout_and_crash_replace_the_container() -> None:
    async with DockerSandbox(CONFIG) as box:
        await box.run("kept = 1", timeout=10)
        first = box._proc.id
        r = await box.run("import time\nwhile True:\n    time.sleep(0.01)", timeout=0.5)
        assert r.error is not None and r.error.kind is ErrorKind.TIMEOUT and not r.restarted
        assert (await box.run("kept", timeout=10)).output == "1\n"  # interrupted, state kept
        r = await box.run("import os\nos._exit(7)", timeout=10)
        assert r.restarted and r.error is not None and "exit code 7" in r.error.message
        assert box._proc.id != first and box.restarts == 1
        assert (await box.run("'kept' in dir()", timeout=10)).output == "False\n"


async def test_missing_image_names_the_fix() -> None:
    box = DockerSandbox(SandboxConfig(image="trajkit-sandbox:does-not-exist"))
    with pytest.raises(SandboxUnavailableError, match="trajkit sandbox build"):
        await box.start()


async def test_unreachable_engine_names_the_fix(monkeypatch: pytest.MonkeyPatch, tmp_path) -> None:
    monkeypatch.setenv("DOCKER_HOST", f"unix://{tmp_path}/no.sock")
    box = DockerSandbox(SandboxConfig(label="unreachable"))
    with pytest.raises(SandboxUnavailableError, match=r"docker engine unreachable.*DOCKER_HOST"):
        await box.start()


async def test_a_tool_can_end_the_episode_mid_cell() -> None:
    from trajkit.core.tools import EndEpisode

    def finish() -> str:
        """Ends the episode (an interactive environment was won)."""
        raise EndEpisode("you won!")

    async with DockerSandbox(CONFIG, [Tool.from_function(finish)]) as box:
        r = await box.run("print('before')\nfinish()\nprint('never')", timeout=10)
        assert r.ended and "before" in r.output and "you won!" in r.output
        assert "never" not in r.output


async def test_a_dead_warm_container_is_replaced_by_a_cold_start() -> None:
    config = SandboxConfig(pool=1, label="docker-tests-dead-spare")
    engine = await asyncio.to_thread(engine_for, config)
    await _until_warm(engine, 1)
    spare = engine._ready.queue[0]
    connect().api.kill(spare.id)  # e.g. the engine restarted while the spare waited
    async with DockerSandbox(config) as box:
        assert not box.warm and box._proc.id != spare.id
        assert (await box.run("6 * 7", timeout=10)).output == "42\n"
