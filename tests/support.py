"""Shared test helpers: skips that CI turns into failures.

A test needing a system facility (user namespaces, Docker, a browser) may skip on a laptop
that lacks it, printing why; with ``TRAJKIT_REQUIRE_ALL=1`` (set by ``.ci/run``) the same
condition fails instead, so CI always exercises it.
"""

from __future__ import annotations

import asyncio
import os
from concurrent.futures import ThreadPoolExecutor
from functools import cache

import pytest

#: A cell's way to the worker's protocol channel (``ch``): a cell can reach anything in its
#: process.
FIND_CHANNEL = (
    "import gc, json, os\n"
    "ch = next(o for o in gc.get_objects() if type(o).__name__ == 'Channel')\n"
)


def require(condition: bool, reason: str) -> None:
    """Skip (or, in CI, fail) the calling test unless ``condition`` holds."""
    if condition:
        return
    if os.environ.get("TRAJKIT_REQUIRE_ALL") == "1":
        pytest.fail(f"required facility missing (TRAJKIT_REQUIRE_ALL=1): {reason}")
    pytest.skip(reason)


@cache
def local_isolation_error() -> str | None:
    """None if the isolated local sandbox starts on this machine, else why not."""
    from trajkit.collect.sandbox.local import LocalSandbox
    from trajkit.core.errors import SandboxUnavailableError

    async def probe() -> str | None:
        sandbox = LocalSandbox()
        try:
            await sandbox.start()
        except SandboxUnavailableError as exc:
            return str(exc)
        finally:
            await sandbox.close()
        return None

    # Run on a private thread: callers may already be inside an event loop.
    with ThreadPoolExecutor(1) as pool:
        return pool.submit(lambda: asyncio.run(probe())).result()


def require_isolation() -> None:
    error = local_isolation_error()
    require(error is None, f"isolated local sandbox unavailable: {error}")


@cache
def docker_sandbox_error() -> str | None:
    """None if the docker engine answers and has the sandbox image, else why not."""
    from trajkit.collect.sandbox.docker_image import image_status

    return image_status()


def require_docker() -> None:
    error = docker_sandbox_error()
    require(error is None, f"docker sandbox unavailable: {error}")


def require_backend(name: str) -> None:
    """``require_isolation`` or ``require_docker`` by sandbox backend name."""
    if name == "docker":
        require_docker()
    else:
        require_isolation()


def _children(pid: int) -> list[int]:
    try:
        with open(f"/proc/{pid}/task/{pid}/children") as fh:
            return [int(p) for p in fh.read().split()]
    except FileNotFoundError:
        return []


async def kill_local_workers_busy_for(seconds: float) -> None:
    """SIGKILL, from the host (as a crash would), every local sandbox worker once a process
    under it has run ``seconds``; runs until cancelled. Code inside cannot do this itself:
    the worker is its sandbox's PID 1, and the kernel drops its signals from inside."""
    import signal
    import time

    from trajkit.collect.sandbox.local import fork_server

    server = fork_server()
    seen: dict[int, float] = {}
    while True:
        await asyncio.sleep(0.02)
        if server._proc is None:
            continue
        now = time.monotonic()
        for worker in _children(server._proc.pid):
            if any(now - seen.setdefault(p, now) > seconds for p in _children(worker)):
                try:
                    os.kill(worker, signal.SIGKILL)
                except ProcessLookupError:
                    pass


def forked_holders_cell(children: int, mb: int, wait_s: float) -> str:
    """A code action forking ``children`` processes that each hold ``mb`` MB (every page
    written), each within its own rlimits; after ``wait_s`` it prints how many still hold
    theirs (the kernel kills what does not fit the sandbox's memory) and kills them."""
    return f"""
import os, time
children = []
for _ in range({children}):
    pid = os.fork()
    if pid == 0:
        block = bytearray({mb} * 2**20)
        block[::4096] = b'x' * (len(block) // 4096)
        time.sleep(30)
        os._exit(0)
    children.append(pid)
time.sleep({wait_s})
alive = [pid for pid in children if os.waitpid(pid, os.WNOHANG) == (0, 0)]
for pid in children:
    try:
        os.kill(pid, 9)
        os.waitpid(pid, 0)
    except (ProcessLookupError, ChildProcessError):
        pass
print(len(alive))
"""


def spinners_cell(children: int, seconds: float) -> str:
    """A code action forking ``children`` processes that spin for ``seconds``; it prints the
    CPUs they used together (their CPU time over the wall time)."""
    return f"""
import os, resource, time
def cpu():
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime
before, start = cpu(), time.monotonic()
children = []
for _ in range({children}):
    pid = os.fork()
    if pid == 0:
        end = time.monotonic() + {seconds}
        while time.monotonic() < end:
            pass
        os._exit(0)
    children.append(pid)
for pid in children:
    os.waitpid(pid, 0)
print(round((cpu() - before) / (time.monotonic() - start), 2))
"""
