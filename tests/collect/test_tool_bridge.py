"""The tool bridge under hostile use: what cells pass to host tools, and when they call them.

A real sandbox (isolated local; docker too where the transport differs) calls real host
tools: arguments with lone surrogates, arguments too large or too deep to send, tools slower
than the cell's timeout (one the host can stop, one that blocks its event loop), threads that
keep calling tools after their cell ended, tool-call frames forged on the channel.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator
from typing import Any

import pytest
from support import FIND_CHANNEL, require_backend

from trajkit.collect.sandbox.backend import sandbox_factory
from trajkit.collect.sandbox.config import SandboxConfig
from trajkit.collect.sandbox.session import WorkerSession
from trajkit.core.tools import Tool
from trajkit.schemas import ErrorKind

CONFIG = SandboxConfig(kill_grace_s=1.0, label="tool-bridge")
CHANNEL = FIND_CHANNEL + (
    "def send(line):\n    os.write(ch.wfd, line.encode() + b'\\n')\n"
)


class HostTools:
    """Host-side tools that remember what they were given and when they ran."""

    def __init__(self) -> None:
        self.calls: list[tuple[list[Any], dict[str, Any]]] = []
        self.count_times: list[float] = []
        self.stopped = 0

    def tools(self) -> list[Tool]:
        def echo(*args: Any, **kwargs: Any) -> list[Any]:
            """Return the arguments as the host received them."""
            self.calls.append((list(args), dict(kwargs)))
            return [list(args), kwargs]

        def size(text: str) -> int:
            """The length of ``text``."""
            return len(text)

        def count() -> int:
            """Count calls (and note when each ran)."""
            self.count_times.append(time.perf_counter())
            return len(self.count_times)

        async def slow(seconds: float) -> str:
            """Wait on the host without blocking it."""
            try:
                await asyncio.sleep(seconds)
            except asyncio.CancelledError:
                self.stopped += 1
                raise
            return "slept"

        def blocking(seconds: float) -> str:
            """Block the host's event loop (a CPU-bound tool run inline)."""
            time.sleep(seconds)
            return "blocked"

        return [Tool.from_function(f) for f in (echo, size, count, slow, blocking)]


async def _open(backend: str, host: HostTools) -> WorkerSession:
    require_backend(backend)
    sandbox = sandbox_factory(backend, CONFIG)(host.tools())
    assert isinstance(sandbox, WorkerSession)
    await sandbox.start()
    return sandbox


@pytest.fixture
def host() -> HostTools:
    return HostTools()


@pytest.fixture(params=["local", "docker"])
async def box(request: pytest.FixtureRequest, host: HostTools) -> AsyncIterator[WorkerSession]:
    sandbox = await _open(request.param, host)
    try:
        yield sandbox
    finally:
        await sandbox.close()


@pytest.fixture
async def local(host: HostTools) -> AsyncIterator[WorkerSession]:
    sandbox = await _open("local", host)
    try:
        yield sandbox
    finally:
        await sandbox.close()


async def test_surrogates_in_arguments_reach_the_tool_as_replacement_characters(
    box: WorkerSession, host: HostTools
) -> None:
    code = "echo('q\\ud800', ['\\udfff', {'k\\ud800': '\\udc00'}], key='\\ud800x')"
    r = await box.run(code, timeout=10)
    assert r.error is None and not r.restarted, r.output
    args, kwargs = host.calls[-1]
    assert args == ["q\ufffd", ["\ufffd", {"k\ufffd": "\ufffd"}]]
    assert kwargs == {"key": "\ufffdx"}
    # What a source echoes into a record or a message now always encodes.
    json.dumps([args, kwargs, r.output], ensure_ascii=False).encode("utf-8")


async def test_a_100_mb_argument_raises_in_the_cell(box: WorkerSession, host: HostTools) -> None:
    await box.run("kept = 1", timeout=10)
    r = await box.run("size('x' * 100_000_000)", timeout=20)
    assert not r.restarted, r.output
    assert r.error is not None and r.error.type == "ValueError"
    assert "100,000,006 bytes" in r.error.message and "at most 1,048,576" in r.error.message
    assert (await box.run("kept", timeout=10)).output == "1\n"
    # Just under the limit still goes through.
    assert (await box.run("size('x' * 1_000_000)", timeout=20)).output == "1000000\n"


async def test_arguments_nested_too_deep_raise_in_the_cell(local: WorkerSession) -> None:
    r = await local.run("v = []\nfor _ in range(500):\n    v = [v]\necho(v)", timeout=10)
    assert not r.restarted and r.error is not None and r.error.type == "ValueError"
    assert "deeper than 100 levels" in r.error.message
    r = await local.run("v = []\nfor _ in range(50):\n    v = [v]\nlen(echo(v))", timeout=10)
    assert r.output == "2\n"


