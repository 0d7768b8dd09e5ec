"""Local sandbox start-up against its floor (``python -m benchmarks.sandbox_startup [--quick]``).

Same run, same machine, rounds interleaved so a busy neighbour slows every row alike:

* floor (a): ``fork`` + ``unshare`` of the jail's six namespaces + exit, nothing else, from a
  process shaped like the fork server (the sandbox's interpreter with the worker loaded);
* floor (b): ``fork`` + exit of that same process (a fresh copy of an initialised worker);
* the fork server as it was before issue 18 (``BASELINE_COMMIT``, read from git; skipped
  when that is unavailable): a launcher, a uid-map helper, init and worker per sandbox, the
  root built bind by bind;
* today's fork server with a stub in place of the worker (the handshake only): the share of
  the jail, the spawner, the server and the host, i.e. the least a sandbox can cost before
  its worker's own Python runs;
* today's fork server starting each sandbox fresh (``pool`` 0) and handing out sandboxes it
  started ahead (``pool`` 2);
* the same two through ``LocalSandbox.start()``, the collector's asyncio side included.

CPU is user + system time of every process involved (host, fork server, its spawner, the
sandbox's worker, which is its PID 1, and the pre-issue-18 launcher, helper and init) from the sandbox's
request to its exit, measured as ``RUSAGE_CHILDREN`` around a subprocess that does N
start/exit cycles, minus the same subprocess doing none. Each worker ends by end-of-file on
its stdin, as a closed episode's would if not killed: where an init sits in front of the
worker, a sandbox killed at once has its worker reaped by the kernel on init's behalf,
without accounting, which would hide the worker's CPU. Latency is request to ``ready`` (p50). A sandbox started ahead costs
the same CPU as a fresh one (it is made all the same, only earlier); what it saves is the
wait. Writes a Markdown table to stdout and ``benchmarks/results/sandbox_startup.md``.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import resource
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
SANDBOX_DIR = ROOT / "collect" / "sandbox"
#: The last commit before issue 18's sandbox start-up work: the "before" row's fork server.
BASELINE_COMMIT = "6a0e6aaa7bbc6c6e3cf52953546a96227cf8800c"
BASELINE_FILES = ("forkserver.py", "jail.py", "worker.py")
#: The pause before each start, floors included (an episode runs in between): the fork server
#: refills its pool in such pauses, as it does between episodes. Every row pays the same
#: colder caches for it (about 2.5 ms more CPU per sandbox than back-to-back starts here).
EPISODE_S = 0.02

# Run by the sandbox's interpreter, with the fork server's modules loaded as it loads them.
FLOOR_PROBE = """
import gc, os, sys
sys.path.insert(0, sys.argv[1])
import jail, warm_pool, worker  # what the fork server holds in memory
import json, select, socket, time
gc.freeze()
mode, n, pause = sys.argv[2], int(sys.argv[3]), float(sys.argv[4])
for _ in range(n):
    time.sleep(pause)
    pid = os.fork()
    if pid == 0:
        if mode == "namespaces" and jail._libc.unshare(jail.SANDBOX_NAMESPACES) != 0:
            os._exit(1)
        os._exit(0)
    _, status = os.waitpid(pid, 0)
    assert status == 0, "unshare refused"
