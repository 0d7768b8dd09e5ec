"""The trajectory record: one episode of the CodeAct loop, one JSON line.

It carries everything a filter needs (steps with their errors, verdict, usage), so filters
never re-run a teacher or a sandbox.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Iterator
from enum import Enum
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, StrictBool

from trajkit.schemas.task import Task
from trajkit.schemas.version import SCHEMA_VERSION

#: NaN and infinities have no JSON form, so a record holding one could not be written (or
#: read back by other tools); refused when the record is built or parsed, naming the field.
_FINITE = ConfigDict(allow_inf_nan=False)

#: The largest count a record holds: what SQLite, Parquet and JSON readers with 64-bit integers
#: can all store. Totals over a whole dataset stay far below it; a bigger number is garbage.
MAX_COUNT = 2**63 - 1


def _in_range(count: int) -> int:
    """An out-of-range count as 0 (unknown): see ``Count``."""
    return count if 0 <= count <= MAX_COUNT else 0


#: A token or call count: a real integer (``true``, ``12.0`` and ``"12"`` are refused, not
#: coerced), never negative, never beyond ``MAX_COUNT``. The teacher boundary refuses a
#: provider's nonsense counts (the episode ends as ``teacher_error``); a record written
#: before it did may still hold one (a negative count, 10^30), and it reads as 0 rather than
#: being refused, so such a run still resumes and filters, and its nonsense never reaches
#: ``run.json`` or a dataset's totals. (Refusing would make every resume of that run fail.)
Count = Annotated[
    int,
    Field(strict=True, json_schema_extra={"minimum": 0, "maximum": MAX_COUNT}),
    AfterValidator(_in_range),
]


#: Longest provider call id a record keeps (ids are short tokens; a longer one is garbage).
CALL_ID_CHARS = 200


class ToolCall(BaseModel):
    """One function call a teacher made in a turn: natively (``tools`` action format: an
    OpenAI ``tool_calls`` entry, an Anthropic ``tool_use`` block) or written as text and parsed
    by us (``json``/``text``). Kept exactly as made: ``arguments`` is the JSON text the
    provider sent (Anthropic's ``input`` object is dumped to it), which may be invalid JSON or
    name a function nobody offered; the loop answers such a call with an error result."""

    model_config = ConfigDict(extra="forbid")

    #: The provider's call id, which the call's result names (``tool_call_id``); made up by
    #: the loop (``call_<turn>_<n>``) for calls parsed from text.
    id: str = Field(max_length=CALL_ID_CHARS)
    name: str
    arguments: str


def _empty(value: Any) -> bool:
    return not value


class Message(BaseModel):
    """An OpenAI-style chat message, exactly as the teacher saw or said it.

    Plain formats use ``system``/``user``/``assistant`` with text only, and such a message
    serialises as it always did (the tool fields are left out while empty). The ``tools``
    action format adds an assistant's ``tool_calls`` and one ``tool`` message per call,
    naming the call it answers (``tool_call_id``); ``is_error`` says the call failed (an
    exception, malformed arguments, an unknown function), which Anthropic's ``tool_result``
    carries as ``is_error``.
    """

    model_config = ConfigDict(extra="forbid")

    role: Literal["system", "user", "assistant", "tool"]
    content: str
    tool_calls: list[ToolCall] = Field(default_factory=list, exclude_if=_empty)
    tool_call_id: str | None = Field(None, exclude_if=_empty)
    is_error: bool = Field(False, exclude_if=_empty)


def _zero(count: int) -> bool:
    return count == 0


class Usage(BaseModel):
    """Token usage as reported by the provider (summed over calls where aggregated).

    ``input_tokens`` is every input token of the call, however it was billed, so context
    sizes and token totals mean the same with or without prompt caching. Of those, the
    provider's prompt cache wrote ``cache_write_tokens`` (Anthropic's
    ``cache_creation_input_tokens``, billed above the input price) and served
    ``cache_read_tokens`` (Anthropic's ``cache_read_input_tokens``, OpenAI's
    ``prompt_tokens_details.cached_tokens``, billed far below it); the rest,
    ``uncached_input_tokens``, is billed at the input price. Both are left out of a record's
    JSON while 0, so a record without prompt caching reads and writes as before.

    ``cached_calls`` counts calls answered from trajkit's response cache: their tokens are
    what the original call reported, but nothing was paid for them this time.
    """

    input_tokens: Count = 0
    output_tokens: Count = 0
    calls: Count = 0
    cached_calls: Count = 0
    cache_read_tokens: Count = Field(0, exclude_if=_zero)
    cache_write_tokens: Count = Field(0, exclude_if=_zero)

    @property
    def uncached_input_tokens(self) -> int:
        """Input tokens billed at the plain input price: neither written to nor read from the
        provider's prompt cache (never negative, even for a record whose counts disagree)."""
        return max(0, self.input_tokens - self.cache_read_tokens - self.cache_write_tokens)

    def __add__(self, other: Usage) -> Usage:
        """The sum, saturating at ``MAX_COUNT``: totals must stay writable, never raise."""
        return Usage(
            input_tokens=min(self.input_tokens + other.input_tokens, MAX_COUNT),
            output_tokens=min(self.output_tokens + other.output_tokens, MAX_COUNT),
            calls=min(self.calls + other.calls, MAX_COUNT),
            cached_calls=min(self.cached_calls + other.cached_calls, MAX_COUNT),
            cache_read_tokens=min(self.cache_read_tokens + other.cache_read_tokens, MAX_COUNT),
            cache_write_tokens=min(self.cache_write_tokens + other.cache_write_tokens, MAX_COUNT),
        )


