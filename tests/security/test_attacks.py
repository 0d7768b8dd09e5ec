"""Attacks a teacher's code might make, each run as a code action in a real episode, on the
local and the docker sandbox (harness: ``battery.py``).

Every test asserts the attack's own observation, and the harness asserts the rest: the
episode continues, the next episode runs normally, the host is unchanged, and no secret
reaches any message. ``SECURITY.md`` tabulates the measured outcomes.
"""

from __future__ import annotations

import os
import socket
import tempfile
import textwrap
import uuid
from pathlib import Path
from string import Template

from battery import CONFIG, SECRET, Battery, Host, report
from support import forked_holders_cell, require, spinners_cell

from trajkit.collect.sandbox.cgroup import cgroup_scope
from trajkit.schemas import ErrorKind


def cell(source: str, **values: object) -> str:
    """A code action from an indented template; ``$name`` becomes ``repr(value)``."""
    return Template(textwrap.dedent(source).strip()).substitute(
        {k: repr(v) for k, v in values.items()}
    )


async def test_outbound_tcp_to_a_host_listener(battery: Battery, host: Host) -> None:
    targets = ["127.0.0.1", "172.17.0.1"]  # loopback, and docker's bridge gateway (the host)
    code = cell("""
        import socket
        for ip in $targets:
            try:
                socket.create_connection((ip, $port), timeout=2)
                print(ip, 'CONNECTED')
            except OSError as e:
                print(ip, type(e).__name__)
    """, targets=targets, port=host.tcp_port)
    out = await battery.attack(code)
    assert "CONNECTED" not in out.attack.output and out.attack.output.count("\n") == 2
    report(out, "outbound TCP to a listener on the host (loopback, bridge gateway)",
           out.attack.output.strip().replace("\n", "; "))


async def test_connecting_to_the_hosts_unix_sockets(battery: Battery, host: Host) -> None:
    """A unix socket ignores a read-only bind (connecting needs no write to the file system)
    and an abstract one has no file at all: the daemons behind them (docker's, containerd's,
    a session bus) would hand a teacher the host. None may be reachable."""
    name = f"trajkit-canary-{uuid.uuid4().hex}"
    abstract = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    abstract.bind("\0" + name)
    abstract.listen()
    abstract.setblocking(False)
    with tempfile.TemporaryDirectory(prefix="trajkit-canary-", dir="/tmp") as scratch:
        path = f"{scratch}/host.sock"
        on_disk = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        on_disk.bind(path)
        on_disk.listen()
        on_disk.setblocking(False)
        targets = ["\0" + name, path, "/var/run/docker.sock", "/run/containerd/containerd.sock"]
        code = cell("""
            import socket
            for address in $targets:
                s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
                try:
                    s.connect(address)
                    print(repr(address), 'CONNECTED')
                except OSError as e:
                    print(repr(address), type(e).__name__)
        """, targets=targets)
        try:
            out = await battery.attack(code)
            for listener in (abstract, on_disk):
                try:
                    listener.accept()
                    raise AssertionError("the sandbox reached a unix socket of the host")
                except BlockingIOError:
                    pass
        finally:
            abstract.close()
            on_disk.close()
    assert "CONNECTED" not in out.attack.output and out.attack.output.count("\n") == 4
    report(out, "connect to the host's unix sockets (abstract, in /tmp, docker's, containerd's)",
           out.attack.output.strip().replace("\n", "; ").replace(name, "NAME").replace(scratch, "/tmp/DIR"))


async def test_dns_lookup(battery: Battery, host: Host) -> None:
    out = await battery.attack("import socket\nsocket.getaddrinfo('deb.debian.org', 80)")
    assert out.attack.error is not None and out.attack.error.type == "gaierror"
    report(out, "DNS lookup", f"gaierror: {out.attack.error.message}")


async def test_reading_the_collectors_environment(battery: Battery, host: Host) -> None:
    code = cell("""
        import os
        print(sorted(os.environ))
        for pid in ['self'] + [p for p in os.listdir('/proc') if p.isdigit()] + [
            str(os.getppid()), $pid
        ]:
            try:
                print(pid, open(f'/proc/{pid}/environ', 'rb').read())
            except OSError as e:
                print(pid, type(e).__name__)
    """, pid=str(os.getpid()))
    out = await battery.attack(code)
    assert out.attack.error is None and "OPENAI_API_KEY" not in out.attack.output
    assert SECRET not in out.attack.output and "ANTHROPIC_API_KEY" not in out.attack.output
    last = out.attack.output.strip().splitlines()[-1]
    assert last.startswith(str(os.getpid())) and "Error" in last, last  # our PID is not visible
    report(out, "read the collector's environment (os.environ, /proc/*/environ, ppid, host pid)",
           f"scrubbed env only; host pid: {last.split()[-1]}")


