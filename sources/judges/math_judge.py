"""``math``: the MATH source's judge (math-verify equivalence) applied to any gold answer.

It is ``trajkit.sources.math.judge.MathJudge`` itself, not a copy: the same normalisation of
both sides (``\\$18.90``, ``\\boxed{}``, ``x = 3``, Python spellings), math-verify run in
worker processes with a hard time limit (a hung sympy call costs one killed worker and a
failed verdict, never a stuck run). Gold answers are strings (LaTeX or plain: ``\\frac{1}{2}``,
``0.5``, ``(2, -1)``), numbers, or lists of acceptable ones (the first that verifies wins).

The question decides how a percentage reads (``7\\%`` is 7 when the question asks for a
percent, else 7/100): it is taken from the task's ``problem`` or ``question`` field when it
has one. Options: ``timeout`` (seconds per check, default 10) and ``workers`` (worker
processes, default up to 4). Workers start on the first check and stop on ``aclose()``.
"""

from __future__ import annotations

import threading
from typing import Any, ClassVar

from pydantic import BaseModel, ConfigDict, Field

from trajkit.schemas import Task, Verdict
from trajkit.sources.judges.base import BaseJudge, JudgeSpec, judged
from trajkit.sources.judges.text import clip, empty_answer, gold_answers
from trajkit.sources.math.judge import DEFAULT_TIMEOUT_S
from trajkit.sources.math.judge import MathJudge as MathEngine

#: Task fields holding the question, in the order looked at (see the module doc).
QUESTION_FIELDS = ("problem", "question")


class MathOptions(BaseModel):
    """``--source-opt timeout=SECONDS`` and ``workers=N`` of the math judge."""

    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)

    timeout: float = Field(DEFAULT_TIMEOUT_S, gt=0, le=600)
    workers: int | None = Field(None, ge=1, le=64)


class MathJudge(BaseJudge):
    """math-verify equivalence of the answer with a gold answer (see the module doc)."""

    name: ClassVar[str] = "math"
    options_model: ClassVar[type[BaseModel] | None] = MathOptions
    #: The ``tasks`` prompt's last paragraph under this judge (see ``sources/tasks/prompt.py``).
    answer_format: ClassVar[str] = (
        "Give only the final answer inside <solution></solution>, simplified, as a number or "
        "a LaTeX expression, e.g. <solution>\\frac{3}{4}</solution>."
    )

    def __init__(self, options: BaseModel | None = None) -> None:
        super().__init__(options)
        self._engine: MathEngine | None = None
        self._lock = threading.Lock()

    @property
    def engine(self) -> MathEngine:
        """The MATH source's judge, created on first use so building a judge starts nothing."""
        with self._lock:
            if self._engine is None:
                options = self.options if isinstance(self.options, MathOptions) else MathOptions()
                self._engine = MathEngine(options.timeout, options.workers)
            return self._engine

    async def judge(self, task: Task, answer: str) -> Verdict:
        spec = JudgeSpec(self.name)
        golds = gold_answers(task)
        if not answer.strip():
            return empty_answer(spec)
        problem = next(
            (value for key in QUESTION_FIELDS if isinstance(value := task.metadata.get(key), str)),
            None,
        )
        verdict: Verdict | None = None
        for gold in golds:
            verdict = await self.engine.judge(gold, answer, problem=problem)
            if verdict.success:
                break
        assert verdict is not None  # gold_answers never returns an empty list
        details: dict[str, Any] = {
            key: clip(value) if isinstance(value, str) else value
            for key, value in verdict.details.items()
        }
        if len(golds) > 1:
            details["golds"] = len(golds)
        return judged(verdict.model_copy(update={"details": details}), spec)

    async def aclose(self) -> None:
        """Stop the worker processes (they restart if the judge is used again)."""
        engine, self._engine = self._engine, None
        if engine is not None:
            await engine.aclose()

    @classmethod
    def summary(cls, task: Task, verdict: Verdict) -> str:
        details = verdict.details
        if "error" in details:
            return f"math: {details['error']}"
        sign = "=" if verdict.success else "≠"
        return f"math: {details.get('parsed_pred', '')} {sign} {details.get('parsed_gold', '')}"
