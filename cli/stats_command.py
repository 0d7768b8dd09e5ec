"""``trajkit stats``: counts, success and self-correction rates, turns and tokens."""

from __future__ import annotations

import json
from typing import Any

import typer

from trajkit.cli.console import guard, out
from trajkit.cli.options import OneLineErrors, examples, model_command
from trajkit.dataset.options import StatsOptions

app = typer.Typer()


def _stats(ctx: typer.Context, values: dict[str, Any], extras: dict[str, Any]) -> None:
    from trajkit.api.datasets import stats
    from trajkit.dataset.stats import render_stats, stats_as_dict

    def body() -> None:
        result = stats(values["path"])
        if values.get("as_json"):
            print(json.dumps(stats_as_dict(result), indent=2, sort_keys=True))
        else:
            render_stats(result, out)

    guard(body)


EPILOG = examples(
    'trajkit stats out/datasets/codeact-math/v1',
    'trajkit stats out/runs/math-a --json',
)


app.command("stats", cls=OneLineErrors, epilog=EPILOG)(
    model_command(StatsOptions, _stats, doc="Counts, success and self-correction rates, turns and tokens.")
)
