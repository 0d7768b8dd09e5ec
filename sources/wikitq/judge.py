"""WikiTableQuestions' denotation match, written after the release's ``evaluator.py`` (1.0.2).

An answer is a set of values. Each item becomes a number (Python 2's ``int``/``float`` of the
text, NaN and infinities refused), else a date (``yyyy-mm-dd``, any field ``xx``; a year alone
is the number), else a string. A target item keeps its original text and, when it has one,
its canonical value (the release's ``targetCanon``: ``100,000`` → ``100000.0``, ``January 26,
1995`` → ``1995-01-26``), which decides its type. Both sides are de-duplicated as sets (two
numbers are one value when equal, two strings when their normalised forms are), and the
answer is right when the sets have the same size and every target matches some predicted
value: equal normalised text (accents dropped, curly quotes and dashes made ASCII, trailing
citations ``[1]``/``*``/``†`` and ``(details)`` removed, outer quotes, a final period, case
and extra spaces dropped), or numbers within 1e-6, or dates equal on all three fields.

``<solution>`` holds the values separated by ``|`` (``Chile|Ecuador``, as in ``targetValue``)
or a Python list literal (``["Chile", "Ecuador"]``, ``[2004, 2005]``); anything else is one
value. Without ``targetCanon`` (a bare ``data/*.tsv`` or the Hub copy) ``approximate_canon``
gives the common forms their value: numbers with thousands separators and full dates with a
month name; other canonical forms (``17 years`` → 17) need the release's ``tagged/`` files.
"""

from __future__ import annotations

import ast
import math
import re
import unicodedata
from dataclasses import dataclass

from trajkit.schemas import Verdict

JUDGE_NAME = "wikitq-denotation"
#: A ``<solution>`` longer than this is not read as a list literal (it is still judged).
LITERAL_CHARS = 100_000

_SINGLE_QUOTES = re.compile("[\u2018\u2019\u00b4`]")
_DOUBLE_QUOTES = re.compile("[\u201c\u201d]")
_DASHES = re.compile("[\u2010\u2011\u2012\u2013\u2014\u2212]")
_CITATIONS = re.compile("((?<!^)\\[[^\\]]*\\]|\\[\\d+\\]|[\u2022\u2666\u2020\u2021*#+])*$")
_DETAILS = re.compile(r"(?<!^)( \([^)]*\))*$")
_OUTER_QUOTES = re.compile(r'^"([^"]*)"$')
_SPACES = re.compile(r"\s+")
_INT = re.compile(r"\s*[+-]?\d+\s*")


def normalize(text: str) -> str:
    """The evaluator's string normalisation (see the module doc)."""
    x = "".join(c for c in unicodedata.normalize("NFKD", text) if unicodedata.category(c) != "Mn")
    x = _SINGLE_QUOTES.sub("'", x)
    x = _DOUBLE_QUOTES.sub('"', x)
    x = _DASHES.sub("-", x)
    while True:
        old = x
        x = _CITATIONS.sub("", x.strip())
        x = _DETAILS.sub("", x.strip())
        x = _OUTER_QUOTES.sub(r"\1", x.strip())
        if x == old:
            break
    if x.endswith("."):
        x = x[:-1]
    return _SPACES.sub(" ", x).lower().strip()


def parse_number(text: str) -> int | float | None:
    """``int(text)``, else a finite ``float(text)``, as Python 2 reads them (no ``_``)."""
    if "_" in text:
        return None
    if _INT.fullmatch(text):
        try:
            return int(text)
        except ValueError:  # over Python's 4,300-digit limit: no float holds it either
            return None
    try:
        amount = float(text)
    except ValueError:
        return None
    return amount if math.isfinite(amount) else None


def parse_date(text: str) -> tuple[int, int, int] | None:
    """``(year, month, day)`` from ``yyyy-mm-dd`` with ``xx`` (``xxxx`` for the year) as -1."""
    parts = text.lower().split("-")
    if len(parts) != 3:
        return None
    try:
        year = -1 if parts[0] in ("xx", "xxxx") else _int(parts[0])
        month = -1 if parts[1] == "xx" else _int(parts[1])
        day = -1 if parts[2] == "xx" else _int(parts[2])
    except ValueError:
        return None
    if year == month == day == -1 or not (month == -1 or 1 <= month <= 12):
        return None
    if not (day == -1 or 1 <= day <= 31):
        return None
    return year, month, day


def _int(text: str) -> int:
    if not _INT.fullmatch(text):
        raise ValueError(text)
    return int(text)


@dataclass(frozen=True)
class Value:
    """One item of a denotation: ``kind`` string/number/date, its normalised text, and its
    amount or ``(year, month, day)``."""

    kind: str
    normalized: str
    amount: float = 0.0
    ymd: tuple[int, int, int] = (-1, -1, -1)

    @property
    def key(self) -> tuple[object, ...]:
        """What makes two values one in a set (the evaluator's ``__eq__``)."""
        if self.kind == "number":
            return ("number", self.amount)
        if self.kind == "date":
            return ("date", self.ymd)
        return ("string", self.normalized)

    def matches(self, other: Value) -> bool:
        """Does this target value match the predicted ``other``?"""
        if self.normalized == other.normalized:
            return True
        if self.kind == "number" and other.kind == "number":
            return abs(self.amount - other.amount) < 1e-6
        return self.kind == other.kind == "date" and self.ymd == other.ymd

    def __str__(self) -> str:
        if self.kind == "number":
            amount = self.amount
            return f"number {int(amount) if amount.is_integer() else amount!r}"
        if self.kind == "date":
            return "date " + "-".join("xx" if p == -1 else f"{p:02d}" for p in self.ymd)
        return f"string {self.normalized!r}"


