"""The MATH source (Hendrycks et al.): competition problems with ``\\boxed{}`` answers.

Load from a local file/directory, the Hub, or the bundled sample; judge a teacher's
``<solution>`` with math-verify under a hard, process-based time limit.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence

from trajkit.core.demonstration import Demonstration
from trajkit.core.tools import Tool
from trajkit.schemas import Task, Verdict
from trajkit.sources.base import LoadOptions
from trajkit.sources.math.boxed import last_boxed
from trajkit.sources.math.demonstration import DEMONSTRATION
from trajkit.sources.math.judge import DEFAULT_TIMEOUT_S, JudgeUnavailableError, MathJudge
from trajkit.sources.math.load import DEMO_REPLAY, SAMPLE_PATH, LoadReport, load_tasks
from trajkit.sources.math.prompt import build_prompt
from trajkit.sources.math.report import MathReport

__all__ = [
    "DEFAULT_TIMEOUT_S",
    "DEMO_REPLAY",
    "SAMPLE_PATH",
    "JudgeUnavailableError",
    "LoadReport",
    "MathJudge",
    "MathSource",
    "build_prompt",
    "last_boxed",
]


class MathSource(MathReport):
    """MATH as a trajkit ``Source``. No host-side tools: the sandbox's sympy/numpy suffice."""

    name = "math"
    demo_replay = DEMO_REPLAY
    typical_episode = (3.0, 250.0, 80.0)  # turns, output and observation tokens per turn

    def demonstration(self) -> Demonstration:
        """The in-context example episode (``--shots 1``): ``demonstration.py``."""
        return DEMONSTRATION

    def __init__(
        self, judge_timeout_s: float = DEFAULT_TIMEOUT_S, judge_workers: int | None = None
    ) -> None:
        self._judge_timeout_s = judge_timeout_s
        self._judge_workers = judge_workers
        self._judge: MathJudge | None = None
        self._judge_lock = threading.Lock()
        self.last_report: LoadReport | None = None

    def load(self, options: LoadOptions) -> list[Task]:
        """Tasks from ``options.data`` (``.json``/``.jsonl``/directory), ``options.hf``
        (``datasets.load_dataset``; split defaults to ``test`` for MATH-500, else ``train``)
        or, with neither, the bundled sample; then level/type filters and seeded sampling.

        Problems without a findable answer are skipped and counted in ``last_report``.
        """
        tasks, self.last_report = load_tasks(options)
        return tasks

    def tools(self, task: Task) -> Sequence[Tool]:
        """None: MATH needs only computation, which the sandbox's Python already offers."""
        return []

    @property
    def judge_engine(self) -> MathJudge:
        """The shared judge, created on first use so loading never starts processes."""
        with self._judge_lock:
            if self._judge is None:
                self._judge = MathJudge(self._judge_timeout_s, self._judge_workers)
            return self._judge

    async def judge(self, task: Task, answer: str) -> Verdict:
        """math-verify equivalence of ``answer`` with ``task.reference``, after both are
        normalised as MATH writes answers; the problem text decides how a percent reads."""
        problem = task.metadata.get("problem")
        return await self.judge_engine.judge(
            str(task.reference), answer, problem=problem if isinstance(problem, str) else None
        )

    def close(self) -> None:
        """Stop judge workers (also happens automatically at exit)."""
        if self._judge is not None:
            self._judge.close()

    async def aclose(self) -> None:
        if self._judge is not None:
            await self._judge.aclose()
