"""The CodeAct loop: one task, one teacher, one sandbox, one ``Trajectory``.

Each turn the teacher either runs code (the sandbox's output comes back as an observation) or
proposes an answer (the source's judge scores it), within a budget of turns and proposals.
Every way an episode can end is a ``Termination`` recorded in the trajectory, so one bad
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
import functools
import hashlib
import logging
import time
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from trajkit.collect.attempts import FIRST, EpisodeKey
from trajkit.collect.demonstrations import demonstration_for
from trajkit.collect.observation import DEFAULT_OBSERVATION_CHARS, cell_observation
from trajkit.collect.prompts import (
    CORRECT_ANSWER_TEXT,
    corrective_text,
    feedback_message,
    system_prompt,
)
from trajkit.collect.teachers.base import ContextLimitError, Teacher, TeacherError
from trajkit.collect.teachers.shape import kind_of
from trajkit.collect.teachers.turn_text import (
    DEFAULT_RECORD_CHARS,
    DEFAULT_TURN_CHARS,
    MIN_TEXT_CHARS,
    accept,
)
from trajkit.core.actions import STOP_SEQUENCES, parse_action
from trajkit.core.errors import (
    SandboxError,
    SandboxUnavailableError,
    TeacherFatalError,
    UserError,
)
from trajkit.core.sandbox import CellResult, Sandbox
from trajkit.core.self_correction import is_self_correcting_steps
from trajkit.schemas import (
    ActionKind,
    Message,
    Observation,
    Step,
    Task,
    TeacherInfo,
    Termination,
    Timing,
    Trajectory,
    Usage,
    Verdict,
)
from trajkit.schemas.text import valid_text
from trajkit.schemas.version import toolkit_version
from trajkit.sources.base import EpisodeEnv, Source

log = logging.getLogger(__name__)

#: Extra time, beyond ``exec_timeout``, before a silent sandbox counts as broken. The sandbox
#: enforces the cell timeout itself; this only guards the episode against a hung transport.
RUN_GRACE_S = 30.0

#: Least time a source's episode setup gets (it may import pandas and build a table), however
#: short ``exec_timeout`` is.
SETUP_TIMEOUT_S = 60.0

# Close tasks outliving a cancelled episode; kept referenced so they are not garbage collected.
_closing: set[asyncio.Task[None]] = set()


class LoopConfig(BaseModel):
    """Budget and wording of one episode; recorded in ``run.json`` via ``model_dump()``."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    max_turns: int = Field(default=5, ge=1, description="Assistant turns per episode.")
    max_solutions: int = Field(default=2, ge=1, description="Answers the judge will score.")
    exec_timeout: float = Field(default=10.0, gt=0, description="Seconds per code cell.")
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


def trajectory_id(run: str, source: str, task_id: str, episode: EpisodeKey = FIRST) -> str:
    """Deterministic id per (task, teacher stage, attempt), so a resumed run recognises episodes
    it already wrote (also for a task id holding a lone surrogate: ``surrogatepass`` is UTF-8
    for every valid one). A task's first episode keeps the id it had before attempts existed."""
    text = f"{run}\0{source}\0{task_id}"
    if episode != FIRST:
        text += f"\0{episode.stage}\0{episode.attempt}"
    return hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()[:24]


def utc_now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z")


class _SandboxFailure(SandboxError):
    """The sandbox could not run a cell; the message is the termination detail."""


class EpisodeSetupError(SandboxError):
    """The source's episode setup raised in the sandbox (or did not finish)."""


def episode_setup_code(source: Source, task: Task) -> str | None:
    """The source's setup code for ``task`` (``episode_setup``, optional), or None."""
    setup = getattr(source, "episode_setup", None)
    code = setup(task) if setup is not None else None
    if code is not None and not isinstance(code, str):
        raise TypeError(f"episode_setup returned {kind_of(code)}, not str or None")
    return code or None


