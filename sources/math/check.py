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

from trajkit.sources.math.boxed import last_boxed, whole_box
from trajkit.sources.math.forms import normalise_answer, python_to_latex, strip_money

_LATEX_MARKERS = ("$", "\\(", "\\[", "\\boxed", "\\fbox")
_DELIMITERS = (("$$", "$$"), ("$", "$"), ("\\(", "\\)"), ("\\[", "\\]"))
_ANSWER_PREFIX = re.compile(
    r"^\s*(?:so\s*,?\s*)?(?:the\s+)?(?:final\s+)?answer\s*(?:is|:|=)?\s*:?\s*", re.IGNORECASE
)


def _unwrap(text: str) -> str | None:
    """``text`` without one outer math delimiter pair or box, ``None`` if it has neither."""
    for opening, closing in _DELIMITERS:
        if (
            len(text) > len(opening) + len(closing)
            and text.startswith(opening)
            and text.endswith(closing)
        ):
            inner = text[len(opening) : -len(closing)]
            if opening not in inner and closing not in inner:
                return inner
    return whole_box(text)


def answer_core(answer: str) -> str | None:
    """The answer itself, out of an "answer is" lead-in, ``$...$``/``\\(...\\)`` delimiters,
    its box and a final full stop, so bare and boxed answers read the same.

    Text with several boxes, or prose around a box, answers with its last box, as MATH's
    grader reads a model's output (``\\boxed{1}. Wait, actually \\boxed{2}`` is 2; two
    answers boxed apart are not read as a set). ``None`` when math markup remains outside
    any box (prose with formulas in it): that text is left for math-verify's extraction.
    """
    text = _ANSWER_PREFIX.sub("", strip_money(answer).strip(), count=1)
    for _ in range(4):  # e.g. ``$\\boxed{5}$.``: full stop, delimiters, box
        text = text.strip().rstrip(".").strip()
        inner = _unwrap(text)
        if inner is None:
            if any(box in text for box in ("\\boxed", "\\fbox")):
                inner = last_boxed(text)
            if inner is None:
                break
        text = inner
    if not text or any(marker in text for marker in _LATEX_MARKERS):
        return None
    return text


def gold_latex(reference: str, percent_question: bool = True) -> str:
    """Normalise a MATH reference (``\\$18.90``, ``10,\\!000``) and box it for math-verify.

    The box makes math-verify take the whole reference as one answer, which keeps tuples and
    intervals such as ``(2, -1)`` or ``[-2, 4]`` intact.
    """
    core = answer_core(reference) or reference.strip()
    return f"$\\boxed{{{normalise_answer(core, percent_question=percent_question)}}}$"


def prediction_latex(answer: str, percent_question: bool = True) -> str:
    """Rewrite a teacher's ``<solution>`` text so math-verify parses all of it as one answer.

    Teachers write ``7/10``, ``x = 3``, ``\\$18.90``, ``\\boxed{30^\\circ}``, ``(-oo, 3]`` or
    ``The answer is 5``. Unwrapped, math-verify only picks a trailing number out of such text
    (``(1, -2)`` → ``-2``) and takes ``\\$`` for a math delimiter, so the answer is taken out
    of its lead-in, delimiters and box, Python spellings are translated, MATH's typography is
    normalised as for the reference (``forms.py``), and the result is put in ``$...$``. Prose
    that still holds formulas is left for math-verify to extract.
    """
    core = answer_core(answer)
    if core is None:
        return strip_money(answer).strip()
    core = python_to_latex(core)
    return f"${normalise_answer(core, percent_question=percent_question)}$"


def _has_math(parsed: list[Any]) -> bool:
    return any(not isinstance(item, str) for item in parsed)


def _show(parsed: list[Any]) -> str:
    """The parsed value as shown in verdict details (first, i.e. the sympy, extraction)."""
    return str(parsed[0]) if parsed else ""


def check_answer(reference: str, answer: str, percent_question: bool = True) -> dict[str, Any]:
    """Return ``{"success", "parsed_gold", "parsed_pred"}`` for one answer.

    ``percent_question`` (see ``forms.is_percent_question``) decides whether ``7\\%`` reads
    as 7 (the question asks for a percentage) or as 7/100. Runs in a worker process with no
    timeout of its own; the caller kills it if it hangs.
    """
    from math_verify import parse, verify

    gold = parse(gold_latex(reference, percent_question), parsing_timeout=None)
    pred = parse(prediction_latex(answer, percent_question), parsing_timeout=None)
    if not _has_math(pred):
        # Wrapping can hurt prose-heavy answers; let math-verify search the raw text too.
        raw = parse(strip_money(answer), parsing_timeout=None)
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
