"""The HotpotQA answer metrics (exact match and token F1 as the official evaluation defines
them) and the rule deciding when an answer counts as a success.

Official definitions: answers are normalised by lower-casing, deleting ASCII punctuation,
deleting the articles a/an/the and collapsing whitespace; EM compares the normalised strings;
F1 is over normalised whitespace tokens (counted with multiplicity), except that when either
side normalises to ``yes``, ``no`` or ``noanswer`` and the two differ, F1 (with precision and
recall) is 0, so "no" never earns partial credit against "yes".

``success`` is configurable. ``em`` (default) is strict. ``f1>=T`` accepts near misses.
``contains`` is the lenient check the CodeAct collection used for its QA data: the normalised
gold answer appears, as whole words, in the normalised answer, or, for a numeric gold, some
number in the answer is within 5% of it (which also makes years within 5% match, by design
of that rule). The verdict's score is always the F1, whatever decides success.
"""

from __future__ import annotations

import re
import string
from collections import Counter
from typing import Any

from trajkit.schemas import Verdict
from trajkit.sources.hotpotqa.options import SuccessRule

_PUNCTUATION = frozenset(string.punctuation)
_ARTICLES = re.compile(r"\b(a|an|the)\b")
_SPECIAL = ("yes", "no", "noanswer")
_NUMBER = re.compile(r"[-+]?(?:\d{1,3}(?:,\d{3})+|\d+)(?:\.\d+)?|[-+]?\.\d+")
NUMBER_TOLERANCE = 0.05


def normalize_answer(text: str) -> str:
    """Lower-case, drop punctuation, drop articles, collapse whitespace (in that order)."""
    text = "".join(ch for ch in text.lower() if ch not in _PUNCTUATION)
    text = _ARTICLES.sub(" ", text)
    return " ".join(text.split())


def exact_match(prediction: str, gold: str) -> float:
    """1.0 when the normalised strings are equal, else 0.0."""
    return float(normalize_answer(prediction) == normalize_answer(gold))


def f1_score(prediction: str, gold: str) -> tuple[float, float, float]:
    """``(f1, precision, recall)`` over normalised tokens, with the yes/no/noanswer rule."""
    pred, ref = normalize_answer(prediction), normalize_answer(gold)
    if (pred in _SPECIAL or ref in _SPECIAL) and pred != ref:
        return 0.0, 0.0, 0.0
    pred_tokens, ref_tokens = pred.split(), ref.split()
    common = Counter(pred_tokens) & Counter(ref_tokens)
    same = sum(common.values())
    if same == 0:
        return 0.0, 0.0, 0.0
    precision = same / len(pred_tokens)
    recall = same / len(ref_tokens)
    return 2 * precision * recall / (precision + recall), precision, recall


def _as_number(token: str) -> float:
    return float(token.replace(",", ""))


def numbers_in(text: str) -> list[float]:
    """Every number written in ``text`` (``3,677``, ``-2.5``, ``.5``), read before the
    normalisation would have turned ``3.5`` into ``35``."""
    return [_as_number(m.group()) for m in _NUMBER.finditer(text)]


def gold_number(gold: str) -> float | None:
    """The gold answer's value when it is exactly one number, else ``None``."""
    text = gold.strip()
    m = _NUMBER.fullmatch(text)
    return _as_number(text) if m else None


def contains_match(prediction: str, gold: str) -> bool:
    """The lenient ``contains`` rule (see the module docstring)."""
    ref, pred = normalize_answer(gold), normalize_answer(prediction)
    if not ref:
        return False
    target = gold_number(gold)
    if target is not None:
        for value in numbers_in(prediction):
            if abs(value - target) <= NUMBER_TOLERANCE * abs(target):
                return True
    if ref in ("yes", "no"):
        words = set(pred.split())
        opposite = "no" if ref == "yes" else "yes"
        return ref in words and opposite not in words
    return f" {ref} " in f" {pred} "


def judge_answer(gold: str, answer: str, rule: SuccessRule | None = None) -> Verdict:
    """Verdict for ``answer``: success per ``rule``; score = F1; details carry every metric."""
    rule = rule or SuccessRule()
    em = exact_match(answer, gold)
    f1, precision, recall = f1_score(answer, gold)
    contains = contains_match(answer, gold)
    if rule.kind == "em":
        success = em == 1.0
    elif rule.kind == "f1":
        success = f1 >= rule.threshold
    else:
        success = contains
    details: dict[str, Any] = {
        "rule": str(rule),
        "em": em,
        "f1": f1,
        "precision": precision,
        "recall": recall,
        "contains": contains,
        "normalized_answer": normalize_answer(answer),
        "normalized_reference": normalize_answer(gold),
    }
    return Verdict(success=success, score=f1, details=details)
