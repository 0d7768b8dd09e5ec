"""The CodeAct loop: one task, one teacher, one sandbox, one ``Trajectory``.

Each turn the teacher runs code (the sandbox's output comes back as an observation), calls
one of the source's tools, or proposes an answer (the source's judge scores it), within a
budget of turns and proposals. How a turn says which is its action format
(``collect/formats/``: CodeAct's tags by default, native function calls, or calls written as
JSON or text); a turn may make several calls, run in order, each answered. Every way an episode can end is a ``Termination`` recorded in the trajectory, so one bad
episode never stops a run of thousands; only ``UserError``s (``TeacherFatalError``: no call can
ever succeed; ``SandboxUnavailableError``: no sandbox can ever start) and cancellation
propagate. Anything else an episode raises, however unexpected, ends it as ``internal_error``
with the exception's type and message, keeping the turns it had (and the tokens they cost).

What the loop keeps is valid Unicode and bounded: each teacher turn is checked and capped
where it arrives (``teachers.turn_text``), and the prompt and tool descriptions it sends are
made valid text too, so nothing it records or sends can fail to encode.

The loop owns the sandbox: it starts it alongside the first teacher call, so container or
process start-up overlaps model latency, and always closes it. A source with an
``episode_setup(task)`` (see ``trajkit.sources.base``) has that code run in the sandbox right
after it starts, still overlapping the first teacher call, and again after a cell restarted the
worker; its output is never shown to the teacher, and a setup that fails ends the episode as
``sandbox_error``.

With ``shots=1`` (the default) the system prompt ends with the source's in-context
demonstration (``collect/demonstrations.py``), between the marker lines that let exports,
filters and reports cut it out again exactly (``trajkit.core.demonstration``).
"""

from __future__ import annotations

import asyncio
import logging
import time
from dataclasses import dataclass, field
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from trajkit.collect.attempts import FIRST, EpisodeKey
from trajkit.collect.demonstrations import demonstration_for
from trajkit.collect.episode_record import (
    DETAIL_CHARS,
    describe_error,
    toolkit_version_once,
    trajectory_id,
    utc_now,
)
from trajkit.collect.episode_sandbox import (
    RUN_GRACE_S,
    episode_setup_code,
    nothing,
    run_setup,
    shutdown,
    start_sandbox,
)
from trajkit.collect.formats.base import (
    ActionFormat,
    Call,
    Offer,
    Result,
    action_format,
    make_offer,
)
from trajkit.collect.formats.code import CodeFormat
from trajkit.collect.observation import DEFAULT_OBSERVATION_CHARS, cell_observation
from trajkit.collect.prompts import CORRECT_ANSWER_TEXT
from trajkit.collect.teachers.base import ContextLimitError, Teacher, TeacherError
from trajkit.collect.teachers.shape import kind_of
from trajkit.collect.teachers.turn_text import (
    DEFAULT_RECORD_CHARS,
    DEFAULT_TURN_CHARS,
    MIN_TEXT_CHARS,
    accept,
)
from trajkit.collect.tool_calls import bad_call, call_tool
from trajkit.core.errors import (
    SandboxError,
    SandboxUnavailableError,
    TeacherFatalError,
    UserError,
)
from trajkit.core.sandbox import CellResult, Sandbox
from trajkit.core.self_correction import is_self_correcting_steps
from trajkit.schemas import (
    Action,
    ActionKind,
    Message,
    Observation,
    Step,
    Task,
    Termination,
    Timing,
    Trajectory,
    Usage,
    Verdict,
)
from trajkit.schemas.text import valid_text
from trajkit.schemas.trajectory import MAX_COUNT
from trajkit.sources.base import EpisodeEnv, Source

log = logging.getLogger(__name__)

#: Longest code cell, one day. The worker arms an interval timer with the cell's timeout, and
#: Python's timer overflows past ~292 years: every cell would then fail with an OverflowError
#: the teacher did not cause, and the dataset would fill with fake self-corrections.
MAX_EXEC_TIMEOUT_S = 24 * 3600.0