async def test_reading_canaries_outside(battery: Battery, host: Host) -> None:
    paths = [str(host.home_canary), str(host.out_canary), "/etc/shadow", "/root/.bash_history"]
    code = cell("""
        for p in $paths:
            try:
                print(p, open(p).read())
            except OSError as e:
                print(p, type(e).__name__)
    """, paths=paths)
    out = await battery.attack(code)
    assert SECRET not in out.attack.output
    assert out.attack.output.count("Error") == len(paths), out.attack.output
    report(out, "read canaries (~/.config, the run's output dir, /etc/shadow)",
           ", ".join(sorted({ln.split()[-1] for ln in out.attack.output.splitlines()})))


async def test_writing_outside_the_work_dir(battery: Battery, host: Host) -> None:
    targets = ["/usr/trajkit-pwned", "/etc/trajkit-pwned", "/trajkit-pwned",
               str(host.out_dir / "pwned.jsonl"), str(Path.home() / ".bashrc")]
    code = cell("""
        for p in $targets:
            try:
                open(p, 'a').write('x')
                print(p, 'WRITTEN')
            except OSError as e:
                print(p, type(e).__name__)
        open('scratch.txt', 'w').write('ok')
        print(open('scratch.txt').read())
    """, targets=targets)
    out = await battery.attack(code)
    assert "WRITTEN" not in out.attack.output and out.attack.output.endswith("ok\n")
    assert not (host.out_dir / "pwned.jsonl").exists()
    report(out, "write outside the work dir (/usr, /etc, /, the run's output, ~/.bashrc)",
           "refused: " + ", ".join(sorted({ln.split()[-1] for ln in out.attack.output.splitlines()[:-1]})))


async def test_deleting_the_runs_output(battery: Battery, host: Host) -> None:
    code = cell("""
        import shutil, os
        for p in $dirs:
            try:
                shutil.rmtree(p)
            except OSError as e:
                print(type(e).__name__)
        try:
            os.remove($file)
        except OSError as e:
            print(type(e).__name__)
    """, dirs=[str(host.out_dir), str(host.out_dir.parent.parent)], file=str(host.out_canary))
    out = await battery.attack(code)
    assert host.out_canary.read_text() == SECRET
    report(out, "delete the run's output (rmtree, remove)",
           "not visible: " + ", ".join(sorted(set(out.attack.output.split()))))


async def test_fork_bomb(battery: Battery, host: Host) -> None:
    code = (
        "import os, time\nn = 0\ntry:\n    while True:\n        if os.fork() == 0:\n"
        "            time.sleep(20)\n            os._exit(0)\n        n += 1\n"
        "except OSError as exc:\n    print('fork refused after', n, type(exc).__name__)"
    )
    out = await battery.attack(code, timeout=20)
    assert "fork refused after" in out.attack.output, out.attack.output[:300]
    report(out, "fork bomb", out.attack.output.strip())


async def test_50_gb_allocation(battery: Battery, host: Host) -> None:
    out = await battery.attack("x = bytearray(50 * 1024**3)\nprint('ALLOCATED')", timeout=20)
    r = out.attack
    assert "ALLOCATED" not in r.output
    assert r.error is not None and (r.error.type == "MemoryError" or r.restarted)
    report(out, "50 GB allocation", f"{r.error.type}{' (restarted)' if r.restarted else ''}")


async def test_memory_held_across_forked_processes(battery: Battery, host: Host) -> None:
    """Each process stays under ``memory_mb``, so no rlimit stops eight of them holding 300 MB
    each: 2.4 GB under a 1 GB limit. The sandbox as a whole is bounded: docker by its
    container's cgroup, the local sandbox by one of its own (``cgroup.py``); the kernel
    kills what does not fit."""
    if battery.backend == "local":
        scope = cgroup_scope()
        require(scope.memory, f"a memory cgroup per local sandbox: {scope.detail}")
    out = await battery.attack(forked_holders_cell(8, 300, 4), timeout=30)
    held = out.attack.output.strip()
    assert held.isdigit() and int(held) * 300 < CONFIG.memory_mb, out.attack.output[:300]
    report(out, "hold 8 × 300 MB in forked processes (memory_mb 1024)", f"{held} of 8 children hold 300 MB together")


