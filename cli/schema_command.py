"""``trajkit schema``: the JSON Schema of every record trajkit writes."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from trajkit.cli.console import guard, say
from trajkit.cli.options import OneLineErrors
from trajkit.core.errors import ConfigError, StorageError
from trajkit.core.options import output_dir

app = typer.Typer()


@app.command("schema", cls=OneLineErrors)
def schema(
    name: Annotated[str | None, typer.Argument(help="One model (e.g. Trajectory); default all.")] = None,
    out_dir: Annotated[Path | None, typer.Option("--out", help="Write NAME.schema.json files here.")] = None,
) -> None:
    """Print (or write) the JSON Schema of every record trajkit produces."""
    from trajkit.schemas.json_schema import all_schemas

    def body() -> None:
        schemas = all_schemas()
        if name is not None:
            if name not in schemas:
                raise ConfigError(f"schema {name!r} unknown (known: {', '.join(schemas)})")
            schemas = {name: schemas[name]}
        if out_dir is None:
            print(json.dumps(schemas if name is None else schemas[name], indent=2))
            return
        try:
            output_dir(out_dir)
            out_dir.mkdir(parents=True, exist_ok=True)
            for key, value in schemas.items():
                (out_dir / f"{key}.schema.json").write_text(json.dumps(value, indent=2) + "\n")
        except ValueError as exc:
            raise ConfigError(f"--out: {exc}") from None
        except OSError as exc:
            raise StorageError(f"--out {out_dir}: cannot write ({exc.strerror or exc})") from None
        say(f"wrote {len(schemas)} schema(s) to {out_dir}")

    guard(body)
