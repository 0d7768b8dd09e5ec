"""``trajkit view PATH [B] [--out DIR] [--open]``: a static HTML report of a run or version.

A bad path is one line with exit code 2 (``guard`` turns the ``DataError`` from
``trajkit.view`` into that), and the report code is imported only when the command runs.
"""

from __future__ import annotations

import webbrowser
from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape

from trajkit.cli.console import guard, out
from trajkit.cli.options import OneLineErrors, examples

app = typer.Typer()


@app.command("view", cls=OneLineErrors, epilog=examples(
    'trajkit view out/datasets/demo/v1 --open',
    'trajkit view out/runs/math-a out/runs/math-b',
))
def view_cmd(
    path: Annotated[
        Path,
        typer.Argument(
            help="A run directory (OUT/runs/RUN) or dataset version (OUT/datasets/NAME/vN)."
        ),
    ],
    other: Annotated[
        Path | None,
        typer.Argument(
            metavar="[B]", help="A second run or version: compare the two on their shared tasks."
        ),
    ] = None,
    out_dir: Annotated[
        Path | None,
        typer.Option("--out", help="Report folder (default OUT/reports/NAME beside the input)."),
    ] = None,
    open_: Annotated[
        bool, typer.Option("--open", help="Open the report in the default browser.")
    ] = False,
) -> None:
    """Write a self-contained HTML report (overview, filterable list, one page per trajectory)."""
    def body() -> Path:
        if other is None:
            from trajkit.view.site import build_site

            site = build_site(path, out_dir)
            o = site.overview
            out.print(
                f"report: {escape(str(site.index))} ({o.records:,} trajectories)",
                highlight=False,
                soft_wrap=True,
            )
            return site.index
        from trajkit.view.compare import build_compare

        index, c = build_compare(path, other, out_dir)
        out.print(
            f"report: {escape(str(index))} ({c.shared:,} shared tasks: {len(c.to_success):,} "
            "failure → success, "
            f"{len(c.to_failure):,} success → failure)",
            highlight=False,
            soft_wrap=True,
        )
        return index

    index = guard(body)
    if open_:
        webbrowser.open(index.resolve().as_uri())

