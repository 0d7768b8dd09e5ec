"""How a HotpotQA verdict reads: the official EM and F1, and the rule that decided success.

``score`` is F1, but success follows ``--source-opt success=em|f1>=T|contains``, so a reader
needs both numbers and, when the answer failed, which rule it failed. The reference view puts
the normalised answer beside the normalised reference (what EM actually compares) and names
the supporting paragraphs the question was built from.
"""

from __future__ import annotations

from typing import Any

from trajkit.schemas import Task, Verdict
from trajkit.sources.reading import ReferenceView, clip


def _number(value: Any) -> float | None:
    return float(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else None


class HotpotQAReport:
    """The HotpotQA source's reading of its verdicts (``sources.base`` capability list)."""

    @staticmethod
    def verdict_summary(task: Task, verdict: Verdict) -> str:
        """``EM 1 · F1 1.00``; a failure adds the rule it did not meet (``success: f1>=0.8``)."""
        details = verdict.details
        em, f1 = _number(details.get("em")), _number(details.get("f1"))
        parts = []
        if em is not None:
            parts.append(f"EM {em:g}")
        parts.append(f"F1 {f1 if f1 is not None else verdict.score:.2f}")
        rule = details.get("rule")
        if not verdict.success and isinstance(rule, str) and rule:
            parts.append(f"success needs {rule}")
        if details.get("contains") is True and em == 0:
            parts.append("reference contained")
        return " · ".join(parts)

    @staticmethod
    def reference_view(task: Task, verdict: Verdict) -> ReferenceView:
        """The reference answer, both sides as EM normalises them, and the question's kind
        and supporting paragraphs."""
        details = verdict.details
        fields = [("reference", clip(task.reference if task.reference is not None else ""))]
        norm_a, norm_r = details.get("normalized_answer"), details.get("normalized_reference")
        if isinstance(norm_a, str) and isinstance(norm_r, str):
            fields.append(("compared", f"{clip(norm_a, 120, 1)!r} vs {clip(norm_r, 120, 1)!r}"))
        meta = task.metadata
        kind = " · ".join(str(meta[k]) for k in ("type", "level") if meta.get(k))
        if kind:
            fields.append(("question", kind))
        facts = meta.get("supporting_facts")
        if isinstance(facts, list) and facts:
            titles = []
            for fact in facts:
                title = fact[0] if isinstance(fact, (list, tuple)) and fact else fact
                if isinstance(title, str) and title not in titles:
                    titles.append(title)
            if titles:
                fields.append(("supporting", clip(" · ".join(titles), 200, 1)))
        return ReferenceView(tuple(fields))