"""


def sandbox_config() -> tuple[str, dict[str, Any]]:
    """The sandbox interpreter and the jail configuration ``LocalSandbox`` sends by default."""
    from trajkit.collect.sandbox.environment import sandbox_env
    from trajkit.collect.sandbox.local import LocalSandbox
    from trajkit.collect.sandbox.python_env import sandbox_python

    python = sandbox_python(None, prepare_default=True)
    box = LocalSandbox()
    env = sandbox_env(box.config.output_limit, python.bin_dir(True))
    return python.executable, box._jail_config(env, python)


# -- one measurement, run in a subprocess ---------------------------------------------------


def task_cpu(pid: int, tid: int | None = None) -> float:
    """Seconds a task has run (``/proc/.../schedstat``: exact, unlike tick-sampled times)."""
    path = f"/proc/{pid}/task/{tid or pid}/schedstat"
    with open(path) as fh:
        return int(fh.read().split()[0]) / 1e9


def sandbox_cpu(pid: int) -> float:
    """Seconds run by a sandbox so far: every thread of its worker (its PID 1), and of any
    process under it (none at start; before issue 18's last step, a separate init's worker)."""
    total = 0.0
    for proc in (pid, *children(pid)):
        total += sum(task_cpu(proc, int(t)) for t in os.listdir(f"/proc/{proc}/task"))
    return total


class StartMeter:
    """CPU on the start path, request to ``ready``: the host's (its own process time, less
    this meter's reads), the fork server's own thread, its spawners (the sandbox's clone is
    theirs) and the handed-out sandbox's processes (one started ahead counts from the
    request only: its earlier CPU is read before). None where the kernel keeps no
    ``schedstat``, or for the pre-issue-18 server (its launcher and uid-map helper are not
    seen)."""

    def __init__(self, server: int) -> None:
        self.enabled = os.path.exists("/proc/self/schedstat")
        self.server, self.init = server, 0
        t = time.process_time()
        if self.enabled:
            self.kept = {pid: sandbox_cpu(pid) for pid in children(server)}
            self.server0 = task_cpu(server)
        self.host0 = time.process_time()
        self.overhead_s = self.host0 - t  # the meter's own reads, taken out of every total

    def handed_out(self, init: int) -> None:
        self.init = init

    def ready(self) -> float | None:
        t = time.process_time()
        if not self.enabled or not self.init:
            return None
        host = t - self.host0
        sandbox = sandbox_cpu(self.init) - self.kept.get(self.init, 0.0)
        spawners = sum(sandbox_cpu(p) - self.kept.get(p, 0.0) for p in spawners_of(self.server))
        cpu = host + task_cpu(self.server) - self.server0 + spawners + sandbox
        self.overhead_s += time.process_time() - t
        return cpu


def spawners_of(server: int) -> list[int]:
    """The fork server's spawners: its children in its own PID namespace (each sandbox has a
    PID namespace of its own)."""
    own = os.readlink(f"/proc/{server}/ns/pid")
    return [p for p in children(server) if os.readlink(f"/proc/{p}/ns/pid") == own]


def children(pid: int) -> list[int]:
    with open(f"/proc/{pid}/task/{pid}/children") as fh:
        return [int(p) for p in fh.read().split()]


class BlockingHost:
    """The fewest host-side steps a start needs: one request, the init/ready exchange, then
    end-of-file on the worker's stdin and the server's ``exited``. ``fds_in_request``: the
    protocol before issue 18 (the host made the pipes)."""

    def __init__(self, python: str, server: str, config: dict[str, Any], pool: int | None) -> None:
        self.config, self.pool = config, pool
        ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        self.proc = subprocess.Popen(
            [python, "-I", "-S", server, str(theirs.fileno())], pass_fds=[theirs.fileno()],
            stdin=subprocess.DEVNULL, env={"PATH": "/usr/bin:/bin", "LANG": "C.UTF-8"},
        )
        theirs.close()
        self.sock = ours
        self.next_id = 0

    def cycle(self) -> tuple[float, float | None, float]:
        """One start and exit: request-to-ready seconds, start-path CPU seconds (or None) and
        the CPU seconds the meter itself took (to take out of the totals)."""
        self.next_id += 1
        meter = StartMeter(self.proc.pid)
        t0 = time.perf_counter()
        if self.pool is None:  # before issue 18: the host sends the worker's pipe ends
            in_r, in_w = os.pipe()
            out_r, out_w = os.pipe()
            err_r, err_w = os.pipe()
            msg = json.dumps({"id": self.next_id, "config": self.config}).encode()
            socket.send_fds(self.sock, [msg], [in_r, out_w, err_w])
            for fd in (in_r, out_w, err_w):
                os.close(fd)
            reply, _ = self._recv("started")
        else:
            msg = json.dumps({"id": self.next_id, "config": self.config, "pool": self.pool})
            self.sock.send(msg.encode())
            reply, (in_w, out_r, err_r) = self._recv("started")
            meter.handed_out(reply["pid"])
        os.write(in_w, b'{"op": "init", "tools": []}\n')
        line = b""
        while not line.endswith(b"\n"):
            chunk = os.read(out_r, 4096)
            assert chunk, os.read(err_r, 4096)
            line += chunk
        elapsed = time.perf_counter() - t0
        cpu = meter.ready()
        assert b'"ready"' in line, line
        os.close(in_w)  # the worker reads end-of-file and exits
        self._recv("exited", reply["pid"])
        os.close(out_r)
        os.close(err_r)
        return elapsed, cpu, meter.overhead_s

    def _recv(self, op: str, pid: int | None = None) -> tuple[dict[str, Any], list[int]]:
        while True:
            data, fds, _, _ = socket.recv_fds(self.sock, 1 << 16, 3)
            msg = json.loads(data)
            if msg["op"] == op and (pid is None or msg["pid"] == pid):
                return msg, fds
            for fd in fds:
                os.close(fd)

    def close(self) -> None:
        self.sock.close()
        self.proc.wait(30)


async def local_cycles(n: int, pool: int) -> list[tuple[float, float | None, float]]:
    from trajkit.collect.sandbox.forkserver_client import fork_server
    from trajkit.collect.sandbox.local import LocalSandbox

    python = sandbox_config()[0]
    out: list[tuple[float, float | None, float]] = []
    for _ in range(n + 1):  # the first one also starts the fork server: not measured
        box = LocalSandbox()
        box.pool_depth = pool
        server = fork_server(python)
        meter = StartMeter(server._proc.pid) if server._proc is not None else None
        t0 = time.perf_counter()
        await box.start()
        elapsed = time.perf_counter() - t0
        if meter is not None:
            meter.handed_out(box._proc.pid)
            out.append((elapsed, meter.ready(), meter.overhead_s))
        proc, box._proc = box._proc, None
        proc.stdin.close()
        await proc.wait()
        await box._release_cgroup()  # as close() does, where the sandbox has a cgroup
        await asyncio.sleep(EPISODE_S)
    fork_server().shutdown()
    return out


def measure(variant: str, n: int, workdir: str) -> list[tuple[float, float | None, float]]:
    """In the measuring subprocess: ``n`` cycles of ``variant``: (latency, start-path CPU)."""
    python, config = sandbox_config()
    if variant.startswith("local-"):
        return asyncio.run(local_cycles(n, int(variant.split("-")[1])))
    server, pool = {
        "server-before": (os.path.join(workdir, "forkserver.py"), None),
        "server-fresh": (str(SANDBOX_DIR / "forkserver.py"), 0),
        "server-pool": (str(SANDBOX_DIR / "forkserver.py"), 2),
        "server-stub": (stub_files(workdir), 0),
    }[variant]
    host = BlockingHost(python, server, config, pool)
    try:
        host.cycle()  # the server's start and first template: not measured
        if pool:
            time.sleep(0.5)  # let it fill its pool
        out = []
        for _ in range(n):
            time.sleep(EPISODE_S)
            out.append(host.cycle())
        return out
    finally:
        host.close()


# -- the run ---------------------------------------------------------------------------


def children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def run_child(cmd: list[str]) -> tuple[float, list[list[Any]]]:
    """CPU seconds of ``cmd`` and everything it started (all reaped when it exits), less
    what its meters took; and the cycles it printed."""
    before = children_cpu()
    out = subprocess.run(cmd, check=True, capture_output=True, text=True, cwd=ROOT).stdout
    lines = out.strip().splitlines()
    cycles = json.loads(lines[-1]) if lines else []
    return children_cpu() - before - sum(c[2] for c in cycles), cycles


#: The worker in the "stub" row: the handshake and nothing else, with the real worker loaded
#: (unused) so the server and its clones are the same size as the real ones.
STUB_WORKER = """
import os
import real_worker  # noqa: F401 - the same memory as the real worker, never run