async def test_cpu_taken_by_forked_processes(battery: Battery, host: Host) -> None:
    """Four processes spinning for 2 s, each within its own RLIMIT_CPU, took every core of
    the host from the other episodes; processes a cell leaves behind keep doing so after it
    returns. The sandbox as a whole gets ``cpus`` CPUs (1 here): docker by its container's
    cgroup, the local sandbox by one of its own where the CPU controller is writable."""
    if battery.backend == "local":
        scope = cgroup_scope()
        require(scope.cpu, f"a CPU cgroup per local sandbox: {scope.detail}")
    out = await battery.attack(spinners_cell(4, 2), timeout=30)
    used = float(out.attack.output)
    assert used <= 1.25 * CONFIG.cpus, out.attack.output
    report(out, "4 processes spinning for 2 s (cpus 1)", f"{used:.2f} CPUs for 4 spinning processes")

async def test_filling_the_disk(battery: Battery, host: Host) -> None:
    code = cell("""
        written = 0
        try:
            for i in range(10_000):  # 32 MiB files: under the file-size limit, over the quota
                with open(f'big{i}.bin', 'wb') as fh:
                    for _ in range(32):
                        fh.write(b'0' * 2**20)
                        written += 1
        except OSError as exc:
            print('stopped at', written, 'MiB:', exc.strerror)
    """)
    out = await battery.attack(code, timeout=30)
    assert "stopped at" in out.attack.output, out.attack.output[:300]
    assert "No space left on device" in out.attack.output
    report(out, "fill the disk (32 MiB files until refused)", out.attack.output.strip())


async def test_filling_the_disk_with_empty_files(battery: Battery, host: Host) -> None:
    """Empty files take no space, so a tmpfs's size never stops them, but each costs the
    kernel ~1 KB that no sandbox limit counted: 300,000 in /tmp held 300 MB of the host's
    memory (the kernel's default allowed ~3 million per tmpfs). Each tmpfs now holds at most
    256 files per MB of its size."""
    code = cell("""
        import os
        for where in ('/tmp', '/sandbox'):
            made = 0
            try:
                for i in range(1_000_000):
                    open(f'{where}/e{i}', 'w').close()
                    made += 1
            except OSError as exc:
                print(where, 'stopped at', made, 'files:', exc.strerror)
    """)
    out = await battery.attack(code, timeout=120)
    assert out.attack.output.splitlines() == [  # tmp_mb 128, work_mb 256 (each file: 1 inode)
        "/tmp stopped at 32767 files: No space left on device",
        "/sandbox stopped at 65535 files: No space left on device",
    ], out.attack.output[:300]
    report(out, "fill a tmpfs with empty files (inodes: kernel memory)", out.attack.output.strip().replace("\n", "; "))


async def test_no_network_interface_but_loopback(battery: Battery, host: Host) -> None:
    out = await battery.attack("import socket\nprint([n for _, n in socket.if_nameindex()])")
    assert out.attack.output.strip() in {"['lo']", "[]"}, out.attack.output
    report(out, "list network interfaces", out.attack.output.strip())


async def test_remounting_system_dirs_writable(battery: Battery, host: Host) -> None:
    code = cell("""
        import subprocess
        print(subprocess.run(['mount', '-o', 'remount,rw', '/usr'], capture_output=True,
                             text=True).stderr.strip()[-80:])
        open('/usr/trajkit-pwned', 'w')
    """)
    out = await battery.attack(code)
    assert out.attack.error is not None and not Path("/usr/trajkit-pwned").exists()
    report(out, "remount /usr read-write, then write to it", f"{out.attack.error.type}")


async def test_infinite_loop_ignoring_signals(battery: Battery, host: Host) -> None:
    code = (
        "import signal\nfor s in (signal.SIGINT, signal.SIGALRM, signal.SIGTERM):\n"
        "    signal.signal(s, signal.SIG_IGN)\nwhile True:\n    pass"
    )
    out = await battery.attack(code, timeout=1.0)
    r = out.attack
    assert r.restarted and r.error is not None and r.error.kind is ErrorKind.TIMEOUT
    report(out, "infinite loop ignoring SIGINT/SIGALRM/SIGTERM",
           f"killed after timeout + grace ({r.duration_s:.1f} s), restarted")


