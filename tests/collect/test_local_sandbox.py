"""The local sandbox as the loop uses it: persistence, errors, timeouts, restarts, tools."""

from __future__ import annotations

import asyncio
import os

import pytest
from support import require_isolation

from trajkit.collect.sandbox.config import SandboxConfig
from trajkit.collect.sandbox.local import LocalSandbox
from trajkit.core.tools import Tool
from trajkit.schemas import ErrorKind


@pytest.fixture(params=["isolated", "unisolated"])
async def sandbox(request):
    if request.param == "isolated":
        require_isolation()
    config = SandboxConfig(isolation=request.param == "isolated", kill_grace_s=1.0)
    box = LocalSandbox(config, tools=[Tool.from_function(add), Tool.from_function(boom)])
    await box.start()
    yield box
    await box.close()


def add(a: int, b: int) -> int:
    """Add two numbers on the host."""
    return a + b


async def boom(reason: str) -> str:
    """An async host tool that fails."""
    await asyncio.sleep(0)
    raise ValueError(reason)


async def test_variables_persist_and_last_expression_is_shown(sandbox):
    r1 = await sandbox.run("x = 20\ny = x * 2", timeout=5)
    assert r1.output == "" and r1.error is None
    r2 = await sandbox.run("print('sum', x + y)\nx + y + 2", timeout=5)
    assert r2.output == "sum 60\n62\n"
    r3 = await sandbox.run("None", timeout=5)
    assert r3.output == ""


async def test_exception_gives_compact_traceback(sandbox):
    r = await sandbox.run("a = 1\nb = a / 0", timeout=5)
    assert r.error is not None and r.error.kind == ErrorKind.EXCEPTION
    assert r.error.type == "ZeroDivisionError"
    assert "Cell In[1], line 2" in r.output
    assert "ZeroDivisionError: division by zero" in r.output
    assert "worker.py" not in r.output
    assert (await sandbox.run("a", timeout=5)).output == "1\n"


async def test_syntax_error_kind(sandbox):
    r = await sandbox.run("def f(:\n    pass", timeout=5)
    assert r.error is not None and r.error.kind == ErrorKind.SYNTAX
    assert "SyntaxError" in r.output


async def test_timeout_interrupts_and_keeps_state(sandbox):
    await sandbox.run("kept = 'yes'", timeout=5)
    r = await sandbox.run("import time\nwhile True:\n    time.sleep(0.01)", timeout=0.5)
    assert r.error is not None and r.error.kind == ErrorKind.TIMEOUT
    assert not r.restarted
    assert (await sandbox.run("kept", timeout=5)).output == "'yes'\n"


async def test_the_longest_allowed_cell_timeout_runs_the_cell(sandbox):
    """The loop's cap on ``exec_timeout`` is one the worker's interval timer can arm: past it
    (~292 years) arming fails and the cell would report an OverflowError the code never raised."""
    from trajkit.collect.loop import MAX_EXEC_TIMEOUT_S, LoopConfig

    r = await sandbox.run("print('ran')", timeout=MAX_EXEC_TIMEOUT_S)
    assert r.error is None and r.output == "ran\n"
    for bad in (1e12, float("inf")):
        with pytest.raises(ValueError, match="less than or equal to 86400"):
            LoopConfig(exec_timeout=bad)


async def test_ignored_interrupt_kills_and_restarts(sandbox):
    await sandbox.run("lost = 1", timeout=5)
    code = "while True:\n    try:\n        sum(range(1000))\n    except BaseException:\n        pass"
    r = await sandbox.run(code, timeout=0.5)
    assert r.restarted and r.error is not None and r.error.kind == ErrorKind.TIMEOUT
    assert "variables were lost" in r.output
    after = await sandbox.run("lost", timeout=5)
    assert after.error is not None and after.error.type == "NameError"


async def test_crash_restarts_worker(sandbox):
    await sandbox.run("v = 3", timeout=5)
    r = await sandbox.run("import os\nos._exit(7)", timeout=5)
    assert r.restarted and r.error is not None and r.error.kind == ErrorKind.WORKER_RESTART
    assert "exit code 7" in r.output
    assert (await sandbox.run("1 + 1", timeout=5)).output == "2\n"


async def test_protocol_garbage_restarts_worker(sandbox):
    code = (
        "import os\n"
        "for fd in range(3, 64):\n"
        "    try:\n"
        "        os.write(fd, b'not json\\n')\n"
        "    except OSError:\n"
        "        pass\n"
        "print('wrote')"
    )
    r = await sandbox.run(code, timeout=5)
    assert r.restarted and r.error is not None and r.error.kind == ErrorKind.WORKER_RESTART
    assert (await sandbox.run("'fine'", timeout=5)).output == "'fine'\n"