async def run_setup(sandbox: Sandbox, code: str, exec_timeout: float) -> None:
    """Run a source's setup ``code`` in ``sandbox``; its output is dropped, its failure raised
    as ``EpisodeSetupError`` naming the error."""
    timeout = max(exec_timeout, SETUP_TIMEOUT_S)
    try:
        result = await asyncio.wait_for(sandbox.run(code, timeout=timeout), timeout + RUN_GRACE_S)
    except asyncio.TimeoutError:
        raise EpisodeSetupError(f"episode setup: no result within {timeout:g}s") from None
    if result.error is not None or result.restarted:
        what = result.error.type if result.error is not None else "worker restarted"
        message = result.error.message if result.error is not None else ""
        raise EpisodeSetupError(f"episode setup failed: {what}: {message}".rstrip(": "))


async def _start_sandbox(sandbox: Sandbox, setup: str | None, exec_timeout: float) -> None:
    """Start ``sandbox`` and run the episode's setup in it, if the source has one."""
    await sandbox.start()
    if setup is not None:
        await run_setup(sandbox, setup, exec_timeout)


@functools.cache
def _toolkit_version() -> str:
    return toolkit_version()  # reads package metadata: once per process, not per episode


#: Longest exception message a termination detail keeps (a detail is one line of a report).
DETAIL_CHARS = 1_000


def _detail(exc: BaseException) -> str:
    """A teacher error's own message as a termination detail: valid text, bounded."""
    text = str(exc) or type(exc).__name__
    return valid_text(text if len(text) <= DETAIL_CHARS else text[: DETAIL_CHARS - 1] + "…")


