"""``trajkit sandbox build | prune``: the docker sandbox's image and its leftovers.

Registered onto the main app by :func:`register` (``cli/app.py`` calls it) and sharing its
conventions through ``app._guard``: a missing engine, debootstrap or registry is one line
naming the fix, exit code 2. ``--sandbox-opt`` parsing for ``collect`` lives here too, so
the collect command gains docker settings without growing a flag per limit.
"""

from __future__ import annotations

from types import ModuleType
from typing import Annotated, Any

import typer

sandbox_app = typer.Typer(
    no_args_is_help=True, help="The docker sandbox: build its image, remove leftover containers."
)


def _ui() -> ModuleType:
    """``trajkit.cli.app`` (for ``_guard``, ``out``, ``err``), imported late: it imports us."""
    from trajkit.cli import app as cli_app

    return cli_app


@sandbox_app.command("build")
def build_cmd(
    from_rootfs: Annotated[bool, typer.Option("--from-rootfs", help="No registry: make the base with debootstrap (Debian bookworm, needs root).")] = False,
    base: Annotated[str | None, typer.Option(help="Base image with python3 (default python:3.12-slim).")] = None,
    tag: Annotated[str, typer.Option(help="Image tag the docker sandbox runs (--sandbox-opt image=...).")] = "trajkit-sandbox:latest",
    mirror: Annotated[str, typer.Option(help="Debian mirror for --from-rootfs.")] = "http://deb.debian.org/debian",
    force: Annotated[bool, typer.Option("--force", help="Rebuild even if an identical image exists.")] = False,
) -> None:
    """Build the sandbox image (skipped when one with the same content exists)."""
    from trajkit.collect.sandbox.docker_image import build_image

    ui = _ui()

    def body() -> None:
        result = build_image(
            tag=tag, base=base, from_rootfs=from_rootfs, mirror=mirror, force=force,
            log=lambda line: ui.err.print(line, highlight=False),
        )
        state = "up to date" if result.cached else "built"
        ui.out.print(f"{result.tag}: {state} ({result.image_id[7:19]}, base {result.base})",
                     highlight=False)

    ui._guard(body)


@sandbox_app.command("prune")
def prune_cmd(
    run: Annotated[str | None, typer.Option(help="Only containers of this run.")] = None,
    all_: Annotated[bool, typer.Option("--all", help="Also containers of collectors still running.")] = False,
) -> None:
    """Remove sandbox containers left behind by a collector that crashed or was killed."""
    from trajkit.collect.sandbox.docker_engine import prune

    ui = _ui()

    def body() -> None:
        removed = prune(run=run, everything=all_)
        ui.out.print(f"removed {len(removed)} sandbox container(s)")

    ui._guard(body)


def sandbox_options(pairs: list[str], **base: Any) -> Any:
    """``SandboxConfig`` from ``--sandbox-opt KEY=VALUE`` pairs on top of ``base`` fields."""
    from pydantic import ValidationError

    from trajkit.collect.sandbox.config import SandboxConfig
    from trajkit.schemas.errors import ConfigError

    fields = dict(base)
    for pair in pairs:
        key, sep, value = pair.partition("=")
        key = key.strip().replace("-", "_")
        if not sep or not key:
            raise ConfigError(f"--sandbox-opt {pair!r}: expected KEY=VALUE")
        if key not in SandboxConfig.model_fields or key in {"isolation", "extra_binds", "label"}:
            known = sorted(set(SandboxConfig.model_fields) - {"isolation", "extra_binds", "label"})
            raise ConfigError(f"--sandbox-opt {key}: unknown (known: {', '.join(known)})")
        fields[key] = value.strip()
    try:
        return SandboxConfig(**fields)
    except ValidationError as exc:
        first = exc.errors()[0]
        name = first["loc"][-1] if first["loc"] else "?"
        raise ConfigError(f"--sandbox-opt {name}: {first['msg']}") from None


def register(app: typer.Typer) -> None:
    """Add the ``sandbox`` command group to the main ``trajkit`` app."""
    app.add_typer(sandbox_app, name="sandbox")
