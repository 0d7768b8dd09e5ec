"""The host side of the worker protocol, independent of how the bytes travel.

Both backends speak to the same ``worker.py`` over a pair of byte streams: the local sandbox
over a jailed process's pipes, the docker sandbox over a container's attached stdin/stdout.
What a cell means lives here once: tool calls answered host-side, a cell that overruns its
timeout (plus the kill grace) or a worker that dies or writes garbage is killed and replaced
by a fresh worker, and the cell's result says the state was lost; the episode goes on.

A backend subclasses :class:`WorkerSession` and provides ``start()`` (set ``self._proc`` to
an object with ``stdin`` — ``write/drain/close`` — and ``stdout`` — ``readline`` —, then call
``_handshake()``), ``_kill(grace)`` and ``_raise_start_failure(exc)``.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Sequence
from typing import Any, NoReturn

from trajkit.collect.sandbox.config import SandboxConfig
from trajkit.core.errors import SandboxError
from trajkit.core.sandbox import CellResult
from trajkit.core.tools import EndEpisode, Tool
from trajkit.schemas import ErrorInfo, ErrorKind


class ProtocolError(SandboxError):
    """The worker died or wrote something that is not a protocol message."""


class WorkerSession:
    """One persistent worker behind the ``Sandbox`` protocol; transport left to subclasses."""

    name = "worker"

    def __init__(self, config: SandboxConfig | None = None, tools: Sequence[Tool] = ()) -> None:
        self.config = config or SandboxConfig()
        self.tools = {tool.name: tool for tool in tools}
        self._proc: Any = None
        self._seq = 0
        self.restarts = 0

    # -- transport hooks -------------------------------------------------------------------

    async def start(self) -> None:
        raise NotImplementedError

    async def close(self) -> None:
        raise NotImplementedError

    async def _kill(self, grace: float = 0.0) -> int | None:
        """Stop the worker for good; with ``grace``, first let a dying worker exit so its
        own exit status can be reported."""
        raise NotImplementedError

    async def _raise_start_failure(self, exc: BaseException) -> NoReturn:
        raise NotImplementedError

    async def __aenter__(self) -> WorkerSession:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    # -- protocol --------------------------------------------------------------------------

    async def _handshake(self) -> None:
        tools = [{"name": t.name, "doc": t.doc} for t in self.tools.values()]
        try:
            await self._send({"op": "init", "tools": tools})
            msg = await asyncio.wait_for(self._recv(), self.config.start_timeout_s)
        except (ProtocolError, asyncio.TimeoutError, OSError) as exc:
            await self._raise_start_failure(exc)
        if msg.get("op") != "ready":
            raise ProtocolError(f"worker sent {msg!r} instead of ready")

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
