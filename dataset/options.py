"""The options models of ``trajkit filter | export | publish | verify | stats``.

Each is the single truth of its command (see ``trajkit.core.options``): the typer command is
generated from it, job files' tables are validated against it, and the Python function of the
same name takes its fields as keywords.

``FilterOptions`` carries its chain the way the command line does: the chain flags in the
order they were given (``order``; on the command line click's occurrence order, in Python the
keyword order), or a ``config`` TOML file, or (Python only) ``chain``: filter units or a
``FilterChain`` built by hand, which must be registered so the manifest can rebuild them.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any, ClassVar

from pydantic import ConfigDict, Field, field_validator, model_validator

from trajkit.core.errors import ConfigError
from trajkit.core.options import CommandOptions, as_list, output_dir
from trajkit.filters.chain import FilterChain
from trajkit.filters.flags import CHAIN_OPTIONS, ChainFlags, chain_from_flags
from trajkit.filters.registry import rebuildable

_CHAIN_PANEL = "Chain (units apply in the order the flags are given)"


class FilterOptions(CommandOptions):
    """Everything ``trajkit filter`` accepts."""

    model_config = ConfigDict(extra="forbid", arbitrary_types_allowed=True)

    cli_arguments: ClassVar[tuple[str, ...]] = ("runs",)
    cli_metavars: ClassVar[dict[str, str]] = {
        "runs": "RUN", "min_turns": "N", "max_turns": "N", "min_tokens": "N", "max_tokens": "N",
        "tokenizer": "NAME", "decontaminate": "PATH", "ngram": "N", "decontaminate_field": "KEY",
        "balance": "SPEC", "config": "TOML",
    }
    cli_panels: ClassVar[dict[str, str]] = {name: _CHAIN_PANEL for name in (*CHAIN_OPTIONS, "tokenizer", "ngram", "decontaminate_field", "config")}

    runs: list[Path] = Field(description="Run directories, dataset versions or trajectories.jsonl files.")
    dataset: str = Field(description="Dataset name: writes OUT/datasets/NAME/vN.")
    out: Path = Field(Path("out"), description="Output root.")
    keep: list[str] = Field(
        default_factory=list,
        description="success, self-correct, any registered filter without parameters, or all (no keep filter). Without --keep/--preset the default preset comes first.",
    )
    preset: list[str] = Field(
        default_factory=list,
        description="default (success + self-correct) or paper (CodeAct's: success, >2 turns, paper-heuristics).",
    )
    dedup: list[str] = Field(
        default_factory=list,
        description="exact | near | near:THRESHOLD (default 0.85); keeps the best copy: successful, fewest turns, earliest.",
    )
    min_turns: str | None = Field(None, description="Drop trajectories with fewer assistant turns.")
    max_turns: str | None = Field(None, description="Drop trajectories with more assistant turns.")
    min_tokens: str | None = Field(None, description="Drop trajectories with fewer tokens (all message contents but the in-context demonstration).")
    max_tokens: str | None = Field(None, description="Drop trajectories with more tokens, e.g. 8192.")
    tokenizer: str | None = Field(
        None,
        description="For --min/--max-tokens: o200k_base (default; tiktoken, needs its cached BPE file), another tiktoken encoding, hf:PATH_OR_NAME, chars4 or whitespace (offline approximations).",
    )
    no_secrets: bool = Field(
        False, description="Drop trajectories holding anything shaped like an API key, token or private key."
    )
    valid_format: bool = Field(
        False,
        description="Drop conversations that break the CodeAct format (every turn an action, ends on the answer).",
    )
    decontaminate: list[Path] = Field(
        default_factory=list,
        description="Evaluation set (txt, JSON, JSONL; repeatable): drop trajectories sharing an n-gram with it.",
    )
    ngram: str | None = Field(None, description="For --decontaminate: n-gram length in words (default 13).")
    decontaminate_field: str | None = Field(
        None,
        description="For --decontaminate JSON/JSONL: the key holding the text (default: problem, question, prompt or text).",
    )
    balance: list[str] = Field(
        default_factory=list,
        description="source=CAP|FRACTION, source:GROUP=..., source+level=..., seed=N (repeatable or comma-separated).",
    )
    config: Path | None = Field(
        None, description="Chain from a TOML file of filter tables (name + params), instead of chain flags."
    )
    dry_run: bool = Field(False, description="Print the per-filter table without writing.")
    order: list[str] = Field(
        default_factory=list, exclude=True,
        description="Chain options in the order given, one entry per occurrence (set by the CLI).",
    )
    chain: Any = Field(None, exclude=True, description="Python only: filter units or a FilterChain.")

    @field_validator("runs", "keep", "preset", "dedup", "decontaminate", "balance", mode="before")
    @classmethod
    def _one_or_many(cls, value: Any) -> Any:
        return as_list(value)

    @field_validator("out", mode="before")
    @classmethod
    def _output_root(cls, value: Any) -> Any:
        return output_dir(value)

    @field_validator("min_turns", "max_turns", "min_tokens", "max_tokens", "ngram", mode="before")
    @classmethod
    def _number_text(cls, value: Any) -> Any:
        """Numbers stay text until the chain is built, so a bad one is the chain's own
        one-line error (``--min-turns: expected a whole number``), whoever passed it."""
        return None if value is None else str(value)

    def build_chain(self) -> FilterChain:
        """The chain these options describe (see the module docstring)."""
        flags = ChainFlags(
            order=self.order or occurrence_order(self, CHAIN_OPTIONS),
            **{f.name: getattr(self, f.name) for f in dataclasses.fields(ChainFlags) if f.name != "order"},
        )
        modifiers = self.tokenizer or self.ngram or self.decontaminate_field
        if self.chain is not None:
            if flags.any_chain_flag() or modifiers or self.config is not None:
                raise ConfigError("chain=: cannot be combined with chain options or --config")
            units = self.chain.filters if isinstance(self.chain, FilterChain) else list(self.chain)
            return FilterChain(rebuildable(units))
        if self.config is not None:
            from trajkit.filters.config import chain_from_toml

            if flags.any_chain_flag() or modifiers:
                raise ConfigError("--config: cannot be combined with chain flags (put every unit in the file)")
            return chain_from_toml(self.config)
        return chain_from_flags(flags)


def occurrence_order(values: Any, names: Any) -> list[str]:
    """``names`` that ``values`` sets, each once per occurrence (a list once per item), in
    the order of ``names``: a Python call passes its keyword order instead."""
    return [name for name in names for _ in _occurrences(getattr(values, name, None))]


def _occurrences(value: Any) -> list[Any]:
    """How many times a chain option occurs: once per list item, once if set, else never."""
    if isinstance(value, list):
        return value
    return [value] if value not in (None, False) else []


class ExportOptions(CommandOptions):
    """Everything ``trajkit export`` accepts."""

    cli_arguments: ClassVar[tuple[str, ...]] = ("path",)
    cli_flags: ClassVar[dict[str, str]] = {"format": "--format"}

    path: Path = Field(description="A dataset version OUT/datasets/NAME/vN (a NAME dir: its latest).")
    format: str = Field(description="openai, sharegpt, codeact or hf.")
    to: Path = Field(description="Output file (hf: output folder).")
    force: bool = Field(False, description="Replace an existing --to.")
    weights: bool = Field(False, description="openai: add weight 1 to every assistant message.")
    mask_failed: bool = Field(
        False, description="openai: weight 0 on assistant turns whose action failed (implies --weights)."
    )
    license: str | None = Field(None, description="hf: license id for the dataset card (default: other).")
    max_shard_mb: int | None = Field(None, ge=1, description="hf: cut Parquet shards at about this many MB of rows.")
    keep_demonstration: bool = Field(
        False,
        description="Keep the in-context example episode the teacher was shown (--shots 1) at the end of each system prompt; by default it is cut out exactly, as CodeActInstruct did not train on it.",
    )

    @field_validator("format")
    @classmethod
    def _known_format(cls, value: str) -> str:
        """An unknown format fails when the options are read (a job file: when it is loaded,
        before any collection), not when the export runs."""
        from trajkit.dataset.export_version import FORMATS

        if value not in FORMATS:
            raise ValueError(f"unknown format {value!r} (choose from: {', '.join(FORMATS)})")
        return value

    @model_validator(mode="after")
    def _options_of_the_format(self) -> ExportOptions:
        """``--license`` with ``--format openai`` (or ``--weights`` with ``hf``) fails when the
        options are read, a job file's when it is loaded, rather than being ignored."""
        from trajkit.dataset.export_version import check_format_options

        try:
            check_format_options(
                self.format, weights=self.weights or self.mask_failed,
                hf_only=self.license is not None or self.max_shard_mb is not None,
            )
        except ConfigError as exc:
            raise ValueError(str(exc)) from None
        return self


