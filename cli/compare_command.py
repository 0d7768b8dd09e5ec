"""``trajkit compare``: the CodeAct paper's comparison table for the user's own runs."""

from __future__ import annotations

import json
from typing import Any

import typer

from trajkit.cli.console import guard, out
from trajkit.cli.options import OneLineErrors, examples, model_command
from trajkit.dataset.compare_options import CompareOptions

app = typer.Typer()


def _compare(ctx: typer.Context, values: dict[str, Any], extras: dict[str, Any]) -> None:
    from trajkit.api.comparing import compare
    from trajkit.dataset.compare import comparison_markdown, render_comparison

    def body() -> None:
        result = compare(values.get("inputs", []), as_json=values.get("as_json", False),
                         markdown=values.get("markdown", False))
        if values.get("as_json"):
            print(json.dumps(result.as_dict(), indent=2, sort_keys=True))
        elif values.get("markdown"):
            print(comparison_markdown(result), end="")
        else:
            render_comparison(result, out)

    guard(body)


EPILOG = examples(
    "trajkit compare out/runs/math-code out/runs/math-json out/runs/math-text",
    "trajkit compare out/runs/a out/runs/b --markdown > comparison.md",
)


app.command("compare", cls=OneLineErrors, epilog=EPILOG)(
    model_command(
        CompareOptions, _compare,
        doc="Success rate with 95% CI, turns, tokens and cost per success, flipped tasks: runs side by side.",
    )
)
