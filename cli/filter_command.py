"""``trajkit filter``: runs (or versions) through a filter chain into a new dataset version.

The chain is the order of the flags on the command line, which click does not keep across
different options, hence ``OrderedCommand``: it records the order in which options occurred
and hands it to ``FilterOptions.order``.
"""

from __future__ import annotations

from typing import Any

import typer

from trajkit.cli.console import err, guard, out, say
from trajkit.cli.options import OneLineErrors, examples, model_command
from trajkit.dataset.options import FilterOptions
from trajkit.dataset.version import DatasetVersion

app = typer.Typer()

_ORDER_KEY = "trajkit.option_order"


class OrderedCommand(OneLineErrors):
    """Records the order in which options occurred (one entry per occurrence) in ``ctx.meta``.

    Click keeps each option's values but not how different options interleave, and for
    ``trajkit filter`` that interleaving is the chain order. Click's parser already returns
    the occurrence order to ``Command.parse_args``; this keeps a copy.
    """

    def make_parser(self, ctx: Any) -> Any:
        parser = super().make_parser(ctx)
        parse = parser.parse_args

        def parse_args(args: list[str]) -> Any:
            opts, largs, order = parse(args)
            ctx.meta[_ORDER_KEY] = [p.name for p in order if p.name]
            return opts, largs, order

        parser.parse_args = parse_args  # type: ignore[method-assign]
        return parser


def report_version(result: DatasetVersion, *, table: bool = True) -> None:
    """What a build did: the per-unit table, notes on its inputs, and where the version is."""
    from trajkit.dataset.stats import render_filter_table

    if table:
        render_filter_table(result.manifest, out)
    for path in result.torn:
        say(f"note: {path} ends in a torn line (a live or crashed run); it was left out", console=err)
    if result.duplicates:
        say(f"note: {result.duplicates} duplicate trajectory id(s) across inputs were skipped", console=err)
    if result.sandbox_warning:
        say(result.sandbox_warning, console=err)  # it starts with "warning:" itself
    if result.shots_warning:
        say(result.shots_warning, console=err)
    if result.existed:
        say(f"{result.path} already holds this dataset (same inputs and filters); nothing written")
    elif result.dry_run:
        say(f"dry run: would write {result.path} ({result.manifest.records} records)")
    else:
        say(f"wrote {result.path} ({result.manifest.records} records)")


def _filter(ctx: typer.Context, values: dict[str, Any], extras: dict[str, Any]) -> None:
    order = ctx.meta.get(_ORDER_KEY)
    if order is None:  # never silently drop the user's flags if click's parser changes
        raise RuntimeError("trajkit filter: click did not report the option order")
    from trajkit.dataset.version import build_version

    def body() -> None:
        opts: FilterOptions = FilterOptions.build(**values, order=list(order))
        chain = opts.build_chain()
        report_version(build_version(opts.runs, opts.dataset, opts.out, chain, dry_run=opts.dry_run))

    guard(body)


EPILOG = examples(
    'trajkit filter out/runs/math-a --dataset codeact-math',
    'trajkit filter out/runs/* --dataset mix --dedup exact --max-tokens 8192 --balance source=1000',
    'trajkit filter out/runs/math-a --dataset paper --preset paper --no-secrets',
    'trajkit filter out/runs/math-a --dataset custom --config chain.toml --dry-run',
)


app.command("filter", cls=OrderedCommand, epilog=EPILOG)(
    model_command(
        FilterOptions, _filter,
        doc="Filter runs into a new immutable dataset version (or report the identical existing one).",
    )
)