class PublishOptions(CommandOptions):
    """Everything ``trajkit publish`` accepts."""

    cli_arguments: ClassVar[tuple[str, ...]] = ("path",)

    path: Path = Field(description="A dataset version OUT/datasets/NAME/vN.")
    repo_id: str = Field(description="Hugging Face dataset repo ORG/NAME.")
    private: bool = Field(False, description="Create the repo private (if it does not exist).")
    dry_run: bool = Field(False, description="List what would be uploaded; no token or network needed.")
    license: str = Field("other", description="License id for the dataset card.")

    @field_validator("repo_id")
    @classmethod
    def _org_name(cls, value: str) -> str:
        """A repo id that is not ``ORG/NAME`` fails when the options are read (a job file:
        when it is loaded, before any collection), not when publishing starts."""
        from trajkit.dataset.publish import repo_id_problem

        problem = repo_id_problem(value)
        if problem:
            raise ValueError(problem)
        return value


class VerifyOptions(CommandOptions):
    """Everything ``trajkit verify`` accepts."""

    cli_arguments: ClassVar[tuple[str, ...]] = ("path",)

    path: Path = Field(description="A dataset version OUT/datasets/NAME/vN (a NAME dir: all versions).")
    rebuild: bool = Field(False, description="Also re-run the manifest's chain over its parents and compare bytes.")
    input: list[Path] = Field(
        default_factory=list,
        description="With --rebuild: where the parents are, in manifest order (repeatable): all of "
        "them, or only those the manifest names without a place (outside the output root when built).",
    )

    @field_validator("input", mode="before")
    @classmethod
    def _one_or_many(cls, value: Any) -> Any:
        return as_list(value)


class StatsOptions(CommandOptions):
    """Everything ``trajkit stats`` accepts."""

    cli_arguments: ClassVar[tuple[str, ...]] = ("path",)
    cli_flags: ClassVar[dict[str, str]] = {"as_json": "--json"}

    path: Path = Field(description="A dataset version, run directory or JSONL file.")
    as_json: bool = Field(False, description="Machine-readable output.")