async def test_a_tool_slower_than_the_cell_is_stopped_and_reported(
    box: WorkerSession, host: HostTools
) -> None:
    await box.run("kept = 'yes'", timeout=10)
    t0 = time.perf_counter()
    r = await box.run("slow(30)", timeout=1)
    assert time.perf_counter() - t0 < 3
    assert not r.restarted, r.output
    assert r.error is not None and r.error.kind is ErrorKind.TIMEOUT
    assert "went to host tool calls (slow())" in r.error.message
    assert "slow() was still running at the time limit" in r.output
    assert host.stopped == 1
    assert (await box.run("kept", timeout=10)).output == "'yes'\n"


async def test_a_tool_that_blocks_the_host_past_the_deadline_is_not_the_cells_fault(
    local: WorkerSession, host: HostTools
) -> None:
    """A tool run inline holds the event loop past the cell's timeout: the worker was
    interrupted meanwhile and sent its result, so it keeps its variables; a call that a
    thread of the cell made meanwhile is read after the deadline and refused without
    running (the thread gets a TimeoutError)."""
    await local.run("kept = 'yes'", timeout=10)
    code = (
        "import threading, time\nerrors = []\n"
        "def caller():\n    time.sleep(0.3)\n    try:\n        count()\n"
        "    except Exception as e:\n        errors.append(type(e).__name__)\n"
        "threading.Thread(target=caller, daemon=True).start()\nblocking(2.5)"
    )
    r = await local.run(code, timeout=1)
    assert not r.restarted, r.output
    assert r.error is not None and r.error.kind is ErrorKind.TIMEOUT
    assert "went to host tool calls (blocking())" in r.error.message
    assert host.count_times == [], "a tool call ran after the cell's deadline"
    # The refusal reaches the thread just before the next cell reaches the main thread; which
    # of the two woken threads runs first is the scheduler's choice, so the cell waits for it.
    wait = "import time\nfor _ in range(300):\n    if errors:\n        break\n    time.sleep(0.01)\n"
    r = await local.run(wait + "kept, errors", timeout=10)
    assert r.output == "('yes', ['TimeoutError'])\n", r.output


async def test_threads_calling_tools_between_cells_never_take_the_next_cell(
    box: WorkerSession, host: HostTools
) -> None:
    start = (
        "import threading\n"
        "def spin():\n    while True:\n        count()\n"
        "for _ in range(3):\n    threading.Thread(target=spin, daemon=True).start()\n"
        "v = 0"
    )
    assert (await box.run(start, timeout=10)).error is None
    for i in range(1, 7):
        r = await box.run("v += 1\nv", timeout=5)
        assert not r.restarted and r.error is None, (i, r.output)
        assert r.output == f"{i}\n"
    assert len(host.count_times) > 6


async def test_a_timer_landing_mid_frame_never_corrupts_the_channel(local: WorkerSession) -> None:
    """Cells cut by their timer while sending megabyte tool calls: the frame always goes out
    whole (a half-written line made the host kill the worker), the interpreter stays."""
    await local.run("kept = 1", timeout=10)
    for _ in range(25):
        r = await local.run("while True:\n    size('x' * 1_000_000)", timeout=0.2)
        assert not r.restarted, r.output
        assert r.error is not None and r.error.kind is ErrorKind.TIMEOUT
    assert (await local.run("kept", timeout=10)).output == "1\n"


FORGED_CALLS = {
    "name not a string": {"name": 5},
    "args not a list": {"args": {"a": 1}},
    "kwargs not a dict": {"kwargs": [1]},
    "id a string": {"id": "1"},
    "id zero": {"id": 0},
    "an extra field": {"extra": True},
    "args nested 150 deep": {"args": json.loads("[" * 150 + "]" * 150)},
}


@pytest.mark.parametrize("case", list(FORGED_CALLS))
async def test_a_forged_tool_call_restarts_the_worker(
    local: WorkerSession, host: HostTools, case: str
) -> None:
    frame = {"op": "tool_call", "id": 1, "name": "echo", "args": [], "kwargs": {}}
    frame.update(FORGED_CALLS[case])
    code = CHANNEL + f"send({json.dumps(frame)!r})\nimport time\ntime.sleep(1)"
    r = await local.run(code, timeout=10)
    assert r.restarted and r.error is not None and "corrupt protocol message" in r.error.message
    assert host.calls == []
    assert (await local.run("1 + 1", timeout=10)).output == "2\n"


async def test_a_forged_frame_too_deep_to_parse_restarts_the_worker(local: WorkerSession) -> None:
    """Nesting beyond the host's parser (RecursionError, not ValueError) used to escape
    ``run()`` and end the episode as a sandbox error instead of restarting the worker."""
    deep = "[" * 5000 + "]" * 5000
    line = '{"op": "tool_call", "id": 1, "name": "echo", "args": ' + deep + ', "kwargs": {}}'
    code = CHANNEL + f"send({line!r})\nimport time\ntime.sleep(1)"
    r = await local.run(code, timeout=10)
    assert r.restarted and r.error is not None and r.error.kind is ErrorKind.WORKER_RESTART
    assert (await local.run("1 + 1", timeout=10)).output == "2\n"
