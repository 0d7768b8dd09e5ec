"""Reading the grader's reply: hostile text in, a clear reading (or the reason there is none) out.

The format (the ``llm`` judge's system prompt asks for it): a free rationale, then, as the
last non-empty line, ``VERDICT: CORRECT`` or ``VERDICT: INCORRECT``, optionally preceded by
one line ``SCORE: x`` with ``0 <= x <= 1``. Case, surrounding whitespace and markdown
emphasis (``**VERDICT:** CORRECT``) are forgiven; anything else is not: no verdict line at
the end, two verdict lines that disagree, a score that is not a number from 0 to 1, or an
empty reply is a reading with a ``problem``, which the judge records as a failed verdict.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass

from trajkit.schemas.text import valid_text

#: Longest rationale kept on the record; the rest is cut, saying how much.
MAX_RATIONALE_CHARS = 4000

_VERDICT = re.compile(r"[\s*_`>#-]*verdict[\s*_`]*:[\s*_`]*(correct|incorrect)[\s*_`.]*", re.I)
_SCORE = re.compile(r"[\s*_`>#-]*score[\s*_`]*:[\s*_`]*(\S+?)[\s*_`]*", re.I)
_MENTION = re.compile(r"verdict[\s*_`]*:[\s*_`]*(correct|incorrect)\b", re.I)


@dataclass(frozen=True)
class GraderReading:
    """What a reply says: ``correct`` (None when unreadable), an optional ``score``, the
    ``rationale`` (bounded), and the ``problem`` that made it unreadable, if any."""

    correct: bool | None
    score: float | None
    rationale: str
    problem: str | None = None


def read_reply(text: str) -> GraderReading:
    """Parse one grader reply (see the module doc); never raises for any text."""
    text = valid_text(text) if isinstance(text, str) else ""
    lines = [line for line in text.splitlines() if line.strip()]
    if not lines:
        return GraderReading(None, None, "", "the grader's reply is empty")
    verdict = _VERDICT.fullmatch(lines[-1])
    if verdict is None:
        return GraderReading(
            None, None, _bounded(text.strip()),
            "the grader's reply does not end with a line VERDICT: CORRECT or VERDICT: INCORRECT",
        )
    correct = verdict[1].lower() == "correct"
    body = lines[:-1]
    score: float | None = None
    if body and _SCORE.fullmatch(body[-1]):
        raw = _SCORE.fullmatch(body[-1])[1]  # type: ignore[index]
        score = _unit_number(raw)
        rationale = _bounded("\n".join(body[:-1]).strip())
        if score is None:
            return GraderReading(
                None, None, rationale, f"the grader's SCORE {raw[:40]!r} is not a number from 0 to 1"
            )
        body = body[:-1]
    rationale = _bounded("\n".join(body).strip())
    others = {m[1].lower() == "correct" for line in body for m in _MENTION.finditer(line)}
    if others - {correct}:
        return GraderReading(None, None, rationale, "the grader's reply gives conflicting verdicts")
    return GraderReading(correct, score, rationale)


def _unit_number(raw: str) -> float | None:
    try:
        value = float(raw)
    except ValueError:
        return None
    return value if math.isfinite(value) and 0.0 <= value <= 1.0 else None


def _bounded(text: str) -> str:
    if len(text) <= MAX_RATIONALE_CHARS:
        return text
    cut = len(text) - MAX_RATIONALE_CHARS
    return f"{text[:MAX_RATIONALE_CHARS]}… [{cut:,} more characters cut]"
