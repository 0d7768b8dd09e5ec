"""Turning one assistant turn into an ``Action``: code to run, an answer to judge, or neither.

The teacher is asked to stop right after ``</execute>`` or ``</solution>``; providers cut the
stop sequence and teachers restore it, but a truncated turn (length limit, provider quirk) may
still lack the closing tag, so an unclosed block runs to the end of the text. A turn is kept
only up to its first complete action (``through_first_action``), as the stop sequence would
have cut it; within what is kept, a solution wins over code (a ``<solution>`` wrapped around an
``<execute>``): the answer is what the teacher committed to.
"""

from __future__ import annotations

import re
import string
import textwrap

from trajkit.schemas import Action, ActionKind

EXECUTE_OPEN, EXECUTE_CLOSE = "<execute>", "</execute>"
SOLUTION_OPEN, SOLUTION_CLOSE = "<solution>", "</solution>"

#: Passed to ``Teacher.complete`` so each turn ends right after its action.
STOP_SEQUENCES: list[str] = [EXECUTE_CLOSE, SOLUTION_CLOSE]

#: ``Action.content`` of an INVALID action: why the turn could not be used.
REASON_NO_TAG = "no <execute> or <solution> block"
REASON_EMPTY_EXECUTE = "empty <execute> block"
REASON_EMPTY_SOLUTION = "empty <solution> block"

_FENCE = re.compile(r"\A```[A-Za-z0-9_+-]*[ \t]*\n(?P<body>.*?)\n?```\Z", re.DOTALL)


#: Tags match case-insensitively, folding ASCII letters only: ``str.lower`` would change the
#: length of some text (``"İ".lower()`` is two characters) and with it every position after.
_ASCII_LOWER = str.maketrans(string.ascii_uppercase, string.ascii_lowercase)

Span = tuple[int, int, int, int]


def block_span(text: str, open_tag: str, close_tag: str) -> Span | None:
    """``(open_start, inner_start, inner_end, close_end)`` of the first ``open_tag`` block, up to
    the first ``close_tag`` after it (or the end of the text when unclosed); None if absent."""
    folded = text.translate(_ASCII_LOWER)
    start = folded.find(open_tag)
    if start < 0:
        return None
    inner = start + len(open_tag)
    end = folded.find(close_tag, inner)
    if end < 0:
        return start, inner, len(text), len(text)
    return start, inner, end, end + len(close_tag)


def action_span(text: str) -> Span | None:
    """The span of the block :func:`parse_action` reads: the solution, else the execute block."""
    for open_tag, close_tag in ((SOLUTION_OPEN, SOLUTION_CLOSE), (EXECUTE_OPEN, EXECUTE_CLOSE)):
        span = block_span(text, open_tag, close_tag)
        if span is not None:
            return span
    return None


def _block(text: str, open_tag: str, close_tag: str) -> str | None:
    """The text inside the first ``open_tag`` block (to the end if unclosed), or None."""
    span = block_span(text, open_tag, close_tag)
    return None if span is None else text[span[1] : span[2]]


def clean_code(code: str) -> str:
    """Strip blank edges, a Markdown fence wrapped around the whole block, and common indent.

    Teachers often write ``<execute>```python ...```</execute>`` or indent the block; both
    would otherwise be a syntax error that says nothing about the teacher's reasoning.
    """
    code = code.strip("\n").rstrip()
    fenced = _FENCE.match(code.strip())
    if fenced:
        code = fenced.group("body")
    code = textwrap.dedent(code).strip("\n").rstrip()
    # ``<execute> x = 1\ny = 2`` leaves the first line indented alone: always a syntax error.
    first, sep, rest = code.partition("\n")
    return first.lstrip() + sep + rest


def parse_action(text: str) -> Action:
    """Classify one assistant turn; tags are matched case-insensitively.

    Solution wins over execute; an empty block of either kind is INVALID (judging an empty
    answer would burn a proposal, running empty code a sandbox round trip), and so is a turn
    with neither tag. INVALID actions carry the reason as their content.
    """
    answer = _block(text, SOLUTION_OPEN, SOLUTION_CLOSE)
    if answer is not None:
        answer = answer.strip()
        if answer:
            return Action(kind=ActionKind.SOLUTION, content=answer)
        return Action(kind=ActionKind.INVALID, content=REASON_EMPTY_SOLUTION)
    code = _block(text, EXECUTE_OPEN, EXECUTE_CLOSE)
    if code is not None:
        code = clean_code(code)
        if code.strip():
            return Action(kind=ActionKind.EXECUTE, content=code)
        return Action(kind=ActionKind.INVALID, content=REASON_EMPTY_EXECUTE)
    return Action(kind=ActionKind.INVALID, content=REASON_NO_TAG)


def through_first_action(text: str) -> tuple[str, int]:
    """``(text up to the end of its first complete action, characters after it)``.

    A teacher is asked to stop at ``</execute>`` or ``</solution>``; a server that ignores stop
    sequences (or a recording made without them) writes on, and only one action per turn is
    acted on. Cutting where the stop sequence would have leaves the stored turn exactly what
    the teacher said up to the action that ran. An unclosed block, or none, is left whole.
    """
    ends = [
        span[3]
        for span in (block_span(text, EXECUTE_OPEN, EXECUTE_CLOSE),
                     block_span(text, SOLUTION_OPEN, SOLUTION_CLOSE))
        if span is not None and span[2] < len(text)  # closed
    ]
    if not ends or min(ends) >= len(text):
        return text, 0
    end = min(ends)
    return text[:end], len(text) - end
