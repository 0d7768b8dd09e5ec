"""Reaping for a worker that is PID 1 of its sandbox (stdlib only, loaded by the fork server).

Why: the local sandbox's worker is the first process of its PID namespace (no init process in
front of it: one fork of a Python process less per sandbox). So every orphan the cell's code
leaves (``sh -c 'job &'``, the children of a killed ``subprocess.run(..., shell=True)``) is
reparented to the worker, and must be reaped by it, or its zombie holds one of the sandbox's
``RLIMIT_NPROC`` slots until the episode ends.

The kernel does not say whether a child was forked by the worker or adopted, so reaping
"only orphans" is impossible; reaping everything would take exit statuses the cell's own
code waits for (``Popen.wait`` would say 0, ``os.waitpid`` would raise). So the worker reaps
every child on ``SIGCHLD``, keeps each status, and ``os.waitpid`` (and ``os.wait``, which
``subprocess``, ``multiprocessing`` and ``asyncio`` use) answers from those kept statuses
first: a child the code waits for gets its own status, whenever it asks. Statuses nobody
asked for are dropped oldest first beyond ``KEEP``.

Limits, by design: ``os.wait3``/``os.wait4``/``os.waitid`` are not rerouted, and a C library
that waits for its child in a thread other than the main one (``os.system`` called from a
thread) may find it reaped already. The handler runs on the main thread between bytecodes,
restarting interrupted system calls (``siginterrupt`` off), so C code is not disturbed.
"""

import _thread
import os
import signal

#: Most exit statuses kept for a later ``waitpid`` (an orphan's is never asked for).
KEEP = 4096

_real_waitpid = os.waitpid
_exited: dict[int, int] = {}  # pid -> wait status, reaped here and not yet asked for
#: Held while a reaped status is on its way into ``_exited``: a thread whose own wait failed
#: because the main thread reaped that child looks only once the status is stored.
#: Re-entrant: the handler may run on the main thread while it holds the lock itself.
_lock = _thread.RLock()


def _reap(signum=None, frame=None) -> None:
    """Collect every child that has exited (``SIGCHLD``; never blocks)."""
    with _lock:
        while True:
            try:
                pid, status = _real_waitpid(-1, os.WNOHANG)
            except ChildProcessError:
                return
            if pid == 0:
                return
            _exited[pid] = status
            if len(_exited) > KEEP:
                del _exited[next(iter(_exited))]


def _take(pid: int) -> tuple[int, int] | None:
    """A kept status for ``waitpid(pid)``: that child's, or any for ``-1``."""
    if pid > 0:
        status = _exited.pop(pid, None)
        return None if status is None else (pid, status)
    if pid == -1:
        try:
            return _exited.popitem()
        except KeyError:
            return None
    return None


def waitpid(pid: int, options: int, /) -> tuple[int, int]:
    """``os.waitpid``, answering first with a status reaped here (a child reaped while the
    caller waited makes the real call fail with ``ECHILD``: the kept status is the answer)."""
    kept = _take(pid)
    if kept is not None:
        return kept
    try:
        return _real_waitpid(pid, options)
    except ChildProcessError:
        with _lock:
            kept = _take(pid)
        if kept is None:
            raise
        return kept


def wait() -> tuple[int, int]:
    """``os.wait``: any child, kept statuses first."""
    return waitpid(-1, 0)


def install() -> None:
    """In the worker that is PID 1, before any cell runs."""
    os.waitpid = waitpid
    os.wait = wait
    signal.signal(signal.SIGCHLD, _reap)
    signal.siginterrupt(signal.SIGCHLD, False)
    _reap()
