"""``trajkit plugins [KIND]``: every registered source, teacher provider, filter, sandbox
backend and executor, the package that registered it, its options and capabilities."""

from __future__ import annotations

import json
from typing import Annotated, Any

import typer

from trajkit.cli.console import guard, say
from trajkit.cli.options import OneLineErrors, examples
from trajkit.core.registry import KINDS

app = typer.Typer()


def _value(value: Any) -> str:
    return value if isinstance(value, str) and value.startswith("<") else json.dumps(value, default=str)


@app.command("plugins", cls=OneLineErrors, epilog=examples(
    'trajkit plugins',
    'trajkit plugins source --json',
))
def plugins_cmd(
    kind: Annotated[str | None, typer.Argument(help="source, teacher, filter, sandbox, executor, judge or action_format (default: all).")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Machine-readable output.")] = False,
) -> None:
    """List what is registered (built-ins and other packages' entry points) and each one's options."""
    from trajkit.api.plugins import plugins

    def body() -> None:
        found = plugins(kind)
        if as_json:
            rows = [
                {**info.__dict__, "options": {k: _value(v) for k, v in info.options.items()}}
                for info in found
            ]
            print(json.dumps(rows, indent=2, sort_keys=True))
            return
        current = None
        for info in found:
            if info.kind != current:
                current = info.kind
                say(f"{'' if current == found[0].kind else chr(10)}{KINDS[current].noun}s:")
            say(f"  {info.name} ({info.package})  {info.summary if info.status == 'ok' else info.status + ': ' + info.detail}")
            if info.options:
                say("      options: " + ", ".join(f"{k}={_value(v)}" for k, v in info.options.items()))
            if info.capabilities:
                say("      declares: " + ", ".join(info.capabilities))
            for other in info.shadowed:
                say(f"      hides the same name from {other}")

    guard(body)
