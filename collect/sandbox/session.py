"""The host side of the worker protocol, independent of how the bytes travel.

Both backends speak to the same ``worker.py`` over a pair of byte streams: the local sandbox
over a jailed process's pipes, the docker sandbox over a container's attached stdin/stdout.
What a cell means lives here once: tool calls answered host-side, a cell that overruns its
timeout (plus the kill grace) or a worker that dies or writes garbage is killed and replaced
by a fresh worker, and the cell's result says the state was lost; the episode goes on.

Everything the worker sends is hostile input: the code in a cell decides what it prints and
can reach the worker's channel object, so it can write any frame. Every frame is checked here,
field by field (type, range, the limits the worker itself keeps), before anything reaches the
loop; a frame out of shape means the worker is corrupt, and it is killed and replaced. Text
is made valid Unicode where it enters (lone surrogates, which JSON escapes carry, become
U+FFFD), so no later encode of a record, a cache key or a message can fail on it.

A backend subclasses :class:`WorkerSession` and provides ``start()`` (set ``self._proc`` to
an object with ``stdin`` — ``write/drain/close``, and ``transport`` if it can tell how much
is still unsent — and ``stdout`` — ``readline`` —, then call ``_handshake()``),
``_kill(grace)`` and ``_raise_start_failure(exc)``; it may also override ``_before_cell()``
(set-up ``start()`` left running that must end before code runs: the local sandbox's cgroup
move) and ``_death_note(status)`` (why a worker died, e.g. out of memory, for the teacher).
"""

from __future__ import annotations

import asyncio
import json
import math
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, NoReturn

from trajkit.collect.sandbox.config import SandboxConfig
from trajkit.core.errors import SandboxError
from trajkit.core.sandbox import CellResult
from trajkit.core.tools import EndEpisode, Tool
from trajkit.schemas import ErrorInfo, ErrorKind
from trajkit.schemas.text import valid_text

# The worker's own limits (``worker.py`` cannot import trajkit, so they are repeated here;
# tests/collect/test_hostile_sandbox.py checks both copies agree). A frame beyond them was not
# written by the worker's code.
TOOL_ARGS_DEPTH = 100
ERROR_TYPE_CHARS = 200
ERROR_MESSAGE_CHARS = 500
#: Room for the worker's cut marker beyond ``output_limit`` characters of output.
OUTPUT_SLACK = 256
#: Largest count a record keeps exactly everywhere (JSON readers that use doubles included);
#: far beyond what a cell can print in its life.
MAX_COUNT = 2**53 - 1
#: How far the worker's own measure of a cell may exceed the host's before it is a lie. The
#: worker times a strict sub-interval of the host's window on the same monotonic clock.
DURATION_SLACK_S = 1.0

_RESULT_KEYS = frozenset({"op", "id", "output", "truncated", "error", "duration", "ended"})
_ERROR_KEYS = frozenset({"kind", "type", "message"})
_TOOL_CALL_KEYS = frozenset({"op", "id", "name", "args", "kwargs"})
#: What a worker reports itself; ``worker_restart`` is the host's to say.
_WORKER_ERROR_KINDS = {
    kind.value: kind for kind in (ErrorKind.EXCEPTION, ErrorKind.SYNTAX, ErrorKind.TIMEOUT)
}


class ProtocolError(SandboxError):
    """The worker died or wrote something that is not a protocol message."""


class CorruptFrame(ProtocolError):
    """The worker is alive but wrote a frame its own code never writes (garbage, a forged or
    out-of-range field): code in the cell reached the channel. It is killed at once."""


