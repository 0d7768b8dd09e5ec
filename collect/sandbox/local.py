"""The local sandbox: one isolated worker process per episode, spoken to over its stdin/stdout.

Failure handling is the point of this file: a cell that ignores its interrupt, a worker that
dies (``os._exit``, segfault, OOM kill) or corrupts the protocol is killed and replaced by a
fresh worker, and the cell's result says the state was lost; the episode goes on.
"""

from __future__ import annotations

import asyncio
import atexit
import functools
import json
import os
import resource
import shutil
import signal
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from trajkit.collect.sandbox.base import CellResult
from trajkit.collect.sandbox.config import SandboxConfig
from trajkit.collect.sandbox.environment import bind_paths, sandbox_env, worker_sys_path
from trajkit.collect.sandbox.forkserver_client import STREAM_LIMIT, fork_server
from trajkit.collect.tools import EndEpisode, Tool
from trajkit.schemas import ErrorInfo, ErrorKind
from trajkit.schemas.errors import SandboxUnavailableError

HERE = Path(__file__).resolve().parent
WORKER = HERE / "worker.py"
JAIL = HERE / "jail.py"
JAIL_UNAVAILABLE = 97

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


class ProtocolError(Exception):
    """The worker died or wrote something that is not a protocol message."""


class LocalSandbox:
    """A persistent, isolated Python worker; see ``jail.py`` for what isolation means here."""

    name = "local"

    def __init__(self, config: SandboxConfig | None = None, tools: Sequence[Tool] = ()) -> None:
        self.config = config or SandboxConfig()
        self.tools = {tool.name: tool for tool in tools}
        self._proc: Any = None  # asyncio.subprocess.Process or JailedProcess
        self._root: str | None = None
        self._seq = 0
        self.restarts = 0

    # -- lifecycle -------------------------------------------------------------------------

    async def start(self) -> None:
        """Start the worker and wait until it has defined the tools and said it is ready."""
        cfg = self.config
        env = sandbox_env(cfg.output_limit)
        try:
            if cfg.isolation:
                self._proc = await fork_server().spawn(self._jail_config(env))
            else:
                self._root = tempfile.mkdtemp(prefix="trajkit-sbx-")
                env["HOME"] = env["TMPDIR"] = self._root
                self._proc = await asyncio.create_subprocess_exec(
                    sys.executable, "-I", str(WORKER),
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

    def _jail_config(self, env: dict[str, str]) -> dict[str, Any]:
        cfg = self.config
        return {
            "root_dir": _jail_mountpoint(),
            "binds": bind_paths(cfg.extra_binds),
            "work_mb": cfg.work_mb,
            "tmp_mb": cfg.tmp_mb,
            "rlimits": self._rlimits(),
            "env": env,
            "sys_path": worker_sys_path(),
        }

    async def _handshake(self) -> None:
        tools = [{"name": t.name, "doc": t.doc} for t in self.tools.values()]
        try:
            await self._send({"op": "init", "tools": tools})
            msg = await asyncio.wait_for(self._recv(), self.config.start_timeout_s)
        except (ProtocolError, asyncio.TimeoutError, OSError) as exc:
            await self._raise_start_failure(exc)
        if msg.get("op") != "ready":
            raise ProtocolError(f"worker sent {msg!r} instead of ready")

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

    # -- cells -----------------------------------------------------------------------------

    async def run(self, code: str, timeout: float) -> CellResult:
        """Run one cell; never raises for anything the code does, only if no worker can start."""
        if self._proc is None:
            await self.start()
        self._seq += 1
        cell_id = self._seq
        started = time.perf_counter()
        deadline = started + timeout + self.config.kill_grace_s
        try:
            await self._send({"op": "exec", "id": cell_id, "code": code, "timeout": timeout})
            while True:
                remaining = deadline - time.perf_counter()
                if remaining <= 0:
                    raise asyncio.TimeoutError
                msg = await asyncio.wait_for(self._recv(), remaining)
                op = msg.get("op")
                if op == "tool_call":
                    await self._answer_tool(msg)
                elif op == "result" and msg.get("id") == cell_id:
                    return self._cell_result(msg)
                else:
                    raise ProtocolError(f"unexpected message from worker: {str(msg)[:200]}")
        except asyncio.TimeoutError:
            return await self._restart(
                started,
                ErrorKind.TIMEOUT,
                "TimeoutError",
                f"the cell ran past {timeout:g} s and ignored the interrupt; the interpreter "
                "was killed and restarted, and all variables were lost",
            )
        except (ProtocolError, OSError, ConnectionError) as exc:
            status = await self._kill(grace=0.5)
            detail = f"exit code {status}" if status is not None else str(exc)
            return await self._restart(
                started,
                ErrorKind.WORKER_RESTART,
                "WorkerCrashed",
                f"the interpreter stopped ({detail}); it was restarted and all variables were lost",
                killed=True,
            )

    def _cell_result(self, msg: dict[str, Any]) -> CellResult:
        err = msg.get("error")
        error = None
        if err:
            error = ErrorInfo(kind=ErrorKind(err["kind"]), type=err["type"], message=err["message"])
        return CellResult(
            output=str(msg.get("output", "")),
            error=error,
            duration_s=float(msg.get("duration", 0.0)),
            truncated_chars=int(msg.get("truncated", 0)),
            ended=bool(msg.get("ended", False)),
        )

    async def _restart(
        self, started: float, kind: ErrorKind, etype: str, message: str, killed: bool = False
    ) -> CellResult:
        if not killed:
            await self._kill()
        self.restarts += 1
        await self.start()
        return CellResult(
            output=f"{etype}: {message}",
            error=ErrorInfo(kind=kind, type=etype, message=message),
            duration_s=time.perf_counter() - started,
            restarted=True,
        )

    async def _answer_tool(self, msg: dict[str, Any]) -> None:
        tool = self.tools.get(str(msg.get("name")))
        reply: dict[str, Any] = {"op": "tool_result", "id": msg.get("id")}
        if tool is None:
            reply.update(ok=False, error=f"no tool named {msg.get('name')!r}")
        else:
            try:
                value = await tool.call(list(msg.get("args") or []), dict(msg.get("kwargs") or {}))
                json.dumps(value)
                reply.update(ok=True, value=value)
            except EndEpisode as exc:
                reply.update(ok=True, value=exc.text, end=True)
            except (TypeError, ValueError) as exc:
                reply.update(ok=False, error=f"{type(exc).__name__}: {exc}")
            except Exception as exc:
                reply.update(ok=False, error=f"{type(exc).__name__}: {exc}")
        await self._send(reply)

    # -- transport -------------------------------------------------------------------------

    async def _send(self, msg: dict[str, Any]) -> None:
        proc = self._proc
        if proc is None or proc.stdin is None:
            raise ProtocolError("worker is not running")
        proc.stdin.write(json.dumps(msg).encode() + b"\n")
        await proc.stdin.drain()

    async def _recv(self) -> dict[str, Any]:
        proc = self._proc
        if proc is None or proc.stdout is None:
            raise ProtocolError("worker is not running")
        try:
            line = await proc.stdout.readline()
        except (asyncio.LimitOverrunError, ValueError) as exc:
            raise ProtocolError(f"oversized protocol line ({exc})") from None
        if not line:
            raise ProtocolError("worker closed its channel")
        try:
            msg = json.loads(line)
        except ValueError:
            raise ProtocolError(f"garbage on the protocol channel: {line[:80]!r}") from None
        if not isinstance(msg, dict):
            raise ProtocolError(f"garbage on the protocol channel: {line[:80]!r}")
        return msg

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
        return await proc.wait()

    async def _raise_start_failure(self, exc: BaseException) -> None:
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