class LoopConfig(BaseModel):
    """Budget and wording of one episode; recorded in ``run.json`` via ``model_dump()``."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    max_turns: int = Field(default=5, ge=1, description="Assistant turns per episode.")
    max_solutions: int = Field(default=2, ge=1, description="Answers the judge will score.")
    exec_timeout: float = Field(
        default=10.0, gt=0, le=MAX_EXEC_TIMEOUT_S, description="Seconds per code cell."
    )
    observation_chars: int = Field(
        default=DEFAULT_OBSERVATION_CHARS, ge=100, description="Cap on observation text."
    )
    wrong_answer_message: str = "Your answer is wrong."
    # Left out of the dump at their defaults, so run.json's loop section reads as it did
    # before the caps existed unless a run changed them.
    teacher_turn_chars: int = Field(
        default=DEFAULT_TURN_CHARS, ge=MIN_TEXT_CHARS,
        exclude_if=lambda v: v == DEFAULT_TURN_CHARS,
        description="Cap on the text kept of one teacher turn.",
    )
    teacher_record_chars: int = Field(
        default=DEFAULT_RECORD_CHARS, ge=MIN_TEXT_CHARS,
        exclude_if=lambda v: v == DEFAULT_RECORD_CHARS,
        description="Cap on the teacher text kept over one episode.",
    )
    shots: int = Field(
        default=1, ge=0, le=1,
        description="In-context demonstration episodes in the prompt (the source's own).",
    )
    action_format: str = Field(
        default="code", min_length=1, exclude_if=lambda v: v == "code",
        description="How the teacher acts: code, tools, json, text or a plugin's format.",
    )


class _SandboxFailure(SandboxError):
    """The sandbox could not run a cell; the message is the termination detail."""


def _detail(exc: BaseException) -> str:
    """A teacher error's own message as a termination detail: valid text, bounded."""
    text = str(exc) or type(exc).__name__
    return valid_text(text if len(text) <= DETAIL_CHARS else text[: DETAIL_CHARS - 1] + "…")


def _turn_action(calls: list[Call]) -> Action:
    """The action a turn is recorded as: its answer if it gave one (what the turn committed
    to), else its first call."""
    chosen = next((c for c in calls if c.kind is ActionKind.SOLUTION and c.error is None), calls[0])
    return Action(kind=chosen.kind, content=chosen.content)


def _joined(observations: list[Observation]) -> Observation | None:
    """One observation for a turn's calls: their texts in order, the first failure's error
    (so one failed call makes the turn a failed action), their durations and cuts summed."""
    if len(observations) <= 1:
        return observations[0] if observations else None
    return Observation(
        text="\n\n".join(o.text for o in observations),
        error=next((o.error for o in observations if o.error is not None), None),
        duration_s=sum(o.duration_s for o in observations),
        truncated_chars=min(sum(o.truncated_chars for o in observations), MAX_COUNT),
    )


