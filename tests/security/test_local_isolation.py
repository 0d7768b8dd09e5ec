"""Attacks a teacher's code might make, run as cells in the isolated local sandbox.

After each attack the cell returns a clear observation, the same sandbox keeps working, and
the host is unchanged: no secret printed, no file read or written outside, no network.
"""

from __future__ import annotations

import os
import socket
import threading
import uuid
from pathlib import Path

import pytest
from support import require_isolation

from trajkit.collect.sandbox.config import SandboxConfig
from trajkit.collect.sandbox.local import LocalSandbox

SECRET = "sk-test-" + uuid.uuid4().hex


@pytest.fixture
async def box(monkeypatch):
    require_isolation()
    monkeypatch.setenv("OPENAI_API_KEY", SECRET)
    monkeypatch.setenv("ANTHROPIC_API_KEY", SECRET)
    sandbox = LocalSandbox(SandboxConfig(kill_grace_s=1.0, memory_mb=1024))
    await sandbox.start()
    yield sandbox
    still = await sandbox.run("print('still alive')", timeout=10)
    assert still.output == "still alive\n", still.output
    await sandbox.close()


@pytest.fixture
def tcp_server():
    """A real listener on the host's loopback that records whether anyone connected."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen()
    server.settimeout(0.2)
    hits: list[str] = []
    stop = threading.Event()

    def serve() -> None:
        while not stop.is_set():
            try:
                conn, _ = server.accept()
            except OSError:
                continue
            hits.append("connected")
            conn.close()

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    yield server.getsockname()[1], hits
    stop.set()
    thread.join()
    server.close()


async def test_no_outbound_tcp_to_host_loopback(box, tcp_server):
    port, hits = tcp_server
    code = f"import socket\nsocket.create_connection(('127.0.0.1', {port}), timeout=2)"
    r = await box.run(code, timeout=10)
    assert r.error is not None and r.error.type in {"OSError", "ConnectionRefusedError", "TimeoutError"}
    assert hits == []


async def test_no_dns(box):
    r = await box.run("import socket\nsocket.getaddrinfo('example.com', 80)", timeout=10)
    assert r.error is not None and r.error.type == "gaierror"


async def test_no_network_interfaces_but_loopback(box):
    r = await box.run("import socket\nprint([n for _, n in socket.if_nameindex()])", timeout=10)
    assert r.output.strip() in {"['lo']", "[]"}


async def test_environment_is_scrubbed(box):
    r = await box.run(
        "import os\nprint(sorted(os.environ))\nprint(dict(os.environ))\n"
        "print(open('/proc/self/environ', 'rb').read())",
        timeout=10,
    )
    assert SECRET not in r.output
    assert "OPENAI_API_KEY" not in r.output and "ANTHROPIC_API_KEY" not in r.output


async def test_proc_environ_of_every_visible_process_has_no_key(box):
    code = (
        "import os\n"
        "found = []\n"
        "for pid in os.listdir('/proc'):\n"
        "    if pid.isdigit():\n"
        "        try:\n"
        "            found.append(open(f'/proc/{pid}/environ', 'rb').read().decode(errors='replace'))\n"
        "        except OSError as e:\n"
        "            found.append(type(e).__name__)\n"
        "print(sorted(p for p in os.listdir('/proc') if p.isdigit()))\n"
        "print(found)\n"
        "print(open(f'/proc/{os.getppid()}/cmdline', 'rb').read())"
    )
    r = await box.run(code, timeout=10)
    assert SECRET not in r.output
    # Its own PID namespace: the collector's PID is not even visible.
    assert str(os.getpid()) not in r.output.splitlines()[0]


async def test_host_pid_not_reachable(box):
    r = await box.run(f"import os\nos.kill({os.getpid()}, 0)", timeout=10)
    assert r.error is not None and r.error.type == "ProcessLookupError"


async def test_cannot_read_files_outside(box, tmp_path):
    home_canary = Path.home() / ".config" / f"trajkit-canary-{uuid.uuid4().hex}"
    home_canary.parent.mkdir(parents=True, exist_ok=True)
    home_canary.write_text(SECRET)
    tmp_canary = tmp_path / "canary.txt"
    tmp_canary.write_text(SECRET)
    out_dir = Path(__file__).resolve().parents[2] / "out"
    try:
        for path in (home_canary, tmp_canary, out_dir / ".gitkeep", Path("/etc/shadow")):
            r = await box.run(f"print(open({str(path)!r}).read())", timeout=10)
            assert r.error is not None, f"{path} was readable"
            assert SECRET not in r.output
    finally:
        home_canary.unlink()


async def test_cannot_write_or_delete_outside_workdir(box, tmp_path):
    victim = tmp_path / "victim.txt"
    victim.write_text("keep me")
    for target in ("/usr/trajkit-pwned", "/etc/trajkit-pwned", "/trajkit-pwned", str(victim)):
        r = await box.run(f"open({target!r}, 'w').write('x')", timeout=10)
        assert r.error is not None, target
    r = await box.run(f"import shutil\nshutil.rmtree({str(tmp_path)!r})", timeout=10)
    assert victim.read_text() == "keep me"
    assert not Path("/usr/trajkit-pwned").exists()
    r = await box.run("open('scratch.txt', 'w').write('ok')\nopen('scratch.txt').read()", timeout=10)
    assert r.output == "'ok'\n"


async def test_cannot_remount_binds_writable(box):
    r = await box.run(
        "import subprocess\n"
        "print(subprocess.run(['mount', '-o', 'remount,rw', '/usr'], capture_output=True, text=True))\n"
        "open('/usr/trajkit-pwned', 'w')",
        timeout=10,
    )
    assert r.error is not None and not Path("/usr/trajkit-pwned").exists()


async def test_fork_bomb_is_contained(box):
    code = (
        "import os, time\n"
        "n = 0\n"
        "try:\n"
        "    while True:\n"
        "        if os.fork() == 0:\n"
        "            time.sleep(20)\n"
        "            os._exit(0)\n"
        "        n += 1\n"
        "except OSError as exc:\n"
        "    print('fork refused after', n, type(exc).__name__)"
    )
    r = await box.run(code, timeout=20)
    assert "fork refused after" in r.output


async def test_huge_allocation_is_refused(box):
    r = await box.run("x = bytearray(50 * 1024**3)", timeout=20)
    assert r.error is not None and r.error.type == "MemoryError"


async def test_filling_the_disk_is_bounded(box):
    code = (
        "written = 0\n"
        "try:\n"
        "    with open('big.bin', 'wb') as fh:\n"
        "        for _ in range(100_000):\n"
        "            fh.write(b'0' * 2**20)\n"
        "            written += 1\n"
        "except OSError as exc:\n"
        "    print('stopped at', written, 'MiB:', type(exc).__name__)"
    )
    r = await box.run(code, timeout=30)
    assert "stopped at" in r.output


async def test_printing_a_gigabyte_is_capped(box):
    r = await box.run("import sys\nfor _ in range(1024):\n    sys.stdout.write('x' * 2**20)", timeout=60)
    assert r.truncated_chars >= 1024 * 2**20 - 70_000
    assert len(r.output) < 70_000


async def test_segfault_restarts(box):
    r = await box.run("import ctypes\nctypes.string_at(0)", timeout=10)
    assert r.restarted and r.error is not None and r.error.kind.value == "worker_restart"


async def test_killing_parents_does_not_escape(box):
    r = await box.run("import os, signal\nos.kill(os.getppid(), signal.SIGKILL)\nprint('done')", timeout=10)
    assert r.error is not None or r.output == "done\n"


async def test_unbounded_recursion(box):
    r = await box.run("def f(n):\n    return f(n + 1)\nf(0)", timeout=10)
    assert r.error is not None and r.error.type == "RecursionError"


async def test_sys_exit_keeps_interpreter(box):
    await box.run("kept = 5", timeout=10)
    r = await box.run("import sys\nsys.exit(2)", timeout=10)
    assert r.error is not None and r.error.type == "SystemExit" and not r.restarted
    assert (await box.run("kept", timeout=10)).output == "5\n"
