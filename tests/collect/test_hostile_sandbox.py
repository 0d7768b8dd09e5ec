"""What a cell's code sends back to the host is hostile input: the host must come out whole.

Everything here runs a real sandbox (the isolated local one; the docker one too where the
transport or the interpreter differ): lone surrogates printed every way a cell can print,
frames forged on the worker's own channel (the code can reach it), exceptions whose
``__str__`` raises, output a thread prints after its cell ended. Each outcome is checked as
the loop will use it: the cell result must encode to UTF-8 JSON, the episode must go on.
"""

from __future__ import annotations

import asyncio
import importlib.util
import json
import math
from collections.abc import AsyncIterator
from typing import Any

import pytest
from support import FIND_CHANNEL, require_backend

from trajkit.collect.sandbox import session
from trajkit.collect.sandbox.backend import sandbox_factory
from trajkit.collect.sandbox.config import SandboxConfig
from trajkit.collect.sandbox.local import WORKER
from trajkit.collect.sandbox.session import WorkerSession
from trajkit.core.sandbox import CellResult
from trajkit.schemas import ErrorKind

CONFIG = SandboxConfig(kill_grace_s=1.0, label="hostile-sandbox")

#: Finds the worker's channel from inside a cell, as any code in the sandbox can.
CHANNEL = FIND_CHANNEL + (
    "def send(line):\n    os.write(ch.wfd, line.encode() + b'\\n')\n"
)


def encodable(result: CellResult) -> None:
    """The result can be written as a record: UTF-8 JSON, finite numbers only."""
    fields = {
        "output": result.output,
        "error": result.error.model_dump(mode="json") if result.error else None,
        "duration_s": result.duration_s,
        "truncated_chars": result.truncated_chars,
    }
    json.dumps(fields, ensure_ascii=False, allow_nan=False).encode("utf-8")
    assert math.isfinite(result.duration_s) and 0 <= result.duration_s < 120
    assert 0 <= result.truncated_chars < 2**53


@pytest.fixture(params=["local", "docker"])
async def box(request: pytest.FixtureRequest) -> AsyncIterator[WorkerSession]:
    require_backend(request.param)
    sandbox = sandbox_factory(request.param, CONFIG)([])
    assert isinstance(sandbox, WorkerSession)
    await sandbox.start()
    try:
        yield sandbox
    finally:
        await sandbox.close()


@pytest.fixture
async def local() -> AsyncIterator[WorkerSession]:
    require_backend("local")
    sandbox = sandbox_factory("local", CONFIG)([])
    assert isinstance(sandbox, WorkerSession)
    await sandbox.start()
    try:
        yield sandbox
    finally:
        await sandbox.close()


# -- lone surrogates ----------------------------------------------------------------------

SURROGATE_CELLS = {
    "print": "print('a\\ud800b')",
    "stderr": "import sys\nsys.stderr.write('\\udfff\\n')",
    "exception message": "raise ValueError('bad \\ud800')",
    "SystemExit": "raise SystemExit('\\ud800')",
    "__repr__ of the last value": (
        "class R:\n    def __repr__(self):\n        return '\\ud800'\nR()"
    ),
    "background thread": (
        "import threading\nt = threading.Thread(target=lambda: print('\\udc80'))\n"
        "t.start(); t.join()"
    ),
    "C-level write of an encoded surrogate": "import os\nos.write(1, b'\\xed\\xa0\\x80\\n')",
}


@pytest.mark.parametrize("case", list(SURROGATE_CELLS))
async def test_lone_surrogates_arrive_as_replacement_characters(
    box: WorkerSession, case: str
) -> None:
    await box.run("kept = 7", timeout=10)
    r = await box.run(SURROGATE_CELLS[case], timeout=10)
    encodable(r)
    assert not r.restarted
    assert "\ufffd" in r.output, r.output
    if r.error is not None:
        assert "\ud800" not in r.error.message and "\ufffd" in r.error.message
    assert (await box.run("kept", timeout=10)).output == "7\n"


async def test_a_valid_non_bmp_character_is_kept(local: WorkerSession) -> None:
    """Only lone surrogates are replaced: a real pair (an emoji, escaped as two) survives."""
    r = await local.run("print('\\U0001F600 ok')", timeout=10)
    assert r.output == "\U0001f600 ok\n"


# -- forged result frames -----------------------------------------------------------------

GOOD = {"op": "result", "output": "", "truncated": 0, "error": None, "duration": 0.001, "ended": False}
FORGED: dict[str, dict[str, Any]] = {
    "duration NaN": {"duration": math.nan},
    "duration infinite": {"duration": math.inf},
    "duration 1e308": {"duration": 1e308},
    "duration negative": {"duration": -1.0},
    "duration a string": {"duration": "0.1"},
    "truncated 10**400": {"truncated": 10**400},
    "truncated negative": {"truncated": -5},
    "truncated a bool": {"truncated": True},
    "truncated a float": {"truncated": 1.5},
    "output not a string": {"output": ["x"]},
    "output over the cap": {"output": "x" * (CONFIG.output_limit + 10_000)},
    "ended not a bool": {"ended": 1},
    "error a string": {"error": "boom"},
    "error kind only the host reports": {
        "error": {"kind": "worker_restart", "type": "X", "message": ""}
    },
    "error kind unknown": {"error": {"kind": "meltdown", "type": "X", "message": ""}},
    "error type too long": {"error": {"kind": "exception", "type": "E" * 5000, "message": ""}},
    "error message too long": {
        "error": {"kind": "exception", "type": "E", "message": "m" * 100_000}
    },
    "error message not a string": {"error": {"kind": "exception", "type": "E", "message": 3}},
    "error with an extra field": {
        "error": {"kind": "exception", "type": "E", "message": "", "x": 1}
    },
    "an extra field": {"extra": 1},
    "a missing field": {"duration": None},
    "id a bool": {"id": True},
}


