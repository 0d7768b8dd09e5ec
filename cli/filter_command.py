"""``trajkit filter``: runs (or versions) through a filter chain into a new dataset version.

The chain is the order of the flags on the command line, which click does not keep across
different options, hence ``_OrderedCommand``. ``filter_runs`` is shared with ``demo`` and
``trajkit run`` (job files), so every way of building a version reports it the same way.
"""

from __future__ import annotations

from pathlib import Path
from types import ModuleType
from typing import Annotated, Any

import typer
from typer.core import TyperCommand

from trajkit.schemas.errors import ConfigError


def _ui() -> ModuleType:
    """``trajkit.cli.app`` (consoles, ``_guard``), imported late: it imports this module."""
    from trajkit.cli import app as cli_app

    return cli_app


def filter_runs(
    runs: list[Path], dataset: str, out_dir: Path, keep: list[str], dry_run: bool, table: bool = True,
    chain: Any = None,
) -> Any:
    from trajkit.dataset.stats import render_filter_table
    from trajkit.dataset.version import build_version
    from trajkit.filters.presets import build_chain

    ui = _ui()
    chain = chain if chain is not None else build_chain(keep)
    result = build_version(runs, dataset, out_dir, chain, dry_run=dry_run)
    if table:
        render_filter_table(result.manifest, ui.out)
    for path in result.torn:
        ui.err.print(f"note: {path} ends in a torn line (a live or crashed run); it was left out")
    if result.duplicates:
        ui.err.print(f"note: {result.duplicates} duplicate trajectory id(s) across inputs were skipped")
    if result.existed:
        ui.out.print(f"{result.path} already holds this dataset (same inputs and filters); nothing written")
    elif dry_run:
        ui.out.print(f"dry run: would write {result.path} ({result.manifest.records} records)")
    else:
        ui.out.print(f"wrote {result.path} ({result.manifest.records} records)")
    return result


class _OrderedCommand(TyperCommand):
    """Records the order in which options occurred (one entry per occurrence) in ``ctx.meta``,
    and reports click's own usage errors (unknown option, missing value) as one line, exit 2,
    like every other bad flag of ``trajkit filter``.

    Click keeps each option's values but not how different options interleave, and for
    ``trajkit filter`` that interleaving is the chain order. Click's parser already returns
    the occurrence order to ``Command.parse_args``; this keeps a copy.
    """

    def parse_args(self, ctx: typer.Context, args: list[str]) -> list[str]:
        try:
            return super().parse_args(ctx, args)
        except typer.TyperException as exc:  # typer's (vendored) click UsageError family
            if getattr(exc, "exit_code", None) != 2 or type(exc).__name__ == "NoArgsIsHelpError":
                raise
            message = " ".join(exc.format_message().split())  # type: ignore[attr-defined]
            _ui().err.print(f"[bold red]error:[/] {message}", highlight=False, soft_wrap=True)
            raise typer.Exit(2) from None

    def make_parser(self, ctx: typer.Context) -> Any:
        parser = super().make_parser(ctx)
        parse = parser.parse_args

        def parse_args(args: list[str]) -> Any:
            opts, largs, order = parse(args)
            ctx.meta[_ORDER_KEY] = [p.name for p in order if p.name]
            return opts, largs, order

        parser.parse_args = parse_args
        return parser


_ORDER_KEY = "trajkit.option_order"
_CHAIN_HELP = "Chain (units apply in the order the flags are given)"