def describe_error(exc: BaseException) -> str:
    """``Type: message`` as a bounded, valid single line (messages can quote hostile text)."""
    text = " ".join(str(exc).split())
    if len(text) > DETAIL_CHARS:
        text = text[: DETAIL_CHARS - 1] + "…"
    return valid_text(f"{type(exc).__name__}: {text}" if text else type(exc).__name__)


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

    async def play(self) -> tuple[Termination, str]:
        """Run turns until the episode ends; return why, with a detail for errors."""
        cfg = self.config
        turns_left, solutions_left = cfg.max_turns, cfg.max_solutions
        while True:
            t0 = time.perf_counter()
            try:
                completion, after_action = accept(
                    await self.teacher.complete(
                        list(self.messages), list(STOP_SEQUENCES), task_id=self.task.task_id
                    ),
                    min(cfg.teacher_turn_chars, cfg.teacher_record_chars - self.teacher_chars),
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
            self.teacher_chars += len(text)
            self.messages.append(Message(role="assistant", content=text))
            self.usage = self.usage + completion.usage
            turns_left -= 1
            action = parse_action(text)
            step = Step(
                index=len(self.steps),
                assistant=text,
                action=action,
                usage=completion.usage,
                teacher_latency_s=completion.latency_s or elapsed,
                cut_after_action=after_action,
            )
            self.steps.append(step)

            if action.kind is ActionKind.SOLUTION:
                try:
                    if self.env is not None:
                        verdict = await self.env.judge(action.content)
                    else:
                        verdict = await self.source.judge(self.task, action.content)
                except TeacherFatalError:
                    raise  # a judge's model that can never answer (an LLM grader's bad key)
                except Exception as exc:
                    log.warning("judge failed on %s: %s", self.task.task_id, describe_error(exc))
                    return Termination.JUDGE_ERROR, describe_error(exc)
                if not isinstance(verdict, Verdict):
                    return Termination.JUDGE_ERROR, f"the judge returned {kind_of(verdict)}"
                step.verdict, self.verdict, self.answer = verdict, verdict, action.content
                if verdict.success:
                    step.observation = Observation(text=CORRECT_ANSWER_TEXT)
                    return Termination.SOLVED, ""
                solutions_left -= 1
                step.observation = Observation(text=cfg.wrong_answer_message)
                if solutions_left <= 0:
                    return Termination.MAX_SOLUTIONS, ""
            elif action.kind is ActionKind.EXECUTE:
                try:
                    result = await self._execute(action.content)
                except _SandboxFailure as exc:
                    return Termination.SANDBOX_ERROR, str(exc)
                step.observation = cell_observation(result, cfg.observation_chars)
                outcome = self.env.outcome if self.env is not None else None
                if outcome is not None and not isinstance(outcome, Verdict):
                    detail = f"the environment's outcome is {kind_of(outcome)}, not a Verdict"
                    return Termination.INTERNAL_ERROR, detail
                if outcome is not None:
                    step.verdict = self.verdict = outcome
                    return (Termination.SOLVED if outcome.success else Termination.ENV_ENDED), ""
            else:
                step.observation = Observation(text=corrective_text(action.content))

            if turns_left <= 0:
                return Termination.MAX_TURNS, ""
            assert step.observation is not None
            self.messages.append(
                Message(
                    role="user",
                    content=feedback_message(step.observation.text, turns_left, solutions_left),
                )
            )

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


async def _close_sandbox(sandbox: Sandbox, start: asyncio.Task[None], cancel_start: bool) -> None:
    """Settle the start task, then close: a sandbox is never left half-started or open."""
    if cancel_start and not start.done():
        start.cancel()
    try:
        await start
    except SandboxUnavailableError:
        pass  # raised to the caller already if it mattered (an execute awaited it)
    except (Exception, asyncio.CancelledError) as exc:
        log.debug("sandbox start ended with %s", describe_error(exc))
    try:
        await sandbox.close()
    except Exception as exc:
        log.warning("sandbox close failed: %s", describe_error(exc))


async def _shutdown(sandbox: Sandbox, start: asyncio.Task[None], cancel_start: bool) -> None:
    """Close the sandbox in its own task, shielded: a further cancellation arriving while we
    wait still propagates at once, but cannot abort the close half-way and leak a worker."""
    closing = asyncio.ensure_future(_close_sandbox(sandbox, start, cancel_start))
    _closing.add(closing)
    closing.add_done_callback(_closing.discard)
    await asyncio.shield(closing)


async def wait_for_closing() -> None:
    """Wait for every sandbox close that a cancelled episode left running in the background.

    A runner calls this before its event loop ends, so no worker process outlives the run.
    """
    while _closing:
        await asyncio.gather(*list(_closing), return_exceptions=True)


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
    tools = env.tools() if env is not None else source.tools(task)
    demonstration = demonstration_for(source) if config.shots else None
    messages = [
        Message(
            role="system",
            content=valid_text(
                system_prompt(tools, config.max_turns, config.max_solutions, demonstration)
            ),
        ),
        Message(role="user", content=valid_text(task.prompt)),
    ]
    setup = episode_setup_code(source, task)
    start = asyncio.create_task(_start_sandbox(sandbox, setup, config.exec_timeout))
    episode = _Episode(
        task, source, teacher, sandbox, config, start, messages, env=env, setup=setup
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
        await _shutdown(sandbox, start, cancel_start=not completed)
    return _record(episode, termination, detail, run, sandbox_name, started_at, t0, key)


def error_record(
    task: Task,
    teacher: TeacherInfo,
    error: BaseException,
    *,
    run: str,
    sandbox_name: str,
    started_at: str,
    duration_s: float,
    key: EpisodeKey = FIRST,
) -> Trajectory:
    """The record of an episode that raised outside the loop's own turns (its environment
    would not open, its tools could not be listed, its record could not be built): ended as
    ``internal_error`` with the exception's type and message, so the run records the task
    once and a resume does not play the same poisoned task again."""
    return Trajectory(
        id=trajectory_id(run, task.source, task.task_id, key),
        run=run,
        source=task.source,
        task_id=task.task_id,
        task=task,
        teacher=teacher,
        sandbox=sandbox_name,
        attempt=key.attempt,
        stage=key.stage,
        messages=[],
        steps=[],
        success=False,
        score=0.0,
        self_corrected=False,
        termination=Termination.INTERNAL_ERROR,
        termination_detail=describe_error(error),
        timing=Timing(started_at=started_at, finished_at=utc_now(), duration_s=duration_s),
        toolkit_version=_toolkit_version(),
    )


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
        toolkit_version=_toolkit_version(),
    )
