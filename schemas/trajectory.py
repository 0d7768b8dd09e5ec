"""The trajectory record: one episode of the CodeAct loop, one JSON line.

It carries everything a filter needs (steps with their errors, verdict, usage), so filters
never re-run a teacher or a sandbox.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Iterator
from enum import Enum
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from trajkit.schemas.task import Task
from trajkit.schemas.version import SCHEMA_VERSION

#: NaN and infinities have no JSON form, so a record holding one could not be written (or
#: read back by other tools); refused when the record is built or parsed, naming the field.
_FINITE = ConfigDict(allow_inf_nan=False)


class Message(BaseModel):
    """An OpenAI-style chat message, exactly as the teacher saw or said it."""

    model_config = ConfigDict(extra="forbid")

    role: Literal["system", "user", "assistant"]
    content: str


class Usage(BaseModel):
    """Token usage as reported by the provider (summed over calls where aggregated).

    ``cached_calls`` counts calls answered from trajkit's response cache: their tokens are
    what the original call reported, but nothing was paid for them this time.
    """

    input_tokens: int = 0
    output_tokens: int = 0
    calls: int = 0
    cached_calls: int = 0

    def __add__(self, other: Usage) -> Usage:
        return Usage(
            input_tokens=self.input_tokens + other.input_tokens,
            output_tokens=self.output_tokens + other.output_tokens,
            calls=self.calls + other.calls,
            cached_calls=self.cached_calls + other.cached_calls,
        )


class ActionKind(str, Enum):
    EXECUTE = "execute"
    SOLUTION = "solution"
    INVALID = "invalid"


class Action(BaseModel):
    """What the teacher asked for in one turn: code to run, a final answer, or neither."""

    kind: ActionKind
    content: str


class ErrorKind(str, Enum):
    """Why an action failed; every kind counts as a failed action for self-correction."""

    EXCEPTION = "exception"
    SYNTAX = "syntax"
    TIMEOUT = "timeout"
    WORKER_RESTART = "worker_restart"


class ErrorInfo(BaseModel):
    kind: ErrorKind
    type: str
    message: str


class Observation(BaseModel):
    """What came back from the sandbox (or the judge) for one action.

    ``text`` is the bounded text the teacher was shown (without the ``Observation:`` prefix
    and budget line); ``truncated_chars`` says how much output was cut to get there.
    """

    model_config = _FINITE

    text: str
    error: ErrorInfo | None = None
    duration_s: float = 0.0
    truncated_chars: int = 0


class Verdict(BaseModel):
    """A judge's decision on a proposed answer, with the metric's own details."""

    model_config = _FINITE

    success: bool
    score: float
    details: dict[str, Any] = Field(default_factory=dict)


class Step(BaseModel):
    """One teacher turn and its consequence."""

    model_config = _FINITE

    index: int
    assistant: str
    action: Action
    observation: Observation | None = None
    verdict: Verdict | None = None
    usage: Usage = Field(default_factory=Usage)
    teacher_latency_s: float = 0.0


class TeacherInfo(BaseModel):
    provider: str
    model: str
    params: dict[str, Any] = Field(default_factory=dict)


class Termination(str, Enum):
    SOLVED = "solved"
    MAX_TURNS = "max_turns"
    MAX_SOLUTIONS = "max_solutions"
    CONTEXT_LIMIT = "context_limit"
    TEACHER_ERROR = "teacher_error"
    SANDBOX_ERROR = "sandbox_error"
    JUDGE_ERROR = "judge_error"
    #: An interactive environment ended the episode without success (a purchase below the
    #: success threshold, the per-episode cap on environment steps).
    ENV_ENDED = "env_ended"


class Timing(BaseModel):
    model_config = _FINITE

    started_at: str
    finished_at: str
    duration_s: float
    teacher_s: float = 0.0
    sandbox_s: float = 0.0


class Trajectory(BaseModel):
    """One episode. ``messages`` is the exact conversation; ``steps`` is its parsed form."""

    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)

    schema_version: str = SCHEMA_VERSION
    id: str
    run: str
    source: str
    task_id: str
    task: Task
    teacher: TeacherInfo
    sandbox: str
    messages: list[Message]
    steps: list[Step]
    success: bool
    score: float
    score_details: dict[str, Any] = Field(default_factory=dict)
    answer: str | None = None
    self_corrected: bool
    termination: Termination
    termination_detail: str = ""
    usage: Usage = Field(default_factory=Usage)
    timing: Timing
    toolkit_version: str

    def free_form_fields(self) -> Iterator[tuple[str, dict[str, Any]]]:
        """``(dotted path, value)`` of every ``dict[str, Any]`` field in the record.

        Typed floats refuse NaN and infinities (``_FINITE``); these dicts are the only place
        a parsed record can still hold one, so readers that must refuse them check only here.
        """
        yield "task.metadata", self.task.metadata
        yield "teacher.params", self.teacher.params
        yield "score_details", self.score_details
        for i, step in enumerate(self.steps):
            if step.verdict is not None:
                yield f"steps.{i}.verdict.details", step.verdict.details

    def first_non_finite(self) -> str | None:
        """Dotted path of the first NaN/infinity in a free-form field, or ``None``."""
        for where, value in self.free_form_fields():
            if value:
                found = _non_finite_path(value, where)
                if found is not None:
                    return found
        return None


def _non_finite_path(node: Any, where: str) -> str | None:
    if isinstance(node, float):
        return None if math.isfinite(node) else where
    if isinstance(node, dict):
        pairs: Iterable[tuple[Any, Any]] = node.items()
    elif isinstance(node, list):
        pairs = enumerate(node)
    else:
        return None
    for key, value in pairs:
        found = _non_finite_path(value, f"{where}.{key}")
        if found is not None:
            return found
    return None
