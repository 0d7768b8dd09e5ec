"""The APPS judge: run a submitted program on every test inside a fresh sandbox, grade on the host.

Teacher code never runs in the collector. Per judged solution the judge takes a new sandbox
from the runtime's factory (same backend and limits as the episodes), sends in the harness
(``harness.py``) and the program, then one cell per test carrying only that test's *input*;
the program's actual output comes back and is compared here (``compare.py``) with the
expected output, which never enters the sandbox. The sandbox is closed afterwards.

A program cannot hang or crash the run: each test has its own deadline inside the sandbox,
each cell a deadline outside it; a program that kills or freezes the sandbox's worker costs
its own test, the sandbox restarts the worker and the judge re-sends the harness (at most
``MAX_RESTARTS`` times); a per-solution budget bounds the worst case of many slow tests.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

from trajkit.core.errors import JudgeError as CoreJudgeError
from trajkit.core.sandbox import CellResult, Sandbox, SandboxFactory
from trajkit.schemas import ErrorKind, Verdict
from trajkit.sources.apps.compare import compare_stdout, compare_value
from trajkit.sources.apps.prompt import STDIN_MODE, extract_program

log = logging.getLogger(__name__)

HARNESS_PATH = Path(__file__).with_name("harness.py")
#: Sent ahead of the harness in the same cell: how programs are compiled and called.
EXECMODEL_PATH = Path(__file__).with_name("execmodel.py")
CELL_SLACK_S = 3.0  # a test's cell may outlast its deadline by this (exit grace, sweep, fork retry)
SETUP_TIMEOUT_S = 30.0
MAX_RESTARTS = 3
MAX_DETAILS = 50  # per-test entries kept in the verdict
PREVIEW_CHARS = 200
MIN_CHUNK = 64

class JudgeError(CoreJudgeError, RuntimeError):
    """The judge itself failed (not the program): the episode ends as a judge error."""


class LostCell(Exception):
    """A cell brought no reply: the program killed or froze the worker, or overran."""

    def __init__(self, timeout: bool, restarted: bool) -> None:
        super().__init__("timeout" if timeout else "worker lost")
        self.timeout = timeout
        self.restarted = restarted


@cache
def harness_source() -> str:
    """The in-sandbox half: the execution model, then the harness that uses it."""
    parts = (EXECMODEL_PATH, HARNESS_PATH)
    return "\n".join(path.read_text(encoding="utf-8") for path in parts)


@dataclass(frozen=True)
class JudgeLimits:
    """Per-solution limits; see ``AppsOptions`` for the user-facing names."""

    test_timeout: float = 4.0
    output_limit_bytes: int = 4 * 1024 * 1024
    budget_s: float = 300.0


class HarnessSession:
    """One judge sandbox speaking to the harness through cells whose replies are JSON."""

    def __init__(self, sandbox: Sandbox, reference: Mapping[str, Any], program: str, limits: JudgeLimits) -> None:
        self.sandbox = sandbox
        self.reference = reference
        self.program = program
        self.limits = limits
        cell_limit = getattr(getattr(sandbox, "config", None), "output_limit", 65536)
        self.chunk = max(MIN_CHUNK, int(cell_limit) - 64)

    async def setup(self) -> dict[str, Any]:
        """Define the harness and compile the program (again, after a worker restart)."""
        ref = self.reference
        args = (
            f"{self.program!r}, {ref['mode']!r}, {ref.get('fn_name')!r}, "
            f"{ref.get('class_name')!r}, {self.limits.output_limit_bytes}"
        )
        code = f"{harness_source()}\n_apps_h = AppsHarness({args})\n"
        return await self._exchange(code, "_apps_h.prepare()", SETUP_TIMEOUT_S)

    async def run_test(self, test_input: str) -> dict[str, Any]:
        timeout = self.limits.test_timeout
        expr = f"_apps_h.run_test({test_input!r}, {timeout!r})"
        return await self._exchange("", expr, timeout + CELL_SLACK_S)

    async def _exchange(self, prefix: str, expr: str, timeout: float) -> Any:
        result = await self.sandbox.run(f"{prefix}_apps_h.reply({expr}, {self.chunk})", timeout)
        self._check(result)
        header, _, body = result.output.partition("\n")
        try:
            total = int(header)
        except ValueError:
            raise JudgeError(f"unreadable harness reply: {result.output[:200]!r}") from None
        text = "" if result.truncated_chars else body.rstrip("\n")
        while len(text) < total:
            part = await self.sandbox.run(f"_apps_h.more({len(text)}, {self.chunk})", SETUP_TIMEOUT_S)
            self._check(part)
            if part.truncated_chars:
                if self.chunk <= MIN_CHUNK:
                    raise JudgeError("the sandbox's output limit is too small for judge replies")
                self.chunk = max(MIN_CHUNK, self.chunk // 2)
                continue
            piece = part.output.rstrip("\n")
            if not piece:
                raise JudgeError("the harness reply ended early")
            text += piece
        try:
            return json.loads(text)
        except ValueError as exc:
            raise JudgeError(f"unreadable harness reply ({exc})") from None

    @staticmethod
    def _check(result: CellResult) -> None:
        timeout = result.error is not None and result.error.kind is ErrorKind.TIMEOUT
        if result.restarted:
            raise LostCell(timeout=timeout, restarted=True)
        if timeout:
            raise LostCell(timeout=True, restarted=False)
        if result.error is not None:
            raise JudgeError(f"judge harness failed: {result.error.type}: {result.error.message}")


def _last_line(text: str) -> str:
    lines = [line.strip() for line in text.strip().splitlines() if line.strip()]
    return lines[-1][:300] if lines else ""


def _preview(value: Any) -> str:
    text = value if isinstance(value, str) else json.dumps(value)
    return text if len(text) <= PREVIEW_CHARS else text[:PREVIEW_CHARS] + f"... ({len(text)} chars)"


def grade(index: int, raw: Mapping[str, Any], expected: Any, mode: str) -> dict[str, Any]:
    """One test's entry from the harness result: pass / wrong / runtime_error / timeout."""
    entry: dict[str, Any] = {"index": index, "status": "runtime_error"}
    if "time" in raw:
        entry["time_s"] = raw["time"]
    status = raw.get("status")
    output = str(raw.get("output", ""))
    if status == "timeout":
        entry["status"] = "timeout"
    elif status == "output_limit":
        entry.update(status="wrong", error=raw.get("error", "output limit exceeded"))
    elif mode == STDIN_MODE and status == "ok":
        rule = compare_stdout(output, expected)
        if rule:
            entry.update(status="pass", match=rule)
        else:
            entry.update(status="wrong", got=_preview(output))
    elif mode == STDIN_MODE:
        exit_code = raw.get("exit")
        entry["error"] = _last_line(str(raw.get("stderr", ""))) or raw.get("error") or f"exit code {exit_code}"
    else:
        _grade_call(entry, raw, output, expected)
    return entry