@dataclass
class _Episode:
    """Mutable state of one episode while it is being played."""

    task: Task
    source: Source
    teacher: Teacher
    sandbox: Sandbox
    config: LoopConfig
    start: asyncio.Task[None]
    messages: list[Message] = field(default_factory=list)
    env: EpisodeEnv | None = None
    steps: list[Step] = field(default_factory=list)
    usage: Usage = field(default_factory=Usage)
    verdict: Verdict | None = None
    answer: str | None = None
    teacher_s: float = 0.0
    sandbox_s: float = 0.0
    started: bool = False
    teacher_chars: int = 0  # teacher text kept so far, against ``teacher_record_chars``
    setup: str | None = None  # the source's episode setup, run again after a restart
    format: ActionFormat = field(default_factory=CodeFormat)
    offer: Offer = field(default_factory=lambda: Offer(tools=(), python=True, schemas=()))
    turns_left: int = 0
    solutions_left: int = 0

    def __post_init__(self) -> None:
        self.turns_left, self.solutions_left = self.config.max_turns, self.config.max_solutions

    async def play(self) -> tuple[Termination, str]:
        """Run turns until the episode ends; return why, with a detail for errors."""
        cfg, fmt = self.config, self.format
        extra: dict[str, Any] = {"tools": list(self.offer.schemas)} if fmt.native else {}
        while True:
            t0 = time.perf_counter()
            try:
                completion, after_action = accept(
                    await self.teacher.complete(
                        list(self.messages), list(fmt.stop), task_id=self.task.task_id, **extra
                    ),
                    min(cfg.teacher_turn_chars, cfg.teacher_record_chars - self.teacher_chars),
                    fmt.cut,
                )
            except TeacherFatalError:
                raise
            except ContextLimitError as exc:
                return Termination.CONTEXT_LIMIT, _detail(exc)
            except TeacherError as exc:
                return Termination.TEACHER_ERROR, _detail(exc)
            finally:
                elapsed = time.perf_counter() - t0
                self.teacher_s += elapsed

            text = completion.text
            self.teacher_chars += len(text) + sum(len(c.arguments) for c in completion.tool_calls)
            # at least one call: a plugin format that finds nothing still answers the turn
            calls = fmt.parse(text, completion.tool_calls, self.offer, len(self.steps)) or [
                Call(kind=ActionKind.INVALID, content="no action")
            ]
            self.messages.append(fmt.assistant_message(text, calls))
            self.usage = self.usage + completion.usage
            self.turns_left -= 1
            step = Step(
                index=len(self.steps),
                assistant=text,
                action=_turn_action(calls),
                usage=completion.usage,
                teacher_latency_s=completion.latency_s or elapsed,
                cut_after_action=after_action,
                calls=[c.made for c in calls if c.made is not None],
            )
            self.steps.append(step)
            results: list[Result] = []
            end: tuple[Termination, str] | None = None
            for call in calls:
                observation, end = await self._run(call, step)
                if observation is not None:
                    results.append(Result(call, observation))
                if end is not None:
                    break
            step.observation = _joined([r.observation for r in results])
            if end is not None:
                return end
            if self.turns_left <= 0:
                return Termination.MAX_TURNS, ""
            self.messages.extend(
                fmt.result_messages(results, self.turns_left, self.solutions_left)
            )

    async def _run(
        self, call: Call, step: Step
    ) -> tuple[Observation | None, tuple[Termination, str] | None]:
        """Run one call of a turn: ``(its observation, why the episode ends now or None)``."""
        cfg = self.config
        if call.error is not None:
            return bad_call(call.error, cfg.observation_chars), None
        if call.kind is ActionKind.INVALID:
            return Observation(text=self.format.corrective(call.content)), None
        if call.kind is ActionKind.SOLUTION:
            return await self._judge(call.content, step)
        if call.kind is ActionKind.EXECUTE:
            try:
                result = await self._execute(call.content)
            except _SandboxFailure as exc:
                return None, (Termination.SANDBOX_ERROR, str(exc))
            observation = cell_observation(result, cfg.observation_chars)
        else:
            tool = self.offer.tool(call.made.name) if call.made is not None else None
            if tool is None:  # a format that let a call through that names no tool
                return bad_call(f"there is no tool for {call.content[:60]!r}", cfg.observation_chars), None
            t0 = time.perf_counter()
            try:
                observation, _ = await call_tool(
                    tool, call.arguments, cfg.exec_timeout, cfg.observation_chars
                )
            finally:
                self.sandbox_s += time.perf_counter() - t0
        outcome = self.env.outcome if self.env is not None else None
        if outcome is not None and not isinstance(outcome, Verdict):
            detail = f"the environment's outcome is {kind_of(outcome)}, not a Verdict"
            return observation, (Termination.INTERNAL_ERROR, detail)
        if outcome is not None:
            step.verdict = self.verdict = outcome
            return observation, ((Termination.SOLVED if outcome.success else Termination.ENV_ENDED), "")
        return observation, None

    async def _judge(
        self, answer: str, step: Step
    ) -> tuple[Observation | None, tuple[Termination, str] | None]:
        """Score a proposed answer: correct ends the episode, a wrong one uses a proposal."""
        try:
            if self.env is not None:
                verdict = await self.env.judge(answer)
            else:
                verdict = await self.source.judge(self.task, answer)
        except TeacherFatalError:
            raise  # a judge's model that can never answer (an LLM grader's bad key)
        except Exception as exc:
            log.warning("judge failed on %s: %s", self.task.task_id, describe_error(exc))
            return None, (Termination.JUDGE_ERROR, describe_error(exc))
        if not isinstance(verdict, Verdict):
            return None, (Termination.JUDGE_ERROR, f"the judge returned {kind_of(verdict)}")
        step.verdict, self.verdict, self.answer = verdict, verdict, answer
        if verdict.success:
            return Observation(text=CORRECT_ANSWER_TEXT), (Termination.SOLVED, "")
        self.solutions_left -= 1
        observation = Observation(text=self.config.wrong_answer_message)
        if self.solutions_left <= 0:
            return observation, (Termination.MAX_SOLUTIONS, "")
        return observation, None

    async def _execute(self, code: str) -> CellResult:
        """Run one cell, first waiting for the start begun before the first teacher call.

        Raises ``_SandboxFailure`` for anything the sandbox raised instead of a result.
        """
        t0 = time.perf_counter()
        try:
            if not self.started:
                try:
                    await self.start
                except SandboxUnavailableError:
                    raise
                except Exception as exc:
                    raise _SandboxFailure(f"start failed: {describe_error(exc)}") from exc
                self.started = True
            timeout = self.config.exec_timeout
            try:
                result = await asyncio.wait_for(
                    self.sandbox.run(code, timeout=timeout), timeout + RUN_GRACE_S
                )
                if result.restarted and self.setup is not None:
                    # A fresh worker: give it back what the task promised (a loaded table).
                    await run_setup(self.sandbox, self.setup, timeout)
                return result
            except SandboxUnavailableError:
                raise
            except asyncio.TimeoutError:
                raise _SandboxFailure(
                    f"no result within {timeout + RUN_GRACE_S:.0f}s (cell timeout {timeout:g}s)"
                ) from None
            except Exception as exc:
                raise _SandboxFailure(describe_error(exc)) from exc
        finally:
            self.sandbox_s += time.perf_counter() - t0


