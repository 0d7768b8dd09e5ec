"""The equivalence check itself, run inside a judge worker process (see ``pool.py``).

math-verify's own timeouts use ``signal.alarm``, which only works in the main thread of a
process and fights with asyncio apps, so they are disabled here (``parsing_timeout=None``,
``timeout_seconds=None``) and the worker pool enforces the time limit from outside by
killing the process. Everything that can hang, including ``str()`` of a parsed expression,
therefore happens in this module, never in the caller's process.
"""

from __future__ import annotations

import re
from typing import Any

_LATEX_MARKERS = ("$", "\\(", "\\[", "\\boxed", "\\fbox")
_ANSWER_PREFIX = re.compile(
    r"^\s*(?:so\s*,?\s*)?(?:the\s+)?(?:final\s+)?answer\s*(?:is|:|=)?\s*:?\s*", re.IGNORECASE
)
_INFINITY = re.compile(r"(?<![A-Za-z\\])(?:oo|inf|infinity)(?![A-Za-z])")


def gold_latex(reference: str) -> str:
    """Wrap a bare MATH reference (``\\frac{7}{10}``) so math-verify reads it as LaTeX.

    The box makes math-verify take the whole reference as one answer, which keeps tuples and
    intervals such as ``(2, -1)`` or ``[-2, 4]`` intact.
    """
    return f"$\\boxed{{{reference.strip()}}}$"


def prediction_latex(answer: str) -> str:
    """Rewrite a teacher's plain ``<solution>`` text so math-verify parses all of it.

    Teachers write ``7/10``, ``x = 3``, ``\\dfrac{7}{10}``, ``sqrt(2)/2``, ``(-oo, 3]`` or
    ``The answer is 5``. Unwrapped, math-verify only picks a trailing number out of such text
    (``(1, -2)`` → ``-2``), so text without LaTeX delimiters is put in ``$...$`` after
    removing an "answer is" lead-in and translating the Python spellings ``**`` and ``oo``.
    Text that already has delimiters or a box is left for math-verify to extract.
    """
    text = answer.strip()
    if any(marker in text for marker in _LATEX_MARKERS):
        return text
    text = _ANSWER_PREFIX.sub("", text, count=1).strip()
    text = text.rstrip(".").strip()
    text = text.replace("**", "^")
    text = _INFINITY.sub(r"\\infty", text)
    return f"${text}$"


def _has_math(parsed: list[Any]) -> bool:
    return any(not isinstance(item, str) for item in parsed)


def _show(parsed: list[Any]) -> str:
    """The parsed value as shown in verdict details (first, i.e. the sympy, extraction)."""
    return str(parsed[0]) if parsed else ""


def check_answer(reference: str, answer: str) -> dict[str, Any]:
    """Return ``{"success", "parsed_gold", "parsed_pred"}`` for one answer.

    Runs in a worker process with no timeout of its own; the caller kills it if it hangs.
    """
    from math_verify import parse, verify

    gold = parse(gold_latex(reference), parsing_timeout=None)
    pred = parse(prediction_latex(answer), parsing_timeout=None)
    if not _has_math(pred):
        # Wrapping can hurt prose-heavy answers; let math-verify search the raw text too.
        raw = parse(answer, parsing_timeout=None)
        if _has_math(raw):
            pred = raw
    ok = bool(gold) and bool(pred) and verify(gold, pred, timeout_seconds=None)
    return {"success": bool(ok), "parsed_gold": _show(gold), "parsed_pred": _show(pred)}


def warm_up() -> None:
    """Import math-verify and parse once so the first real check is not slowed by imports
    (which would otherwise count against its timeout)."""
    import logging

    # The "timeout is disabled" warning is expected here: the pool provides the timeout.
    logging.getLogger("math_verify").setLevel(logging.ERROR)
    check_answer("1", "1")
