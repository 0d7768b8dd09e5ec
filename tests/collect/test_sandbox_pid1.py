"""The local sandbox's worker is PID 1 of its sandbox (no init in front of it): it reaps what
its cells orphan, yet the cells' own code still gets every exit status it waits for, and
timeouts and kills still work (real jailed worker, real child processes)."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from support import require_isolation

from trajkit.collect.sandbox.config import SandboxConfig
from trajkit.collect.sandbox.local import LocalSandbox
from trajkit.schemas import ErrorKind

ZOMBIES = (
    "import os\n"
    "states = [open(f'/proc/{p}/stat').read().rsplit(')', 1)[1].split()[0]\n"
    "          for p in os.listdir('/proc') if p.isdigit()]\n"
    "print(states.count('Z'), len(states))"
)


@pytest.fixture
async def box() -> AsyncIterator[LocalSandbox]:
    require_isolation()
    sandbox = LocalSandbox(SandboxConfig(max_processes=16, kill_grace_s=1.0))
    await sandbox.start()
    yield sandbox
    await sandbox.close()


async def run(box: LocalSandbox, code: str, timeout: float = 10) -> str:
    r = await box.run(code, timeout=timeout)
    assert r.error is None and not r.restarted, r.output
    return r.output


async def test_the_worker_is_pid_1_and_its_subprocesses_keep_their_exit_codes(
    box: LocalSandbox,
) -> None:
    assert await run(box, "import os, subprocess, threading, time\nos.getpid()") == "1\n"
    out = await run(box, "subprocess.run(['true']).returncode, subprocess.run('exit 3', shell=True).returncode")
    assert out == "(0, 3)\n"
    # Exited and reaped (SIGCHLD) long before the code asks, in a later cell: still its own.
    await run(box, "p = subprocess.Popen(['sh', '-c', 'exit 5'])\npid = os.fork()\n"
                   "if pid == 0:\n    os._exit(7)\npolled = subprocess.Popen(['sh', '-c', 'exit 6'])\n"
                   "time.sleep(0.3)")
    out = await run(box, "p.wait(), os.waitstatus_to_exitcode(os.waitpid(pid, 0)[1]), polled.poll()")
    assert out == "(5, 7, 6)\n"
    # Waited for in a thread while the main thread reaps.
    out = await run(box, "q = subprocess.Popen(['sh', '-c', 'sleep 0.2; exit 9'])\nr = []\n"
                         "t = threading.Thread(target=lambda: r.append(q.wait()))\nt.start()\n"
                         "time.sleep(0.5)\nt.join()\nr")
    assert out == "[9]\n"


async def test_orphans_are_reaped_so_they_never_use_up_the_process_limit(box: LocalSandbox) -> None:
    """40 orphans under a limit of 16 processes: unreaped, their zombies would refuse forks."""
    code = (
        "import subprocess, time\n"
        "for _ in range(40):\n"
        "    subprocess.run('sleep 0.01 & exit 0', shell=True, check=True)\n"
        "    time.sleep(0.03)\n"
        "time.sleep(0.3)"
    )
    await run(box, code, timeout=20)
    assert await run(box, ZOMBIES) == "0 1\n"  # the worker alone, no zombie


async def test_a_timeout_still_interrupts_a_busy_loop_and_a_kill_still_restarts(
    box: LocalSandbox,
) -> None:
    await run(box, "kept = 'yes'")
    r = await box.run("while True:\n    pass", timeout=0.5)
    assert r.error is not None and r.error.kind is ErrorKind.TIMEOUT and not r.restarted
    assert await run(box, "kept") == "'yes'\n"
    # Signals from inside do not end PID 1; the host's SIGKILL after the grace does.
    code = (
        "import os, signal\nos.kill(1, signal.SIGTERM)\n"
        "for s in (signal.SIGINT, signal.SIGALRM):\n    signal.signal(s, signal.SIG_IGN)\n"
        "while True:\n    pass"
    )
    r = await box.run(code, timeout=0.5)
    assert r.restarted and r.error is not None and r.error.kind is ErrorKind.TIMEOUT
    assert await run(box, "import os\nos.getpid()") == "1\n"
