"""The ``tasks`` source: any file or Hub dataset of questions and answers, judged by name.

``trajkit collect tasks --data FILE`` reads JSONL, a JSON list, CSV or Parquet (by extension);
``--hf ID [--hf-config C] --split S`` reads a Hub dataset through ``datasets``; with neither,
the bundled sample. ``--source-opt`` keys: ``question``, ``answer``, ``id`` (field names),
``template`` (a prompt file with ``{field}`` placeholders), ``judge`` (a judge spec, default
``exact``; see ``trajkit.sources.judges``), ``tools`` (``module:function,...`` exposed to the
sandbox); any other key is the judge's (``judge=numeric tol=0.01``).

Presets (GSM8K, ...) subclass :class:`TasksSource` and change its defaults and hooks:
``id_prefix``, ``sample_path``, ``reference_of`` (raw answer → reference and extra metadata)
and ``build_prompt``.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any, ClassVar

from trajkit.core.demonstration import Demonstration
from trajkit.core.tools import Tool
from trajkit.schemas import Task, Verdict
from trajkit.sources.base import BaseSource, LoadOptions, SourceRuntime, parse_options
from trajkit.sources.reading import ReferenceView
from trajkit.sources.tasks.demonstration import DEMONSTRATION
from trajkit.sources.tasks.judging import (
    answer_format,
    build_judge,
    check_reference,
    judge_reference,
    judge_summary,
)
from trajkit.sources.tasks.load import DEMO_REPLAY, SAMPLE_PATH, load_rows, select
from trajkit.sources.tasks.options import TasksOptions, split_options
from trajkit.sources.tasks.prompt import PromptTemplate, default_prompt
from trajkit.sources.tasks.read import RawRow, read_hf, read_local
from trajkit.sources.tasks.rows import IdKeeper, Mapped, content_id, map_row
from trajkit.sources.tasks.tools import load_tools

__all__ = ["DEMO_REPLAY", "SAMPLE_PATH", "TasksOptions", "TasksSource"]


class TasksSource(BaseSource):
    """Questions and answers from any file, judged by the judge ``judge=SPEC`` names."""

    name: ClassVar[str] = "tasks"
    options_model: ClassVar[type[TasksOptions]] = TasksOptions
    demo_replay: ClassVar[Path | None] = DEMO_REPLAY
    typical_episode = (2.5, 160.0, 80.0)  # turns, output and observation tokens per turn

    def demonstration(self) -> Demonstration:
        """The in-context example episode (``--shots 1``): ``demonstration.py``."""
        return DEMONSTRATION
    #: What content-hash ids start with (``tasks-1a2b3c4d5e6f``).
    id_prefix: ClassVar[str] = "tasks"
    #: The rows used when neither ``--data`` nor ``--hf`` is given.
    sample_path: ClassVar[Path] = SAMPLE_PATH

    def __init__(
        self, options: TasksOptions | None = None, judge_options: Mapping[str, str] | None = None
    ) -> None:
        """``judge_options`` are the ``--source-opt`` keys that are not the source's own."""
        self.options: TasksOptions = options or self.options_model()
        own = list(type(self).options_model.model_fields)
        self.judge_impl = build_judge(self.options.judge, judge_options or {}, own, self.name)
        self.template = (
            PromptTemplate.from_file(self.options.template, self.options.answer)
            if self.options.template
            else None
        )
        self.host_tools = load_tools(self.options.tools)

    @classmethod
    def from_options(cls, raw: Mapping[str, str]) -> TasksSource:
        """The source's own keys validate against ``options_model``; the rest go to the
        judge (a key neither takes is one ConfigError naming it)."""
        own, rest = split_options(cls.options_model, raw)
        return cls(parse_options(cls.options_model, own, cls.name), rest)

    # ------------------------------------------------------------------ hooks for presets

    def reference_of(self, answer: Any, where: str) -> tuple[Any, dict[str, Any]]:
        """The task's reference from the answer field, and metadata to add: as it is here."""
        return answer, {}

    def build_prompt(self, row: Mapping[str, Any], mapped: Mapped, where: str) -> str:
        """The template rendered over the row, or the default prompt for the question."""
        if self.template is not None:
            return self.template.render(row, where)
        return default_prompt(mapped.question, answer_format(self.judge_impl))

    # ------------------------------------------------------------------ loading

    def row_to_task(self, row: Any, where: str, ids: IdKeeper) -> Task:
        """One row read at ``where`` → a Task (see ``rows.map_row`` for the checks)."""
        opts = self.options
        mapped = map_row(row, where, opts.question, opts.answer, opts.id)
        reference, extra = self.reference_of(mapped.answer, where)
        if mapped.task_id is not None:
            task_id = ids.explicit(mapped.task_id, where, opts.id or "id")
        else:
            task_id = ids.derived(content_id(self.id_prefix, mapped.question, mapped.answer))
        task = Task(
            source=type(self).name,
            task_id=task_id,
            prompt=self.build_prompt(row, mapped, where),
            reference=reference,
            metadata={**mapped.metadata, **extra},
        )
        check_reference(self.judge_impl, task, where)
        return task

    def load(self, options: LoadOptions) -> list[Task]:
        """Rows from ``--data`` / ``--hf`` / the bundled sample, converted in file order, kept
        by ``--level``/``--type`` (the rows' ``level``/``type`` fields), then ``--limit`` of
        them chosen with ``--seed``. A bad row stops the load with one line naming file, line
        (or row) and field."""
        ids = IdKeeper()
        tasks = [self.row_to_task(row, where, ids) for where, row in self.rows(options)]
        return select(tasks, options)

    def rows(self, options: LoadOptions) -> Iterable[RawRow]:
        """``(origin, row)`` pairs from ``--data``, ``--hf`` or the bundled sample."""
        return load_rows(options, self.sample_path, read_local, self.read_hub)[1]

    def read_hub(self, name: str, config: str | None, split: str | None) -> Iterable[RawRow]:
        """Rows of a Hub split (``--hf``), split ``train`` unless ``--split`` says."""
        return read_hf(name, config, split)

    # ------------------------------------------------------------------ episodes

    def tools(self, task: Task) -> Sequence[Tool]:
        """The host functions named by ``tools=``, the same for every task."""
        return list(self.host_tools)

    def attach(self, runtime: SourceRuntime) -> None:
        """Lend the runtime to a judge that runs code or asks a model."""
        attach = getattr(self.judge_impl, "attach", None)
        if attach is not None:
            attach(runtime)

    async def aclose(self) -> None:
        """Let the judge close its sandboxes or clients."""
        close = getattr(self.judge_impl, "aclose", None)
        if close is not None:
            await close()

    async def judge(self, task: Task, answer: str) -> Verdict:
        """The configured judge's verdict (it records its spec in ``details["judge"]``)."""
        verdict: Verdict = await self.judge_impl.judge(task, answer)
        return verdict

    @classmethod
    def verdict_summary(cls, task: Task, verdict: Verdict) -> str:
        """The recorded judge's own one-line summary (see ``judging.judge_summary``)."""
        return judge_summary(task, verdict)

    @classmethod
    def reference_view(cls, task: Task, verdict: Verdict) -> ReferenceView:
        """The recorded judge's reference view, or the generic one."""
        return judge_reference(task, verdict)