async def test_output_is_capped_while_running():
    config = SandboxConfig(isolation=False, output_limit=1000)
    async with LocalSandbox(config) as box:
        r = await box.run("for i in range(200000):\n    print(i)", timeout=30)
        assert r.truncated_chars > 1_000_000
        assert len(r.output) < 1200
        assert r.output.startswith("0\n1\n2\n") and r.output.rstrip().endswith("199999")
        assert "characters of output cut" in r.output


async def test_subprocess_output_is_captured(sandbox):
    r = await sandbox.run("import os\nos.system('echo from-shell')", timeout=10)
    assert "from-shell" in r.output


async def test_host_tools_sync_async_and_errors(sandbox):
    assert (await sandbox.run("add(2, 40)", timeout=5)).output == "42\n"
    r = await sandbox.run("boom('bad input')", timeout=5)
    assert r.error is not None and r.error.type == "RuntimeError"
    assert "ValueError: bad input" in r.output
    r = await sandbox.run("add(object(), 1)", timeout=5)
    assert r.error is not None and "JSON-serialisable" in r.output
    assert (await sandbox.run("print(add.__doc__)", timeout=5)).output == "Add two numbers on the host.\n"


async def test_tool_called_many_times_in_one_cell(sandbox):
    r = await sandbox.run("sum(add(i, 1) for i in range(200))", timeout=10)
    assert r.output == f"{sum(i + 1 for i in range(200))}\n"


async def test_close_leaves_no_process_or_directory():
    async with LocalSandbox(SandboxConfig(isolation=False)) as box:
        root = box._root
        pid = box._proc.pid
        await box.run("import subprocess\np = subprocess.Popen(['sleep', '60'])", timeout=5)
    assert root is not None and not os.path.exists(root)
    for _ in range(100):
        if not running_in_group(pid):
            return
        await asyncio.sleep(0.02)
    pytest.fail("a process of the closed sandbox is still alive")


def running_in_group(pgid: int) -> list[int]:
    """Processes of group ``pgid`` that are not zombies. A killed worker's children are
    orphans, reaped by the machine's init when it gets to them (a container's PID 1 may take
    two seconds): dead already, so they do not count."""
    alive = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as fh:
                fields = fh.read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[2]) == pgid and fields[0] != "Z":
            alive.append(int(entry))
    return alive


def test_sandboxes_die_with_the_collector(tmp_path):
    """SIGKILL of the collector leaves no fork server, launcher or worker behind."""
    require_isolation()
    import signal
    import subprocess
    import sys
    import time

    script = tmp_path / "host.py"
    script.write_text(
        "import asyncio, os, sys\n"
        "from trajkit.collect.sandbox.local import LocalSandbox\n"
        "async def main():\n"
        "    box = LocalSandbox()\n"
        "    await box.start()\n"
        "    r = await box.run('import os\\nos.getpid()', timeout=5)\n"
        "    print(box._proc.pid, flush=True)\n"
        "    await asyncio.sleep(60)\n"
        "asyncio.run(main())\n"
    )
    proc = subprocess.Popen([sys.executable, str(script)], stdout=subprocess.PIPE, text=True)
    launcher = int(proc.stdout.readline())
    os.kill(launcher, 0)  # alive while the collector is
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    for _ in range(100):
        try:
            os.kill(launcher, 0)
        except ProcessLookupError:
            return
        time.sleep(0.02)
    pytest.fail("the sandbox outlived its collector")


async def test_a_bound_directory_under_tmp_is_visible_not_hidden_by_the_private_tmp(tmp_path):
    """A virtualenv living under /tmp (common on CI runners) must stay importable: the jail's
    private /tmp is mounted first and the bound paths on top of it."""
    require_isolation()
    assert str(tmp_path).startswith("/tmp/")
    pkg = tmp_path / "site" / "tmpmod_probe"
    pkg.mkdir(parents=True)
    (pkg / "__init__.py").write_text("VALUE = 42\n")
    async with LocalSandbox(SandboxConfig(extra_binds=[str(tmp_path / "site")])) as box:
        result = await box.run(
            f"import sys\nsys.path.insert(0, {str(tmp_path / 'site')!r})\n"
            "import tmpmod_probe\nprint(tmpmod_probe.VALUE)\n"
            "open('/tmp/scratch.txt', 'w').write('ok')\nprint(open('/tmp/scratch.txt').read())",
            timeout=10,
        )
        assert result.error is None, result.output
        assert result.output.split() == ["42", "ok"]
        denied = await box.run(f"open({str(pkg / 'x.py')!r}, 'w')", timeout=10)
        assert denied.error is not None  # bound read-only
