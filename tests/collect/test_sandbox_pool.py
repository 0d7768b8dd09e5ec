"""Sandboxes the fork server starts ahead: each handed out once, fresh, replaced when killed,
and none left behind when the host goes (real fork server, real jailed processes)."""

from __future__ import annotations

import asyncio
import os
import signal
import time

import pytest

from trajkit.collect.sandbox import local
from trajkit.collect.sandbox.config import SandboxConfig
from trajkit.collect.sandbox.forkserver_client import ForkServer
from trajkit.collect.sandbox.local import LocalSandbox
from trajkit.collect.sandbox.python_env import sandbox_python

FRESH_STATE = (
    "import os, sys\n"
    "print(sorted(os.listdir('/sandbox')), sorted(os.listdir('/tmp')), "
    "sorted(os.listdir('/dev/shm')), 'secret' in globals(), sorted(os.environ) == $env)"
)
DIRTY = (
    "secret = 42\n"
    "for d in ('/sandbox', '/tmp', '/dev/shm'):\n"
    "    open(d + '/left-behind', 'w').write('x')"
)


def processes(pid: int) -> set[int]:
    """Every child of ``pid``: a fork server's are its sandboxes and its spawners."""
    try:
        with open(f"/proc/{pid}/task/{pid}/children") as fh:
            return {int(p) for p in fh.read().split()}
    except FileNotFoundError:
        return set()


def children(pid: int) -> set[int]:
    """The sandboxes among a fork server's children: those in a PID namespace of their own
    (its spawners, which only clone them, share the server's)."""
    out = set()
    for child in processes(pid):
        try:
            if os.readlink(f"/proc/{child}/ns/pid") != os.readlink(f"/proc/{pid}/ns/pid"):
                out.add(child)
        except FileNotFoundError:
            pass
    return out


def spawners(pid: int) -> set[int]:
    return processes(pid) - children(pid)


