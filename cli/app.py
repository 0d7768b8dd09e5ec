"""``trajkit``: the command line, composed of one small Typer per command.

Each command module owns its ``typer.Typer()`` and imports only downwards (console, options,
the Python API); this module only composes them, so no command imports the app back. Errors
users cause become one line and their exit code in ``console.guard``.
"""

from __future__ import annotations

import sys

import typer

from trajkit.cli import (
    collect_command,
    compare_command,
    demo_command,
    export_command,
    filter_command,
    plugins_command,
    publish_command,
    run_command,
    sandbox_commands,
    schema_command,
    show_command,
    stats_command,
    verify_command,
    view_command,
)
from trajkit.cli.options import QuietGroup
from trajkit.collect.stop_signal import sigterm_interrupts

app = typer.Typer(
    cls=QuietGroup,
    add_completion=False,
    no_args_is_help=True,
    help="Build CodeAct agent-training datasets from benchmark tasks and teacher LLMs.",
)
for command in (
    collect_command, filter_command, stats_command, schema_command, demo_command,
    verify_command, export_command, publish_command, show_command, view_command,
    run_command, sandbox_commands, plugins_command, compare_command,
):
    app.add_typer(command.app)


def main() -> None:
    """Console-script entry point. SIGTERM (``timeout``, ``docker stop``, a scheduler) stops a
    command as Ctrl-C does, so it cleans up (a publish its scratch export, a filter its
    scratch version) instead of dying at once; a collection stops gracefully
    (``collect.stop_signal``)."""
    try:
        with sigterm_interrupts():
            app()
    except BrokenPipeError:  # e.g. `trajkit schema | head`
        sys.exit(0)