def filter_(
    ctx: typer.Context,
    runs: Annotated[list[Path], typer.Argument(metavar="RUN", help="Run directories, dataset versions or trajectories.jsonl files.")],
    dataset: Annotated[str, typer.Option(help="Dataset name: writes OUT/datasets/NAME/vN.")],
    out_dir: Annotated[Path, typer.Option("--out", help="Output root.")] = Path("out"),
    keep: Annotated[list[str] | None, typer.Option(help="success, self-correct, or all (no keep filter). Without --keep/--preset the default preset comes first.", rich_help_panel=_CHAIN_HELP)] = None,
    preset: Annotated[list[str] | None, typer.Option(help="default (success + self-correct) or paper (CodeAct's: success, >2 turns, paper-heuristics).", rich_help_panel=_CHAIN_HELP)] = None,
    dedup: Annotated[list[str] | None, typer.Option(help="exact | near | near:THRESHOLD (default 0.85); keeps the best copy: successful, fewest turns, earliest.", rich_help_panel=_CHAIN_HELP)] = None,
    min_turns: Annotated[str | None, typer.Option(metavar="N", help="Drop trajectories with fewer assistant turns.", rich_help_panel=_CHAIN_HELP)] = None,
    max_turns: Annotated[str | None, typer.Option(metavar="N", help="Drop trajectories with more assistant turns.", rich_help_panel=_CHAIN_HELP)] = None,
    min_tokens: Annotated[str | None, typer.Option(metavar="N", help="Drop trajectories with fewer tokens (all message contents).", rich_help_panel=_CHAIN_HELP)] = None,
    max_tokens: Annotated[str | None, typer.Option(metavar="N", help="Drop trajectories with more tokens, e.g. 8192.", rich_help_panel=_CHAIN_HELP)] = None,
    tokenizer: Annotated[str | None, typer.Option(metavar="NAME", help="For --min/--max-tokens: o200k_base (default; tiktoken, needs its cached BPE file), another tiktoken encoding, hf:PATH_OR_NAME, chars4 or whitespace (offline approximations).", rich_help_panel=_CHAIN_HELP)] = None,
    no_secrets: Annotated[bool, typer.Option("--no-secrets", help="Drop trajectories holding anything shaped like an API key, token or private key.", rich_help_panel=_CHAIN_HELP)] = False,
    valid_format: Annotated[bool, typer.Option("--valid-format", help="Drop conversations that break the CodeAct format (every turn an action, ends on the answer).", rich_help_panel=_CHAIN_HELP)] = False,
    decontaminate: Annotated[list[Path] | None, typer.Option(metavar="PATH", help="Evaluation set (txt, JSON, JSONL; repeatable): drop trajectories sharing an n-gram with it.", rich_help_panel=_CHAIN_HELP)] = None,
    ngram: Annotated[str | None, typer.Option(metavar="N", help="For --decontaminate: n-gram length in words (default 13).", rich_help_panel=_CHAIN_HELP)] = None,
    decontaminate_field: Annotated[str | None, typer.Option(metavar="KEY", help="For --decontaminate JSON/JSONL: the key holding the text (default: problem, question, prompt or text).", rich_help_panel=_CHAIN_HELP)] = None,
    balance: Annotated[list[str] | None, typer.Option(metavar="SPEC", help="source=CAP|FRACTION, source:GROUP=..., source+level=..., seed=N (repeatable or comma-separated).", rich_help_panel=_CHAIN_HELP)] = None,
    config: Annotated[Path | None, typer.Option(metavar="TOML", help="Chain from a TOML file of filter tables (name + params), instead of chain flags.", rich_help_panel=_CHAIN_HELP)] = None,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Print the per-filter table without writing.")] = False,
) -> None:
    """Filter runs into a new immutable dataset version (or report the identical existing one)."""
    from trajkit.filters.flags import ChainFlags, chain_from_flags

    order = ctx.meta.get(_ORDER_KEY)
    if order is None:  # never silently drop the user's flags if click's parser changes
        raise RuntimeError("trajkit filter: click did not report the option order")
    flags = ChainFlags(
        order=list(order), keep=keep or [], preset=preset or [],
        dedup=dedup or [], min_turns=min_turns, max_turns=max_turns, min_tokens=min_tokens,
        max_tokens=max_tokens, tokenizer=tokenizer, no_secrets=no_secrets,
        valid_format=valid_format, decontaminate=decontaminate or [], ngram=ngram,
        decontaminate_field=decontaminate_field, balance=balance or [],
    )

    def body() -> Any:
        if config is not None:
            from trajkit.filters.config import chain_from_toml

            if flags.any_chain_flag() or tokenizer or ngram or decontaminate_field:
                raise ConfigError("--config: cannot be combined with chain flags (put every unit in the file)")
            chain = chain_from_toml(config)
        else:
            chain = chain_from_flags(flags)
        return filter_runs(runs, dataset, out_dir, [], dry_run, chain=chain)

    _ui()._guard(body)


def register(app: typer.Typer) -> None:
    """Add ``filter`` to the main ``trajkit`` app."""
    app.command("filter", cls=_OrderedCommand)(filter_)