def forged_cell(box: WorkerSession, fields: dict[str, Any]) -> str:
    """A cell that writes a result frame for itself (``None`` drops a field), then keeps
    running so the host reads the forged frame first."""
    frame = {**GOOD, "id": box._seq + 1, **fields}
    line = json.dumps({k: v for k, v in frame.items() if v is not None or k == "error"})
    return CHANNEL + f"send({line!r})\nimport time\ntime.sleep(1)\n"


@pytest.mark.parametrize("case", list(FORGED))
async def test_a_forged_result_frame_restarts_the_worker(local: WorkerSession, case: str) -> None:
    await local.run("lost = 1", timeout=10)
    r = await local.run(forged_cell(local, FORGED[case]), timeout=10)
    encodable(r)
    assert r.restarted and r.error is not None and r.error.kind is ErrorKind.WORKER_RESTART
    assert "corrupt protocol message" in r.error.message, r.error.message
    assert r.duration_s < 5
    assert (await local.run("1 + 1", timeout=10)).output == "2\n"


async def test_a_forged_frame_restarts_the_worker_on_both_backends(box: WorkerSession) -> None:
    """The docker transport demultiplexes the attach stream first: same verdict there (and a
    fresh container)."""
    r = await box.run(forged_cell(box, FORGED["duration NaN"]), timeout=10)
    encodable(r)
    assert r.restarted and r.error is not None and "corrupt" in r.error.message
    assert (await box.run("6 * 7", timeout=10)).output == "42\n"


async def test_a_frame_cut_off_by_the_worker_dying_reports_its_exit(local: WorkerSession) -> None:
    code = CHANNEL + "import os\nos.write(ch.wfd, b'{\"op\": \"res')\nos._exit(5)"
    r = await local.run(code, timeout=10)
    assert r.restarted and r.error is not None and "exit code 5" in r.error.message


async def test_garbage_kills_at_once_without_waiting_for_a_grace(local: WorkerSession) -> None:
    r = await local.run(CHANNEL + "send('not json')\nimport time\ntime.sleep(30)", 10)
    assert r.restarted and r.error is not None and "garbage" in r.error.message
    assert r.duration_s < 0.45  # it used to wait 0.5 s for a worker that was not dying


async def test_a_worker_that_stops_reading_cannot_stall_the_host(local: WorkerSession) -> None:
    """The cell stops its own process after it returns (a thread that never lets go of the
    interpreter lock: the regex engine does not release it; a ``SIGSTOP`` to itself would be
    dropped, the worker being its sandbox's PID 1); the host's next frame (2 MB of code) fills
    the pipe. Writing it is bounded by the cell's deadline like reading is: the worker is
    killed and replaced instead of the episode hanging on a write."""
    await local.run(
        "import re, threading, time\n"
        "def stop():\n    time.sleep(0.3)\n    re.match(r'(a|aa)*c', 'a' * 80)\n"
        "threading.Thread(target=stop).start()",
        timeout=10,
    )
    await asyncio.sleep(0.8)
    r = await asyncio.wait_for(local.run("x = 1\n" + "#" * 2_000_000, timeout=1), 20)
    assert r.restarted and r.error is not None and r.error.kind is ErrorKind.TIMEOUT
    assert (await local.run("1 + 1", timeout=10)).output == "2\n"


# -- exceptions that fight their own report ---------------------------------------------

NASTY_EXCEPTIONS = {
    "__str__ raises": (
        "class E(Exception):\n    def __str__(self):\n        raise RuntimeError('no')\nraise E()",
        "E",
    ),
    "__str__ returns a str subclass with broken methods": (
        "class S(str):\n    def __len__(self): raise RuntimeError\n"
        "    def __getitem__(self, i): raise RuntimeError\n"
        "class E(Exception):\n    def __str__(self): return S('tricky')\nraise E()",
        "E",
    ),
    "__str__ calls sys.exit": (
        "import sys\nclass E(Exception):\n    def __str__(self): sys.exit(3)\nraise E()",
        "E",
    ),
    "metaclass __name__ raises": (
        "class M(type):\n    @property\n    def __name__(cls): raise RuntimeError\n"
        "class E(Exception, metaclass=M):\n    pass\nraise E('x')",
        "E",
    ),
    "__notes__ raises": (
        "class E(Exception):\n    @property\n    def __notes__(self): raise RuntimeError\n"
        "raise E('x')",
        "E",
    ),
    "SystemExit code whose __str__ raises": (
        "class C:\n    def __str__(self): raise RuntimeError\nraise SystemExit(C())",
        "SystemExit",
    ),
    "SystemExit with a 10 MB code": ("raise SystemExit('x' * 10_000_000)", "SystemExit"),
}


