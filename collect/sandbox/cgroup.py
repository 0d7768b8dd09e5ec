"""One cgroup per local sandbox, where this machine lets the collector make one.

``RLIMIT_AS`` bounds each process of a sandbox, not the sandbox: a cell that forks can hold
``max_processes`` × ``memory_mb`` of the host's memory, plus kernel memory (files, socket
buffers) that no rlimit counts; and its processes, which outlive the cell, can keep every
core of the host busy for ``cpu_seconds`` each. A cgroup around the sandbox's worker bounds
them together, as docker's container limits do, with the same values: ``memory_mb`` of
memory (swap included) and, where the CPU controller is writable too, ``cpus`` CPUs.
Everything the worker forks inherits it; nothing in the sandbox can leave it (the cgroup
file system is not in the jail, and its files belong to the host's root).

In each controller's hierarchy the collector makes ``trajkit-<pid>`` under its own cgroup,
one ``sandbox-<n>`` in it per worker, and moves the worker in before the worker runs a line of
a cell: the host only sends a cell once the move is done. A directory is removed when its
worker has been reaped; ones left by a collector that died are removed by the next one.

Supported: cgroup v1, where the collector may write its memory controller (root, or a
delegated hierarchy). On cgroup v2 the collector's own cgroup holds the collector, and v2
allows no controller below a cgroup that holds processes, so making per-sandbox cgroups there
means moving the collector itself; not done yet. Where no cgroup can be made, a sandbox's
memory stays bounded per process (SECURITY.md), and :func:`cgroup_scope` says why.
"""

from __future__ import annotations

import atexit
import errno
import functools
import itertools
import os
import threading
from dataclasses import dataclass
from pathlib import Path

from trajkit.core.processes import pid_alive

PREFIX = "trajkit-"
SANDBOX_PREFIX = "sandbox-"
#: Cgroups made ahead per limit, one per sandbox closed, up to this many.
MAX_SPARES = 8
#: The CFS period a sandbox's CPU quota is counted in (the kernel's default, docker's too).
CPU_PERIOD_US = 100_000
_PROC_CGROUP = Path("/proc/self/cgroup")
_MOUNTINFO = Path("/proc/self/mountinfo")


@dataclass(frozen=True)
class CgroupScope:
    """What bounds a local sandbox as a whole on this machine, for ``sandbox env``."""

    memory: bool
    cpu: bool
    detail: str


@dataclass(frozen=True)
class Limits:
    """A sandbox's cgroup limits: bytes of memory (and swap), CPU time per 100 ms period."""

    memory_bytes: int
    cpu_quota_us: int


@dataclass(frozen=True)
class SandboxCgroup:
    """One sandbox's cgroup in each controller's hierarchy, memory's first."""

    dirs: tuple[Path, ...]

    @property
    def memory(self) -> Path:
        return self.dirs[0]


def own_cgroup(controller: str, proc_cgroup: str, mountinfo: str) -> Path | None:
    """The directory of this process's cgroup in the cgroup v1 ``controller``'s hierarchy,
    from the text of ``/proc/self/cgroup`` and ``/proc/self/mountinfo``; ``None`` if it is
    not mounted here (or only a part of the hierarchy that does not hold this process is)."""
    path = None
    for line in proc_cgroup.splitlines():
        _, controllers, cgroup = [*line.split(":", 2), "", ""][:3]
        if controller in controllers.split(","):
            path = cgroup
    if path is None:
        return None
    for line in mountinfo.splitlines():
        fields = line.split()
        if "-" not in fields:
            continue
        sep = fields.index("-")
        if len(fields) < sep + 4 or fields[sep + 1] != "cgroup" or len(fields) < 5:
            continue
        if controller not in fields[sep + 3].split(","):
            continue
        root, mountpoint = _unescape(fields[3]), _unescape(fields[4])
        relative = os.path.relpath(path, root)
        if relative == ".." or relative.startswith("../"):
            continue  # the mount shows another part of the hierarchy
        return Path(mountpoint) if relative == "." else Path(mountpoint) / relative
    return None


def _unescape(field: str) -> str:
    """mountinfo writes space, tab, newline and backslash in paths as octal escapes."""
    for code, char in (("\\040", " "), ("\\011", "\t"), ("\\012", "\n"), ("\\134", "\\")):
        field = field.replace(code, char)
    return field


