"""The judge seam: ``judge(task, answer) -> Verdict``, chosen by a spec string.

A *judge* decides whether a ``<solution>`` answers a task, from the task alone: its
``reference`` (the gold answer, tests, ...) and its ``metadata`` (the other fields of the
task's row: multiple-choice options, a rubric's inputs). Sources with their own metric (MATH,
APPS, ...) keep their judges; the generic ``tasks`` source and the presets built on it
(GSM8K, MBPP, HumanEval) take one by name, and any user's source may too.

Spec strings (``--source-opt judge=SPEC``): ``NAME`` or ``NAME:ARG`` (``regex:^\\d+$``),
and ``NAME>=ARG`` for threshold judges (``f1>=0.8``). ``ARG`` goes to the judge class's
``from_spec(arg, options)``; ``options`` are the judge's own ``--source-opt`` keys
(``tol=0.01``, ``rubric=FILE``), validated against its ``options_model`` with one-line
``ConfigError``s, like a source's.

A judge class is registered under its name (entry-point group ``trajkit.judges``)::

    [project.entry-points."trajkit.judges"]
    units = "my_package.judges:UnitsJudge"

Optional capabilities, as for sources: ``attach(runtime)`` / ``aclose()`` (a judge that runs
code in a sandbox, or asks a model), ``check_reference(task)`` (raise ``JudgeError`` or
``DataError`` when the task's gold is one this judge can never read: the ``tasks`` source calls
it while loading, so bad data is one line naming the file and line before any teacher is paid,
not a ``judge_error`` after), and ``summary(task, verdict) -> str`` (a class or static
method: the one-line verdict a report shows, in the judge's own terms). Every verdict a judge
returns carries ``details["judge"]``, its spec, so a report finds the judge's ``summary``
again from the record alone.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, ClassVar, Protocol

from pydantic import BaseModel

from trajkit.core import registry
from trajkit.core.errors import ConfigError, PluginError
from trajkit.schemas import Task, Verdict

#: ``NAME``, ``NAME:ARG`` or ``NAME>=ARG``; names as entry points spell them.
_SPEC = re.compile(r"(?P<name>[A-Za-z][\w.-]*)(?:(?P<sep>:|>=)(?P<arg>.*))?", re.S)


class Judge(Protocol):
    """Scores one proposed answer. Must not raise for any answer text: a bad answer is a
    failed verdict; ``JudgeError`` is for the judge itself failing (a sandbox that would
    not start, a model that would not answer)."""

    async def judge(self, task: Task, answer: str) -> Verdict: ...


@dataclass(frozen=True)
class JudgeSpec:
    """A parsed spec: ``name``, the separator written (``:``, ``>=`` or empty) and ``arg``."""

    name: str
    sep: str = ""
    arg: str | None = None

    def __str__(self) -> str:
        return self.name if self.arg is None else f"{self.name}{self.sep}{self.arg}"


def parse_spec(spec: str, flag: str = "--source-opt judge") -> JudgeSpec:
    """``f1>=0.8`` → ``JudgeSpec("f1", ">=", "0.8")``; a malformed spec is a one-line
    ``ConfigError`` naming ``flag``."""
    text = spec.strip()
    match = _SPEC.fullmatch(text)
    if match is None:
        raise ConfigError(f"{flag}={spec}: not a judge spec (NAME, NAME:ARG or NAME>=ARG)")
    return JudgeSpec(match["name"].lower(), match["sep"] or "", match["arg"])


class BaseJudge:
    """A convenient base: options from ``options_model``, the spec's argument refused unless
    the judge takes one (override ``from_spec`` to take it), ``summary`` from the score."""

    name: ClassVar[str] = ""
    options_model: ClassVar[type[BaseModel] | None] = None

    def __init__(self, options: BaseModel | None = None) -> None:
        model = type(self).options_model
        self.options = options if options is not None or model is None else model()

    @classmethod
    def parse_options(cls, options: Mapping[str, str]) -> BaseModel | None:
        """``options`` validated against ``options_model`` (one-line ``ConfigError``s)."""
        from trajkit.sources.base import parse_options

        if cls.options_model is None:
            if options:
                raise ConfigError(
                    f"--source-opt {next(iter(options))}: judge {cls.name!r} takes no options"
                )
            return None
        return parse_options(cls.options_model, options, f"judge {cls.name}")

    @classmethod
    def from_spec(cls, spec: JudgeSpec, options: Mapping[str, str]) -> BaseJudge:
        """Build from a parsed spec and the judge's ``--source-opt`` keys."""
        if spec.arg is not None:
            raise ConfigError(
                f"--source-opt judge={spec}: judge {cls.name!r} takes no argument "
                f"(write judge={cls.name})"
            )
        return cls(cls.parse_options(options))

    def check_reference(self, task: Task) -> None:
        """Raise ``JudgeError``/``DataError`` if this judge can never read ``task``'s gold
        (see the module doc); any gold is fine by default."""

    async def judge(self, task: Task, answer: str) -> Verdict:
        raise NotImplementedError

    @classmethod
    def summary(cls, task: Task, verdict: Verdict) -> str:
        """One line for a report: the judge's name and what it found."""
        spec = verdict.details.get("judge", cls.name)
        return f"{spec}: {'match' if verdict.success else 'no match'}"


def judge_class(name: str) -> Any:
    """The class registered as judge ``name`` (imported now); unknown names list the known."""
    return registry.get("judge", name)


def make_judge(spec: str, options: Mapping[str, str] | None = None) -> Any:
    """The judge ``spec`` names, built with its ``options``; one-line ``ConfigError`` (or
    ``PluginError``) for an unknown name, a bad argument or a bad option."""
    parsed = parse_spec(spec)
    try:
        cls = registry.get("judge", parsed.name)
    except PluginError as exc:
        raise PluginError(f"--source-opt judge={spec}: {exc}") from None
    build = getattr(cls, "from_spec", None)
    if build is None:
        if parsed.arg is not None or options:
            raise ConfigError(f"--source-opt judge={spec}: judge {parsed.name!r} takes no arguments")
        return cls()
    return build(parsed, dict(options or {}))


def judged(verdict: Verdict, spec: JudgeSpec | str) -> Verdict:
    """``verdict`` with ``details["judge"]`` set to ``spec`` (see the module doc)."""
    details = {k: v for k, v in verdict.details.items() if k != "judge"}
    return verdict.model_copy(update={"details": {"judge": str(spec), **details}})
