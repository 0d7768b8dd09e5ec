"""The host half of the ``tests`` judge: one fresh sandbox per judged solution, one cell per test.

Built on the APPS judge's machinery (``sources/apps/judge.py``), reused rather than copied: the
sandbox lifecycle (a new sandbox from the runtime's factory, closed in a shielded task), the
cell protocol with the in-sandbox harness (JSON replies fetched in chunks under the cell
output limit), per-test deadlines inside the sandbox plus a cell deadline outside it, worker
restarts (a solution that kills its worker costs its own test; the harness is re-sent, at
most ``MAX_RESTARTS`` times) and the per-solution time budget. What differs is the harness
class sent in (``tests_harness.py``) and the grading: a test passes when it raises nothing.
"""

from __future__ import annotations

import json
import time
from functools import cache
from pathlib import Path
from typing import Any

from trajkit.schemas import Verdict
from trajkit.sources.apps.judge import (
    MAX_RESTARTS,
    SETUP_TIMEOUT_S,
    AppsJudge,
    HarnessSession,
    JudgeError,
    JudgeLimits,
    LostCell,
    harness_source,
    suite_verdict,
)
from trajkit.sources.judges.tests_suite import TestSuite

HARNESS_PATH = Path(__file__).with_name("tests_harness.py")
TEST_CHARS = 160  # each entry quotes its test, clipped
ERROR_CHARS = 300

__all__ = ["JudgeError", "JudgeLimits", "SuiteRunner"]


@cache
def _harness() -> str:
    return harness_source() + "\n" + HARNESS_PATH.read_text(encoding="utf-8")


def _clip(text: str, limit: int) -> str:
    text = text.strip()
    return text if len(text) <= limit else text[:limit] + f"... ({len(text)} chars)"


class _SuiteSession(HarnessSession):
    """The APPS session speaking to ``AssertHarness``: test ``i`` is sent as the text ``"i"``."""

    def __init__(self, sandbox: Any, suite: TestSuite, program: str, limits: JudgeLimits) -> None:
        super().__init__(sandbox, {}, program, limits)
        self.suite = suite

    async def setup(self) -> dict[str, Any]:
        suite = self.suite
        args = (
            f"{self.program!r}, {suite.setup!r}, {list(suite.tests)!r}, "
            f"{list(suite.candidate)!r}, {suite.entry_point!r}, {self.limits.output_limit_bytes}"
        )
        code = f"{_harness()}\n_apps_h = AssertHarness({args})\n"
        return await self._exchange(code, "_apps_h.prepare()", SETUP_TIMEOUT_S)


def grade(index: int, test: str, raw: dict[str, Any]) -> dict[str, Any]:
    """One test's entry: ``pass``, ``fail`` (an assertion), ``error`` or ``timeout``."""
    entry: dict[str, Any] = {"index": index, "test": _clip(test, TEST_CHARS)}
    if "time" in raw:
        entry["time_s"] = raw["time"]
    status = raw.get("status")
    if status == "timeout":
        entry["status"] = "timeout"
        return entry
    try:
        message = json.loads(str(raw.get("output") or "null"))
    except (ValueError, RecursionError):
        message = None
    if isinstance(message, dict) and message.get("ok") is True and status == "ok":
        entry["status"] = "pass"
    elif isinstance(message, dict) and message.get("ok") is False:
        entry["status"] = "fail" if message.get("kind") == "fail" else "error"
        entry["error"] = _clip(str(message.get("error") or "error"), ERROR_CHARS)
    else:  # the child died or exited before it could report: os._exit, a signal, a harness error
        stderr_lines = [line for line in str(raw.get("stderr", "")).splitlines() if line.strip()]
        why = raw.get("error") or (stderr_lines[-1] if stderr_lines else None)
        entry["status"] = "error"
        entry["error"] = _clip(str(why or "the program exited before the test finished"), ERROR_CHARS)
    return entry


def make_verdict(
    results: list[dict[str, Any]], limits: JudgeLimits, compile_error: str | None = None
) -> Verdict:
    """APPS's suite verdict (``success`` when every test passes, ``score`` the fraction that
    did), the compile error clipped."""
    return suite_verdict(results, limits, _clip(compile_error, ERROR_CHARS) if compile_error else None)


class SuiteRunner(AppsJudge):
    """Runs test suites; one per judge, any number of concurrent judgements (each in its own
    sandbox). ``aclose`` (inherited) closes whatever a cancelled judgement left open."""

    async def run_suite(self, suite: TestSuite, program: str) -> Verdict:
        started = time.monotonic()
        sandbox = self._factory(())
        self._open.add(sandbox)
        try:
            await sandbox.start()
            session = _SuiteSession(sandbox, suite, program, self.limits)
            prepared = await self._setup(session)
            if not prepared.get("ok"):
                error = str(prepared.get("error", "compile error"))
                results = [
                    {"index": i, "test": _clip(t, TEST_CHARS), "status": "compile_error"}
                    for i, t in enumerate(suite.tests)
                ]
                return make_verdict(results, self.limits, compile_error=error)
            return make_verdict(await self._run_suite(session, suite, started), self.limits)
        finally:
            await self._close(sandbox)

    async def _run_suite(self, session: _SuiteSession, suite: TestSuite, started: float) -> list[dict[str, Any]]:
        results: list[dict[str, Any]] = []
        restarts = 0
        for i, test in enumerate(suite.tests):
            entry: dict[str, Any] = {"index": i, "test": _clip(test, TEST_CHARS)}
            if time.monotonic() - started > self.limits.budget_s:
                results.append({**entry, "status": "timeout", "error": "not run: judge time budget exhausted"})
                continue
            if restarts > MAX_RESTARTS:
                results.append({**entry, "status": "error", "error": "not run: the program kept killing the judge"})
                continue
            try:
                raw = await session.run_test(str(i))
            except LostCell as lost:
                if lost.timeout:
                    entry["status"] = "timeout"
                else:
                    entry.update(status="error", error="the program killed the judge's worker process")
                results.append(entry)
                if lost.restarted:
                    restarts += 1
                    if restarts <= MAX_RESTARTS and not (await self._setup(session)).get("ok"):
                        raise JudgeError("could not restore the judge after a worker restart") from None
                continue
            results.append(grade(i, test, raw))
        return results
