"""The MATH judge: math-verify equivalence with a hard time limit, usable from asyncio.

Checks run in worker processes (``pool.py``) driven from a private thread pool, so the
event loop never blocks, any number of asyncio tasks (on any loop, in any thread) can judge
at once, and a hung sympy call costs one killed worker instead of a stuck run.
"""

from __future__ import annotations

import asyncio
import os
import threading
import weakref
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from trajkit.schemas import Verdict
from trajkit.sources.math.check import check_answer
from trajkit.sources.math.forms import is_percent_question
from trajkit.sources.math.pool import CheckFn, JudgeUnavailableError, VerifierPool

__all__ = ["DEFAULT_TIMEOUT_S", "JudgeUnavailableError", "MathJudge"]

DEFAULT_TIMEOUT_S = 10.0


def _default_workers() -> int:
    return max(1, min(4, os.cpu_count() or 1))


def _shutdown(pool: VerifierPool, holder: dict[str, Any]) -> None:
    """Finaliser shared by ``close()``, garbage collection and interpreter exit."""
    executor = holder.pop("executor", None)
    if executor is not None:
        executor.shutdown(wait=False, cancel_futures=True)
    pool.close()


class MathJudge:
    """Scores answers against MATH references; one instance per run is enough.

    Workers start lazily on the first check (about half a second each) and are reused.
    ``close()``/``aclose()`` release them; if never called, they are released when the judge
    is garbage-collected or at interpreter exit. A closed judge may still be used: it starts
    fresh workers.
    """

    def __init__(
        self,
        timeout_s: float = DEFAULT_TIMEOUT_S,
        workers: int | None = None,
        *,
        check: CheckFn = check_answer,
        start_method: str = "spawn",
    ) -> None:
        """``check`` must be a module-level function (it is pickled by reference into the
        workers); tests swap in a slow one to exercise the timeout path."""
        self.timeout_s = timeout_s
        self.workers = workers or _default_workers()
        self._pool = VerifierPool(self.workers, timeout_s, check=check, start_method=start_method)
        self._holder: dict[str, Any] = {}
        self._lock = threading.Lock()
        self._finalizer = weakref.finalize(self, _shutdown, self._pool, self._holder)

    @property
    def pool(self) -> VerifierPool:
        return self._pool

    def _executor(self) -> ThreadPoolExecutor:
        with self._lock:
            executor = self._holder.get("executor")
            if executor is None:
                # One thread per worker process: extra checks queue here, not in the loop's
                # default executor, so judging never starves other ``to_thread`` users.
                executor = ThreadPoolExecutor(self.workers, thread_name_prefix="math-judge")
                self._holder["executor"] = executor
            return executor

    async def judge(self, reference: str, answer: str, *, problem: str | None = None) -> Verdict:
        """Verdict for ``answer`` against ``reference``; never raises for a bad answer.

        ``problem`` (the question) tells whether ``7\\%`` answers a percentage question (then
        it equals ``7``) or means 7/100; without it ``7\\%`` and ``7`` agree, as in the
        reference normalisers. A timeout or a crashed worker is a failed verdict with
        ``details["error"]``; only an unstartable judge raises ``JudgeUnavailableError``.
        """
        if not answer.strip():
            return _verdict(False, reference, error="empty answer")
        percent = is_percent_question(problem, reference)
        loop = asyncio.get_running_loop()
        outcome = await loop.run_in_executor(
            self._executor(), self._pool.run, reference, answer, percent
        )
        return _to_verdict(reference, outcome)

    def judge_sync(self, reference: str, answer: str, *, problem: str | None = None) -> Verdict:
        """Blocking form for scripts and filters that have no event loop."""
        if not answer.strip():
            return _verdict(False, reference, error="empty answer")
        percent = is_percent_question(problem, reference)
        return _to_verdict(reference, self._pool.run(reference, answer, percent))

    def close(self) -> None:
        """Stop workers and helper threads now; safe to call twice or never."""
        _shutdown(self._pool, self._holder)

    async def aclose(self) -> None:
        """``close()`` without blocking the event loop while workers exit."""
        await asyncio.to_thread(self.close)


def _verdict(success: bool, reference: str, **details: Any) -> Verdict:
    return Verdict(
        success=success, score=1.0 if success else 0.0, details={"reference": reference, **details}
    )


def _to_verdict(reference: str, outcome: tuple[str, Any]) -> Verdict:
    status, payload = outcome
    if status == "ok":
        return _verdict(
            bool(payload["success"]),
            reference,
            parsed_gold=payload.get("parsed_gold", ""),
            parsed_pred=payload.get("parsed_pred", ""),
        )
    if status == "timeout":
        return _verdict(False, reference, error="timeout")
    return _verdict(False, reference, error=str(payload))