def _grade_call(entry: dict[str, Any], raw: Mapping[str, Any], output: str, expected: Any) -> None:
    try:
        message = json.loads(output) if output else None
    except (ValueError, RecursionError):
        message = None
    if not isinstance(message, dict):
        detail = raw.get("error") or _last_line(str(raw.get("stderr", "")))
        entry["error"] = detail or "the function returned nothing (the process exited first)"
    elif not message.get("ok"):
        entry["error"] = str(message.get("error", ""))[:300] or "error"
    elif "unencodable" in message:
        entry.update(status="wrong", got=str(message["unencodable"])[:PREVIEW_CHARS])
    else:
        rule = compare_value(message.get("value"), expected)
        if rule:
            entry.update(status="pass", match=rule)
        else:
            entry.update(status="wrong", got=_preview(message.get("value")))


def suite_verdict(
    results: list[dict[str, Any]], limits: JudgeLimits, compile_error: str | None = None,
    extra: Mapping[str, Any] | None = None,
) -> Verdict:
    """Strict accuracy (every test passes) as ``success``; the pass fraction as ``score``;
    ``details`` with the counts by status and the first ``MAX_DETAILS`` tests (shared by every
    judge that runs a test suite in a sandbox: APPS and the ``tests`` judge)."""
    total = len(results)
    passed = sum(r["status"] == "pass" for r in results)
    details: dict[str, Any] = {
        **(extra or {}),
        "passed": passed,
        "total": total,
        "counts": dict(Counter(r["status"] for r in results)),
        "test_timeout_s": limits.test_timeout,
        "tests": results[:MAX_DETAILS],
    }
    if total > MAX_DETAILS:
        details["tests_omitted"] = total - MAX_DETAILS
    if compile_error:
        details["compile_error"] = compile_error
    return Verdict(success=total > 0 and passed == total, score=passed / total if total else 0.0, details=details)


