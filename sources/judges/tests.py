"""The ``tests`` judge: the ``<solution>`` is a program, judged by assert-style tests (HumanEval
and MBPP style) run in a fresh sandbox, never in the collector's own process.

Reference forms (``task.reference``, or the metadata field named by ``tests=FIELD``), detailed
in ``tests_suite.py``:

- a string of test code, run as one test: ``"assert add(1, 2) == 3\\nassert add(0, 0) == 0"``;
- a list of test strings, each a separate test (MBPP's ``test_list``):
  ``["assert add(1, 2) == 3", "assert add(0, 0) == 0"]``;
- a dict ``{"setup": code, "tests": [...], "check": "check(candidate)", "entry_point": name,
  "prompt": stub}``: ``setup`` runs before each test (MBPP's ``test_setup_code``; HumanEval's
  ``test`` code, which defines ``check(candidate)``, also accepted under its own key
  ``test``); ``check`` is one more test in which ``candidate`` is the function
  ``entry_point``; ``prompt`` is a stub the solution may complete (HumanEval, see
  ``program_for``). HumanEval's ``test`` string with an ``entry_point`` and no other test
  becomes the test ``check(<entry_point>)``, as the official harness calls it.

Each test runs in its own child process, forked in the judge sandbox: the solution (after the
stub, if any), then ``setup``, then the test, in a fresh module named ``solution`` (not
``__main__``: a solution's ``if __name__ == "__main__":`` demo does not run, as under the
official harnesses, which ``exec`` in a bare namespace; standard output is discarded and no
imports are added). It passes when it raises nothing; an
``AssertionError`` is ``fail``, any other exception, ``SystemExit``, ``os._exit`` or a signal
is ``error``, and the deadline is ``timeout``. Details keep, per test (at most 50), the status,
the test's text and the error's first line with the failing line of the test (300
characters at most). ``score`` is the fraction of tests passed, ``success`` that all passed.
A solution that does not compile fails every test without running any (``compile_error``).

Options (``--source-opt KEY=VALUE``): ``timeout`` (seconds per test, default 4, as APPS),
``budget`` (seconds for all tests of one solution, default 300; tests left count as
timeouts), ``tests=FIELD`` (read the tests from that metadata field instead of the
reference), ``setup=FIELD`` (setup code from a metadata field, e.g. MBPP's
``test_setup_code``), ``entry_point=FIELD`` (the function's name from a metadata field, e.g.
HumanEval's ``entry_point``).

The judge needs a sandbox factory: the runner calls ``attach(runtime)`` once before the first
episode and ``aclose()`` after the last. The solution's fence is removed as for APPS.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar

from pydantic import BaseModel, ConfigDict, Field

from trajkit.core.errors import ConfigError, DataError, JudgeError
from trajkit.schemas import Task, Verdict
from trajkit.sources.apps.prompt import extract_program
from trajkit.sources.base import SourceRuntime
from trajkit.sources.judges.base import BaseJudge, JudgeSpec, judged
from trajkit.sources.judges.tests_runner import JudgeLimits, SuiteRunner
from trajkit.sources.judges.tests_suite import TestSuite, parse_suite, program_for
from trajkit.sources.reading import ReferenceView, ReportTable, clip, tests_line

#: How each failing status reads, singular and plural.
STATUS_WORDS = {
    "fail": ("failed", "failed"),
    "error": ("error", "errors"),
    "timeout": ("timeout", "timeouts"),
    "compile_error": ("compile error", "compile errors"),
}
SHOWN_TESTS = 5


class TestsOptions(BaseModel):
    """The ``tests`` judge's ``--source-opt`` keys."""

    __test__ = False  # not a pytest test class
    model_config = ConfigDict(extra="forbid")

    timeout: float = Field(4.0, gt=0, le=600, description="seconds per test")
    budget: float = Field(300.0, gt=0, description="seconds for all tests of one solution")
    tests: str | None = Field(None, description="metadata field holding the tests")
    setup: str | None = Field(None, description="metadata field holding setup code")
    entry_point: str | None = Field(None, description="metadata field naming the function")


