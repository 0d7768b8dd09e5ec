"""What the program benchmarks (MBPP, HumanEval) share: a source whose tasks carry a test
suite and whose answers are judged by the ``tests`` judge in a fresh sandbox of the run."""

from __future__ import annotations

from typing import ClassVar

from trajkit.core.errors import JudgeError
from trajkit.schemas import Task, Verdict
from trajkit.sources.base import BaseSource, SourceRuntime
from trajkit.sources.judges.tests import TestsJudge, suite_summary, suite_view
from trajkit.sources.reading import ReferenceView


class TestsJudgedSource(BaseSource):
    """A source of program tasks; subclasses build ``self._judge`` (a ``TestsJudge`` with
    their options) and name their ``benchmark`` for error messages."""

    benchmark: ClassVar[str] = ""
    _judge: TestsJudge

    def attach(self, runtime: SourceRuntime) -> None:
        """Take the collector's sandbox factory for the judge."""
        self._judge.attach(runtime)

    async def aclose(self) -> None:
        await self._judge.aclose()

    async def judge(self, task: Task, answer: str) -> Verdict:
        """The task's test suite against the solution, in a fresh sandbox."""
        if not isinstance(task.reference, dict):
            raise JudgeError(
                f"task {task.task_id}: not a {self.benchmark} task "
                "(its reference is not a test suite)"
            )
        return await self._judge.judge(task, answer)

    @classmethod
    def verdict_summary(cls, task: Task, verdict: Verdict) -> str:
        return suite_summary(verdict)

    @classmethod
    def reference_view(cls, task: Task, verdict: Verdict) -> ReferenceView:
        return suite_view(verdict)