async def run_episode(
    task: Task,
    source: Source,
    teacher: Teacher,
    sandbox: Sandbox,
    config: LoopConfig,
    *,
    run: str,
    sandbox_name: str,
    env: EpisodeEnv | None = None,
    key: EpisodeKey = FIRST,
) -> Trajectory:
    """Play one episode of ``task`` and return its record; ``sandbox`` must be un-started.

    ``key`` says which of the task's episodes this is (teacher stage and attempt); it
    names the record, and is all that differs between two attempts at the same task.

    For an interactive source, ``env`` is this episode's environment: the sandbox was built
    with ``env.tools()``, a ``<solution>`` is scored by ``env.judge`` and the episode ends
    as soon as the environment reports an outcome (the caller opens and closes ``env``).

    Never raises for a failed episode (teacher, sandbox or judge error, exhausted budget,
    anything unexpected): those end it with a ``Termination``. Raises ``UserError``s
    (``TeacherFatalError``, ``SandboxUnavailableError``) and ``asyncio.CancelledError``,
    after closing the sandbox.
    """
    started_at, t0 = utc_now(), time.perf_counter()
    fmt = action_format(config.action_format)
    tools = env.tools() if env is not None else source.tools(task)
    setup = episode_setup_code(source, task)
    offer = make_offer(fmt, task.source, tools, setup is not None)
    use_demonstration = config.shots and fmt.demonstrations
    demonstration = demonstration_for(source) if use_demonstration else None
    prompt = fmt.system_prompt(offer, config.max_turns, config.max_solutions, demonstration)
    messages = [
        Message(role="system", content=valid_text(prompt)),
        Message(role="user", content=valid_text(task.prompt)),
    ]
    # Only an episode that can run Python needs its sandbox (a tool-calling format may not).
    start = asyncio.create_task(
        start_sandbox(sandbox, setup, config.exec_timeout) if offer.python else nothing()
    )
    episode = _Episode(
        task, source, teacher, sandbox, config, start, messages, env=env, setup=setup,
        format=fmt, offer=offer,
    )
    completed = False
    try:
        termination, detail = await episode.play()
        completed = True
    except UserError:
        raise
    except Exception as exc:  # the last line of defence inside an episode: keep its turns
        log.warning("episode %s raised %s", task.task_id, describe_error(exc))
        termination, detail = Termination.INTERNAL_ERROR, describe_error(exc)
    finally:
        # On a normal end let a pending start finish so close sees a whole sandbox; when
        # unwinding (fatal error, Ctrl-C) stop waiting for it.
        await shutdown(sandbox, start, cancel_start=not completed)
    return _record(episode, termination, detail, run, sandbox_name, started_at, t0, key)


def _record(
    ep: _Episode,
    termination: Termination,
    detail: str,
    run: str,
    sandbox_name: str,
    started_at: str,
    t0: float,
    key: EpisodeKey,
) -> Trajectory:
    """Assemble the trajectory; outcome fields come from the last verdict, if any."""
    verdict = ep.verdict
    success = bool(verdict and verdict.success)
    details: dict[str, Any] = dict(verdict.details) if verdict else {}
    return Trajectory(
        id=trajectory_id(run, ep.task.source, ep.task.task_id, key),
        run=run,
        source=ep.task.source,
        task_id=ep.task.task_id,
        task=ep.task,
        teacher=ep.teacher.info,
        sandbox=sandbox_name,
        attempt=key.attempt,
        stage=key.stage,
        action_format=ep.format.name,
        tools=[dict(schema) for schema in ep.offer.schemas],
        messages=ep.messages,
        steps=ep.steps,
        success=success,
        score=verdict.score if verdict else 0.0,
        score_details=details,
        answer=ep.answer,
        self_corrected=is_self_correcting_steps(ep.steps, success),
        termination=termination,
        termination_detail=detail,
        usage=ep.usage,
        timing=Timing(
            started_at=started_at,
            finished_at=utc_now(),
            duration_s=time.perf_counter() - t0,
            teacher_s=ep.teacher_s,
            sandbox_s=ep.sandbox_s,
        ),
        toolkit_version=toolkit_version_once(),
    )
