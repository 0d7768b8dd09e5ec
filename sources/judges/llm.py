"""``judge=llm``: a rubric judge — a model of the user's choice (the *grader*) decides.

For answers no rule can check (free-text explanations, open questions, answers whose form
varies too much for ``exact`` or ``numeric``). Options (``--source-opt``):

- ``grader=PROVIDER:MODEL`` (required): the grading model, any teacher provider
  (``openai:gpt-4o-mini``, ``anthropic:claude-3-5-haiku-latest``, a plugin's);
- ``rubric=FILE``: the grading instructions with ``{question}``, ``{reference}``,
  ``{answer}`` and ``{FIELD}`` placeholders (``llm_rubric``; a built-in rubric by default).

The collector lends the grader (``SourceRuntime.make_teacher``): it is asked at temperature
0, through the run's response cache (a resumed or repeated run pays nothing for a judgement
already made), and every reply's cost at the grader's own price is written on the verdict
(``details["cost_usd"]``), which the run's cost, ``--max-cost`` and ``trajkit view`` count.

The grader's reply is hostile input (``llm_reply``): a reply without a clear final verdict
line is a failed verdict saying why; only a grader that cannot be reached (after the SDK's
retries) or never can be (a bad key, an unknown model) is a ``JudgeError``, which ends that
episode as ``judge_error`` and never the run.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar

from pydantic import BaseModel, ConfigDict

from trajkit.core.errors import ConfigError, JudgeError, TeacherFatalError, TrajkitError
from trajkit.core.lent_model import COST_KEY, LentModel
from trajkit.schemas import Message, Task, Verdict
from trajkit.sources.base import SourceRuntime
from trajkit.sources.judges.base import BaseJudge, JudgeSpec, judged
from trajkit.sources.judges.llm_reply import read_reply
from trajkit.sources.judges.llm_rubric import SYSTEM_PROMPT, Rubric, load_rubric

GRADER_FLAG = "--source-opt grader"


class LLMJudgeOptions(BaseModel):
    """``--source-opt`` keys of the ``llm`` judge (see the module doc)."""

    model_config = ConfigDict(extra="forbid")

    grader: str | None = None
    rubric: str | None = None


class LLMJudge(BaseJudge):
    """A grader model reads the rubric filled with the task, reference and answer, and says
    ``VERDICT: CORRECT`` or ``VERDICT: INCORRECT``."""

    name: ClassVar[str] = "llm"
    options_model: ClassVar[type[BaseModel] | None] = LLMJudgeOptions
    #: The ``tasks`` prompt's last paragraph under this judge: free text is fine, a grader reads it.
    answer_format: ClassVar[str] = (
        "Give your final answer inside <solution></solution>, stated plainly and completely: "
        "a grader compares it with a reference answer."
    )

    def __init__(
        self, options: BaseModel | None = None, *, spec: JudgeSpec | str = "llm"
    ) -> None:
        super().__init__(options)
        opts = self.options
        if not isinstance(opts, LLMJudgeOptions):
            raise TypeError(f"LLMJudge options must be LLMJudgeOptions, not {type(opts).__name__}")
        if not opts.grader or ":" not in opts.grader:
            given = f" (got {opts.grader!r})" if opts.grader else ""
            raise ConfigError(
                f"{GRADER_FLAG}: judge=llm needs the grading model as PROVIDER:MODEL{given}, "
                "e.g. --source-opt grader=openai:gpt-4o-mini"
            )
        self.grader_spec = opts.grader.strip()
        self.rubric: Rubric = load_rubric(opts.rubric)
        self.spec = str(spec)
        self.model: LentModel | None = None

    @classmethod
    def from_spec(cls, spec: JudgeSpec, options: Mapping[str, str]) -> LLMJudge:
        if spec.arg is not None:
            raise ConfigError(
                f"--source-opt judge={spec}: judge 'llm' takes no argument (write judge=llm and "
                "name the model with --source-opt grader=PROVIDER:MODEL)"
            )
        return cls(cls.parse_options(options), spec=spec)

    def attach(self, runtime: SourceRuntime) -> None:
        """Borrow the grader from the collector (once: a second attach keeps the first)."""
        if self.model is not None:
            return
        if runtime.make_teacher is None:
            raise ConfigError(
                "--source-opt judge=llm: this collector lends no model to judges "
                "(SourceRuntime.make_teacher is None)"
            )
        self.model = runtime.make_teacher(self.grader_spec, flag=GRADER_FLAG)

    async def aclose(self) -> None:
        model, self.model = self.model, None
        if model is not None:
            await model.aclose()

    def messages(self, task: Task, answer: str) -> list[Message]:
        """What the grader is sent for ``answer`` to ``task``: the fixed system prompt (the
        reply format) and the filled-in rubric."""
        return [
            Message(role="system", content=SYSTEM_PROMPT),
            Message(role="user", content=self.rubric.fill(task, answer)),
        ]

    async def judge(self, task: Task, answer: str) -> Verdict:
        model = self.model
        if model is None:
            raise JudgeError("judge llm: no grader attached (attach(runtime) first)")
        try:
            reply = await model.complete(self.messages(task, answer), [], task_id=task.task_id)
        except TrajkitError as exc:  # a teacher error names the model already, mostly
            said = str(exc)
            where = "" if said.startswith(f"{model.name}:") else f"{model.name}: "
            if isinstance(exc, TeacherFatalError):
                # No call can ever succeed (bad key, unknown model): stop the run, as for a
                # teacher, rather than fail every later episode after paying its teacher.
                raise TeacherFatalError(f"grader {where}{said}") from None
            raise JudgeError(f"grader {where}{said}") from None
        text = reply.text if isinstance(reply.text, str) else ""
        reading = read_reply(text)
        details: dict[str, Any] = {
            "grader": model.name,
            "rubric": f"{self.rubric.name} ({self.rubric.digest})",
            "verdict": None if reading.correct is None else
            ("correct" if reading.correct else "incorrect"),
            "rationale": reading.rationale,
            "usage": reply.usage.model_dump(),
            "cached": bool(reply.usage.cached_calls),
            COST_KEY: reply.cost_usd,
        }
        if reading.problem is not None:
            details["reason"] = reading.problem
        success = bool(reading.correct)
        score = reading.score if reading.score is not None else float(success)
        return judged(Verdict(success=success, score=score, details=details), self.spec)

    @classmethod
    def summary(cls, task: Task, verdict: Verdict) -> str:
        """``llm (openai:gpt-4o-mini): correct`` or ``...: no verdict (why)``."""
        details = verdict.details
        head = f"{details.get('judge', cls.name)} ({details.get('grader', '?')})"
        found = details.get("verdict")
        if found is None:
            return f"{head}: no verdict ({details.get('reason', 'unreadable reply')})"
        return f"{head}: {found}"
