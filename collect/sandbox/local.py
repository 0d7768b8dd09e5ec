"""The local sandbox: one isolated worker process per episode, spoken to over its stdin/stdout.

Failure handling is the point of the shared ``session.py``: a cell that ignores its
interrupt, a worker that dies (``os._exit``, segfault, OOM kill) or corrupts the protocol is
killed and replaced by a fresh worker, and the cell's result says the state was lost; the
episode goes on. This file starts and kills the local worker (jailed by ``jail.py``).
"""

from __future__ import annotations

import asyncio
import atexit
import functools
import os
import resource
import shutil
import signal
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any, NoReturn

from trajkit.collect.sandbox.backend import SandboxBackend
from trajkit.collect.sandbox.cgroup import (
    CPU_PERIOD_US,
    Limits,
    SandboxCgroup,
    SandboxCgroups,
    per_sandbox_limits,
    sandbox_cgroups,
)
from trajkit.collect.sandbox.config import SandboxConfig, tmpfs_files
from trajkit.collect.sandbox.environment import bind_paths, sandbox_env
from trajkit.collect.sandbox.forkserver_client import STREAM_LIMIT, fork_server
from trajkit.collect.sandbox.python_env import SandboxPython, cached_python, sandbox_python
from trajkit.collect.sandbox.session import ProtocolError, WorkerSession
from trajkit.core.errors import SandboxError, SandboxUnavailableError
from trajkit.core.sandbox import SandboxFactory
from trajkit.core.tools import Tool
from trajkit.schemas.manifests import SandboxEnvironment

HERE = Path(__file__).resolve().parent
WORKER = HERE / "worker.py"
JAIL = HERE / "jail.py"
JAIL_UNAVAILABLE = 97
POOL_DEPTH = 2

UNAVAILABLE_HINT = (
    "the local sandbox cannot be isolated here ({detail}); enable unprivileged user namespaces "
    "(sysctl kernel.unprivileged_userns_clone=1 / user.max_user_namespaces>0), use --sandbox "
    "docker, or pass --no-isolation to run teacher code UNISOLATED at your own risk"
)


@functools.cache
def _jail_mountpoint() -> str:
    """One empty host directory every jail mounts its private root over.

    The mount happens inside each jail's own mount namespace, so all jails can share the
    directory; nothing is ever created in it on the host side.
    """
    path = tempfile.mkdtemp(prefix="trajkit-jail-")
    os.chmod(path, 0o755)
    atexit.register(shutil.rmtree, path, True)
    return path