class TestsJudge(BaseJudge):
    """Runs the solution against the task's tests in a fresh sandbox (see the module doc)."""

    __test__ = False  # not a pytest test class
    name: ClassVar[str] = "tests"
    options_model = TestsOptions

    def __init__(self, options: TestsOptions | None = None, spec: str = "tests") -> None:
        super().__init__(options)
        self.spec = spec
        self._runner: SuiteRunner | None = None

    @classmethod
    def from_spec(cls, spec: JudgeSpec, options: Mapping[str, str]) -> TestsJudge:
        if spec.arg is not None:
            raise ConfigError(
                f"--source-opt judge={spec}: judge 'tests' takes no argument "
                "(the tests come from the reference, or from a field with tests=FIELD)"
            )
        parsed = cls.parse_options(options)
        return cls(parsed if isinstance(parsed, TestsOptions) else None, str(spec))

    @property
    def limits(self) -> JudgeLimits:
        opts = self.options
        assert isinstance(opts, TestsOptions)
        return JudgeLimits(test_timeout=opts.timeout, budget_s=opts.budget)

    def attach(self, runtime: SourceRuntime) -> None:
        """Take the collector's sandbox factory: every judged solution runs in one of them."""
        self._runner = SuiteRunner(runtime.sandbox_factory, self.limits)

    async def aclose(self) -> None:
        """Close any judge sandbox a cancelled judgement left behind."""
        if self._runner is not None:
            await self._runner.aclose()

    def suite_for(self, task: Task) -> TestSuite:
        """The task's tests as a :class:`TestSuite`; a one-line ``DataError`` naming the task
        and field when they are missing or unparsable (a source may call this while loading)."""
        opts = self.options
        assert isinstance(opts, TestsOptions)
        where = f"task {task.task_id}"
        value: Any = task.reference
        if opts.tests:
            if opts.tests not in task.metadata:
                raise DataError(f"{where}: no field {opts.tests!r} (tests={opts.tests})")
            value, where = task.metadata[opts.tests], f"{where} field {opts.tests!r}"
        elif value is None:
            raise DataError(f"{where}: no tests (the reference is empty)")
        setup = _metadata_text(task, opts.setup, "setup")
        entry_point = _metadata_text(task, opts.entry_point, "entry_point")
        return parse_suite(value, where, setup=setup, entry_point=entry_point)

    def check_reference(self, task: Task) -> None:
        self.suite_for(task)

    async def judge(self, task: Task, answer: str) -> Verdict:
        """Run the program in ``answer`` (a Markdown fence is removed) on every test."""
        if self._runner is None:
            raise JudgeError(
                "judge tests: runs programs in a sandbox and has none; call "
                "attach(SourceRuntime(sandbox_factory=...)) before judge() (the runner does)"
            )
        try:
            suite = self.suite_for(task)
        except DataError as exc:  # the data's fault, not the answer's
            raise JudgeError(str(exc)) from None
        program = program_for(suite, extract_program(answer))
        return judged(await self._runner.run_suite(suite, program), self.spec)

    @classmethod
    def summary(cls, task: Task, verdict: Verdict) -> str:
        return suite_summary(verdict)


def _metadata_text(task: Task, key: str | None, option: str) -> str | None:
    if not key:
        return None
    value = task.metadata.get(key)
    if value is None:
        raise DataError(f"task {task.task_id}: no field {key!r} ({option}={key})")
    if not isinstance(value, str):
        raise DataError(f"task {task.task_id}: field {key!r} must be a string ({option}={key})")
    return value


def suite_summary(verdict: Verdict) -> str:
    """``3/3 tests passed``; a failure adds how the others failed (``1/3 tests passed: 1
    failed, 1 timeout``), or the compile error."""
    line = tests_line(verdict.details, STATUS_WORDS)
    return line if line is not None else str(verdict.details.get("error") or "")


def suite_view(verdict: Verdict) -> ReferenceView:
    """The tests as a reader sees them: the first few (and the first failing one) with what
    happened, from the verdict's details (which quote each test)."""
    entries = [e for e in verdict.details.get("tests") or [] if isinstance(e, dict)]
    total = verdict.details.get("total")
    fields: list[tuple[str, str]] = []
    if isinstance(total, int):
        timeout = verdict.details.get("test_timeout_s")
        each = f" · {timeout:g}s each" if isinstance(timeout, (int, float)) else ""
        fields.append(("tests", f"{total}{each}"))
    shown = entries[:SHOWN_TESTS]
    failing = [e for e in entries if e.get("status") != "pass"]
    if failing and failing[0] not in shown:
        shown.append(failing[0])
    rows = tuple(
        (
            str(int(e.get("index", 0)) + 1),
            clip(str(e.get("test", "")), 160, 4),
            "✓ pass" if e.get("status") == "pass"
            else f"✗ {e.get('status', '?')}" + (f": {clip(str(e['error']), 160, 2)}" if e.get("error") else ""),
        )
        for e in shown
    )
    caption = f"{len(rows)} of {total} tests" if isinstance(total, int) else ""
    table = ReportTable(("#", "test", "result"), rows, caption)
    return ReferenceView(tuple(fields), (table,) if rows else ())
