"""Running a source tool the teacher called directly (``tools``/``json``/``text`` formats).

In the code format a tool is a function the teacher's code calls inside the sandbox, and the
sandbox forwards the call to the host. Called directly, it runs on the host straight away:
same function, same arguments check as a native call (``core.tool_schema``), with the cell's
time limit, and its result (or its exception) becomes the call's observation. A tool's
``EndEpisode`` (an environment that was won or bought in) is its result text; the loop then
reads the environment's outcome, exactly as after a cell.
"""

from __future__ import annotations

import asyncio
import json
from typing import Any

from trajkit.collect.observation import NO_OUTPUT, bound_text
from trajkit.core.tool_arguments import split_arguments
from trajkit.core.tools import EndEpisode, Tool
from trajkit.schemas import ErrorInfo, ErrorKind, Observation
from trajkit.schemas.text import valid_text


def result_text(value: Any) -> str:
    """A tool's return value as the text the teacher reads: strings as they are, JSON data
    as JSON, anything else by ``repr``; nothing at all as the no-output marker."""
    if value is None:
        return NO_OUTPUT
    if isinstance(value, str):
        return value if value.strip() else NO_OUTPUT
    try:
        return json.dumps(value, ensure_ascii=False, allow_nan=False)
    except (TypeError, ValueError, RecursionError):
        return repr(value)


def _failed(kind: ErrorKind, error_type: str, message: str, limit: int) -> Observation:
    text, cut = bound_text(valid_text(f"{error_type}: {message}" if message else error_type), limit)
    info = ErrorInfo(kind=kind, type=valid_text(error_type), message=valid_text(message[:limit]))
    return Observation(text=text, error=info, truncated_chars=cut)


def bad_call(message: str, limit: int) -> Observation:
    """The observation of a call that could not be made (unknown function, bad arguments)."""
    return _failed(ErrorKind.BAD_CALL, "BadToolCall", message, limit)


async def call_tool(
    tool: Tool, arguments: dict[str, Any], timeout: float, limit: int
) -> tuple[Observation, bool]:
    """``(observation, ended)``: run ``tool`` with checked keyword ``arguments`` for at most
    ``timeout`` seconds; ``ended`` when it raised ``EndEpisode``. The tool's own exceptions
    are its failed result, never the episode's end."""
    started = asyncio.get_running_loop().time()
    args, kwargs = split_arguments(tool, arguments)
    task = await tool.call_within(args, kwargs, timeout)
    if task is None:  # the tool's own TimeoutError stays its own failure, below
        return _failed(
            ErrorKind.TIMEOUT, "TimeoutError",
            f"{tool.name}() did not return within {timeout:g} s; it was stopped", limit,
        ), False
    ended = False
    try:
        value = task.result()
    except EndEpisode as exc:
        value, ended = exc.text, True
    except Exception as exc:  # the tool's failure is the call's result
        return _failed(ErrorKind.EXCEPTION, type(exc).__name__, str(exc), limit), False
    text, cut = bound_text(valid_text(result_text(value)), limit)
    elapsed = asyncio.get_running_loop().time() - started
    return Observation(text=text, duration_s=elapsed, truncated_chars=cut), ended
