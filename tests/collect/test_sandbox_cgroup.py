"""A memory cgroup per local sandbox (``collect/sandbox/cgroup.py``): every process of a
sandbox shares ``memory_mb``, where ``RLIMIT_AS`` alone let each of them have it.

The real-cgroup tests need a cgroup v1 memory controller the collector may write (root on
CI); the attack itself is also in the security battery."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from support import forked_holders_cell, require, require_backend, require_isolation, spinners_cell
from typer.testing import CliRunner

from trajkit.cli.app import app
from trajkit.collect.sandbox.backend import sandbox_factory
from trajkit.collect.sandbox.cgroup import (
    PREFIX,
    Limits,
    SandboxCgroups,
    cgroup_scope,
    own_cgroup,
    remove_stale,
    sandbox_cgroups,
)
from trajkit.collect.sandbox.config import SandboxConfig
from trajkit.collect.sandbox.local import LocalSandbox
from trajkit.collect.sandbox.python_env import sandbox_python
from trajkit.core.errors import SandboxError

V1_MOUNTS = """\
31 23 0:28 / /sys/fs/cgroup rw,relatime - tmpfs tmpfs rw,mode=755
35 31 0:32 / /sys/fs/cgroup/memory rw,relatime - cgroup cgroup rw,memory
39 31 0:36 / /sys/fs/cgroup/pids rw,relatime - cgroup cgroup rw,pids
41 31 0:38 / /sys/fs/cgroup/unified rw,relatime - cgroup2 cgroup2 rw
"""
V1_CGROUPS = "8:pids:/a\n4:memory:/process_api/abc\n0::/\n"


@pytest.mark.parametrize(
    ("cgroups", "mounts", "expected"),
    [
        (V1_CGROUPS, V1_MOUNTS, "/sys/fs/cgroup/memory/process_api/abc"),
        # memory co-mounted with another controller, as some distributions do
        ("3:cpu,memory:/job\n", V1_MOUNTS.replace("rw,memory", "rw,cpu,memory"), "/sys/fs/cgroup/memory/job"),
        # a container that sees only its own part of the hierarchy, mounted at its root
        ("4:memory:/docker/c1/inner\n", "35 31 0:32 /docker/c1 /sys/fs/cgroup/memory rw - cgroup cgroup rw,memory\n",
         "/sys/fs/cgroup/memory/inner"),
        ("4:memory:/docker/c1\n", "35 31 0:32 /docker/c1 /sys/fs/cgroup/memory rw - cgroup cgroup rw,memory\n",
         "/sys/fs/cgroup/memory"),
        # the process lives outside the part that is mounted: nothing to write
        ("4:memory:/other\n", "35 31 0:32 /docker/c1 /sys/fs/cgroup/memory rw - cgroup cgroup rw,memory\n", None),
        # a mount point with a space, octal-escaped by the kernel
        ("4:memory:/\n", "35 31 0:32 / /cg\\040v1/memory rw - cgroup cgroup rw,memory\n", "/cg v1/memory"),
        # cgroup v2 only, or no memory controller mounted
        ("0::/user.slice/app.scope\n", "41 31 0:38 / /sys/fs/cgroup rw - cgroup2 cgroup2 rw\n", None),
        (V1_CGROUPS, V1_MOUNTS.replace("rw,memory", "rw,blkio"), None),
    ],
)
def test_the_collectors_own_memory_cgroup_is_found(cgroups: str, mounts: str, expected: str | None) -> None:
    found = own_cgroup("memory", cgroups, mounts)
    assert (None if found is None else str(found)) == expected


def _cgroups() -> SandboxCgroups:
    require_isolation()
    cgroups = sandbox_cgroups()
    require(cgroups is not None, f"a cgroup per local sandbox: {cgroup_scope().detail}")
    assert cgroups is not None
    return cgroups




async def test_a_sandboxs_processes_share_its_memory_limit() -> None:
    """Six processes of 150 MB, each under a 512 MB ``RLIMIT_AS``: without a cgroup all six
    hold 900 MB together; in one they hold at most 512 MB. The sandbox goes on, and its
    cgroup is gone once it is closed."""
    _cgroups()
    box = LocalSandbox(SandboxConfig(memory_mb=512, kill_grace_s=1.0))
    async with box:
        assert (await box.run("pass", timeout=10)).error is None
        cgroup = box._cgroup  # moved in beside the handshake, waited for before a cell
        assert cgroup is not None and all(d.is_dir() for d in cgroup.dirs)
        assert int((cgroup.memory / "memory.limit_in_bytes").read_text()) == 512 * 2**20
        for directory in cgroup.dirs:
            assert [int(p) for p in (directory / "cgroup.procs").read_text().split()] == [box._proc.pid]
        held = await box.run(forked_holders_cell(6, 150, 3), timeout=30)
        assert held.error is None and int(held.output) * 150 < 512, held.output
        after = await box.run("print(6 * 7)", timeout=10)
        assert after.output == "42\n"
    assert box._cgroup is None and not any(d.exists() for d in cgroup.dirs)


async def test_a_restarted_worker_gets_a_fresh_cgroup() -> None:
    """A worker that dies is replaced; the new one is bounded too, and the old cgroup goes."""
    _cgroups()
    async with LocalSandbox(SandboxConfig(kill_grace_s=1.0)) as box:
        await box.run("pass", timeout=10)
        first = box._cgroup
        died = await box.run("import os\nos._exit(3)", timeout=10)
        assert died.restarted
        await box.run("pass", timeout=10)
        assert box._cgroup is not None and box._cgroup != first
        assert first is not None and not first.memory.exists()
        assert (box._cgroup.memory / "cgroup.procs").read_text().split() == [str(box._proc.pid)]


def test_a_gone_process_leaves_no_cgroup_behind() -> None:
    cgroups = _cgroups()
    proc = subprocess.Popen(["true"])
    proc.wait()
    listing = lambda: {p for d in cgroups._directories().values() for p in d.iterdir()}  # noqa: E731
    before = listing()
    with pytest.raises(ProcessLookupError):
        cgroups.attach(proc.pid, Limits(64 * 2**20, 100_000))
    assert listing() == before


def test_cgroups_of_collectors_that_died_are_removed(tmp_path: Path) -> None:
    """A collector killed with SIGKILL cannot remove its directory; the next one does, and
    leaves a live collector's alone."""
    cgroups = _cgroups()
    proc = subprocess.Popen(["true"])
    proc.wait()
    parent = cgroups.parents["memory"]
    dead = parent / f"{PREFIX}{proc.pid}"
    (dead / "sandbox-0").mkdir(parents=True)
    live = parent / f"{PREFIX}1"  # pid 1 is always alive
    live.mkdir(exist_ok=True)
    try:
        assert remove_stale(parent) >= 1
        assert not dead.exists() and live.exists()
    finally:
        for path in (dead / "sandbox-0", dead, live):
            if path.exists():
                path.rmdir()


