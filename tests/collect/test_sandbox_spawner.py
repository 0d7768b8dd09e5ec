"""Sandbox spawners (``collect/sandbox/spawner.py``): one per configuration, forked once by the
fork server; every sandbox is its clone but the server's child. A spawner killed is replaced
at the next start, too many configurations stop the least recently used spawner, and a
spawner holds nothing of the server's but its control socket (real fork server, real jails)."""

from __future__ import annotations

import asyncio
import itertools
import os
import signal

from test_sandbox_pool import processes

from trajkit.collect.sandbox.config import SandboxConfig
from trajkit.collect.sandbox.forkserver_client import ForkServer
from trajkit.collect.sandbox.local import LocalSandbox

#: ``forkserver.MAX_SPAWNERS``: the module is a script loaded by path in its own process.
MAX_SPAWNERS = 8


def pid_ns(pid: int) -> str:
    return os.readlink(f"/proc/{pid}/ns/pid")


def spawners(server: int) -> set[int]:
    """The server's children in its own PID namespace (sandboxes each have one of their own)."""
    return {p for p in processes(server) if pid_ns(p) == pid_ns(server)}


def parent(pid: int) -> int:
    with open(f"/proc/{pid}/stat") as fh:
        return int(fh.read().rsplit(")", 1)[1].split()[1])


async def started(config: SandboxConfig | None = None) -> LocalSandbox:
    box = LocalSandbox(config)
    box.pool_depth = 0
    await box.start()
    return box


async def test_a_sandbox_is_the_servers_child_and_its_spawner_holds_only_its_socket(
    server: ForkServer,
) -> None:
    box = await started()
    try:
        assert server._proc is not None
        pid = server._proc.pid
        made_by = spawners(pid)
        assert len(made_by) == 1
        spawner = made_by.pop()
        assert parent(box._proc.pid) == pid  # CLONE_PARENT: the server reaps it
        assert pid_ns(box._proc.pid) != pid_ns(pid)
        fds = sorted(int(fd) for fd in os.listdir(f"/proc/{spawner}/fd"))
        extra = [os.readlink(f"/proc/{spawner}/fd/{fd}") for fd in fds if fd > 2]
        assert len(extra) == 1 and extra[0].startswith("socket:"), extra
        # The sandbox's environment is the configuration's, set once in the spawner.
        out = (await box.run("import os\nsorted(os.environ)", timeout=10)).output
        assert "TRAJKIT_OUTPUT_LIMIT" not in out and "'PATH'" in out
    finally:
        await box.close()


async def test_a_killed_spawner_is_replaced_at_the_next_start(server: ForkServer) -> None:
    await (await started()).close()
    assert server._proc is not None
    pid = server._proc.pid
    (spawner,) = spawners(pid)
    os.kill(spawner, signal.SIGKILL)
    for _ in range(3):
        box = await started()
        try:
            assert (await box.run("1 + 1", timeout=10)).output == "2\n"
        finally:
            await box.close()
    again = spawners(pid)
    assert len(again) == 1 and spawner not in again


async def test_spawners_are_bounded_and_the_least_recently_used_stops(server: ForkServer) -> None:
    """One configuration per output limit: ten of them leave at most ``MAX_SPAWNERS``
    spawners, and each configuration's sandboxes still start and answer."""
    cut = []
    for i in range(MAX_SPAWNERS + 2):
        box = await started(SandboxConfig(output_limit=4000 + 10 * i))
        try:
            cut.append((await box.run("print('x' * 5000)", timeout=10)).truncated_chars)
        finally:
            await box.close()
    # Each sandbox kept its own configuration's output limit (its spawner's).
    assert all(a - b == 10 for a, b in itertools.pairwise(cut)), cut
    assert server._proc is not None
    pid = server._proc.pid
    for _ in range(100):  # a stopped spawner exits on its own, then is reaped
        if len(spawners(pid)) <= MAX_SPAWNERS:
            break
        await asyncio.sleep(0.02)
    assert len(spawners(pid)) == MAX_SPAWNERS


async def test_a_spawner_that_cannot_start_is_one_line_not_a_namespace_error(
    server: ForkServer,
) -> None:
    """A spawner that dies setting up (here: an output limit that is not a number, which
    ``LocalSandbox`` never sends) fails the start with the jail's exit code and one line
    saying so; the kernel's namespaces are not blamed."""
    from trajkit.collect.sandbox.environment import sandbox_env
    from trajkit.collect.sandbox.python_env import sandbox_python

    python = sandbox_python()
    box = LocalSandbox()
    env = sandbox_env(box.config.output_limit, python.bin_dir(True))
    config = box._jail_config({**env, "TRAJKIT_OUTPUT_LIMIT": "many"}, python)
    proc = await server.spawn(config)
    assert await proc.wait() == 97  # jail.JAIL_UNAVAILABLE
    line = (await proc.stderr.read()).decode().strip()
    assert line == "cannot start a sandbox spawner: the spawner exited", line
    box = await started()  # other configurations are unaffected
    try:
        assert (await box.run("1 + 1", timeout=10)).output == "2\n"
    finally:
        await box.close()


async def test_a_fresh_sandbox_has_not_loaded_threading_and_a_cell_can(server: ForkServer) -> None:
    """The worker never imports ``threading``: its at-fork hook would run Python in every
    clone. A cell that imports it gets a working module whose main thread is the cell's."""
    box = await started()
    try:
        out = (await box.run("import sys\n'threading' in sys.modules", timeout=10)).output
        assert out == "False\n", out
        code = (
            "import threading\n"
            "seen = []\n"
            "t = threading.Thread(target=lambda: seen.append(threading.get_ident()))\n"
            "t.start(); t.join(5)\n"
            "(threading.main_thread() is threading.current_thread(), len(seen), "
            "seen[0] != threading.get_ident())"
        )
        assert (await box.run(code, timeout=10)).output == "(True, 1, True)\n"
    finally:
        await box.close()


async def test_sandboxes_cloned_from_one_spawner_share_none_of_each_others_state(
    server: ForkServer,
) -> None:
    """Every sandbox of a configuration is a clone of one spawner, which set up its worker
    once: what one sandbox does (tools, variables, streams) stays in that sandbox."""
    from trajkit.core.tools import Tool

    tool = Tool(name="secret_tool", fn=lambda: "x", signature="secret_tool()", doc="d")
    first = LocalSandbox(None, [tool])
    first.pool_depth = 0
    await first.start()
    try:
        await first.run("x = 41\nimport sys\nsys.stdout.marked = True", timeout=10)
        second = await started()
        try:
            out = (
                await second.run(
                    "import sys\n"
                    "print('x' in globals(), 'secret_tool' in globals(),"
                    " hasattr(sys.stdout, 'marked'))",
                    timeout=10,
                )
            ).output
            assert out == "False False False\n", out
            assert (await first.run("x + 1", timeout=10)).output == "42\n"
        finally:
            await second.close()
    finally:
        await first.close()