async def wait_for(predicate, what: str, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            pytest.fail(f"timed out waiting for {what}")
        await asyncio.sleep(0.02)


def started_at(pid: int) -> str | None:
    """The process's start time (it tells a reused pid apart), or None if there is none."""
    try:
        with open(f"/proc/{pid}/stat") as fh:
            return fh.read().rsplit(")", 1)[1].split()[19]
    except (FileNotFoundError, ProcessLookupError):
        return None


async def sandbox(depth: int) -> LocalSandbox:
    box = LocalSandbox()
    box.pool_depth = depth
    await box.start()
    return box


async def test_a_sandbox_started_ahead_is_handed_out_once_and_fresh(server: ForkServer) -> None:
    first = await sandbox(2)
    assert not first._proc.pooled  # nothing was kept ahead before the first request
    assert server._proc is not None
    pid = server._proc.pid
    await wait_for(lambda: len(children(pid)) == 3, "two sandboxes started ahead")
    env = sorted(local.sandbox_env(first.config.output_limit, sandbox_python().bin_dir(True)))
    env.remove("TRAJKIT_OUTPUT_LIMIT")  # the worker takes it out of its environment
    await first.run(DIRTY, timeout=10)
    boxes = [first]
    try:
        boxes += await asyncio.gather(*(sandbox(2) for _ in range(4)))
        pids = [box._proc.pid for box in boxes]
        assert len(set(pids)) == len(pids), pids  # never the same sandbox twice
        assert sum(box._proc.pooled for box in boxes) >= 2
        for box in boxes[1:]:
            result = await box.run(FRESH_STATE.replace("$env", repr(env)), timeout=10)
            assert result.output == "[] [] [] False True\n", (box._proc.pooled, result.output)
    finally:
        await asyncio.gather(*(box.close() for box in boxes))


async def test_a_killed_sandbox_kept_ahead_is_replaced(server: ForkServer) -> None:
    first = await sandbox(2)
    await first.close()
    assert server._proc is not None
    pid = server._proc.pid
    await wait_for(lambda: len(children(pid)) == 2, "two sandboxes started ahead")
    killed = children(pid).pop()
    os.killpg(killed, signal.SIGKILL)
    await wait_for(lambda: killed not in children(pid), "the killed one reaped")
    await wait_for(lambda: len(children(pid)) == 2, "a replacement started ahead")
    box = await sandbox(2)
    try:
        assert box._proc.pooled and box._proc.pid != killed
        assert (await box.run("1 + 1", timeout=10)).output == "2\n"
    finally:
        await box.close()


async def test_a_kept_sandbox_that_stopped_answering_is_replaced_by_a_fresh_start(
    server: ForkServer,
) -> None:
    """Its worker stopped (so the server still sees it alive; one that died is its sandbox's
    PID 1, reaped and so noticed): the handshake fails and ``start()`` starts a fresh sandbox
    instead of failing."""
    await (await sandbox(2)).close()
    assert server._proc is not None
    pid = server._proc.pid
    await wait_for(lambda: len(children(pid)) == 2, "two sandboxes started ahead")
    kept = children(pid)
    for worker in kept:
        os.kill(worker, signal.SIGSTOP)
    box = LocalSandbox(SandboxConfig(start_timeout_s=1.0))
    box.pool_depth = 2
    await box.start()
    try:
        assert not box._proc.pooled and box._proc.pid not in kept
        assert (await box.run("1 + 1", timeout=10)).output == "2\n"
    finally:
        await box.close()
        for worker in kept:
            try:
                os.killpg(worker, signal.SIGKILL)
            except ProcessLookupError:
                pass


async def test_pool_zero_drops_the_sandboxes_kept_ahead(server: ForkServer) -> None:
    await (await sandbox(2)).close()
    assert server._proc is not None
    pid = server._proc.pid
    await wait_for(lambda: len(children(pid)) == 2, "two sandboxes started ahead")
    kept = children(pid)
    box = await sandbox(0)
    try:
        assert not box._proc.pooled
        await wait_for(lambda: children(pid) == {box._proc.pid}, "the kept ones killed")
    finally:
        await box.close()
    assert not kept & children(pid)


async def test_shutdown_kills_and_reaps_every_sandbox_it_started(server: ForkServer) -> None:
    """Handed out and kept ahead alike: no process (not even a zombie) outlives the server."""
    box = await sandbox(2)
    assert server._proc is not None
    pid = server._proc.pid
    await wait_for(lambda: len(children(pid)) == 3, "two sandboxes started ahead")
    workers = children(pid)
    made_by = spawners(pid)
    await box.run("import subprocess\nsubprocess.Popen(['sleep', '60'])", timeout=10)
    await wait_for(lambda: processes(box._proc.pid), "the cell's child started")
    everyone = {pid, *workers, *made_by, *processes(box._proc.pid)}
    # the server, its spawner, three workers (each its sandbox's PID 1), a sleep
    assert len(made_by) == 1 and len(everyone) == 6
    before = {p: started_at(p) for p in everyone}
    await asyncio.to_thread(server.shutdown)
    left = [p for p in everyone if started_at(p) is not None and started_at(p) == before[p]]
    assert left == [], left
    await box.close()  # the host side of a sandbox whose server is gone still closes cleanly


async def test_a_bound_directory_replaced_on_the_host_is_seen_by_the_next_sandbox(
    server: ForkServer, tmp_path
) -> None:
    """Roots are built once per set of binds; one whose source was replaced (a new directory
    at the same path) is rebuilt, so a sandbox never shows a directory the host dropped."""
    from trajkit.collect.sandbox.config import SandboxConfig

    bound = tmp_path / "data"
    bound.mkdir()
    (bound / "version").write_text("1")
    config = SandboxConfig(extra_binds=[str(bound)])
    read = f"print(open({str(bound / 'version')!r}).read())"
    async with LocalSandbox(config) as box:
        assert (await box.run(read, timeout=10)).output == "1\n"
    bound.rename(tmp_path / "old")
    bound.mkdir()
    (bound / "version").write_text("2")
    await asyncio.sleep(1.2)  # the fork server looks at the sources at most once a second
    async with LocalSandbox(config) as box:
        assert (await box.run(read, timeout=10)).output == "2\n"


async def test_what_every_sandbox_shares_is_read_only(server: ForkServer) -> None:
    """The root, /dev and the binds come from one template: none of it can be written, and
    what one sandbox writes where it may is not seen by the next."""
    code = (
        "import os\n"
        "for p in ('/x', '/dev/x', '/opt/x', '/usr/x', '/etc/x'):\n"
        "    try:\n"
        "        open(p, 'w')\n"
        "        print(p, 'WRITTEN')\n"
        "    except OSError as e:\n"
        "        print(p, e.errno)\n"
        "for d in ('/sandbox', '/tmp', '/dev/shm'):\n"
        "    print(sorted(os.listdir(d)))\n"
        "    open(d + '/mark', 'w').write('x')\n"
    )
    outputs = []
    for _ in range(2):
        async with LocalSandbox() as box:
            outputs.append((await box.run(code, timeout=10)).output)
    for output in outputs:
        assert "WRITTEN" not in output, output
        assert output.count("[]") == 3, output  # the previous sandbox's marks are not here
