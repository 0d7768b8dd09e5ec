"""One memory cgroup per local sandbox, where this machine lets the collector make one.

``RLIMIT_AS`` bounds each process of a sandbox, not the sandbox: a cell that forks can hold
``max_processes`` × ``memory_mb`` of the host's memory, plus kernel memory (files, socket
buffers) that no rlimit counts. A memory cgroup around the sandbox's worker bounds all of it
together, as docker's container limit does, with the same value (``memory_mb``, swap
included). Everything the worker forks inherits the cgroup; nothing in the sandbox can leave
it (the cgroup file system is not in the jail, and its files belong to the host's root).

The collector makes ``trajkit-<pid>`` under its own memory cgroup, one ``sandbox-<n>`` in it
per worker, and moves the worker in before the worker runs a line of a cell: the host only
sends the first cell after ``start()`` returns. A directory is removed when its worker has
been reaped; ones left by a collector that died are removed by the next one.

Supported: the cgroup v1 memory controller, where the collector may write it (root, or a
delegated hierarchy). On cgroup v2 the collector's own cgroup holds the collector, and v2
allows no controller below a cgroup that holds processes, so making per-sandbox cgroups there
means moving the collector itself; not done yet. Where no cgroup can be made, a sandbox's
memory stays bounded per process (SECURITY.md), and :func:`memory_scope` says why.
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

PREFIX = "trajkit-"
SANDBOX_PREFIX = "sandbox-"
#: Cgroups made ahead per limit, one per sandbox closed, up to this many.
MAX_SPARES = 8
_PROC_CGROUP = Path("/proc/self/cgroup")
_MOUNTINFO = Path("/proc/self/mountinfo")


@dataclass(frozen=True)
class MemoryScope:
    """What bounds a local sandbox's memory on this machine, for messages and ``sandbox env``."""

    per_sandbox: bool
    detail: str


def own_memory_cgroup(proc_cgroup: str, mountinfo: str) -> Path | None:
    """The directory of this process's cgroup v1 memory controller, from the text of
    ``/proc/self/cgroup`` and ``/proc/self/mountinfo``; ``None`` if it is not mounted here
    (or only a part of the hierarchy that does not hold this process is)."""
    path = None
    for line in proc_cgroup.splitlines():
        _, controllers, cgroup = [*line.split(":", 2), "", ""][:3]
        if "memory" in controllers.split(","):
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
        if "memory" not in fields[sep + 3].split(","):
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
    """Per-sandbox memory cgroups under ``parent`` (the collector's own memory cgroup);
    thread-safe: sandboxes start from several event loops' threads."""

    def __init__(self, parent: Path) -> None:
        self.parent = parent
        self._lock = threading.Lock()
        self._dir: Path | None = None
        self._owner = 0
        self._numbers = itertools.count()
        self._busy: list[Path] = []
        self._spares: dict[int, list[Path]] = {}

    def _directory(self) -> Path:
        """``trajkit-<pid>``, made on first use (after removing dead collectors' ones); a
        forked child makes its own, since the parent's removes its own at exit."""
        with self._lock:
            if self._dir is None or self._owner != os.getpid():
                remove_stale(self.parent)
                directory = self.parent / f"{PREFIX}{os.getpid()}"
                directory.mkdir(exist_ok=True)
                self._dir, self._owner = directory, os.getpid()
                self._busy, self._spares = [], {}
                atexit.register(self.close)
            return self._dir

    def attach(self, pid: int, memory_bytes: int) -> Path:
        """Move process ``pid`` (a worker that has not run a cell yet) into a new cgroup
        limited to ``memory_bytes`` of memory and swap; its directory, for :meth:`release`.
        Raises ``OSError`` (``ESRCH`` when the process is gone) with nothing left behind.

        A cgroup made ahead by :meth:`release` is used if there is one, so the start path
        only moves the process (~20 µs of the ~150 µs a cgroup costs, measured)."""
        self._directory()
        with self._lock:
            spares = self._spares.get(memory_bytes)
            directory = spares.pop() if spares else None
        if directory is not None:
            try:
                _write(directory / "cgroup.procs", pid)
                return directory
            except FileNotFoundError:
                pass  # removed under us (by hand, or a collector of another PID namespace)
            except BaseException:
                _rmdir(directory)
                raise
        directory = self._make(memory_bytes)
        try:
            _write(directory / "cgroup.procs", pid)
        except BaseException:
            _rmdir(directory)
            raise
        return directory

    def _make(self, memory_bytes: int) -> Path:
        base = self._directory()
        directory = base / f"{SANDBOX_PREFIX}{next(self._numbers)}"
        try:
            directory.mkdir()
        except FileNotFoundError:  # our own directory was removed under us: make it again
            base.mkdir(exist_ok=True)
            directory.mkdir()
        try:
            _write(directory / "memory.limit_in_bytes", memory_bytes)
            swap = directory / "memory.memsw.limit_in_bytes"
            if swap.exists():  # swap accounting on: swap counts against the same limit
                _write(swap, memory_bytes)
        except BaseException:
            _rmdir(directory)
            raise
        return directory

    def release(self, directory: Path, memory_bytes: int) -> None:
        """Remove a reaped worker's cgroup (one that still holds a process, a child not yet
        gone, is tried again at the next release and at exit), and make the next sandbox's
        ahead: a fresh one, never a used one, whose counters and charges would carry over."""
        with self._lock:
            pending, self._busy = [*self._busy, directory], []
            for path in pending:
                if not _rmdir(path):
                    self._busy.append(path)
            wanted = len(self._spares.get(memory_bytes, ())) < MAX_SPARES
        if wanted:
            try:
                spare = self._make(memory_bytes)
            except OSError:
                return  # the next start makes its own, and says why if it cannot
            with self._lock:
                self._spares.setdefault(memory_bytes, []).append(spare)

    @staticmethod
    def oom_kills(directory: Path) -> int:
        """How many of the cgroup's processes the kernel killed for want of memory."""
        try:
            text = (directory / "memory.oom_control").read_text()
        except OSError:
            return 0
        for line in text.splitlines():
            name, _, value = line.partition(" ")
            if name == "oom_kill" and value.strip().isdigit():
                return int(value)
        return 0

    def close(self) -> None:
        """At exit: remove every directory this process made that is empty by now."""
        if self._dir is None or self._owner != os.getpid():
            return
        self._spares.clear()
        for path in [*self._busy, *self._dir.glob(f"{SANDBOX_PREFIX}*")]:
            _rmdir(path)
        _rmdir(self._dir)