@dataclass
class _CellClock:
    """One cell's deadlines and the time its tool calls took on the host.

    The cell's ``timeout`` covers its tool calls too: the worker's timer keeps running while
    it waits for the host. ``kill_at`` (timeout + grace) is when a silent worker is killed;
    a tool call the host could not stop (one that blocks the event loop) and that returned
    past the timeout moves it to give the worker its grace from then.
    """

    started: float
    timeout: float
    grace: float
    tool_s: float = 0.0
    tools: dict[str, None] = field(default_factory=dict)  # names of the tools that ran
    overran: dict[str, None] = field(default_factory=dict)  # tools stopped at the time limit
    cell_end: float = field(init=False)
    kill_at: float = field(init=False)

    def __post_init__(self) -> None:
        self.cell_end = self.started + self.timeout
        self.kill_at = self.cell_end + self.grace

    def returned_late(self, when: float) -> None:
        """A tool call returned past the timeout: the worker, interrupted meanwhile, could
        not send its result before the host read again; give it its grace from now. At most
        once per cell: the host runs calls one at a time and refuses, without running, any
        call it reads after the timeout."""
        self.kill_at = max(self.kill_at, when + self.grace)

    def note(self) -> str | None:
        """Why the cell ran out of time, when the host's tools took a real part of it (a
        tenth or more, or one was still running at the limit): the teacher should not read
        the host's slowness as its own code's."""
        if not self.overran and self.tool_s < 0.1 * self.timeout:
            return None
        names = ", ".join(f"{name}()" for name in self.tools)
        text = f"{self.tool_s:.1f} s of the cell's {self.timeout:g} s went to host tool calls ({names})"
        if self.overran:
            stopped = ", ".join(f"{name}()" for name in self.overran)
            text += f"; {stopped} was still running at the time limit"
        return text


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

    def _death_note(self, status: int) -> str:
        """Why a worker that stopped with ``status`` died, where the backend can tell (out of
        memory, say), so the teacher can act on it; appended to the exit code."""
        return ""

    def _out_of_memory(self) -> str:
        """The death note of a worker the kernel killed for the sandbox's memory."""
        return (
            f": out of memory, the sandbox's {self.config.memory_mb} MB (memory_mb) were used up, "
            "files in /sandbox and /tmp included"
        )

    async def _before_cell(self) -> None:
        """What must be done before the worker runs code it was sent (set-up that ``start()``
        left running, off the start path); nothing by default."""

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
            raise ProtocolError(f"worker sent {_show(msg)} instead of ready")

    async def run(self, code: str, timeout: float) -> CellResult:
        """Run one cell; never raises for anything the code does, only if no worker can start."""
        if self._proc is None:
            await self.start()
        await self._before_cell()
        self._seq += 1
        cell_id = self._seq
        clock = _CellClock(time.perf_counter(), timeout, self.config.kill_grace_s)
        try:
            await self._send(
                {"op": "exec", "id": cell_id, "code": code, "timeout": timeout}, clock.kill_at
            )
            while True:
                remaining = clock.kill_at - time.perf_counter()
                if remaining <= 0:
                    raise asyncio.TimeoutError
                msg = await asyncio.wait_for(self._recv(), remaining)
                op = msg.get("op")
                if op == "tool_call":
                    await self._answer_tool(msg, clock)
                elif op == "result" and _is_id(msg.get("id")) and msg["id"] == cell_id:
                    return self._cell_result(msg, clock)
                else:
                    raise CorruptFrame(f"unexpected message from worker: {_show(msg)}")
        except asyncio.TimeoutError:
            message = (
                f"the cell ran past {timeout:g} s and ignored the interrupt; the interpreter "
                "was killed and restarted, and all variables were lost"
            )
            if note := clock.note():
                message += f" ({note})"
            return await self._restart(clock.started, ErrorKind.TIMEOUT, "TimeoutError", message)
        except CorruptFrame as exc:
            await self._kill()  # alive and lying: nothing to wait for
            return await self._restart(
                clock.started,
                ErrorKind.WORKER_RESTART,
                "WorkerCrashed",
                f"the interpreter wrote a corrupt protocol message ({exc}); it was killed and "
                "restarted, and all variables were lost",
                killed=True,
            )
        except (ProtocolError, OSError, ConnectionError) as exc:
            status = await self._kill(grace=0.5)
            detail = f"exit code {status}{self._death_note(status)}" if status is not None else str(exc)
            return await self._restart(
                clock.started,
                ErrorKind.WORKER_RESTART,
                "WorkerCrashed",
                f"the interpreter stopped ({detail}); it was restarted and all variables were lost",
                killed=True,
            )

    def _cell_result(self, msg: dict[str, Any], clock: _CellClock) -> CellResult:
        """The worker's ``result`` frame as a ``CellResult``, every field checked.

        Raises ``CorruptFrame`` for anything the worker's own code never sends: a missing or
        extra field, a wrong type, NaN or a duration longer than the cell, a count beyond any
        possible output, an error kind only the host may report, over-long error text.
        """
        if msg.keys() != _RESULT_KEYS:
            raise CorruptFrame(f"result fields {sorted(map(str, msg))[:10]}")
        output, truncated, ended = msg["output"], msg["truncated"], msg["ended"]
        if type(output) is not str or len(output) > self.config.output_limit + OUTPUT_SLACK:
            raise CorruptFrame(f"output: {_describe(output)}")
        if type(truncated) is not int or not 0 <= truncated <= MAX_COUNT:
            raise CorruptFrame(f"truncated: {_describe(truncated)}")
        if type(ended) is not bool:
            raise CorruptFrame(f"ended: {_describe(ended)}")
        elapsed = time.perf_counter() - clock.started
        duration = msg["duration"]
        if (
            type(duration) not in (int, float)
            or not math.isfinite(duration)
            or not 0 <= duration <= elapsed + DURATION_SLACK_S
        ):
            raise CorruptFrame(f"duration: {_describe(duration)} for a cell of {elapsed:.3f} s")
        error = _error_info(msg["error"])
        output = valid_text(output)
        note = clock.note() if error is not None and error.kind is ErrorKind.TIMEOUT else None
        if error is not None and note:
            error = error.model_copy(update={"message": f"{error.message}; {note}"})
            newline = "" if output.endswith("\n") or not output else "\n"
            output = f"{output}{newline}[{note}]\n"
        return CellResult(
            output=output,
            error=error,
            duration_s=min(float(duration), elapsed),
            truncated_chars=truncated,
            ended=ended,
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

    async def _answer_tool(self, msg: dict[str, Any], clock: _CellClock) -> None:
        """Run the host tool a ``tool_call`` names and send its reply, within the cell's time.

        The arguments are checked and made valid text first (a source echoes them into pages,
        error messages and verdict details). The call gets what is left of the cell's timeout:
        one still running then is stopped and the worker told its cell ran out of time (the
        worker interrupts the cell, as its own timer would); a call arriving after the
        timeout is refused without running, so a thread the cell left behind cannot make the
        host work past the cell's deadline.
        """
        call_id, name, args, kwargs = _tool_call(msg)
        reply: dict[str, Any] = {"op": "tool_result", "id": call_id}
        begun = time.perf_counter()
        budget = clock.cell_end - begun
        tool = self.tools.get(name)
        if budget <= 0:
            reply.update(
                ok=False,
                timeout=True,
                error=f"the cell's {clock.timeout:g} s were used up before {name[:100]}() ran",
            )
        elif tool is None:
            reply.update(ok=False, error=f"no tool named {name[:100]!r}")
        else:
            reply.update(await self._call_tool(tool, args, kwargs, budget, clock))
            now = time.perf_counter()
            clock.tool_s += now - begun
            clock.tools[name] = None
            if now > clock.cell_end:
                clock.returned_late(now)
        try:
            data = _encode(reply)
        except (TypeError, ValueError, RecursionError) as exc:  # what JSON cannot carry
            data = _encode(
                {"op": "tool_result", "id": call_id, "ok": False,
                 "error": f"{type(exc).__name__}: {exc}"}
            )
        await self._write(data, clock.kill_at)

    async def _call_tool(
        self, tool: Tool, args: list[Any], kwargs: dict[str, Any], budget: float, clock: _CellClock
    ) -> dict[str, Any]:
        """The reply fields for one host tool call given ``budget`` seconds.

        Run as a task, so the host can stop waiting: a tool still running when the budget is
        spent is cancelled (one that runs inline, blocking the event loop, cannot be, and
        returns late). The tool's own exceptions, ``TimeoutError`` included, stay its own.
        """
        task = await tool.call_within(args, kwargs, budget)
        if task is None:
            return self._stopped(tool, clock)
        try:
            return {"ok": True, "value": task.result()}
        except EndEpisode as exc:
            return {"ok": True, "value": exc.text, "end": True}
        except Exception as exc:
            return {"ok": False, "error": f"{type(exc).__name__}: {exc}"}

    @staticmethod
    def _stopped(tool: Tool, clock: _CellClock) -> dict[str, Any]:
        clock.overran[tool.name] = None
        return {
            "ok": False,
            "timeout": True,
            "error": f"{tool.name}() was still running on the host when the cell's "
            f"{clock.timeout:g} s ran out; the host stopped it",
        }

    async def _send(self, msg: dict[str, Any], deadline: float | None = None) -> None:
        await self._write(_encode(msg), deadline)

    async def _write(self, data: bytes, deadline: float | None = None) -> None:
        """Write one frame; with ``deadline``, wait for a worker that stopped reading (its
        process stopped, its reader thread blocked by the cell) only until then."""
        proc = self._proc
        if proc is None or proc.stdin is None:
            raise ProtocolError("worker is not running")
        stdin = proc.stdin
        stdin.write(data)
        transport = getattr(stdin, "transport", None)
        if deadline is not None and transport is not None and transport.get_write_buffer_size():
            await asyncio.wait_for(stdin.drain(), max(deadline - time.perf_counter(), 0.0))
        else:
            await stdin.drain()

    async def _recv(self) -> dict[str, Any]:
        proc = self._proc
        if proc is None or proc.stdout is None:
            raise ProtocolError("worker is not running")
        try:
            line = await proc.stdout.readline()
        except (asyncio.LimitOverrunError, ValueError) as exc:
            raise CorruptFrame(f"oversized protocol line ({exc})") from None
        if not line:
            raise ProtocolError("worker closed its channel")
        if not line.endswith(b"\n"):  # cut off by the worker's end: it died mid-write
            raise ProtocolError("worker closed its channel in the middle of a message")
        try:
            msg = json.loads(line)
        except (ValueError, RecursionError):
            raise CorruptFrame(f"garbage on the protocol channel: {line[:80]!r}") from None
        if not isinstance(msg, dict):
            raise CorruptFrame(f"garbage on the protocol channel: {line[:80]!r}")
        return msg


def _encode(msg: dict[str, Any]) -> bytes:
    """One frame; ASCII JSON, so host text with lone surrogates is escaped, never an error."""
    return json.dumps(msg).encode() + b"\n"


def _is_id(value: Any) -> bool:
    return type(value) is int and value > 0


def _show(msg: Any) -> str:
    """A short, printable rendering of a frame for an error message (repr escapes)."""
    return ascii(msg)[:200]


def _describe(value: Any) -> str:
    """A short rendering of a rejected field: its type, and its value if short."""
    text = ascii(value) if not isinstance(value, str) else f"str of {len(value)} chars"
    return f"{type(value).__name__} {text[:60]}"


def _error_info(err: Any) -> ErrorInfo | None:
    """The ``error`` field of a result: None, or exactly what ``worker.py`` reports."""
    if err is None:
        return None
    if type(err) is not dict or err.keys() != _ERROR_KEYS:
        raise CorruptFrame(f"error: {_describe(err)}")
    kind, etype, message = err["kind"], err["type"], err["message"]
    if type(kind) is not str or kind not in _WORKER_ERROR_KINDS:
        raise CorruptFrame(f"error kind: {_describe(kind)}")
    if type(etype) is not str or len(etype) > ERROR_TYPE_CHARS:
        raise CorruptFrame(f"error type: {_describe(etype)}")
    if type(message) is not str or len(message) > ERROR_MESSAGE_CHARS:
        raise CorruptFrame(f"error message: {_describe(message)}")
    return ErrorInfo(
        kind=_WORKER_ERROR_KINDS[kind], type=valid_text(etype), message=valid_text(message)
    )


def _tool_call(msg: dict[str, Any]) -> tuple[int, str, list[Any], dict[str, Any]]:
    """A ``tool_call`` frame's id, tool name and arguments, checked and made valid text."""
    if msg.keys() != _TOOL_CALL_KEYS:
        raise CorruptFrame(f"tool_call fields {sorted(map(str, msg))[:10]}")
    call_id, name, args, kwargs = msg["id"], msg["name"], msg["args"], msg["kwargs"]
    if not _is_id(call_id):
        raise CorruptFrame(f"tool_call id: {_describe(call_id)}")
    if type(name) is not str:
        raise CorruptFrame(f"tool_call name: {_describe(name)}")
    if type(args) is not list or type(kwargs) is not dict:
        raise CorruptFrame(f"tool_call arguments: {_describe(args)}, {_describe(kwargs)}")
    return call_id, valid_text(name), _clean(args, 1), _clean(kwargs, 1)


def _clean(value: Any, depth: int) -> Any:
    """A decoded JSON value with every string (dict keys too) made valid text.

    Refuses nesting deeper than the worker ever sends, which also bounds this recursion.
    """
    if type(value) is str:
        return valid_text(value)
    if type(value) is list:
        if depth > TOOL_ARGS_DEPTH:
            raise CorruptFrame(f"tool arguments nested deeper than {TOOL_ARGS_DEPTH} levels")
        return [_clean(item, depth + 1) for item in value]
    if type(value) is dict:
        if depth > TOOL_ARGS_DEPTH:
            raise CorruptFrame(f"tool arguments nested deeper than {TOOL_ARGS_DEPTH} levels")
        return {valid_text(key): _clean(item, depth + 1) for key, item in value.items()}
    return value
