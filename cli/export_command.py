"""``trajkit export``: a dataset version as a fine-tuning file or a Hugging Face dataset folder."""

from __future__ import annotations

from typing import Any

import typer

from trajkit.cli.console import guard, say
from trajkit.cli.options import OneLineErrors, examples, model_command
from trajkit.dataset.options import ExportOptions

app = typer.Typer()


def _export(ctx: typer.Context, values: dict[str, Any], extras: dict[str, Any]) -> None:
    from trajkit.api.datasets import export

    def body() -> None:
        result = export(values.pop("path"), **values)
        m = result.manifest
        skipped = ""
        if result.skipped:
            reasons = ", ".join(f"{k} {n}" for k, n in result.skipped.items())
            skipped = f"; skipped {sum(result.skipped.values())} record(s) ({reasons})"
        shards = sum(f.endswith(".parquet") for f in result.files)
        what = f"{shards} Parquet shard(s) + README.md" if result.format == "hf" else result.format
        shown = ""
        if result.demonstrations:
            how = "kept in" if result.keep_demonstration else "cut from"
            shown = f"; the in-context demonstration {how} {result.demonstrations} system prompt(s)"
        say(f"wrote {result.path}: {result.rows} rows of {m.name} v{m.version} ({what}){skipped}{shown}")

    guard(body)


EPILOG = examples(
    'trajkit export out/datasets/codeact-math/v1 --format openai --to train.jsonl --mask-failed',
    'trajkit export out/datasets/codeact-math --format hf --to hf-export --license apache-2.0',
)


app.command("export", cls=OneLineErrors, epilog=EPILOG)(
    model_command(
        ExportOptions, _export,
        doc="Write a dataset version as a fine-tuning file or a Hugging Face dataset folder.",
    )
)
