"""``trajkit plugins [KIND]``: every registered source, teacher provider, filter, sandbox
backend and executor, the package that registered it, its options and capabilities."""

from __future__ import annotations

import json
from typing import Annotated, Any

import typer
from rich.markup import escape
from rich.table import Table

from trajkit.cli.console import guard, out

app = typer.Typer()


def _value(value: Any) -> str:
    return "required" if value is None else json.dumps(value, default=str)


@app.command("plugins")
def plugins_cmd(
    kind: Annotated[str | None, typer.Argument(help="source, teacher, filter, sandbox or executor (default: all).")] = None,
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
        table = Table("kind", "name", "package", "options / capabilities", "about")
        for info in found:
            options = ", ".join(f"{k}={_value(v)}" for k, v in info.options.items())
            caps = ", ".join(info.capabilities)
            about = info.summary if info.status == "ok" else f"[red]{info.status}[/]: {escape(info.detail)}"
            if info.shadowed:
                about += f" (hides {', '.join(info.shadowed)})"
            detail = "; ".join(part for part in (options, caps) if part)
            table.add_row(info.kind, info.name, info.package, escape(detail), about)
        out.print(table)

    guard(body)
