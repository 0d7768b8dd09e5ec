"""``regex:PATTERN``: the stripped answer matches the user's pattern, as a whole.

The pattern must match the **whole** answer once leading and trailing whitespace is stripped
(``fullmatch``), so ``regex:\\d+`` accepts ``42`` and refuses ``42 apples``; write
``regex:.*\\b42\\b.*`` to look for something inside an answer. Flags go inline
(``regex:(?i)yes|no``, ``(?s)`` for answers over several lines). The gold answer is not used:
the pattern is the same for every task (a per-task check is what ``exact``, ``numeric`` or
``choice`` are for).

The answer is hostile and the pattern is the user's, so a pattern that backtracks
catastrophically on some answer (``(a|aa)+b`` on forty ``a``) must not stall a run: matching
uses the ``regex`` package (a dependency of tiktoken, already installed) with its own
``timeout=``, in a worker thread that releases the GIL, and answers longer than
``max_chars`` are refused unread. Either way the verdict fails and says why. Options:
``timeout`` (seconds, default 1) and ``max_chars`` (default 100,000). The pattern is compiled
when the judge is built, so a bad one is a one-line ``ConfigError`` before any episode.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from typing import Any, ClassVar

import regex  # type: ignore[import-untyped]  # no stubs; see the module doc
from pydantic import BaseModel, ConfigDict, Field

from trajkit.core.errors import ConfigError
from trajkit.schemas import Task, Verdict
from trajkit.sources.judges.base import BaseJudge, JudgeSpec, judged
from trajkit.sources.judges.text import clip, empty_answer

DEFAULT_TIMEOUT_S = 1.0
DEFAULT_MAX_CHARS = 100_000


class RegexOptions(BaseModel):
    """``--source-opt timeout=SECONDS`` (per match) and ``max_chars=N`` (longest answer read)."""

    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)

    timeout: float = Field(DEFAULT_TIMEOUT_S, gt=0, le=60)
    max_chars: int = Field(DEFAULT_MAX_CHARS, ge=1)


class RegexJudge(BaseJudge):
    """Success when the pattern fullmatches the stripped answer (see the module doc)."""

    name: ClassVar[str] = "regex"
    options_model: ClassVar[type[BaseModel] | None] = RegexOptions

    def __init__(self, pattern: str, options: BaseModel | None = None) -> None:
        super().__init__(options)
        self.pattern = pattern
        self.compiled = compile_pattern(pattern)

    @classmethod
    def from_spec(cls, spec: JudgeSpec, options: Mapping[str, str]) -> BaseJudge:
        if spec.sep != ":" or not spec.arg:
            raise ConfigError(
                f"--source-opt judge={spec}: the pattern is missing (write judge=regex:PATTERN)"
            )
        return cls(spec.arg, cls.parse_options(options))

    @property
    def spec(self) -> JudgeSpec:
        return JudgeSpec(self.name, ":", self.pattern)

    @property
    def settings(self) -> RegexOptions:
        return self.options if isinstance(self.options, RegexOptions) else RegexOptions()

    async def judge(self, task: Task, answer: str) -> Verdict:
        text = answer.strip()
        if not text:
            return empty_answer(self.spec)
        settings = self.settings
        details: dict[str, Any] = {"answer": clip(text)}
        if len(text) > settings.max_chars:
            details["error"] = f"answer of {len(text)} characters (max_chars={settings.max_chars})"
            return judged(Verdict(success=False, score=0.0, details=details), self.spec)
        try:
            match = await asyncio.to_thread(
                self.compiled.fullmatch, text, concurrent=True, timeout=settings.timeout
            )
        except TimeoutError:
            details["error"] = f"the pattern took longer than {settings.timeout:g} s on this answer"
            return judged(Verdict(success=False, score=0.0, details=details), self.spec)
        success = match is not None
        return judged(Verdict(success=success, score=float(success), details=details), self.spec)

    @classmethod
    def summary(cls, task: Task, verdict: Verdict) -> str:
        details = verdict.details
        spec = str(details.get("judge", "regex"))
        pattern = clip(spec.partition(":")[2], 60)
        if "error" in details:
            return f"regex {pattern}: {details['error']}"
        return f"regex {pattern}: {'matches' if verdict.success else 'no match'}"


def compile_pattern(pattern: str) -> Any:
    """``pattern`` compiled (``regex``'s re-compatible V0 syntax); one-line ``ConfigError``
    naming the flag when it does not compile."""
    try:
        return regex.compile(pattern, regex.V0)
    except (regex.error, ValueError, OverflowError, RecursionError) as exc:
        message = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise ConfigError(
            f"--source-opt judge=regex:{clip(pattern, 80)}: not a regular expression ({message})"
        ) from None
