"""``CollectOptions``: the ``trajkit collect`` command as one value, the single truth of its flags.

The typer command is generated from this model (``trajkit.cli.options``), job files'
``[[collect]]`` tables are validated against it, and ``trajkit.collect(source, teacher,
**options)`` takes its fields as keywords: a field is flag ``--field-name`` and keyword
``field_name``, with the same default and the same one-line error everywhere.

:meth:`CollectOptions.resolve` turns it into the ``CollectConfig`` the runner executes and
``run.json`` records (nested: sandbox limits, loop budget, load selection).
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any, ClassVar, Literal

from pydantic import Field, ValidationError, field_validator

from trajkit.collect.config import CollectConfig, default_run_name
from trajkit.collect.executors import check_batch_mode
from trajkit.collect.formats.base import action_format
from trajkit.collect.loop import MAX_EXEC_TIMEOUT_S, LoopConfig
from trajkit.collect.pricing import PriceEntry, parse_price
from trajkit.collect.sandbox.config import MAX_MB, SandboxConfig
from trajkit.collect.teachers.provider import provider_for
from trajkit.collect.teachers.turn_text import (
    DEFAULT_RECORD_CHARS,
    DEFAULT_TURN_CHARS,
    MIN_TEXT_CHARS,
)
from trajkit.core import registry
from trajkit.core.errors import ConfigError, PluginError, UserError
from trajkit.core.options import CommandOptions, as_list, options_error, output_dir, parse_pairs
from trajkit.sources.base import LoadOptions

Price = PriceEntry


class CollectOptions(CommandOptions):
    """Everything ``trajkit collect`` accepts. Field docs are the ``--help`` texts."""

    cli_arguments: ClassVar[tuple[str, ...]] = ("source",)
    cli_metavars: ClassVar[dict[str, str]] = {
        "source_opt": "KEY=VALUE", "sandbox_opt": "KEY=VALUE", "price": "MODEL=IN,OUT[,CACHE_READ[,CACHE_WRITE]]",
        "teacher": "PROVIDER:MODEL", "escalate": "PROVIDER:MODEL",
    }

    source: str = Field(description="Task source, e.g. math (see `trajkit plugins`).")
    teacher: str = Field(
        description="PROVIDER:MODEL: openai:gpt-4o-mini, anthropic:MODEL, replay:PATH."
    )
    data: str | None = Field(None, description="Local data file or directory in the source's format.")
    hf: str | None = Field(None, description="Hugging Face dataset id, e.g. HuggingFaceH4/MATH-500.")
    hf_config: str | None = Field(None, description="Hugging Face dataset config.")
    split: str | None = Field(None, description="Dataset split.")
    level: list[str] = Field(default_factory=list, description="Keep only these levels (repeatable).")
    type: list[str] = Field(default_factory=list, description="Keep only these types (repeatable).")
    difficulty: list[str] = Field(
        default_factory=list, description="Keep only these difficulties (APPS; same as --level)."
    )
    source_opt: dict[str, str] = Field(
        default_factory=dict, description="Source-specific KEY=VALUE (repeatable), e.g. search=corpus."
    )
    limit: int | None = Field(None, ge=1, description="Sample this many tasks (seeded).")
    seed: int = Field(0, description="Sampling seed.")
    out: Path = Field(Path("out"), description="Output root.")
    run: str | None = Field(None, description="Run name; re-use it to resume.")
    max_turns: int = Field(5, ge=1, description="Assistant turns per episode.")
    max_solutions: int = Field(2, ge=1, description="Answers the teacher may propose per episode.")
    exec_timeout: float = Field(
        10.0, ge=0.1, le=MAX_EXEC_TIMEOUT_S, description="Seconds per code cell (at most 86400, a day)."
    )
    concurrency: int = Field(8, ge=1, le=4096, description="Episodes in flight.")
    sandbox: str = Field("local", description="Sandbox backend: local or docker (or a plugin's).")
    pool: int = Field(0, ge=0, description="Docker: containers kept started ahead (warm pool).")
    sandbox_opt: dict[str, str] = Field(
        default_factory=dict,
        description="Sandbox limit KEY=VALUE (repeatable), e.g. cpus=2, image=TAG, max_processes=128.",
    )
    no_isolation: bool = Field(False, description="UNSAFE: run teacher code without namespaces.")
    temperature: float = Field(
        0.0, ge=0,
        description="Teacher sampling temperature (>= 0, at most the provider's maximum: openai 2, anthropic 1).",
    )
    max_tokens: int = Field(1024, ge=1, description="Teacher max output tokens per turn.")
    observation_chars: int = Field(2000, ge=100, description="Characters of output shown per observation.")
    teacher_turn_chars: int = Field(
        DEFAULT_TURN_CHARS, ge=MIN_TEXT_CHARS,
        description="Characters of one teacher turn kept (the rest cut with a marker, the action kept whole when it fits).",
    )
    teacher_record_chars: int = Field(
        DEFAULT_RECORD_CHARS, ge=MIN_TEXT_CHARS,
        description="Characters of teacher text kept over one episode (later turns are cut to what is left).",
    )
    memory_mb: int = Field(
        2048, ge=64, le=MAX_MB, description="Sandbox memory limit in MB: each process's address space, and the whole sandbox's where it gets a cgroup (docker; local where `trajkit sandbox env` says so). At most 1048576, 1 TiB."
    )
    no_cache: bool = Field(
        False, description="Always call the teacher, even for a request answered before."
    )
    max_cost: float | None = Field(
        None, gt=0, description="USD budget for the whole run; exit 3 when reached (resumable)."
    )
    price: dict[str, Price] = Field(
        default_factory=dict,
        description="MODEL=IN,OUT[,CACHE_READ[,CACHE_WRITE]] USD per million tokens (repeatable; overrides the table; cache prices left out follow the provider's rule).",
    )
    outage_streak: int = Field(
        8, ge=1,
        description="Stop (exit 4, resumable) after this many episodes in a row fail on the teacher.",
    )
    no_adaptive: bool = Field(
        False, description="Keep --concurrency teacher calls in flight even on sustained 429s."
    )
    task_chars: int = Field(
        200_000, ge=1000,
        description="Leave out tasks whose prompt is longer than this many characters (said in one line).",
    )
    mode: Literal["sync", "batch"] = Field(
        "sync",
        description="sync, or batch: each turn of all live episodes as one provider batch (half price, slower; resumable).",
    )
    batch_poll: float = Field(
        30.0, gt=0, description="Batch mode: seconds before the first poll (backs off to 10x)."
    )
    batch_window: float = Field(
        60.0, gt=0, description="Batch mode: send a batch at most this many seconds after its first request."
    )
    samples: int = Field(
        1, ge=1, le=1000,
        description="Independent episodes per task (with --temperature above 0).",
    )
    until: Literal["self-corrected", "success"] | None = Field(
        None,
        description="Stop sampling a task once one attempt is self-corrected (kept by the default filters) or a success.",
    )
    escalate: list[str] = Field(
        default_factory=list,
        description="PROVIDER:MODEL (repeatable, in order): play tasks no earlier teacher solved again with this one.",
    )
    shots: int | None = Field(
        None, ge=0, le=1,
        description="In-context demonstration episodes in the system prompt (1, the source's own, or 0; default 1 with --action-format code, else 0).",
    )
    action_format: str = Field(
        "code",
        description="How the teacher acts: code (Python in <execute>), tools (native function calling), json or text (one tool call per turn, the CodeAct paper's baselines).",
    )
    no_prompt_cache: bool = Field(
        False, description="Do not ask the provider to cache the conversation prefix each turn."
    )
    executor: str = Field(
        "local",
        description="local (this process) or ray (episodes on Ray workers; needs the ray extra of trajkit).",
    )
    ray_address: str | None = Field(
        None,
        description="--executor ray: join this cluster (HOST:PORT, auto, ray://HOST:PORT) instead of starting a local Ray.",
    )
    ray_workers: int | None = Field(
        None, ge=1,
        description="--executor ray: episode worker processes (default: the cluster's CPUs; a local Ray gets this many CPUs).",
    )

    @field_validator("level", "type", "difficulty", "escalate", mode="before")
    @classmethod
    def _one_or_many(cls, value: Any) -> Any:
        return as_list(value)

    @field_validator("source_opt", "sandbox_opt", mode="before")
    @classmethod
    def _pairs(cls, value: Any, info: Any) -> dict[str, str]:
        if value is not None and not isinstance(value, (Mapping, str, list, tuple)):
            raise ValueError("expected KEY=VALUE pairs (a table or a list of strings)")
        return parse_pairs(value, cls.flag(info.field_name))

    @field_validator("price", mode="before")
    @classmethod
    def _prices(cls, value: Any) -> Any:
        """``MODEL=IN,OUT[,READ[,WRITE]]`` strings (CLI, job file) or ``{model: (in, out,
        ...)}`` (Python)."""
        if value is None:
            return {}
        if isinstance(value, dict):
            return {
                model: parse_price(f"{model}={p}")[1] if isinstance(p, str) else p
                for model, p in value.items()
            }
        texts = as_list(value)
        for text in texts:
            if not isinstance(text, str):
                raise ValueError("expected MODEL=IN,OUT[,CACHE_READ[,CACHE_WRITE]] strings")
        return dict(parse_price(text) for text in texts)

    @field_validator("out", mode="before")
    @classmethod
    def _output_root(cls, value: Any) -> Any:
        return output_dir(value)

    @field_validator("data", mode="before")
    @classmethod
    def _path_text(cls, value: Any) -> Any:
        return str(value) if isinstance(value, Path) else value

    def resolve(self) -> CollectConfig:
        """The runner's ``CollectConfig``; a bad value is a ``ConfigError`` naming its flag.

        Plugin names (source, teacher provider, sandbox, executor) are checked here, without
        importing them, so a typo fails before any data is read.
        """
        _known("source", self.source, "SOURCE")
        _known("sandbox", self.sandbox, "--sandbox")
        _known("executor", self.executor, "--executor")
        _known("action_format", self.action_format, "--action-format")
        shots = self._shots_for_format()
        sandbox_config = SandboxConfig.from_options(
            self.sandbox_opt, isolation=not self.no_isolation, memory_mb=self.memory_mb,
            pool=self.pool,
        )
        try:
            config = CollectConfig(
                source=self.source,
                source_options=dict(self.source_opt),
                teacher=self.teacher,
                teacher_params={"temperature": self.temperature, "max_tokens": self.max_tokens},
                load=LoadOptions(
                    data=self.data, hf=self.hf, hf_config=self.hf_config, split=self.split,
                    limit=self.limit, seed=self.seed, levels=[*self.level, *self.difficulty],
                    types=list(self.type),
                ),
                out=self.out,
                cache=not self.no_cache,
                max_cost=self.max_cost,
                prices=dict(self.price),
                outage_streak=self.outage_streak,
                adaptive=not self.no_adaptive,
                task_chars=self.task_chars,
                mode=self.mode,
                prompt_cache=not self.no_prompt_cache,
                samples=self.samples,
                until=self.until,
                escalate=list(self.escalate),
                batch_poll_s=self.batch_poll,
                batch_window_s=self.batch_window,
                executor=self.executor,
                ray_address=self.ray_address,
                ray_workers=self.ray_workers,
                run=self.run or default_run_name(self.source),
                concurrency=self.concurrency,
                sandbox=self.sandbox,
                sandbox_config=sandbox_config,
                loop=LoopConfig(
                    max_turns=self.max_turns, max_solutions=self.max_solutions,
                    exec_timeout=self.exec_timeout, observation_chars=self.observation_chars,
                    teacher_turn_chars=self.teacher_turn_chars,
                    teacher_record_chars=self.teacher_record_chars,
                    shots=shots, action_format=self.action_format,
                ),
            )
        except ValidationError as exc:
            raise options_error(exc, _CONFIG_FLAGS.get) from None
        for stage in range(len(config.ladder)):
            if stage:
                _escalation_teacher(config.ladder[stage])
            check_batch_mode(config.for_stage(stage))
            check_tool_calling(config.ladder[stage], self.action_format, stage)
            check_temperature(config.ladder[stage], self.temperature, stage)
        return config

    def _shots_for_format(self) -> int:
        """``--shots`` for the chosen format: the sources' demonstrations are code-format
        episodes, so another format plays with none (asking for one is a one-line error)."""
        if action_format(self.action_format).demonstrations:
            return 1 if self.shots is None else self.shots
        if self.shots:
            raise ConfigError(
                f"--shots {self.shots}: the sources' demonstrations are code-format episodes; "
                f"--action-format {self.action_format} plays with --shots 0"
            )
        return 0


#: ``CollectConfig`` field → the flag that sets it, for errors raised while resolving.
_CONFIG_FLAGS = {
    "run": "--run", "mode": "--mode", "batch_poll_s": "--batch-poll",
    "batch_window_s": "--batch-window", "concurrency": "--concurrency",
    "teacher": "--teacher", "source": "SOURCE",
}


def check_tool_calling(spec: str, format_name: str, stage: int) -> None:
    """A one-line error when a native tool-calling format meets a teacher that cannot call
    functions natively (a provider declares ``supports_tools``)."""
    if not action_format(format_name).native:
        return
    provider, _ = provider_for(spec)
    if not getattr(provider, "supports_tools", False):
        flag = "--escalate" if stage else "--teacher"
        raise ConfigError(
            f"{flag} {spec}: this teacher cannot call functions natively, which "
            f"--action-format {format_name} needs"
        )


def check_temperature(spec: str, temperature: float, stage: int) -> None:
    """A one-line error naming ``--temperature`` when it is above what the teacher's provider
    accepts (a provider declares ``max_temperature``: OpenAI 2, Anthropic 1), before any call
    is paid for. The field itself already refused a negative or non-finite value."""
    provider, _ = provider_for(spec)
    highest = getattr(provider, "max_temperature", None)
    if highest is not None and temperature > highest:
        flag = "--escalate" if stage else "--teacher"
        raise ConfigError(
            f"--temperature {temperature:g}: {flag} {spec} ({provider.name}) accepts 0 to {highest:g}"
        )


def _escalation_teacher(spec: str) -> None:
    """A one-line error naming ``--escalate`` for a teacher spec no provider can play."""
    try:
        provider_for(spec)
    except UserError as exc:
        message = str(exc)
        if message.startswith("--teacher "):
            message = "--escalate " + message.removeprefix("--teacher ")
        raise ConfigError(message if message.startswith("--escalate") else f"--escalate {spec!r}: {message}") from None


def _known(kind: str, name: str, flag: str) -> None:
    """A one-line error naming ``flag`` unless a plugin called ``name`` is registered."""
    try:
        registry.REGISTRY.entry(kind, name)
    except PluginError as exc:
        if flag == "SOURCE":  # "unknown source 'x' (available: ...)" says it already
            raise
        raise PluginError(f"{flag}: {exc}") from None