def prepare():
    pass


def main(output_limit=None):
    line = b""
    while not line.endswith(b"\\n"):
        chunk = os.read(0, 4096)
        if not chunk:
            os._exit(0)
        line += chunk
    os.write(1, b'{"op": "ready"}\\n')
    while os.read(0, 4096):
        pass
    os._exit(0)
"""


def stub_files(workdir: str) -> str:
    """Today's fork server, with :data:`STUB_WORKER` in place of the worker, in
    ``workdir/stub``: what a sandbox costs before its worker does anything (the jail, the
    spawner, the server and the host)."""
    stub = Path(workdir, "stub")
    stub.mkdir(exist_ok=True)
    for path in SANDBOX_DIR.glob("*.py"):
        name = "real_worker.py" if path.name == "worker.py" else path.name
        (stub / name).write_text(path.read_text())
    (stub / "worker.py").write_text(STUB_WORKER)
    return str(stub / "forkserver.py")


def baseline_files(workdir: str) -> bool:
    """The pre-issue-18 fork server, jail and worker, from git, into ``workdir``."""
    for name in BASELINE_FILES:
        try:
            text = subprocess.run(
                ["git", "-C", str(ROOT), "show", f"{BASELINE_COMMIT}:collect/sandbox/{name}"],
                check=True, capture_output=True, text=True,
            ).stdout
        except (OSError, subprocess.CalledProcessError):
            return False
        Path(workdir, name).write_text(text)
    return True


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="fewer cycles and rounds")
    ap.add_argument("--measure", nargs=3, metavar=("VARIANT", "N", "WORKDIR"), help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.measure:
        variant, n, workdir = args.measure
        print(json.dumps(measure(variant, int(n), workdir)))
        return
    n, rounds = (100, 3) if args.quick else (300, 5)
    python, _ = sandbox_config()
    with tempfile.TemporaryDirectory(prefix="trajkit-bench-") as workdir:
        variants = ["server-stub", "server-fresh", "server-pool", "local-0", "local-2"]
        if baseline_files(workdir):
            variants.insert(0, "server-before")
        cpu: dict[str, list[float]] = {v: [] for v in ["floor-fork", "floor-namespaces", *variants]}
        cycles: dict[str, list[list[Any]]] = {v: [] for v in variants}
        for _ in range(rounds):
            for mode in ("fork", "namespaces"):
                cmd = [python, "-I", "-S", "-c", FLOOR_PROBE, str(SANDBOX_DIR), mode]
                zero, _ = run_child([*cmd, "0", str(EPISODE_S)])
                full, _ = run_child([*cmd, str(n), str(EPISODE_S)])
                cpu[f"floor-{mode}"].append((full - zero) / n)
            for variant in variants:
                cmd = [sys.executable, "-m", "benchmarks.sandbox_startup", "--measure", variant]
                zero, _ = run_child([*cmd, "0", workdir])
                full, done = run_child([*cmd, str(n), workdir])
                cpu[variant].append((full - zero) / n)
                cycles[variant].extend(done)
    table = render(cpu, cycles)
    print(table)
    results = ROOT / "benchmarks" / "results"
    results.mkdir(exist_ok=True)
    (results / "sandbox_startup.md").write_text(table + "\n")


LABELS = {
    "floor-namespaces": "floor (a): fork + unshare of the six namespaces + exit",
    "floor-fork": "floor (b): fork + exit of the worker-loaded server process",
    "server-before": "fork server before issue 18 (launcher, helper, init, worker)",
    "server-stub": "fork server now, a stub worker (handshake only), fresh start",
    "server-fresh": "fork server now, fresh start (pool 0)",
    "server-pool": "fork server now, started ahead (pool 2)",
    "local-0": "`LocalSandbox.start()`, fresh (collector side included)",
    "local-2": "`LocalSandbox.start()`, started ahead (collector side included)",
}


def render(cpu: dict[str, list[float]], cycles: dict[str, list[list[Any]]]) -> str:
    floor = statistics.median(cpu["floor-namespaces"])
    lines = [
        "| per sandbox | CPU, all processes | × floor (a) | CPU on the start path | × floor (a) "
        "| start latency p50 |",
        "|---|---|---|---|---|---|",
    ]
    for key, values in cpu.items():
        total = statistics.median(values)
        done = cycles.get(key, [])
        starts = [c[1] for c in done if c[1] is not None]
        path = statistics.median(starts) if starts else None
        on_path = f"{path * 1e3:.2f} ms | {path / floor:.2f}" if path is not None else "- | -"
        wait = f"{statistics.median(c[0] for c in done) * 1e3:.2f} ms" if done else "-"
        lines.append(
            f"| {LABELS[key]} | {total * 1e3:.2f} ms | {total / floor:.2f} | {on_path} | {wait} |"
        )
    return "\n".join(lines)


if __name__ == "__main__":
    main()
