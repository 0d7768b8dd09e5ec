"""APPS (Hendrycks et al.): programming problems graded by their unit tests inside the sandbox.

Load APPS-format records from JSONL/JSON/Parquet, the released per-problem tree
(``train/0001/question.txt``...), a Hub dataset's data files, or the bundled sample; the
teacher writes a complete program (stdin/stdout, or a function called with the test
inputs); the judge runs it on every test in a fresh sandbox from the collector's runtime,
the way the official grader runs programs (``execmodel.py``), and compares outputs on the
host. ``success`` is strict accuracy (all tests pass), ``score`` the fraction passed.
docs/fidelity/apps.md compares verdicts with the official grader's.

Options (``--source-opt KEY=VALUE``): ``test_timeout`` (seconds per test, default 4),
``split_tests`` (show the statement's example tests in the prompt, default false),
``output_limit_mb`` (largest output kept per test, default 4), ``judge_budget`` (seconds
for all tests of one solution, default 300; tests left after it count as timeouts).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from pydantic import BaseModel, ConfigDict, Field

from trajkit.core.demonstration import Demonstration
from trajkit.core.tools import Tool
from trajkit.schemas import Task, Verdict
from trajkit.sources.apps.compare import compare_stdout, compare_value
from trajkit.sources.apps.demonstration import DEMONSTRATION
from trajkit.sources.apps.judge import AppsJudge, JudgeError, JudgeLimits
from trajkit.sources.apps.load import DEMO_REPLAY, SAMPLE_PATH, LoadReport, load_tasks
from trajkit.sources.apps.prompt import build_prompt, extract_program
from trajkit.sources.apps.records import PromptSettings
from trajkit.sources.apps.report import AppsReport
from trajkit.sources.base import LoadOptions, SourceRuntime, parse_options

__all__ = [
    "DEMO_REPLAY",
    "SAMPLE_PATH",
    "AppsJudge",
    "AppsOptions",
    "AppsSource",
    "JudgeError",
    "JudgeLimits",
    "LoadReport",
    "build_prompt",
    "compare_stdout",
    "compare_value",
    "extract_program",
]


class AppsOptions(BaseModel):
    """The ``--source-opt`` settings of the APPS source, validated with one-line errors."""

    model_config = ConfigDict(extra="forbid")

    test_timeout: float = Field(4.0, gt=0, le=600, description="seconds per test case")
    split_tests: bool = Field(False, description="show the statement's example tests")
    output_limit_mb: float = Field(4.0, gt=0, le=1024, description="output kept per test")
    judge_budget: float = Field(300.0, gt=0, description="seconds for all tests of a solution")


class AppsSource(AppsReport):
    """APPS as a trajkit ``Source``; call ``attach`` (the runner does) before ``judge``."""

    name = "apps"
    options_model = AppsOptions
    demo_replay = DEMO_REPLAY
    typical_episode = (4.0, 450.0, 200.0)  # turns, output and observation tokens per turn

    def demonstration(self) -> Demonstration:
        """The in-context example episode (``--shots 1``): ``demonstration.py``."""
        return DEMONSTRATION

    def __init__(self, options: AppsOptions | None = None) -> None:
        self.options = options or AppsOptions()
        self.last_report: LoadReport | None = None
        self._judge: AppsJudge | None = None

    @classmethod
    def from_options(cls, options: Mapping[str, str]) -> AppsSource:
        """Build from ``--source-opt KEY=VALUE`` pairs; a bad key or value is a ConfigError."""
        return cls(parse_options(AppsOptions, options, "apps"))

    @property
    def limits(self) -> JudgeLimits:
        opts = self.options
        return JudgeLimits(
            test_timeout=opts.test_timeout,
            output_limit_bytes=int(opts.output_limit_mb * 1024 * 1024),
            budget_s=opts.judge_budget,
        )

    def load(self, options: LoadOptions) -> list[Task]:
        """Tasks from ``options.data`` (a ``.jsonl``/``.json``/``.parquet`` file, or a
        directory: one problem folder, a split folder such as the release's ``train/``, the
        release root, or a folder laid out like the Hub repository), ``options.hf`` (a Hub
        dataset id such as ``codeparrot/apps``, or such a directory; split defaults to
        ``train``) or, with neither, the bundled sample; then the difficulty selection
        (``options.levels``) and seeded sampling.

        Problems without usable tests are skipped and counted in ``last_report``.
        """
        settings = PromptSettings(
            test_timeout=self.options.test_timeout, split_tests=self.options.split_tests
        )
        tasks, self.last_report = load_tasks(options, settings)
        return tasks

    def tools(self, task: Task) -> Sequence[Tool]:
        """None: the teacher tests its program with the sandbox's own Python."""
        return []

    def attach(self, runtime: SourceRuntime) -> None:
        """Take the collector's sandbox factory: every judged program runs in one of them."""
        self._judge = AppsJudge(runtime.sandbox_factory, self.limits)

    async def judge(self, task: Task, answer: str) -> Verdict:
        """Run the program in ``answer`` on every test of ``task`` (strict accuracy)."""
        if self._judge is None:
            raise RuntimeError(
                "apps: the judge runs programs in a sandbox and has none; call "
                "attach(SourceRuntime(sandbox_factory=...)) before judge() (the runner does)"
            )
        return await self._judge.judge(task.reference, answer)

    async def aclose(self) -> None:
        """Close any judge sandbox a cancelled judgement left behind."""
        if self._judge is not None:
            await self._judge.aclose()
