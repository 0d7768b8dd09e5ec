"""``trajkit verify``: check a version's hashes, counts and lineage; exit 1 listing any drift.

Exit code 1 (not 2) means "the version drifted", with every problem listed, so scripts can
tell damage from a typo.
"""

from __future__ import annotations

from typing import Any

import typer

from trajkit.cli.console import guard, out, path_text
from trajkit.cli.options import OneLineErrors, examples, model_command
from trajkit.dataset.options import VerifyOptions

app = typer.Typer()

EXIT_DRIFT = 1


def _verify(ctx: typer.Context, values: dict[str, Any], extras: dict[str, Any]) -> None:
    from rich.markup import escape

    from trajkit.api.datasets import verify

    def body() -> int:
        path = values.pop("path")
        drifted = 0
        for check in verify(path, **values):
            where = path_text(check.path)
            if check.problems:
                drifted += 1
                out.print(f"[bold red]drift[/] {where}: {len(check.problems)} problem(s)",
                          highlight=False, soft_wrap=True)
                for problem in check.problems:
                    out.print(f"  - {escape(problem)}", highlight=False, soft_wrap=True)
                continue
            m = check.manifest
            assert m is not None
            checked = len(m.files) if m.files is not None else 1
            extra = f"; rebuilt from {len(m.inputs)} parent(s): identical bytes" if check.rebuilt else ""
            out.print(
                f"[bold green]ok[/] {where}: {m.records} records, sha256 {m.data_sha256[:12]}…, "
                f"{checked} file(s) checked{extra}",
                highlight=False, soft_wrap=True,
            )
        return drifted

    if guard(body):
        raise typer.Exit(EXIT_DRIFT)


EPILOG = examples(
    'trajkit verify out/datasets/codeact-math/v1',
    'trajkit verify out/datasets/codeact-math/v1 --rebuild --input /data/old/runs/math-a',
)


app.command("verify", cls=OneLineErrors, epilog=EPILOG)(
    model_command(
        VerifyOptions, _verify,
        doc="Check hashes, counts and lineage of a dataset version; exit 1 listing any drift.",
    )
)
