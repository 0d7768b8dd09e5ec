"""``trajkit sandbox build | prune``: the docker sandbox's image and its leftovers.

A missing engine, debootstrap or registry is one line naming the fix, exit code 2.
"""

from __future__ import annotations

from typing import Annotated

import typer

from trajkit.cli.console import err, guard, say
from trajkit.cli.options import OneLineErrors, QuietGroup

app = typer.Typer()
sandbox_app = typer.Typer(
    cls=QuietGroup, no_args_is_help=True, help="The docker sandbox: build its image, remove leftover containers."
)
app.add_typer(sandbox_app, name="sandbox")


@sandbox_app.command("build", cls=OneLineErrors)
def build_cmd(
    from_rootfs: Annotated[bool, typer.Option("--from-rootfs", help="No registry: make the base with debootstrap (Debian bookworm, needs root).")] = False,
    base: Annotated[str | None, typer.Option(help="Base image with python3 (default python:3.12-slim).")] = None,
    tag: Annotated[str, typer.Option(help="Image tag the docker sandbox runs (--sandbox-opt image=...).")] = "trajkit-sandbox:latest",
    mirror: Annotated[str, typer.Option(help="Debian mirror for --from-rootfs.")] = "http://deb.debian.org/debian",
    force: Annotated[bool, typer.Option("--force", help="Rebuild even if an identical image exists.")] = False,
) -> None:
    """Build the sandbox image (skipped when one with the same content exists)."""
    from trajkit.collect.sandbox.docker_image import build_image

    def body() -> None:
        result = build_image(
            tag=tag, base=base, from_rootfs=from_rootfs, mirror=mirror, force=force,
            log=lambda line: say(line, console=err),
        )
        state = "up to date" if result.cached else "built"
        say(f"{result.tag}: {state} ({result.image_id[7:19]}, base {result.base})")

    guard(body)


@sandbox_app.command("prune", cls=OneLineErrors)
def prune_cmd(
    run: Annotated[str | None, typer.Option(help="Only containers of this run.")] = None,
    all_: Annotated[bool, typer.Option("--all", help="Also containers of collectors still running.")] = False,
) -> None:
    """Remove sandbox containers left behind by a collector that crashed or was killed."""
    from trajkit.collect.sandbox.docker_engine import prune

    def body() -> None:
        removed = prune(run=run, everything=all_)
        say(f"removed {len(removed)} sandbox container(s)")

    guard(body)