def test_sandbox_env_says_what_bounds_a_sandbox() -> None:
    python = sandbox_python(None).executable
    scope = cgroup_scope()
    text = CliRunner().invoke(app, ["sandbox", "env", "--show", python])
    assert text.exit_code == 0, text.output
    memory = "the whole sandbox" if scope.memory else "each process (RLIMIT_AS"
    cpus = "the whole sandbox" if scope.cpu else "docker sandboxes only"
    assert f"memory_mb bounds {memory}" in text.output and f"cpus bounds {cpus}" in text.output
    assert f"cgroups: {scope.detail}" in text.output
    data = json.loads(CliRunner().invoke(app, ["sandbox", "env", "--show", python, "--json"]).output)
    assert data["cgroup"] == {"memory": scope.memory, "cpu": scope.cpu, "detail": scope.detail}
    assert data["per_sandbox_limits"] == ["memory"] * scope.memory + ["cpus"] * scope.cpu
    assert os.path.samefile(data["path"], python)


EXITING_COLLECTOR = """
import asyncio, os
from trajkit.collect.sandbox.backend import sandbox_factory
from trajkit.collect.sandbox.config import SandboxConfig
from trajkit.collect.sandbox.local import LocalSandbox

async def main():
    names = []
    for _ in range(3):
        async with LocalSandbox(SandboxConfig(kill_grace_s=1.0)) as box:
            await box.run("pass", timeout=10)
            names.append(box._cgroup.memory.name)
    print(os.getpid(), *names)

asyncio.run(main())
"""


def test_a_collectors_cgroups_are_all_removed_at_exit() -> None:
    """Used ones, and the one made ahead for a next sandbox that never came."""
    cgroups = _cgroups()
    out = subprocess.run(
        [sys.executable, "-c", EXITING_COLLECTOR], capture_output=True, text=True, timeout=120, check=True
    ).stdout.split()
    pid, names = out[0], out[1:]
    assert len(set(names)) == 3  # a fresh cgroup for each sandbox, never a used one
    assert not any((parent / f"{PREFIX}{pid}").exists() for parent in cgroups.parents.values())


async def test_the_next_sandboxs_cgroup_is_made_when_one_closes() -> None:
    cgroups = _cgroups()
    config = SandboxConfig(memory_mb=300, kill_grace_s=1.0)
    async with LocalSandbox(config) as box:
        await box.run("pass", timeout=10)
        used = box._cgroup
    spare = cgroups._spares[Limits(300 * 2**20, 100_000)][-1]
    assert spare != used and int((spare.memory / "memory.limit_in_bytes").read_text()) == 300 * 2**20
    async with LocalSandbox(config) as box:
        await box.run("pass", timeout=10)
        assert box._cgroup == spare


async def test_a_sandbox_closed_before_its_first_cell_leaves_no_cgroup() -> None:
    """Closed while the move into its cgroup may still be under way (judges start a
    sandbox and may stop before a cell): the cgroup is removed all the same."""
    cgroups = _cgroups()
    listing = lambda: {p for d in cgroups._directories().values() for p in d.iterdir()}  # noqa: E731
    before = listing()
    for _ in range(3):
        async with LocalSandbox(SandboxConfig(memory_mb=320, kill_grace_s=1.0)):
            pass
    spares = {d for spare in cgroups._spares.get(Limits(320 * 2**20, 100_000), ()) for d in spare.dirs}
    assert listing() - spares == before - spares


