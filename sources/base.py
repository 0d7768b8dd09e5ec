"""The source seam: load tasks, phrase them, name their tools, judge answers.

A source knows its data formats and metric, nothing about teachers or run directories. A
source is a class registered under a name (entry-point group ``trajkit.sources``); the runner
builds one per run with :func:`make_source`: ``cls()`` without ``--source-opt``, else
``cls.from_options({key: value})``.

What trajkit may ask of a source beyond the protocol is declared on its class (all optional;
:class:`BaseSource` has the defaults):

- ``from_options(raw)``: build from ``--source-opt KEY=VALUE`` strings, one-line
  ``ConfigError`` for a bad key or value (``BaseSource`` does it from ``options_model``);
- ``options_model``: the options' pydantic model or dataclass (``trajkit plugins`` lists it);
- ``demo_replay``: hand-written replay turns for its bundled sample (``trajkit demo``), and
  ``demo_unavailable()``: why the demo must skip it on this machine, or None;
- ``typical_episode``: (turns, output tokens per turn, observation tokens per turn) that
  ``collect --estimate`` assumes before a run has its own figures;
- ``attach(runtime)`` / ``aclose()``: called once before the first and after the last episode;
- ``episode_setup(task) -> str | None``: Python code the loop runs in the episode's sandbox
  right after it starts, before the teacher's first cell (and again if a cell restarts the
  worker), to put there what the prompt promises (WikiTableQuestions loads its table as
  ``df``). Its output is never shown to the teacher; if it raises, the episode ends as
  ``sandbox_error`` naming the error. Every sandbox backend and executor honours it. Build
  the code from data with ``repr()`` of the values, never by formatting text into code;
- ``demonstration() -> Demonstration | None``: the in-context example episode the loop puts at
  the end of the system prompt with ``--shots 1`` (``trajkit.core.demonstration``): a short
  task of the source's kind, written for trajkit (never copied from a benchmark's data), in
  which a code turn raises and the next recovers, then the answer, using the source's real
  tools by their real names. ``None`` (the default): the loop shows a generic one. Built
  once per episode from the source, so it may depend on the source's options;
- ``verdict_summary(task, verdict) -> str`` and ``reference_view(task, verdict) ->
  ReferenceView`` (static or class methods: a report has the record, not a configured source):
  how a reader should see the judge's decision. The summary is one line in the metric's own
  terms, without the score (shown beside it): ``6/6 tests passed``, ``EM 1 · F1 1.00``,
  ``math-verify: 7/10 ≡ 0.7``. The reference view is what the answer was held against, short
  enough for the top of a page: ``fields`` as ``(label, text)`` pairs and a few small
  :class:`ReportTable` tables (APPS's first tests as input/expected/got). Both are plain text,
  never markup: ``trajkit view`` escapes them into HTML and ``trajkit show`` into a terminal,
  and the full ``details`` stay available (folded) beside them. Without them a source gets
  :func:`generic_summary` and :func:`generic_reference`; :class:`VerdictReader` finds them
  through the registry and falls back to those when a source is no longer installed or its
  methods raise, so one source can never break a report.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar, Protocol

from pydantic import BaseModel, Field, ValidationError

from trajkit.core import registry
from trajkit.core.demonstration import Demonstration
from trajkit.core.errors import ConfigError
from trajkit.core.lent_model import ModelLender
from trajkit.core.sandbox import SandboxFactory
from trajkit.core.tools import Tool
from trajkit.schemas import Task, Verdict
from trajkit.sources.reading import ReferenceView, generic_reference, generic_summary


class LoadOptions(BaseModel):
    """How to select tasks: a local file, a Hub dataset, or the bundled sample."""

    data: str | None = None
    hf: str | None = None
    hf_config: str | None = None
    split: str | None = None
    limit: int | None = None
    seed: int = 0
    levels: list[str] = Field(default_factory=list)
    types: list[str] = Field(default_factory=list)


@dataclass(frozen=True)
class SourceRuntime:
    """What the collector lends a source for its whole run.

    ``sandbox_factory`` makes un-started sandboxes (same backend and limits as the episodes)
    for judges that must run untrusted code, such as APPS running a submitted program: the
    collector's own process never executes teacher output.
    """

    sandbox_factory: SandboxFactory
    #: The run's task selection (its ``--data``, ``--split``, ...): a source playing tasks it
    #: did not load itself (a Ray worker) finds its data through it.
    load: LoadOptions = field(default_factory=lambda: LoadOptions())
    #: Lends a model named ``PROVIDER:MODEL`` (an LLM judge's grader), built by the collector
    #: with the run's response cache and priced at the model's own price; see
    #: ``trajkit.core.lent_model``. ``None`` where no collector lends one (a test, a script).
    make_teacher: ModelLender | None = None


class Source(Protocol):
    name: str

    def load(self, options: LoadOptions) -> list[Task]:
        """Return the selected tasks; raise ``DataError`` naming file/line on bad data."""
        ...

    def tools(self, task: Task) -> Sequence[Tool]:
        """Host-side tools available to the teacher's code for this task."""
        ...

    async def judge(self, task: Task, answer: str) -> Verdict:
        """Score a proposed ``<solution>`` with the benchmark's own metric."""
        ...


