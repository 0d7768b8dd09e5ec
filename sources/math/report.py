"""How a MATH verdict reads: what math-verify made of each side, and whether they agreed.

The judge compares values, not strings (``\\frac{7}{10}``, ``7/10`` and ``0.7`` agree), so the
line a reader needs is the two parsed values and the relation between them; the reference as
MATH wrote it (a ``\\boxed{}`` expression) goes beside it for checking the parse.
"""

from __future__ import annotations

from typing import Any

from trajkit.schemas import Task, Verdict
from trajkit.sources.reading import ReferenceView, clip


def _text(value: Any) -> str:
    return clip(value, 80, 1) if isinstance(value, str) and value.strip() else ""


class MathReport:
    """The MATH source's reading of its verdicts (``sources.base`` capability list)."""

    @staticmethod
    def verdict_summary(task: Task, verdict: Verdict) -> str:
        """``math-verify: 225/2 ≡ 112.5`` (answer, then reference), ``≢`` when they differ,
        or the judge's error (``empty answer``, ``timeout``)."""
        details = verdict.details
        error = details.get("error")
        if isinstance(error, str) and error:
            return f"math-verify: {clip(error, 120, 1)}"
        pred, gold = _text(details.get("parsed_pred")), _text(details.get("parsed_gold"))
        relation = "≡" if verdict.success else "≢"
        if pred or gold:
            return f"math-verify: {pred or '(nothing parsed)'} {relation} {gold or '?'}"
        return "math-verify: equivalent" if verdict.success else "math-verify: not equivalent"

    @staticmethod
    def reference_view(task: Task, verdict: Verdict) -> ReferenceView:
        """The reference as written, both parsed values, and the problem's level and type."""
        details = verdict.details
        fields = [("reference", clip(task.reference if task.reference is not None else ""))]
        for label, key in (("reference read as", "parsed_gold"), ("answer read as", "parsed_pred")):
            if _text(details.get(key)):
                fields.append((label, clip(details[key])))
        level, kind = task.metadata.get("level"), task.metadata.get("type")
        where = [f"level {level}"] if level not in (None, "") else []
        where += [str(kind)] if kind not in (None, "") else []
        if where:
            fields.append(("problem", " · ".join(where)))
        return ReferenceView(tuple(fields))