FILLS_MEMORY_WITH_FILES_AND_AN_ARRAY = r"""
for i in range(4):
    with open(f'/sandbox/big{i}', 'wb') as f:
        for _ in range(50):
            f.write(b'x' * 2**20)
block = bytearray(120 * 2**20)
block[::4096] = b'y' * (len(block) // 4096)
print('held')
"""


@pytest.mark.parametrize("backend", ["local", "docker"])
async def test_a_worker_killed_for_memory_says_so(backend: str) -> None:
    """200 MB of files and a 120 MB array under a 256 MB limit: the kernel kills the worker.
    The teacher reads why ("out of memory", the limit, the files counting), not only
    "exit code -9", and can act on it; a worker that exits for another reason does not get
    the note even after a child of its was killed for memory."""
    if backend == "local":
        _cgroups()
    else:
        require_backend("docker")
    config = SandboxConfig(memory_mb=256, kill_grace_s=1.0, label="cgroup-tests")
    async with sandbox_factory(backend, config)([]) as box:
        died = await box.run(FILLS_MEMORY_WITH_FILES_AND_AN_ARRAY, timeout=30)
        assert died.restarted and died.error is not None
        assert "out of memory, the sandbox's 256 MB (memory_mb) were used up" in died.error.message
        child_killed = await box.run(
            "import os\nfor i in range(2):\n    open(f'/sandbox/f{i}', 'wb').write(b'x' * 60 * 2**20)\n"
            "pid = os.fork()\nif pid == 0:\n    b = bytearray(150 * 2**20)\n"
            "    b[::4096] = b'z' * (len(b) // 4096)\n    os._exit(0)\n"
            "print(os.waitpid(pid, 0)[1])",
            timeout=30,
        )
        assert child_killed.error is None and child_killed.output.strip() == "9"  # SIGKILL
        exited = await box.run("import os\nos._exit(3)", timeout=10)
        assert exited.restarted and exited.error is not None
        assert "out of memory" not in exited.error.message


async def test_cgroups_removed_under_a_collector_are_made_again() -> None:
    """Another collector sharing the cgroup parent from another PID namespace sees our PID as
    dead and removes what is empty: our spares, even our directory. The next sandbox is
    bounded all the same, not an episode error."""
    cgroups = _cgroups()
    config = SandboxConfig(memory_mb=330, kill_grace_s=1.0)
    for removed in ("spare", "directory"):
        async with LocalSandbox(config) as box:
            await box.run("pass", timeout=10)
        for spare in cgroups._spares[Limits(330 * 2**20, 100_000)]:
            for directory in spare.dirs:
                directory.rmdir()
        if removed == "directory":  # with what earlier tests left in it (other limits' spares)
            for base in cgroups._directories().values():
                for child in base.iterdir():
                    if child.is_dir():
                        child.rmdir()
                base.rmdir()
        async with LocalSandbox(config) as box:
            assert (await box.run("print(1)", timeout=10)).output == "1\n"
            assert box._cgroup is not None and all(d.is_dir() for d in box._cgroup.dirs)




async def test_a_sandboxs_processes_share_its_cpus() -> None:
    """Three spinning processes get ``cpus`` (half a CPU here) between them, not a core
    each; the limit is the cgroup's CFS quota."""
    cgroups = _cgroups()
    require("cpu" in cgroups.parents, f"a CPU cgroup per local sandbox: {cgroup_scope().detail}")
    async with LocalSandbox(SandboxConfig(cpus=0.5, kill_grace_s=1.0)) as box:
        used = await box.run(spinners_cell(3, 1.5), timeout=30)
        assert used.error is None and float(used.output) <= 0.5 * 1.25, used.output
        assert box._cgroup is not None
        assert int((box._cgroup.dirs[1] / "cpu.cfs_quota_us").read_text()) == 50_000


async def test_a_worker_that_cannot_be_bounded_never_runs_a_cell(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Where the cgroups were found but a move fails (here: a "hierarchy" that is a plain
    directory, so no limit file exists), the cell is refused with a one-line sandbox error
    and the worker killed: never run unbounded where a bound was expected."""
    require_isolation()
    from trajkit.collect.sandbox import local

    broken = SandboxCgroups({"memory": tmp_path})
    monkeypatch.setattr(local, "sandbox_cgroups", lambda: broken)
    box = LocalSandbox(SandboxConfig(kill_grace_s=1.0))
    await box.start()
    pid = box._proc.pid
    with pytest.raises(SandboxError, match=r"cannot put the sandbox in its cgroup .*memory.limit_in_bytes"):
        await box.run("print('ran')", timeout=10)
    assert box._proc is None and not Path(f"/proc/{pid}").exists()
    await box.close()