def remove_stale(parent: Path) -> int:
    """Remove the ``trajkit-<pid>`` directories (and their sandboxes') of collectors that are
    gone; how many. A directory still holding a process stays."""
    removed = 0
    for directory in parent.glob(f"{PREFIX}*"):
        pid = directory.name.removeprefix(PREFIX)
        if not pid.isdigit() or _alive(int(pid)):
            continue
        for child in directory.glob(f"{SANDBOX_PREFIX}*"):
            _rmdir(child)
        removed += _rmdir(directory)
    return removed


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


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
def _probe() -> tuple[SandboxCgroups | None, MemoryScope]:
    try:
        proc_cgroup, mountinfo = _PROC_CGROUP.read_text(), _MOUNTINFO.read_text()
    except OSError as exc:
        return None, MemoryScope(False, f"cannot read this process's cgroups: {exc.strerror}")
    parent = own_memory_cgroup(proc_cgroup, mountinfo)
    if parent is None:
        v2 = any(line.startswith("0::") for line in proc_cgroup.splitlines())
        why = "cgroup v2 (per-sandbox cgroups need cgroup v1 for now)" if v2 else "no memory cgroup controller"
        return None, MemoryScope(False, why)
    if not os.access(parent, os.W_OK):
        return None, MemoryScope(False, f"{parent} is not writable by this user")
    cgroups = SandboxCgroups(parent)
    try:
        cgroups._directory()
    except OSError as exc:
        return None, MemoryScope(False, f"cannot make a cgroup in {parent}: {exc.strerror}")
    return cgroups, MemoryScope(True, f"a memory cgroup per sandbox (cgroup v1, under {parent})")


def sandbox_cgroups() -> SandboxCgroups | None:
    """This machine's per-sandbox cgroups, or ``None`` where the collector cannot make them
    (checked once per process)."""
    return _probe()[0]


def memory_scope() -> MemoryScope:
    """Whether a local sandbox's memory is bounded as a whole here, and how or why not."""
    return _probe()[1]
