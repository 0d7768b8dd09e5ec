"""A small pool of judge worker processes whose hung members can be killed one at a time.

``concurrent.futures.ProcessPoolExecutor`` cannot kill one stuck task without breaking every
other in-flight task, and a pathological expression can make sympy spin forever, so each
worker here is a process with its own pipe: a check that overruns its time limit gets its
worker killed and replaced, and nobody else notices.

``run`` is blocking and thread-safe (callers use it from a thread pool); it needs no event
loop, so it works from any thread and any loop.
"""

from __future__ import annotations

import multiprocessing
import threading
from collections.abc import Callable
from multiprocessing.connection import Connection
from typing import Any, Literal

from trajkit.core.errors import JudgeError
from trajkit.sources.math.check import check_answer, warm_up

#: ``check(reference, answer, percent_question)``; see ``check.check_answer``.
CheckFn = Callable[[str, str, bool], dict[str, Any]]
Outcome = tuple[Literal["ok", "timeout", "error"], Any]


class JudgeUnavailableError(JudgeError, RuntimeError):
    """A judge worker could not be started at all (not an answer problem): the episode should
    end as a judge error rather than be scored as wrong."""


def _exit_when_orphaned(parent_pid: int) -> None:
    """If the parent dies without closing us (``kill -9``) while a check spins, leave anyway:
    the pipe's EOF is only noticed between checks."""
    import os
    import time

    while os.getppid() == parent_pid:
        time.sleep(1.0)
    os._exit(0)


def _worker_main(conn: Connection, check: CheckFn) -> None:
    """Serve ``(reference, answer, percent_question)`` requests until told to stop or the pipe
    closes."""
    import os
    import signal

    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the parent's business
    threading.Thread(
        target=_exit_when_orphaned, args=(os.getppid(),), daemon=True, name="orphan-watch"
    ).start()
    try:
        warm_up()
    except Exception as exc:
        conn.send(("error", f"{type(exc).__name__}: {exc}"))
        return
    conn.send(("ready", None))
    while True:
        try:
            request = conn.recv()
        except (EOFError, OSError):
            return
        if request is None:
            return
        try:
            conn.send(("ok", check(*request)))
        except Exception as exc:
            conn.send(("error", f"{type(exc).__name__}: {str(exc)[:300]}"))


class _Worker:
    def __init__(self, ctx: Any, check: CheckFn, startup_timeout_s: float) -> None:
        self.conn, child = ctx.Pipe()
        self.proc = ctx.Process(
            target=_worker_main, args=(child, check), daemon=True, name="trajkit-math-judge"
        )
        self.proc.start()
        child.close()
        try:
            ready = self.conn.poll(startup_timeout_s)
            status, detail = self.conn.recv() if ready else ("error", "start-up timed out")
        except (EOFError, OSError) as exc:
            status, detail = "error", f"exited during start-up ({type(exc).__name__})"
        if status != "ready":
            self.kill()
            raise JudgeUnavailableError(f"math judge worker failed to start: {detail}")

    def kill(self) -> None:
        if self.proc.is_alive():
            self.proc.kill()
        self.proc.join(timeout=5)
        self.conn.close()

    def ask_to_stop(self) -> None:
        """Tell the worker to leave after its current check (it exits cleanly)."""
        try:
            self.conn.send(None)
        except OSError:
            pass

    def stop(self) -> None:
        """Ask politely, then kill if it has not left within 2 s."""
        self.ask_to_stop()
        self.proc.join(timeout=2)
        self.kill()


class VerifierPool:
    """At most ``size`` worker processes, started on demand and reused across checks."""

    def __init__(
        self,
        size: int,
        timeout_s: float,
        check: CheckFn = check_answer,
        start_method: str = "spawn",
        startup_timeout_s: float = 60.0,
    ) -> None:
        # ``spawn`` by default: forking a threaded, asyncio-running parent can deadlock.
        self.size = size
        self.timeout_s = timeout_s
        self._check = check
        self._ctx = multiprocessing.get_context(start_method)
        self._startup_timeout_s = startup_timeout_s
        self._slots = threading.BoundedSemaphore(size)
        self._lock = threading.Lock()
        self._idle: list[_Worker] = []
        self._busy: set[_Worker] = set()
        self.replaced = 0  # workers killed after a timeout or crash (for tests and stats)

    def run(self, reference: str, answer: str, percent_question: bool = True) -> Outcome:
        """Check one answer: ``("ok", result)``, ``("timeout", None)`` or ``("error", msg)``.

        Blocks the calling thread for at most about ``timeout_s`` plus worker start-up.
        Raises ``JudgeUnavailableError`` only when no worker can be started.
        """
        with self._slots:
            worker = self._acquire()
            try:
                worker.conn.send((reference, answer, percent_question))
                if not worker.conn.poll(self.timeout_s):
                    self._discard(worker)
                    return "timeout", None
                status, payload = worker.conn.recv()
            except (EOFError, OSError) as exc:
                # Killed by close(), or died (e.g. out of memory) while checking this answer.
                self._discard(worker)
                return "error", f"judge worker died ({type(exc).__name__})"
            self._release(worker)
            return status, payload

    def _acquire(self) -> _Worker:
        dead: list[_Worker] = []
        try:
            with self._lock:
                while self._idle:
                    worker = self._idle.pop()
                    if worker.proc.is_alive():  # an idle worker may have been OOM-killed
                        self._busy.add(worker)
                        return worker
                    dead.append(worker)
        finally:
            for worker in dead:
                worker.kill()
        worker = _Worker(self._ctx, self._check, self._startup_timeout_s)
        with self._lock:
            self._busy.add(worker)
        return worker

    def _release(self, worker: _Worker) -> None:
        with self._lock:
            if worker in self._busy:
                self._busy.discard(worker)
                self._idle.append(worker)
                return
        worker.kill()  # close() ran meanwhile: do not resurrect the pool

    def _discard(self, worker: _Worker) -> None:
        with self._lock:
            self._busy.discard(worker)
            self.replaced += 1
        worker.kill()

    def close(self) -> None:
        """Stop every worker; in-flight checks end as errors. The pool may be used again
        afterwards (new workers start on demand), so a late call never hangs."""
        with self._lock:
            idle, busy = self._idle, list(self._busy)
            self._idle, self._busy = [], set()
        for worker in busy:
            # Only the process: the thread running the check owns the pipe, sees EOF and
            # closes it; closing it under that thread's poll() would be unsafe.
            if worker.proc.is_alive():
                worker.proc.kill()
        for worker in idle:  # all asked first: they exit side by side, not one after another
            worker.ask_to_stop()
        for worker in idle:
            worker.stop()

    @property
    def live_workers(self) -> int:
        with self._lock:
            return len(self._idle) + len(self._busy)