class LocalSandbox(WorkerSession):
    """A persistent, isolated Python worker; see ``jail.py`` for what isolation means here.

    The protocol (cells, tool calls, restarts) is the shared ``WorkerSession``; this class is
    the transport: a jailed process's pipes, killed by process group.
    """

    name = "local"
    #: Sandboxes of this configuration the fork server keeps started ahead (``start()`` is
    #: then one message); each is used by one episode only.
    pool_depth = POOL_DEPTH

    def __init__(self, config: SandboxConfig | None = None, tools: Sequence[Tool] = ()) -> None:
        super().__init__(config, tools)
        self._proc: Any = None  # asyncio.subprocess.Process or JailedProcess
        self._root: str | None = None
        self._cgroup: SandboxCgroup | None = None
        self._bounding: asyncio.Future[SandboxCgroup | None] | None = None
        self._oom_kills = 0  # in the last worker's cgroup, read when it is released

    # -- lifecycle -------------------------------------------------------------------------

    async def start(self) -> None:
        """Start the worker and wait until it has defined the tools and said it is ready."""
        cfg = self.config
        # Resolved once per process (make_factory did it for a run): a dict lookup here.
        python = cached_python(cfg.python)
        if python is None:
            python = await asyncio.to_thread(sandbox_python, cfg.python)
        env = sandbox_env(cfg.output_limit, python.bin_dir(cfg.isolation))
        try:
            if cfg.isolation:
                await self._start_jailed(env, python)
                return
            self._root = tempfile.mkdtemp(prefix="trajkit-sbx-")
            env["HOME"] = env["TMPDIR"] = self._root
            self._proc = await asyncio.create_subprocess_exec(
                python.executable, "-I", str(WORKER),
                stdin=asyncio.subprocess.PIPE,
                stdout=asyncio.subprocess.PIPE,
                stderr=asyncio.subprocess.PIPE,
                env=env,
                cwd=self._root,
                start_new_session=True,
                limit=STREAM_LIMIT,
                preexec_fn=self._apply_rlimits,
            )
            await self._handshake()
        except BaseException:
            await self._kill()  # cancelled or failed half-way: never leave a worker behind
            raise

    async def _start_jailed(self, env: dict[str, str], python: SandboxPython) -> None:
        """From the fork server, usually a sandbox it started ahead. One that died while it
        waited (killed from outside) fails its handshake: it is replaced by a fresh start
        once, so a user never sees the pool's loss as a start failure."""
        server = fork_server(python.executable)
        config = self._jail_config(env, python)
        self._proc = await server.spawn(config, pool=self.pool_depth)
        if not self._proc.pooled:
            self._move_into_cgroup()
            await self._handshake()
            return
        try:
            self._move_into_cgroup()
            await self._handshake()
        except ProtocolError:
            await self._kill()
            self._proc = await server.spawn(config, pool=self.pool_depth, fresh=True)
            self._move_into_cgroup()
            await self._handshake()

    def _move_into_cgroup(self) -> None:
        """Start putting the worker in a cgroup of its own, where this machine allows one
        (``cgroup.py``): everything it forks then shares ``memory_mb`` and ``cpus``. It runs
        in a thread, beside the handshake, because moving a process waits out an RCU grace
        period (~8 ms measured when starts are sparse); :meth:`_before_cell` waits for it
        before the worker is sent any code."""
        cgroups = sandbox_cgroups()
        if cgroups is None or self._proc.returncode is not None:
            return
        pid, limits = self._proc.pid, self._cgroup_limits()
        self._bounding = asyncio.get_running_loop().run_in_executor(None, _attach, cgroups, pid, limits)

    def _cgroup_limits(self) -> Limits:
        """``memory_mb`` (with swap) and ``cpus`` for the whole sandbox, as docker's."""
        cfg = self.config
        return Limits(cfg.memory_mb * 2**20, max(1000, round(cfg.cpus * CPU_PERIOD_US)))

    async def _before_cell(self) -> None:
        """The worker is in its cgroup before it runs a cell; one that could not be put in
        is never run unbounded. A worker already gone is left to the cell, which reports it."""
        bounding, self._bounding = self._bounding, None
        if bounding is None:
            return
        try:
            self._cgroup = await asyncio.shield(bounding)
        except asyncio.CancelledError:
            self._bounding = bounding  # still running: ``_kill`` waits for it and cleans up
            raise
        except OSError as exc:
            await self._kill()
            raise SandboxError(f"cannot put the sandbox in its cgroup (memory, CPU limits): {exc}") from exc

    def _jail_config(self, env: dict[str, str], python: SandboxPython) -> dict[str, Any]:
        cfg = self.config
        return {
            "root_dir": _jail_mountpoint(),
            "binds": bind_paths(python.binds, cfg.extra_binds),
            "work_mb": cfg.work_mb,
            "tmp_mb": cfg.tmp_mb,
            "work_files": tmpfs_files(cfg.work_mb),
            "tmp_files": tmpfs_files(cfg.tmp_mb),
            "rlimits": self._rlimits(),
            "env": env,
            "sys_path": python.jail_sys_path,
            "python": python.jail_identity(),
        }

    async def close(self) -> None:
        """Kill the worker's whole process group and remove its private directory, if any
        (an isolated worker's directories are tmpfs that vanish with its namespace)."""
        await self._kill()
        if self._root:
            shutil.rmtree(self._root, ignore_errors=True)
            self._root = None

    async def __aenter__(self) -> LocalSandbox:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    # -- transport -------------------------------------------------------------------------

    async def _kill(self, grace: float = 0.0) -> int | None:
        """Kill the worker's process group; with ``grace``, first let a dying worker exit so
        its own exit status can be reported."""
        proc, self._proc = self._proc, None
        if proc is None:
            return None
        if grace and proc.returncode is None:
            try:
                await asyncio.wait_for(proc.wait(), grace)
            except asyncio.TimeoutError:
                pass
        if proc.returncode is None:
            try:
                os.killpg(proc.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        if proc.stdin is not None:
            proc.stdin.close()
        try:
            return await proc.wait()
        finally:
            await self._release_cgroup()

    async def _release_cgroup(self) -> None:
        """Remove the reaped worker's cgroup, once the move into it (if still running) ends."""
        bounding, self._bounding = self._bounding, None
        cgroup, self._cgroup = self._cgroup, None
        self._oom_kills = 0
        if bounding is not None:
            try:
                cgroup = await asyncio.shield(bounding)
            except OSError:
                return  # nothing was made: attach leaves nothing behind when it fails
        cgroups = sandbox_cgroups()
        if cgroup is not None and cgroups is not None:
            self._oom_kills = cgroups.oom_kills(cgroup)
            cgroups.release(cgroup, self._cgroup_limits())

    def _death_note(self, status: int) -> str:
        """A worker killed (SIGKILL) in a cgroup the kernel killed for memory ran out of it."""
        if status != -signal.SIGKILL or not self._oom_kills:
            return ""
        return self._out_of_memory()

    async def _raise_start_failure(self, exc: BaseException) -> NoReturn:
        proc = self._proc
        stderr = b""
        if proc is not None and proc.stderr is not None:
            try:
                await asyncio.wait_for(proc.wait(), 2.0)
                stderr = await proc.stderr.read()
            except asyncio.TimeoutError:
                pass
        status = await self._kill()
        detail = stderr.decode(errors="replace").strip().splitlines()
        line = detail[-1] if detail else f"{type(exc).__name__}: {exc}"
        if status == JAIL_UNAVAILABLE:
            raise SandboxUnavailableError(UNAVAILABLE_HINT.format(detail=line))
        raise ProtocolError(f"sandbox worker failed to start (exit {status}): {line}")

    # -- limits ----------------------------------------------------------------------------

    def _rlimits(self) -> dict[str, int]:
        cfg = self.config
        mb = 1024 * 1024
        return {
            "RLIMIT_AS": cfg.memory_mb * mb,
            "RLIMIT_CPU": cfg.cpu_seconds,
            "RLIMIT_FSIZE": cfg.file_size_mb * mb,
            "RLIMIT_NPROC": cfg.max_processes,
            "RLIMIT_NOFILE": cfg.open_files,
            "RLIMIT_CORE": 0,
        }

    def _apply_rlimits(self) -> None:
        for name, value in self._rlimits().items():
            if name == "RLIMIT_NPROC" and os.geteuid() == 0:
                continue  # root ignores it, and it would count every root process
            resource.setrlimit(getattr(resource, name), (value, value))


def _attach(cgroups: SandboxCgroups, pid: int, limits: Limits) -> SandboxCgroup | None:
    """``cgroups.attach``, or ``None`` for a worker already gone (its cell will say so)."""
    try:
        return cgroups.attach(pid, limits)
    except ProcessLookupError:
        return None


class LocalBackend(SandboxBackend):
    """``--sandbox local``: namespace-isolated worker processes forked on this machine."""

    name = "local"

    def make_factory(self, config: SandboxConfig) -> SandboxFactory:
        """Resolve the sandbox's interpreter first (preparing the default environment on
        first use, with a progress line): a missing ``python=PATH`` is one line before the run
        directory is touched, and no sandbox start waits for it."""
        sandbox_python(config.python, prepare_default=True)
        return lambda tools: LocalSandbox(config, tools)

    def describe(self, config: SandboxConfig) -> SandboxEnvironment | None:
        """Versions and hash read by the sandbox's interpreter itself (once per run), and
        which limits bound the whole sandbox on this machine (its cgroup's)."""
        env = sandbox_python(config.python, prepare_default=True).describe("local")
        limits = per_sandbox_limits() if config.isolation else []
        return env.model_copy(update={"per_sandbox_limits": limits})