class SandboxCgroups:
    """Per-sandbox cgroups under ``parents`` (the collector's own cgroup per controller:
    ``memory`` always, ``cpu`` where writable too); thread-safe, since sandboxes are moved in
    from the event loops' executor threads."""

    def __init__(self, parents: dict[str, Path]) -> None:
        self.parents = parents
        self._lock = threading.Lock()
        self._dirs: dict[str, Path] = {}
        self._owner = 0
        self._numbers = itertools.count()
        self._busy: list[Path] = []
        self._spares: dict[Limits, list[SandboxCgroup]] = {}

    def _directories(self) -> dict[str, Path]:
        """``trajkit-<pid>`` per controller, made on first use (after removing dead
        collectors' ones); a forked child makes its own, since the parent's removes its own
        at exit."""
        with self._lock:
            if not self._dirs or self._owner != os.getpid():
                dirs = {}
                for controller, parent in self.parents.items():
                    remove_stale(parent)
                    dirs[controller] = parent / f"{PREFIX}{os.getpid()}"
                    dirs[controller].mkdir(exist_ok=True)
                self._dirs, self._owner = dirs, os.getpid()
                self._busy, self._spares = [], {}
                atexit.register(self.close)
            return self._dirs

    def attach(self, pid: int, limits: Limits) -> SandboxCgroup:
        """Move process ``pid`` (a worker that has not run a cell yet) into a new cgroup with
        ``limits``; it, for :meth:`release`. Raises ``OSError`` (``ESRCH`` when the process is
        gone) with nothing left behind.

        A cgroup made ahead by :meth:`release` is used if there is one, so this only moves
        the process (~20 µs of CPU per controller, of the ~150 µs a cgroup costs, measured)."""
        self._directories()
        with self._lock:
            spares = self._spares.get(limits)
            cgroup = spares.pop() if spares else None
        if cgroup is not None:
            try:
                return self._move(pid, cgroup)
            except FileNotFoundError:
                pass  # removed under us (by hand, or a collector of another PID namespace)
        return self._move(pid, self._make(limits))

    def _move(self, pid: int, cgroup: SandboxCgroup) -> SandboxCgroup:
        try:
            for directory in cgroup.dirs:
                _write(directory / "cgroup.procs", pid)
        except BaseException:
            for directory in cgroup.dirs:
                _rmdir(directory)
            raise
        return cgroup

    def _make(self, limits: Limits) -> SandboxCgroup:
        name = f"{SANDBOX_PREFIX}{next(self._numbers)}"
        made: list[Path] = []
        try:
            for controller, base in self._directories().items():
                directory = base / name
                try:
                    directory.mkdir()
                except FileNotFoundError:  # our own directory was removed under us
                    base.mkdir(exist_ok=True)
                    directory.mkdir()
                made.append(directory)
                _set_limits(controller, directory, limits)
        except BaseException:
            for directory in made:
                _rmdir(directory)
            raise
        return SandboxCgroup(tuple(made))

    def release(self, cgroup: SandboxCgroup, limits: Limits) -> None:
        """Remove a reaped worker's cgroup (one that still holds a process, a child not yet
        gone, is tried again at the next release and at exit), and make the next sandbox's
        ahead: a fresh one, never a used one, whose counters and charges would carry over."""
        with self._lock:
            pending, self._busy = [*self._busy, *cgroup.dirs], []
            for path in pending:
                if not _rmdir(path):
                    self._busy.append(path)
            wanted = len(self._spares.get(limits, ())) < MAX_SPARES
        if wanted:
            try:
                spare = self._make(limits)
            except OSError:
                return  # the next start makes its own, and says why if it cannot
            with self._lock:
                self._spares.setdefault(limits, []).append(spare)

    @staticmethod
    def oom_kills(cgroup: SandboxCgroup) -> int:
        """How many of the cgroup's processes the kernel killed for want of memory."""
        try:
            text = (cgroup.memory / "memory.oom_control").read_text()
        except OSError:
            return 0
        for line in text.splitlines():
            name, _, value = line.partition(" ")
            if name == "oom_kill" and value.strip().isdigit():
                return int(value)
        return 0

    def close(self) -> None:
        """At exit: remove every directory this process made that is empty by now."""
        if not self._dirs or self._owner != os.getpid():
            return
        self._spares.clear()
        try:
            for directory in self._dirs.values():
                for path in [*self._busy, *directory.glob(f"{SANDBOX_PREFIX}*")]:
                    _rmdir(path)
                _rmdir(directory)
        except OSError:
            pass  # at exit, with nothing to report to: the next collector removes them


