"""What every command shares: the two consoles and the one place errors become exit codes.

A command's body runs inside :func:`guard`: a ``UserError`` is printed as one line and exits
with its ``exit_code`` (2, or 4 for an unavailable teacher); Ctrl-C exits 130 saying the work
is saved. Nothing else is caught, so a bug still shows its traceback.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

import typer
from rich.console import Console
from rich.markup import escape

from trajkit.collect.outcome import EXIT_INTERRUPTED
from trajkit.core.errors import UserError

err = Console(stderr=True)
out = Console()

T = TypeVar("T")


class Stop(typer.Exit):
    """``typer.Exit`` that remembers the one-line reason (for ``--summary-json``)."""

    def __init__(self, code: int, reason: str | None = None) -> None:
        super().__init__(code)
        self.reason = reason


#: What Ctrl-C means for a command that collects (``collect``, ``run``, ``demo``).
RESUMABLE = "interrupted: finished trajectories are saved; re-run the same command to resume"
#: ...and for every other command: each writes into place atomically, or not at all.
INTERRUPTED = "interrupted: nothing half-written is left; re-run the same command"


def guard(fn: Callable[[], T], interrupted: str = INTERRUPTED) -> T:
    """Run a command body, turning user errors into one line + their exit code, Ctrl-C into
    130 with ``interrupted`` said."""
    try:
        return fn()
    except UserError as exc:
        say_error(str(exc))
        raise Stop(exc.exit_code, str(exc)) from None
    except KeyboardInterrupt:
        err.print(interrupted, highlight=False, markup=False)
        raise Stop(EXIT_INTERRUPTED, "interrupted") from None


def say_error(message: str) -> None:
    err.print(f"[bold red]error:[/] {escape(message)}", highlight=False, soft_wrap=True)


def say(message: str, *, console: Console = out) -> None:
    """One plain line (no markup, no highlighting, never wrapped mid-path)."""
    console.print(message, highlight=False, soft_wrap=True, markup=False)


def path_text(path: Path) -> str:
    return escape(str(path))