def _number_value(amount: float, original: str) -> Value:
    """The evaluator's ``NumberValue``: an amount within 1e-6 of a whole number becomes
    ``int(amount)``, which truncates (``2.9999999`` is 2, not 3), exactly as it does there.

    An integer too large for a float (over 308 digits) would crash the evaluator; here it
    stays a string, matched by its text only.
    """
    if abs(amount - round(amount)) < 1e-6:
        amount = int(amount)
    try:
        as_float = float(amount)
    except OverflowError:
        return Value("string", normalize(original or str(amount)))
    return Value("number", normalize(original) if original else str(amount), as_float)


def to_value(original: str, canon: str | None = None) -> Value:
    """``original`` as a value, typed by ``canon`` when given (the evaluator's ``to_value``)."""
    reading = canon or original
    amount = parse_number(reading)
    if amount is not None:
        return _number_value(amount, original)
    ymd = parse_date(reading)
    if ymd is not None:
        if ymd[1] == ymd[2] == -1:
            return _number_value(ymd[0], original)
        return Value("date", normalize(original), ymd=ymd)
    return Value("string", normalize(original))


def to_value_set(originals: list[str], canons: list[str] | None = None) -> list[Value]:
    """The values of ``originals`` as a set (first of equal values kept, order kept)."""
    readings: list[str | None] = list(canons) if canons is not None else [None] * len(originals)
    unique: dict[tuple[object, ...], Value] = {}
    for original, canon in zip(originals, readings, strict=True):
        value = to_value(original, canon)
        unique.setdefault(value.key, value)
    return list(unique.values())


def check_denotation(targets: list[Value], predicted: list[Value]) -> tuple[bool, list[bool]]:
    """``(correct, which targets found a match)``: equal sizes and every target matched."""
    found = [any(t.matches(p) for p in predicted) for t in targets]
    return len(targets) == len(predicted) and all(found), found


# --------------------------------------------------------------------------- answers and targets

_MONTHS = {
    name: i
    for i, names in enumerate(
        [("january", "jan"), ("february", "feb"), ("march", "mar"), ("april", "apr"),
         ("may",), ("june", "jun"), ("july", "jul"), ("august", "aug"),
         ("september", "sep", "sept"), ("october", "oct"), ("november", "nov"),
         ("december", "dec")],
        start=1,
    )
    for name in names
}
_THOUSANDS = re.compile(r"[+-]?\d{1,3}(,\d{3})+(\.\d+)?")
_MONTH_DAY_YEAR = re.compile(r"([A-Za-z]+)\.? (\d{1,2}), (\d{3,4})")
_DAY_MONTH_YEAR = re.compile(r"(\d{1,2}) ([A-Za-z]+)\.?,? (\d{3,4})")


def approximate_canon(original: str) -> str:
    """A stand-in for ``targetCanon`` when the release's tagged files are absent: ``1,000`` →
    ``1000``, ``January 26, 1995`` / ``26 January 1995`` → ``1995-01-26``; else ``original``."""
    text = original.strip()
    if _THOUSANDS.fullmatch(text):
        return text.replace(",", "")
    for pattern, order in ((_MONTH_DAY_YEAR, (0, 1, 2)), (_DAY_MONTH_YEAR, (1, 0, 2))):
        match = pattern.fullmatch(text)
        if match:
            month = _MONTHS.get(match[order[0] + 1].lower())
            day, year = int(match[order[1] + 1]), int(match[order[2] + 1])
            if month is not None and 1 <= day <= 31:
                return f"{year}-{month:02d}-{day:02d}"
    return original


def split_answer(answer: str) -> list[str]:
    """The values of a ``<solution>``: a Python list literal's items, else ``|``-separated."""
    text = answer.strip()
    if text.startswith(("[", "(")) and text.endswith(("]", ")")) and len(text) <= LITERAL_CHARS:
        try:
            items = ast.literal_eval(text)
        except (ValueError, SyntaxError, TypeError, MemoryError, RecursionError):
            items = None
        if isinstance(items, (list, tuple)) and items:
            return [str(item).strip() for item in items]
    return [item.strip() for item in text.split("|")]


def judge_denotation(targets: list[str], canons: list[str] | None, answer: str) -> Verdict:
    """The official verdict on ``answer`` for ``targets`` (with their canonical values, or the
    approximation when ``canons`` is None). Never raises for any answer text."""
    canon_source = "targetCanon" if canons is not None else "approximated"
    if canons is None or len(canons) != len(targets):
        canons = [approximate_canon(t) for t in targets]
    target_values = to_value_set(targets, canons)
    items = split_answer(answer)
    predicted = to_value_set(items)
    correct, found = check_denotation(target_values, predicted)
    return Verdict(
        success=correct,
        score=1.0 if correct else 0.0,
        details={
            "judge": JUDGE_NAME,
            "targets": targets,
            "target_values": [str(v) for v in target_values],
            "predicted": items[:50],
            "predicted_values": [str(v) for v in predicted[:50]],
            "matched": found,
            "sizes": [len(target_values), len(predicted)],
            "canon": canon_source,
        },
    )
