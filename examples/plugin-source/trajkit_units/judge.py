"""``quantity``: a judge for answers that are amounts with a unit, usable by any source.

``1.5 hours`` and ``90 minutes`` are the same answer: the judge reads the last
``<number> <unit>`` in the ``<solution>``, converts it to the unit of the task's reference
(``"1.5 hours"``) with this package's factors, and compares within a relative tolerance
(``--source-opt tolerance=1e-4``). Registered as a trajkit judge (entry-point group
``trajkit.judges``), so ``trajkit collect tasks --source-opt judge=quantity`` uses it.
"""

from __future__ import annotations

import re
from typing import ClassVar

from pydantic import BaseModel, Field

from trajkit.core.errors import JudgeError
from trajkit.schemas import Task, Verdict
from trajkit.sources.judges import BaseJudge
from trajkit.sources.judges.base import judged
from trajkit_units.source import FACTORS

_QUANTITY = re.compile(r"(-?\d+(?:,\d{3})*(?:\.\d+)?)\s*([A-Za-z]+)")


class QuantityOptions(BaseModel):
    """``--source-opt`` keys of the quantity judge."""

    tolerance: float = Field(1e-6, gt=0, le=0.5, description="relative error still counted correct")


def unit_of(word: str) -> str | None:
    """``"Hours"`` → ``"hour"``; None for a word that is no known unit."""
    word = word.lower()
    for candidate in (word, word[:-1] if word.endswith("s") else word):
        if candidate in FACTORS:
            return candidate
    return None


def quantity(text: str) -> tuple[float, str] | None:
    """The last ``<number> <unit>`` in ``text`` with a known unit, or None."""
    found = None
    for number, word in _QUANTITY.findall(text):
        unit = unit_of(word)
        if unit is not None:
            found = (float(number.replace(",", "")), unit)
    return found


class QuantityJudge(BaseJudge):
    """Right when the answer is the reference's quantity, in any unit of the same kind."""

    name: ClassVar[str] = "quantity"
    options_model: ClassVar[type[BaseModel] | None] = QuantityOptions
    answer_format: ClassVar[str] = (
        "Give the final answer inside <solution></solution> as a number with its unit, "
        "e.g. <solution>90 minutes</solution>."
    )

    async def judge(self, task: Task, answer: str) -> Verdict:
        want = quantity(str(task.reference))
        if want is None:
            raise JudgeError(f"task {task.task_id}: reference {task.reference!r} is no quantity")
        got = quantity(answer)
        if got is None:
            return self._verdict(False, {"reason": "no number with a known unit in the answer"})
        (value, unit), (ref_value, ref_unit) = got, want
        if FACTORS[unit][0] != FACTORS[ref_unit][0]:
            reason = f"{unit} is a {FACTORS[unit][0]} unit, the reference is in {ref_unit}"
            return self._verdict(False, {"reason": reason})
        converted = value * FACTORS[unit][1] / FACTORS[ref_unit][1]
        error = abs(converted - ref_value) / max(abs(ref_value), 1e-12)
        ok = error <= self.options.tolerance  # type: ignore[union-attr]
        return self._verdict(ok, {"got": converted, "unit": ref_unit, "expected": ref_value,
                                  "relative_error": error})

    def _verdict(self, ok: bool, details: dict[str, object]) -> Verdict:
        return judged(Verdict(success=ok, score=float(ok), details=details), self.name)

    @classmethod
    def summary(cls, task: Task, verdict: Verdict) -> str:
        """``quantity: 1.5 hour vs 1.5 hour`` or the reason it failed."""
        d = verdict.details
        if "reason" in d:
            return f"quantity: {d['reason']}"
        return f"quantity: {d.get('got'):g} {d.get('unit')} vs {d.get('expected'):g} {d.get('unit')}"