class NeedsRuntime(Protocol):
    """A source that needs the runtime implements ``attach``; the runner calls it once,
    before the first episode (and ``aclose()``, if defined, after the last)."""

    def attach(self, runtime: SourceRuntime) -> None: ...


class EpisodeEnv(Protocol):
    """Host-side state of one interactive episode (an ALFWorld game, a WebShop session).

    Its ``tools()`` are the functions the teacher's code calls in the sandbox; they act on this
    episode's state only, so concurrent episodes never share an environment. When the
    environment ends the episode (won, bought, step cap reached) a tool raises
    ``trajkit.core.tools.EndEpisode`` and ``outcome`` becomes the final verdict; the loop
    checks ``outcome`` after every cell and stops there.
    """

    def tools(self) -> Sequence[Tool]: ...

    @property
    def outcome(self) -> Verdict | None:
        """The environment's verdict once it has ended the episode, else ``None``."""
        ...

    async def judge(self, answer: str) -> Verdict:
        """Score a ``<solution>`` the teacher proposed before the environment ended."""
        ...

    async def aclose(self) -> None: ...


class InteractiveSource(Source, Protocol):
    """A source whose tasks are environments: the runner opens one per episode."""

    async def open_env(self, task: Task) -> EpisodeEnv: ...


class BaseSource:
    """A convenient base for a source: every optional capability with its default, and
    ``--source-opt`` parsing from a pydantic ``options_model``.

    Subclasses set ``name``, implement ``load`` and ``judge`` (and ``tools`` if the teacher's
    code gets host-side functions), and read their options from ``self.options``.
    """

    name: ClassVar[str] = ""
    options_model: ClassVar[type[BaseModel] | None] = None
    demo_replay: ClassVar[Path | None] = None
    typical_episode: ClassVar[tuple[float, float, float] | None] = None

    def __init__(self, options: BaseModel | None = None) -> None:
        model = type(self).options_model
        self.options = options if options is not None or model is None else model()

    @classmethod
    def from_options(cls, raw: Mapping[str, str]) -> BaseSource:
        """Validate ``--source-opt`` strings against ``options_model``; one line per mistake."""
        model = cls.options_model
        if model is None:
            raise ConfigError(f"--source-opt: source {cls.name!r} takes no options (got {', '.join(raw)})")
        return cls(parse_options(model, raw, cls.name))

    @classmethod
    def demo_unavailable(cls) -> str | None:
        """Why ``trajkit demo`` cannot run this source here (a missing engine), else None."""
        return None

    def tools(self, task: Task) -> Sequence[Tool]:
        """Host-side functions the teacher's code may call for ``task``: none by default."""
        return []

    def episode_setup(self, task: Task) -> str | None:
        """Code to run in ``task``'s sandbox before the teacher's first cell: none by default."""
        return None

    def demonstration(self) -> Demonstration | None:
        """The in-context example episode for ``--shots 1``: none of its own by default."""
        return None

    def load(self, options: LoadOptions) -> list[Task]:
        raise NotImplementedError

    async def judge(self, task: Task, answer: str) -> Verdict:
        raise NotImplementedError

    @classmethod
    def verdict_summary(cls, task: Task, verdict: Verdict) -> str:
        """One line saying what the judge found, in the metric's terms (see the module doc)."""
        return generic_summary(task, verdict)

    @classmethod
    def reference_view(cls, task: Task, verdict: Verdict) -> ReferenceView:
        """What the answer was judged against, short and readable (see the module doc)."""
        return generic_reference(task, verdict)


def parse_options(model: type[BaseModel], raw: Mapping[str, Any], source: str) -> Any:
    """``model`` validated from ``--source-opt`` values; unknown keys and bad values are one-line
    ``ConfigError``s naming the option (``--source-opt KEY=VALUE: why``)."""
    unknown = [key for key in raw if key not in model.model_fields]
    if unknown:
        known = ", ".join(model.model_fields)
        raise ConfigError(f"--source-opt {unknown[0]}: unknown option for {source} (known: {known})")
    try:
        return model.model_validate(dict(raw))
    except ValidationError as exc:
        first = exc.errors()[0]
        key = str(first["loc"][0]) if first["loc"] else "?"
        value = raw.get(key, "")
        raise ConfigError(f"--source-opt {key}={value}: {first['msg']}") from None


def source_class(name: str) -> Any:
    """The class registered as source ``name`` (imported now); unknown names list the known."""
    return registry.get("source", name)


def make_source(name: str, options: Mapping[str, str] | None = None) -> Source:
    """A new instance of the source called ``name``, configured by ``--source-opt`` pairs.

    Each source validates its own options and names the bad one; unknown names and options
    are one-line ``ConfigError``s.
    """
    cls = source_class(name)
    options = dict(options or {})
    if not options:
        source: Source = cls()
        return source
    from_options = getattr(cls, "from_options", None)
    if from_options is None:
        raise ConfigError(f"--source-opt: source {name!r} takes no options (got {', '.join(options)})")
    built: Source = from_options(options)
    return built
