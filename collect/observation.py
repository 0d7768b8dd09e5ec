"""Turning a sandbox cell result into the bounded text the teacher is shown.

Output is capped because every observation is resent with every later turn: one runaway
``print`` would otherwise blow the context window (and the token bill) of the whole episode.
Both ends are kept, since the head shows what the code started doing and the tail holds the
traceback or the final value; a marker in the middle says how much was cut.

What comes back is also made valid Unicode here (``valid_text``): the observation is resent to
the teacher and written to the record, and a lone surrogate would fail both encodes.
"""

from __future__ import annotations

from trajkit.core.sandbox import CellResult
from trajkit.schemas import ErrorInfo, Observation
from trajkit.schemas.text import valid_text

DEFAULT_OBSERVATION_CHARS = 2000

#: Shown instead of an empty string, so the teacher knows the code ran and printed nothing.
NO_OUTPUT = "[Executed successfully with no output]"

#: Put before the output when the worker was killed or crashed and came back empty.
RESTARTED = (
    "[The Python interpreter was restarted: all variables, functions and imports defined "
    "so far are lost and must be defined again.]"
)


def truncation_marker(cut: int) -> str:
    """The line that replaces ``cut`` characters in the middle of a long output."""
    return f"\n[... {cut} characters truncated ...]\n"


def bound_text(text: str, limit: int = DEFAULT_OBSERVATION_CHARS) -> tuple[str, int]:
    """Return ``(text, cut)`` with the result at most ``limit`` characters, marker included.

    Keeps the first and last parts of ``text``; ``cut`` is how many characters were dropped.
    """
    n = len(text)
    if n <= limit:
        return text, 0
    # The marker for the real cut is never longer than one sized for ``n``.
    keep = limit - len(truncation_marker(n))
    if keep < 2:  # absurdly small limit: no room for a marker, just the head
        return text[: max(limit, 0)], n - max(limit, 0)
    head = (keep + 1) // 2
    tail = keep - head
    cut = n - head - tail
    return text[:head] + truncation_marker(cut) + text[n - tail :], cut


def _error_line(result: CellResult) -> str:
    """A one-line description of the error when the worker sent no text for it."""
    err = result.error
    if err is None:
        return ""
    return f"{err.type}: {err.message}" if err.message else err.type


def _valid_error(error: ErrorInfo | None) -> ErrorInfo | None:
    """The cell's error with its type and message as valid text (the same object if they are)."""
    if error is None:
        return None
    kind, message = valid_text(error.type), valid_text(error.message)
    if kind is error.type and message is error.message:
        return error
    return error.model_copy(update={"type": kind, "message": message})


def cell_observation(result: CellResult, limit: int = DEFAULT_OBSERVATION_CHARS) -> Observation:
    """Build the recorded ``Observation`` for one executed cell.

    ``text`` is what follows ``Observation:`` in the user message (without the budget line);
    ``truncated_chars`` adds the worker's own cap to what was cut here.
    """
    output = result.output
    if not output.strip():
        output = _error_line(result) or (NO_OUTPUT if not result.restarted else "")
    bounded, cut = bound_text(valid_text(output), limit)
    if result.restarted:
        bounded = f"{RESTARTED}\n{bounded}" if bounded else RESTARTED
    return Observation(
        text=bounded,
        error=_valid_error(result.error),
        duration_s=result.duration_s,
        truncated_chars=result.truncated_chars + cut,
    )