@pytest.mark.parametrize("case", list(NASTY_EXCEPTIONS))
async def test_an_exception_that_breaks_its_report_keeps_the_interpreter(
    local: WorkerSession, case: str
) -> None:
    code, etype = NASTY_EXCEPTIONS[case]
    await local.run("kept = 'yes'", timeout=10)
    r = await local.run(code, timeout=10)
    encodable(r)
    assert not r.restarted, r.output
    assert r.error is not None and r.error.kind is ErrorKind.EXCEPTION and r.error.type == etype
    assert len(r.error.message) <= session.ERROR_MESSAGE_CHARS
    assert (await local.run("kept", timeout=10)).output == "'yes'\n"


async def test_a_str_subclass_printed_cannot_break_the_output_buffer(local: WorkerSession) -> None:
    code = (
        "class S(str):\n    def __len__(self): return -1\n"
        "    def __getitem__(self, i): return 42\n"
        "import sys\nsys.stdout.write(S('plain text\\n'))\n"
        "class R:\n    def __repr__(self): return S('shown')\nR()"
    )
    r = await local.run(code, timeout=10)
    assert not r.restarted and r.output == "plain text\nshown\n", r.output


async def test_a_cell_that_breaks_the_workers_own_tools_is_reported_not_fatal(
    local: WorkerSession,
) -> None:
    """The cell can reach the worker's modules: a clock that fails once, a ``sys.__stdout__``
    without ``flush``. The cell's report fails, not the worker."""
    await local.run("kept = 'yes'", timeout=10)
    sabotage = (
        "import time\nreal = time.perf_counter\n"
        "def once():\n    time.perf_counter = real\n    raise RuntimeError('sabotage')\n"
        "time.perf_counter = once"
    )
    r = await local.run(sabotage, timeout=10)
    encodable(r)
    assert not r.restarted and r.error is not None and r.error.type == "RuntimeError"
    assert "could not be reported: sabotage" in r.error.message
    r = await local.run("import sys\nsys.__stdout__ = None\nprint('still here')", timeout=10)
    assert not r.restarted and r.output == "still here\n" and r.error is None
    assert (await local.run("kept", timeout=10)).output == "'yes'\n"


# -- output printed after a cell ended ---------------------------------------------------


async def test_output_printed_between_cells_is_labelled_in_the_next_cell(box: WorkerSession) -> None:
    r1 = await box.run(
        "import threading, time\n"
        "def late():\n    time.sleep(0.3)\n    print('from the thread')\n"
        "threading.Thread(target=late).start()\nprint('cell one')",
        timeout=10,
    )
    assert r1.output == "cell one\n"
    await asyncio.sleep(1.0)
    r2 = await box.run("print('cell two')", timeout=10)
    assert r2.output.startswith("[printed after cell 1 ended, by code still running"), r2.output
    assert "from the thread\n" in r2.output
    assert r2.output.endswith("this cell's output follows]\ncell two\n"), r2.output
    r3 = await box.run("print('cell three')", timeout=10)
    assert r3.output == "cell three\n"


async def test_c_level_output_arrives_in_its_own_cell(box: WorkerSession) -> None:
    """Bytes written to fd 1 reach the buffer through the worker's I/O thread (which also
    reads the host's messages); the cell's end waits for them, so they are never shown in the
    next cell as if printed after this one (a thread spinning in the background makes the
    I/O thread late)."""
    spin = "import threading\ndef spin():\n    while True:\n        pass\n"
    await box.run(spin + "threading.Thread(target=spin, daemon=True).start()", timeout=10)
    for i in range(30):
        r = await box.run(f"import os\nos.write(1, b'c-level {i}\\n')\nNone", timeout=10)
        assert r.output == f"c-level {i}\n", (i, r.output)


async def test_output_printed_between_cells_is_bounded(local: WorkerSession) -> None:
    await local.run(
        "import threading, time\n"
        "def late():\n    time.sleep(0.3)\n    print('y' * 50_000)\n"
        "threading.Thread(target=late).start()",
        timeout=10,
    )
    await asyncio.sleep(1.0)
    r = await local.run("print('mine')", timeout=10)
    assert "characters cut" in r.output and r.output.endswith("mine\n")
    assert r.output.count("y") <= 2000 and len(r.output) < 2400


# -- the limits the host checks are the worker's own --------------------------------------


def test_host_and_worker_agree_on_the_limits() -> None:
    spec = importlib.util.spec_from_file_location("sandbox_worker_script", WORKER)
    assert spec is not None and spec.loader is not None
    worker = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(worker)
    for name in ("TOOL_ARGS_DEPTH", "ERROR_TYPE_CHARS", "ERROR_MESSAGE_CHARS"):
        assert getattr(worker, name) == getattr(session, name), name
    assert worker.LEFTOVER_CHARS + 200 < CONFIG.output_limit