async def test_printing_a_gigabyte(battery: Battery, host: Host) -> None:
    code = "import sys\nfor _ in range(1024):\n    sys.stdout.write('x' * 2**20)"
    out = await battery.attack(code, timeout=60)
    r = out.attack
    assert r.truncated_chars >= 1024 * 2**20 - 70_000 and len(r.output) < 70_000
    report(out, "print 1 GB", f"kept {len(r.output)} chars, cut {r.truncated_chars}")


async def test_os_exit(battery: Battery, host: Host) -> None:
    out = await battery.attack("import os\nos._exit(3)")
    r = out.attack
    assert r.restarted and r.error is not None and r.error.kind is ErrorKind.WORKER_RESTART
    report(out, "os._exit", r.error.message)


async def test_sys_exit(battery: Battery, host: Host) -> None:
    out = await battery.attack("import sys\nsys.exit(2)")
    r = out.attack
    assert r.error is not None and r.error.type == "SystemExit" and not r.restarted
    report(out, "sys.exit", "SystemExit reported, interpreter kept")


async def test_killing_the_parent_and_everything(battery: Battery, host: Host) -> None:
    code = cell("""
        import os, signal
        for pid in (os.getppid(), 1, $pid):
            try:
                os.kill(pid, signal.SIGKILL)
                print(pid, 'signalled')
            except OSError as e:
                print(pid, type(e).__name__)
        os.kill(-1, signal.SIGKILL)
    """, pid=os.getpid())
    out = await battery.attack(code)
    r = out.attack
    lines = r.output.splitlines()
    assert lines[2] == f"{os.getpid()} ProcessLookupError", r.output  # the collector: invisible
    report(out, "kill the parent, PID 1, the collector's PID, then kill(-1)",
           "; ".join(lines[:3]).replace(str(os.getpid()), "collector")
           + f"; kill(-1): {r.error.type if r.error else 'no error'}"
           + (", restarted" if r.restarted else ""))


async def test_segfault(battery: Battery, host: Host) -> None:
    out = await battery.attack("import ctypes\nctypes.string_at(0)")
    r = out.attack
    assert r.restarted and r.error is not None and r.error.kind is ErrorKind.WORKER_RESTART
    report(out, "segfault through ctypes", r.error.message)


async def test_unbounded_recursion(battery: Battery, host: Host) -> None:
    out = await battery.attack("def f(n):\n    return f(n + 1)\nf(0)")
    assert out.attack.error is not None and out.attack.error.type == "RecursionError"
    report(out, "unbounded recursion", "RecursionError, interpreter kept")


async def test_thread_outliving_its_cell(battery: Battery, host: Host) -> None:
    code = (
        "import threading, time\ndef spin():\n    while True:\n        sum(range(10_000))\n"
        "        time.sleep(0.01)\n"
        "threading.Thread(target=spin, daemon=True).start()\nprint('started')"
    )
    out = await battery.attack(code)
    assert out.attack.output == "started\n" and out.attack.error is None
    report(out, "a thread that keeps running after the cell returns",
           f"cell returned in {out.attack.duration_s * 1e3:.0f} ms; the next action ran "
           "normally alongside the spinning thread")


async def test_garbage_on_the_protocol_channel(battery: Battery, host: Host) -> None:
    code = (
        "import os\nfor fd in range(3, 64):\n    try:\n        os.write(fd, b'not json\\n')\n"
        "    except OSError:\n        pass"
    )
    out = await battery.attack(code)
    r = out.attack
    assert r.restarted and r.error is not None and r.error.kind is ErrorKind.WORKER_RESTART
    report(out, "write garbage to the protocol channel", r.error.message)


async def test_closing_the_protocol_channel(battery: Battery, host: Host) -> None:
    code = "import os\nfor fd in range(0, 64):\n    try:\n        os.close(fd)\n    except OSError:\n        pass"
    out = await battery.attack(code, timeout=3.0)
    r = out.attack
    assert r.restarted and r.error is not None
    report(out, "close the protocol channel (every fd)", f"{r.error.type}: restarted")
