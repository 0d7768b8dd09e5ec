"""``trajkit show ID``: one trajectory in the terminal (code highlighted, failures in red)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from trajkit.cli.console import err, guard, out, say
from trajkit.cli.options import OneLineErrors, examples

app = typer.Typer()


@app.command("show", cls=OneLineErrors, epilog=examples(
    'trajkit show test/algebra/1.json --in out/runs/math-a',
    'trajkit show math-a:test/algebra/1.json --json',
))
def show_cmd(
    ident: Annotated[str, typer.Argument(metavar="ID", help="Trajectory id or task id.")],
    in_: Annotated[Path, typer.Option("--in", help="Run dir, dataset version, JSONL file or output root.")] = Path("out"),
    system: Annotated[bool, typer.Option("--system", help="Also print the system prompt.")] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print the record as JSON instead.")] = False,
) -> None:
    """Render one trajectory: code highlighted, failed observations in red, verdict and usage."""
    from trajkit.dataset.show import find_trajectory, record_json, render_trajectory

    def body() -> None:
        found = find_trajectory(ident, in_)
        if as_json:
            print(record_json(found.trajectory))
        else:
            render_trajectory(found.trajectory, out, system=system)
        note = f"found in {found.path}:{found.lineno}"
        if found.others:
            note += f"; also matching in that file: {', '.join(found.others)}"
        say(note, console=err)

    guard(body)
