"""``trajkit sandbox env | build | prune``: the sandboxes' Python, the image, leftovers.

``env`` prepares (or shows) the local sandbox's default Python environment, the pinned stack
of ``collect/sandbox/stack.py``; ``build`` makes the docker image with the same stack. A missing
engine, debootstrap, registry or index is one line naming the fix, exit code 2.
"""

from __future__ import annotations

from typing import Annotated

import typer

from trajkit.cli.console import err, guard, say
from trajkit.cli.options import OneLineErrors, QuietGroup
from trajkit.core.errors import ConfigError

app = typer.Typer()
sandbox_app = typer.Typer(
    cls=QuietGroup, no_args_is_help=True,
    help="The sandboxes' Python: prepare the local environment, build the docker image, remove leftover containers.",
)
app.add_typer(sandbox_app, name="sandbox")


def _environment_lines(env: object) -> list[str]:
    from trajkit.dataset.summary import environment_identity, environment_packages
    from trajkit.schemas.manifests import SandboxEnvironment

    assert isinstance(env, SandboxEnvironment)
    stack = f" (stack {env.stack})" if env.stack else " (not trajkit's pinned stack)"
    return [
        f"  Python {env.python} ({env.implementation}, {env.machine}){stack}",
        f"  {environment_packages(env)}",
        f"  {environment_identity(env)}",
    ]


@sandbox_app.command("env", cls=OneLineErrors)
def env_cmd(
    python: Annotated[str | None, typer.Option("--python", help="Base interpreter for the default environment (default: the one trajkit runs on).")] = None,
    show: Annotated[str | None, typer.Option("--show", metavar="PATH", help="Describe this interpreter or venv instead (what --sandbox-opt python=PATH would run).")] = None,
    force: Annotated[bool, typer.Option("--force", help="Prepare it again even if it exists.")] = False,
    json_: Annotated[bool, typer.Option("--json", help="Print the environment as JSON.")] = False,
) -> None:
    """Prepare the local sandbox's Python environment (once; a no-op when it exists) and show it.

    The default holds the pinned stack the docker image holds too (numpy, sympy, pandas, scipy,
    matplotlib, networkx, statsmodels); `trajkit collect` prepares it on first use as well.
    """
    import json

    from trajkit.collect.sandbox.cgroup import cgroup_scope, per_sandbox_limits
    from trajkit.collect.sandbox.python_env import forget, prepare, sandbox_python

    def body() -> None:
        if show is not None:
            if python or force:
                raise ConfigError("--show: not with --python or --force")
            resolved = sandbox_python(show)
            where = resolved.executable
        else:
            directory = prepare(python, force=force, log=lambda line: say(line, console=err))
            forget()
            resolved = sandbox_python(None if python is None else str(directory))
            where = str(directory)
        env = resolved.describe("local").model_copy(update={"per_sandbox_limits": per_sandbox_limits()})
        scope = cgroup_scope()
        if json_:
            bounds = {"memory": scope.memory, "cpu": scope.cpu, "detail": scope.detail}
            say(json.dumps({"path": where, **env.model_dump(mode="json"), "cgroup": bounds}, indent=2))
            return
        say(f"sandbox python: {where}")
        for line in _environment_lines(env):
            say(line)
        say(f"  memory_mb bounds {'the whole sandbox' if scope.memory else 'each process (RLIMIT_AS; SECURITY.md)'}")
        say(f"  cpus bounds {'the whole sandbox' if scope.cpu else 'docker sandboxes only'}")
        say(f"  cgroups: {scope.detail}")
        if python is not None and show is None:
            say(f"use it with: --sandbox-opt python={where}")

    guard(body)


@sandbox_app.command("build", cls=OneLineErrors)
def build_cmd(
    from_rootfs: Annotated[bool, typer.Option("--from-rootfs", help="No registry: make the base with debootstrap (Debian bookworm, needs root).")] = False,
    base: Annotated[str | None, typer.Option(help="Base image with python3 (default python:3.X-slim, 3.X the Python trajkit runs on).")] = None,
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
        if result.environment is not None:
            for line in _environment_lines(result.environment):
                say(line)

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