def make_verdict(
    results: list[dict[str, Any]], reference: Mapping[str, Any], limits: JudgeLimits,
    compile_error: str | None = None, wrapped: bool = False,
) -> Verdict:
    """The suite's verdict, with APPS's call mode, whether the program was wrapped and how
    the problem's examples fared."""
    verdict = suite_verdict(results, limits, compile_error, {"mode": reference["mode"]})
    details = verdict.details
    if wrapped:  # a module-level ``return``: run inside a function, as the official grader does
        details["wrapped"] = True
    examples = list(reference.get("examples") or [])
    if examples:
        details["examples"] = {
            "indices": examples,
            "passed": sum(results[i]["status"] == "pass" for i in examples if i < len(results)),
        }
    return verdict


class AppsJudge:
    """Grades programs against APPS tests; one instance per run, any number of concurrent
    judgements (each has its own sandbox)."""

    def __init__(self, factory: SandboxFactory, limits: JudgeLimits | None = None) -> None:
        self._factory = factory
        self.limits = limits or JudgeLimits()
        self._open: set[Sandbox] = set()
        self._closing: set[asyncio.Future[None]] = set()

    async def judge(self, reference: Mapping[str, Any], answer: str) -> Verdict:
        """Run the program in ``answer`` (a Markdown fence is removed) on every test."""
        program = extract_program(answer)
        started = time.monotonic()
        sandbox = self._factory(())
        self._open.add(sandbox)
        try:
            await sandbox.start()
            session = HarnessSession(sandbox, reference, program, self.limits)
            prepared = await self._setup(session)
            n = len(reference["inputs"])
            if not prepared.get("ok"):
                error = str(prepared.get("error", "compile error"))
                results = [{"index": i, "status": "compile_error", "error": error} for i in range(n)]
                return make_verdict(results, reference, self.limits, compile_error=error)
            results = await self._run_all(session, reference, started)
            return make_verdict(results, reference, self.limits, wrapped=bool(prepared.get("wrapped")))
        finally:
            await self._close(sandbox)

    async def _setup(self, session: HarnessSession) -> dict[str, Any]:
        try:
            return await session.setup()
        except LostCell:
            return {"ok": False, "error": "compiling the program timed out"}

    async def _run_all(self, session: HarnessSession, reference: Mapping[str, Any], started: float) -> list[dict[str, Any]]:
        mode = reference["mode"]
        tests = list(zip(reference["inputs"], reference["outputs"], strict=True))
        results: list[dict[str, Any]] = []
        restarts = 0
        for i, (test_input, expected) in enumerate(tests):
            if time.monotonic() - started > self.limits.budget_s:
                results.append({"index": i, "status": "timeout", "error": "not run: judge time budget exhausted"})
                continue
            if restarts > MAX_RESTARTS:
                results.append({"index": i, "status": "runtime_error", "error": "not run: the program kept killing the judge"})
                continue
            text = test_input if mode == STDIN_MODE else json.dumps(test_input)
            try:
                raw = await session.run_test(str(text))
            except LostCell as lost:
                status = "timeout" if lost.timeout else "runtime_error"
                entry = {"index": i, "status": status}
                if not lost.timeout:
                    entry["error"] = "the program killed the judge's worker process"
                results.append(entry)
                if lost.restarted:
                    restarts += 1
                    if restarts <= MAX_RESTARTS and not (await self._setup(session)).get("ok"):
                        raise JudgeError("could not restore the judge after a worker restart") from None
                continue
            results.append(grade(i, raw, expected, mode))
        return results

    async def _close(self, sandbox: Sandbox) -> None:
        """Close in a shielded task: a cancellation arriving now cannot leak the worker."""
        closing = asyncio.ensure_future(self._close_now(sandbox))
        self._closing.add(closing)
        closing.add_done_callback(self._closing.discard)
        await asyncio.shield(closing)

    async def _close_now(self, sandbox: Sandbox) -> None:
        try:
            await sandbox.close()
        except Exception as exc:
            log.warning("apps judge: closing a sandbox failed: %s", exc)
        finally:
            self._open.discard(sandbox)

    async def aclose(self) -> None:
        """Wait for closes still in flight and close any sandbox left open."""
        while self._closing:
            await asyncio.gather(*list(self._closing), return_exceptions=True)
        for sandbox in list(self._open):
            await self._close_now(sandbox)
