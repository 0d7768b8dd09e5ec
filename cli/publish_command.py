"""``trajkit publish``: upload a version's hf export as one commit tagged ``vN``."""

from __future__ import annotations

from typing import Any

import typer

from trajkit.cli.console import guard, say
from trajkit.cli.options import OneLineErrors, examples, model_command
from trajkit.dataset.options import PublishOptions

app = typer.Typer()


def _publish(ctx: typer.Context, values: dict[str, Any], extras: dict[str, Any]) -> None:
    from trajkit.api.datasets import publish

    def body() -> None:
        result = publish(values.pop("path"), **values)
        m = result.manifest
        where = f"{result.repo_id}@{result.tag}"
        if result.dry_run:
            say(f"dry run: would publish {m.name} v{m.version} to {where} (commit {result.commit_message!r}):")
            for f in result.files:
                say(f"  {f.path}  {f.size:,} bytes  sha256 {f.sha256[:12]}…")
        elif result.already:
            say(f"{where} already holds {m.name} v{m.version} (commit {result.commit}); nothing uploaded")
        else:
            how = "committed" if result.committed else "main already held these files; tagged"
            deleted = f", removed {len(result.deleted)} stale shard(s)" if result.deleted else ""
            say(f"published {m.name} v{m.version} to {where}: {len(result.files)} file(s) {how} "
                f"(commit {result.commit}){deleted}")

    guard(body)


EPILOG = examples(
    'trajkit publish out/datasets/codeact-math/v1 --repo-id my-org/codeact-math --dry-run',
    'HF_TOKEN=... trajkit publish out/datasets/codeact-math/v1 --repo-id my-org/codeact-math --private',
)


app.command("publish", cls=OneLineErrors, epilog=EPILOG)(
    model_command(
        PublishOptions, _publish,
        doc="Upload the hf export as one commit tagged vN (token: HF_TOKEN; endpoint: HF_ENDPOINT).",
    )
)
