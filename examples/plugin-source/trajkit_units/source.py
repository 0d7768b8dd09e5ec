"""``units``: unit-conversion word problems, judged numerically, with a conversion tool.

The teacher's code may call ``conversion_factor(from_unit, to_unit)``, which runs on the host
(the sandbox only sees a stub that asks for it), so the factors stay in this package. The judge
compares the ``<solution>`` with the reference within a relative tolerance, set with
``--source-opt tolerance=1e-4``.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from pathlib import Path

from pydantic import BaseModel, Field

from trajkit.core.demonstration import Demonstration
from trajkit.core.errors import DataError
from trajkit.core.tools import Tool
from trajkit.schemas import Task, Verdict
from trajkit.sources.base import BaseSource, LoadOptions
from trajkit.sources.sampling import sample_tasks
from trajkit_units.demonstration import DEMONSTRATION

DATA = Path(__file__).parent / "data"

#: How many base units (seconds, metres, grams) one of each unit is.
FACTORS = {
    "second": ("time", 1.0), "minute": ("time", 60.0), "hour": ("time", 3600.0),
    "day": ("time", 86400.0), "metre": ("length", 1.0), "kilometre": ("length", 1000.0),
    "mile": ("length", 1609.344), "foot": ("length", 0.3048), "gram": ("mass", 1.0),
    "kilogram": ("mass", 1000.0), "pound": ("mass", 453.59237),
}
_NUMBER = re.compile(r"-?\d+(?:,\d{3})*(?:\.\d+)?(?:[eE]-?\d+)?")


class UnitsOptions(BaseModel):
    """``--source-opt`` keys of the units source."""

    tolerance: float = Field(1e-6, gt=0, le=0.5, description="relative error still counted correct")


def conversion_factor(from_unit: str, to_unit: str) -> float:
    """How many `to_unit` make one `from_unit`, e.g. conversion_factor("hour", "minute") == 60."""
    a, b = FACTORS.get(from_unit.strip().lower()), FACTORS.get(to_unit.strip().lower())
    if a is None or b is None:
        unknown = from_unit if a is None else to_unit
        raise ValueError(f"unknown unit {unknown!r}; known: {', '.join(FACTORS)}")
    if a[0] != b[0]:
        raise ValueError(f"cannot convert {a[0]} ({from_unit}) to {b[0]} ({to_unit})")
    return a[1] / b[1]


class UnitsSource(BaseSource):
    """Unit-conversion word problems; answers judged numerically (see the module doc)."""

    name = "units"
    options_model = UnitsOptions
    demo_replay = DATA / "replay.jsonl"
    typical_episode = (2.5, 120.0, 40.0)  # turns, output and observation tokens per turn

    def demonstration(self) -> Demonstration:
        """The in-context example episode shown with ``--shots 1`` (``demonstration.py``);
        without this method the teacher would be shown trajkit's generic one."""
        return DEMONSTRATION

    def load(self, options: LoadOptions) -> list[Task]:
        """Tasks from ``--data FILE`` (JSONL of {id, question, answer}) or the bundled sample."""
        path = Path(options.data) if options.data else DATA / "tasks.jsonl"
        tasks = []
        try:
            lines = path.read_text(encoding="utf-8").splitlines()
        except OSError as exc:
            raise DataError(f"{path}: cannot read ({exc.strerror or exc})") from None
        for lineno, line in enumerate(lines, 1):
            if not line.strip():
                continue
            try:
                row = json.loads(line)
                tasks.append(Task(
                    source=self.name, task_id=str(row["id"]), prompt=row["question"],
                    reference=float(row["answer"]),
                ))
            except (ValueError, KeyError, TypeError) as exc:
                raise DataError(f"{path}:{lineno}: expected {{id, question, answer}} ({exc})") from None
        return sample_tasks(tasks, options.limit, options.seed)

    def tools(self, task: Task) -> Sequence[Tool]:
        return [Tool.from_function(conversion_factor)]

    async def judge(self, task: Task, answer: str) -> Verdict:
        """Correct when the last number in the answer is within ``tolerance`` of the reference."""
        numbers = _NUMBER.findall(answer)
        if not numbers:
            return Verdict(success=False, score=0.0, details={"reason": "no number in the answer"})
        got = float(numbers[-1].replace(",", ""))
        want = float(task.reference)  # type: ignore[arg-type]
        error = abs(got - want) / max(abs(want), 1e-12)
        tolerance = self.options.tolerance  # type: ignore[union-attr]
        ok = error <= tolerance
        return Verdict(
            success=ok, score=1.0 if ok else 0.0,
            details={"got": got, "expected": want, "relative_error": error},
        )
