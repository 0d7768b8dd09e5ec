"""``numeric``: the answer's number equals the gold's, within a tolerance.

Which number: the **last number** written in the answer, as lm-evaluation-harness's GSM8K
"flexible-extract" filter takes the last match of ``(-?[$0-9.,]{2,})|(-?[0-9]+)``
(``lm_eval/tasks/gsm8k/gsm8k.yaml``, ``group_select: -1``): a teacher that explains and then
concludes is read at its conclusion. When the answer has a ``\\boxed{...}``, the last number
inside the last box is taken instead. The gold (``task.reference``: a number, a numeric
string, or a list of acceptable ones) is read by the same rule.

What counts as a number (``parse_numbers``): an optional sign (``-``, ``+``, ``−``), an
optional ``$``, then digits with optional thousands commas (``1,234``; ``1,23`` is two
numbers), an optional decimal part (``.5``, ``2.50``), an optional exponent (``1.5e3``, up to
3 digits), and then either a fraction bar (``3/4``, ``-3/4``) or nothing. A mixed number
(``2 1/2``: whole, one space, proper fraction) is one number, 2.5. ``\\frac{3}{4}`` and
``\\dfrac{3}{4}`` are 3/4. A ``%`` after a number is dropped, never divided by 100:
``12%`` equals a gold of ``12``, as GSM8K golds write percentages, and does not equal
``0.12``. Numbers with more than 300 digits are ignored (they cannot be meant, and would cost
time to convert).

Tolerance (options ``tol`` and ``rel_tol``): equal when ``|answer - gold| <= max(tol,
rel_tol * |gold|)``, computed exactly on fractions; defaults ``tol=1e-6``, ``rel_tol=0``.
Answers with no number are failed verdicts saying so.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from fractions import Fraction
from typing import Any, ClassVar

from pydantic import BaseModel, ConfigDict, Field

from trajkit.core.errors import JudgeError
from trajkit.schemas import Task, Verdict
from trajkit.sources.judges.base import BaseJudge, JudgeSpec, judged
from trajkit.sources.judges.text import clip, empty_answer, gold_answers
from trajkit.sources.math.boxed import last_boxed

#: Longest digit run converted; longer ones are skipped (see the module doc).
MAX_DIGITS = 300

_MANTISSA = r"(?:\d{1,3}(?:,\d{3})+|\d+)(?:\.\d+)?|\.\d+"
_NUMBER = re.compile(
    r"(?P<frac>\\d?frac\{\s*(?P<fnum>[-−]?\d+)\s*\}\{\s*(?P<fden>\d+)\s*\})"
    r"|(?P<sign>(?<![\w)\]}])[-+−](?=[$\d.]))?(?:\$\s?)?"
    r"(?:(?P<whole>\d+) (?=\d+/\d))?"
    rf"(?P<mant>{_MANTISSA})"
    r"(?:[eE](?P<exp>[-+]?\d{1,3})(?!\d))?"
    r"(?:/(?P<den>\d+)(?![\d.]))?"
)


@dataclass(frozen=True)
class Number:
    """One number read from text: its exact value and how it was written."""

    value: Fraction
    text: str


def _digits_ok(*parts: str | None) -> bool:
    return sum(len(part) for part in parts if part) <= MAX_DIGITS


def _values(match: re.Match[str]) -> list[Fraction]:
    """The number(s) one match writes: none when it is not usable (a zero denominator, too
    many digits), two when ``2 5/4`` turns out not to be a mixed number."""
    if match["frac"]:
        numerator, denominator = match["fnum"].replace("−", "-"), match["fden"]
        if not _digits_ok(numerator, denominator) or int(denominator) == 0:
            return []
        return [Fraction(int(numerator), int(denominator))]
    mantissa, exponent, denominator = match["mant"], match["exp"], match["den"]
    if not _digits_ok(match["whole"], mantissa, denominator, exponent):
        return []
    value = Fraction(mantissa.replace(",", ""))
    if exponent:
        value *= Fraction(10) ** int(exponent)
    if denominator is not None:
        if int(denominator) == 0:
            return []
        value /= int(denominator)
    sign = -1 if match["sign"] in ("-", "−") else 1
    if not match["whole"]:
        return [sign * value]
    whole = Fraction(int(match["whole"]))
    if value >= 1:  # "2 5/4" is not a mixed number: two numbers
        return [sign * whole, value]
    return [sign * (whole + value)]


def parse_numbers(text: str) -> list[Number]:
    """Every number written in ``text``, in order (see the module doc for the forms)."""
    return [
        Number(value, match.group().strip())
        for match in _NUMBER.finditer(text)
        for value in _values(match)
    ]


def last_number(text: str) -> Number | None:
    """The last number written in ``text`` (only the last matches are converted, so a 1 MB
    answer full of digits costs one scan)."""
    for match in reversed(list(_NUMBER.finditer(text))):
        values = _values(match)
        if values:
            return Number(values[-1], match.group().strip())
    return None


def final_number(text: str) -> Number | None:
    """The number an answer gives: the last one in its last ``\\boxed{}``, else the last
    one in the text."""
    box = last_boxed(text) if "\\boxed" in text or "\\fbox" in text else None
    number = last_number(box) if box is not None else None
    return number or last_number(text)


def show(value: Fraction) -> str:
    """``1234``, ``0.75``, ``1/3`` (a fraction when no short decimal is exact)."""
    if value.denominator == 1:
        return str(value.numerator) if abs(value.numerator) < 10**30 else f"{float(value):.6g}"
    for places in range(1, 13):
        scaled = value * 10**places
        if scaled.denominator == 1:
            return f"{float(value):.{places}f}"
    return f"{value.numerator}/{value.denominator}"


class NumericOptions(BaseModel):
    """``--source-opt tol=…`` (absolute) and ``rel_tol=…`` (relative to the gold)."""

    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)

    tol: float = Field(1e-6, ge=0)
    rel_tol: float = Field(0.0, ge=0)


class NumericJudge(BaseJudge):
    """Last number of the answer against the gold's, within ``tol``/``rel_tol``."""

    name: ClassVar[str] = "numeric"
    options_model: ClassVar[type[BaseModel] | None] = NumericOptions
    #: The ``tasks`` prompt's last paragraph under this judge (see ``sources/tasks/prompt.py``).
    answer_format: ClassVar[str] = (
        "Give only the final answer inside <solution></solution>: one number, without units "
        "or words, e.g. <solution>42</solution>."
    )

    @property
    def tol(self) -> float:
        return float(getattr(self.options, "tol", 1e-6))

    @property
    def rel_tol(self) -> float:
        return float(getattr(self.options, "rel_tol", 0.0))

    def close_enough(self, answer: Fraction, gold: Fraction) -> bool:
        allowed = max(Fraction(self.tol), Fraction(self.rel_tol) * abs(gold))
        return abs(answer - gold) <= allowed

    def check_reference(self, task: Task) -> None:
        self.golds(task)

    def golds(self, task: Task) -> list[Number]:
        """The gold numbers; a gold with none is the data's fault (``JudgeError``)."""
        numbers: list[Number] = []
        for gold in gold_answers(task):
            number = final_number(gold)
            if number is None:
                raise JudgeError(
                    f"task {task.task_id}: gold answer {clip(gold, 80)!r} has no number"
                )
            numbers.append(number)
        return numbers

    async def judge(self, task: Task, answer: str) -> Verdict:
        spec = JudgeSpec(self.name)
        golds = self.golds(task)
        if not answer.strip():
            return empty_answer(spec)
        number = final_number(answer)
        tolerance: dict[str, Any] = {"tol": self.tol, "rel_tol": self.rel_tol}
        if number is None:
            return judged(
                Verdict(
                    success=False,
                    score=0.0,
                    details={"error": "no number in the answer", "gold": show(golds[0].value)},
                ),
                spec,
            )
        best = next((gold for gold in golds if self.close_enough(number.value, gold.value)), None)
        success = best is not None
        gold = best or golds[0]
        details = {
            "answer_number": show(number.value),
            "answer_text": clip(number.text, 80),
            "gold": show(gold.value),
            **tolerance,
        }
        if len(golds) > 1:
            details["golds"] = [show(g.value) for g in golds[:20]]
        return judged(Verdict(success=success, score=float(success), details=details), spec)

    @classmethod
    def summary(cls, task: Task, verdict: Verdict) -> str:
        details = verdict.details
        name = details.get("judge", cls.name)
        if "error" in details:
            return f"{name}: {details['error']}"
        sign = "=" if verdict.success else "≠"
        tol = f"tol {details.get('tol', 1e-6):g}"
        if details.get("rel_tol"):
            tol += f", rel_tol {details['rel_tol']:g}"
        return f"{name}: {details.get('answer_number')} {sign} {details.get('gold')} ({tol})"