def _set_limits(controller: str, directory: Path, limits: Limits) -> None:
    if controller == "memory":
        _write(directory / "memory.limit_in_bytes", limits.memory_bytes)
        swap = directory / "memory.memsw.limit_in_bytes"
        if swap.exists():  # swap accounting on: swap counts against the same limit
            _write(swap, limits.memory_bytes)
    elif controller == "cpu":
        _write(directory / "cpu.cfs_period_us", CPU_PERIOD_US)
        _write(directory / "cpu.cfs_quota_us", limits.cpu_quota_us)


def remove_stale(parent: Path) -> int:
    """Remove the ``trajkit-<pid>`` directories (and their sandboxes') of collectors that are
    gone; how many. A directory still holding a process stays."""
    removed = 0
    for directory in parent.glob(f"{PREFIX}*"):
        pid = directory.name.removeprefix(PREFIX)
        if not pid.isdigit() or pid_alive(int(pid)):
            continue
        for child in directory.glob(f"{SANDBOX_PREFIX}*"):
            _rmdir(child)
        removed += _rmdir(directory)
    return removed


def _write(path: Path, value: int) -> None:
    fd = os.open(path, os.O_WRONLY)
    try:
        os.write(fd, str(value).encode())
    finally:
        os.close(fd)


def _rmdir(path: Path) -> bool:
    """Remove an empty cgroup; ``False`` while it holds a process."""
    try:
        os.rmdir(path)
    except FileNotFoundError:
        return True
    except OSError as exc:
        if exc.errno in (errno.EBUSY, errno.ENOTEMPTY):
            return False
        raise
    return True


@functools.cache
def _probe() -> tuple[SandboxCgroups | None, CgroupScope]:
    try:
        proc_cgroup, mountinfo = _PROC_CGROUP.read_text(), _MOUNTINFO.read_text()
    except OSError as exc:
        return None, CgroupScope(False, False, f"cannot read this process's cgroups: {exc.strerror}")
    parents: dict[str, Path] = {}
    reasons: dict[str, str] = {}
    for controller in ("memory", "cpu"):
        parent = own_cgroup(controller, proc_cgroup, mountinfo)
        if parent is None:
            v2 = any(line.startswith("0::") for line in proc_cgroup.splitlines())
            reasons[controller] = (
                "cgroup v2 (per-sandbox cgroups need cgroup v1 for now)" if v2
                else f"no {controller} cgroup controller"
            )
        elif not os.access(parent, os.W_OK):
            reasons[controller] = f"{parent} is not writable by this user"
        else:
            try:
                SandboxCgroups({controller: parent})._directories()
            except OSError as exc:
                reasons[controller] = f"cannot make a cgroup in {parent}: {exc.strerror}"
            else:
                parents[controller] = parent
    if "memory" not in parents:
        return None, CgroupScope(False, False, reasons["memory"])
    detail = f"a cgroup per sandbox (cgroup v1, under {parents['memory']})"
    if "cpu" not in parents:
        detail += f"; CPU not bounded: {reasons['cpu']}"
    return SandboxCgroups(parents), CgroupScope(True, "cpu" in parents, detail)


def sandbox_cgroups() -> SandboxCgroups | None:
    """This machine's per-sandbox cgroups, or ``None`` where the collector cannot make them
    (checked once per process)."""
    return _probe()[0]


def cgroup_scope() -> CgroupScope:
    """What a local sandbox's cgroup bounds here (memory, CPU), and how or why not."""
    return _probe()[1]


def per_sandbox_limits() -> list[str]:
    """The limits a local sandbox's cgroup bounds as a whole here: ``memory``, ``cpus``."""
    scope = cgroup_scope()
    return ["memory"] * scope.memory + ["cpus"] * scope.cpu