class ActionKind(str, Enum):
    EXECUTE = "execute"
    SOLUTION = "solution"
    INVALID = "invalid"
    #: A call of one of the source's tools made directly, not from code (the ``tools``,
    #: ``json`` and ``text`` action formats); ``content`` renders it as ``name(arguments)``.
    TOOL = "tool"


class Action(BaseModel):
    """What the teacher asked for in one turn: code to run, a final answer, a tool call, or
    none of them (a turn with several native calls records its first; ``Step.calls`` has all)."""

    kind: ActionKind
    content: str


class ErrorKind(str, Enum):
    """Why an action failed; every kind counts as a failed action for self-correction."""

    EXCEPTION = "exception"
    SYNTAX = "syntax"
    TIMEOUT = "timeout"
    WORKER_RESTART = "worker_restart"
    #: A function call that could not be made: malformed or wrongly typed arguments, or a
    #: function that was not offered (the code format's ``TypeError``/``NameError``).
    BAD_CALL = "bad_call"


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
    truncated_chars: Count = 0


class Verdict(BaseModel):
    """A judge's decision on a proposed answer, with the metric's own details."""

    model_config = _FINITE

    #: A real boolean: ``"false"`` or ``1`` from a judge (or a record) is refused, not guessed.
    success: StrictBool
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
    #: Characters the teacher wrote after its first complete action, cut as the stop sequence
    #: would have (a server that ignores stop sequences, a replayed recording): ``assistant``
    #: holds exactly what was said up to the action that ran.
    cut_after_action: Count = 0
    #: Every function call of the turn, in order (tool-calling formats; empty for code). A
    #: turn's calls all run; ``observation`` then joins their results, and its ``error`` is
    #: the first failed call's.
    calls: list[ToolCall] = Field(default_factory=list, exclude_if=_empty)


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
    #: Something nothing anticipated raised (a bug in trajkit or a plugin, an input no boundary
    #: caught): the detail holds the exception's type and message. Recorded, so a resume does
    #: not replay the same poisoned task forever.
    INTERNAL_ERROR = "internal_error"


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
    #: Which independent attempt at this task this episode is (``--samples N``: 1..N, counted
    #: per teacher, so with ``--escalate`` the next teacher's attempts start at 1 again). The
    #: record id is stable per (task, teacher stage, attempt); 1 in records from before.
    attempt: int = Field(1, ge=1)
    #: Which teacher of the run's ladder played it: 0 the first (``--teacher``), 1 the first
    #: ``--escalate`` teacher, and so on (``teacher`` says which model that was).
    stage: int = Field(0, ge=0)
    #: An opaque id of the worker node that played the episode (``--executor ray``): no host
    #: name or path, the same for every episode of one node in one run; ``None`` in-process.
    node: str | None = None
    #: How the teacher acted (``--action-format``): ``code`` (CodeAct: Python in
    #: ``<execute>``), ``tools`` (native function calling), ``json`` or ``text`` (one tool
    #: call per turn written as JSON or as plain text), or a plugin's format name.
    action_format: str = "code"
    #: The function schemas the teacher was offered (``{"name", "description",
    #: "parameters"}`` each) in the formats that offer functions (``tools``, ``json``,
    #: ``text``): what an export lists as the line's tools. Left out while empty (``code``).
    tools: list[dict[str, Any]] = Field(default_factory=list, exclude_if=_empty)
    messages: list[Message]
    steps: list[Step]
    success: StrictBool
    score: float
    score_details: dict[str, Any] = Field(default_factory=dict)
    answer: str | None = None
    self_corrected: StrictBool
    termination: Termination
    termination_detail: str = ""
    usage: Usage = Field(default_factory=Usage)
    #: What the episode cost in USD at the run's prices when it was recorded: teacher calls not
    #: answered from the response cache, plus what its judges paid. ``None``: unpriced (a model
    #: without a known price, or a record from before costs were kept on records).
    cost_usd: float | None = Field(None, ge=0)
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
