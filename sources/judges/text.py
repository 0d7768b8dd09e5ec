"""Text judges: ``exact``, ``em``, ``f1>=T`` and ``contains``, the SQuAD/HotpotQA answer metrics.

All four reuse the HotpotQA source's implementation of the official metrics
(``trajkit.sources.hotpotqa.judge``), so a dataset judged with ``em`` here and one collected
from HotpotQA agree answer for answer:

- normalisation (SQuAD v1.1 ``normalize_answer``): lower-case, delete ASCII punctuation,
  delete the words a/an/the, collapse whitespace;
- EM: the normalised strings are equal; F1: token F1 over the normalised words, which is 0
  when either side is ``yes``/``no``/``noanswer`` and the two differ (HotpotQA's addition);
- ``contains``: the normalised gold appears as whole words in the normalised answer, or a
  numeric gold is within 5% of some number in the answer.

``exact`` succeeds on EM and scores EM (1 or 0); ``em`` succeeds on EM and scores F1, as the
HotpotQA judge does; ``f1>=T`` succeeds when F1 >= T; ``contains`` succeeds on the rule above
and scores F1.

Gold answers (``task.reference``) may be a string, a number, or a list of acceptable answers
(strings or numbers); with a list the best answer counts (success first, then score), as
SQuAD's ``metric_max_over_ground_truths`` does. An answer that is empty, or normalises to
nothing (``"."``, ``"the"``), is a failed verdict whatever the gold.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any, ClassVar

from trajkit.core.errors import ConfigError, JudgeError
from trajkit.schemas import Task, Verdict
from trajkit.schemas.text import valid_text
from trajkit.sources.hotpotqa.judge import contains_match, exact_match, f1_score, normalize_answer
from trajkit.sources.judges.base import BaseJudge, JudgeSpec, judged

#: Longest text a verdict's details repeat (normalised answers, options): a 1 MB answer must
#: not make a 1 MB record twice over.
DETAIL_CHARS = 200


def clip(text: str, limit: int = DETAIL_CHARS) -> str:
    """``text`` cut to ``limit`` characters with an ellipsis, for verdict details (lone
    surrogates replaced, so the record holding them can always be written)."""
    return valid_text(text if len(text) <= limit else text[: limit - 1] + "…")


def gold_text(value: Any) -> str | None:
    """One gold answer as text: strings as they are, ``5.0`` as ``5``, ``2.5`` as ``2.5``;
    ``None`` for anything else (booleans, dicts, NaN)."""
    if isinstance(value, bool):
        return None
    if isinstance(value, str):
        return value
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float) and math.isfinite(value):
        return str(int(value)) if value.is_integer() else repr(value)
    return None


def gold_answers(task: Task) -> list[str]:
    """The task's acceptable answers as text (see the module doc). A reference that is not a
    string, a number or a non-empty list of them is the data's fault, not the answer's:
    ``JudgeError`` naming the task, so the episode ends as a judge error, not as a wrong
    answer."""
    reference = task.reference
    values = list(reference) if isinstance(reference, (list, tuple)) else [reference]
    golds = [gold_text(value) for value in values]
    if not golds or any(gold is None for gold in golds):
        raise JudgeError(
            f"task {task.task_id}: the gold answer must be a string, a number or a list of "
            f"them (got {type(reference).__name__})"
        )
    return [gold for gold in golds if gold is not None]


def empty_answer(spec: JudgeSpec | str, reason: str = "empty answer") -> Verdict:
    """The failed verdict for an answer there is nothing to judge in."""
    return judged(Verdict(success=False, score=0.0, details={"error": reason}), spec)


def text_scores(answer: str, gold: str) -> dict[str, Any]:
    """Every text metric of ``answer`` against one ``gold``."""
    f1, precision, recall = f1_score(answer, gold)
    return {
        "em": exact_match(answer, gold),
        "f1": f1,
        "precision": precision,
        "recall": recall,
        "contains": contains_match(answer, gold),
        "gold": clip(gold),
        "normalized_gold": clip(normalize_answer(gold)),
    }


class _TextJudge(BaseJudge):
    """Scores against each gold answer, keeps the best; subclasses say what succeeds."""

    @property
    def spec(self) -> JudgeSpec:
        """What ``details["judge"]`` records (``BaseJudge.from_spec`` refuses an argument)."""
        return JudgeSpec(self.name)

    def check_reference(self, task: Task) -> None:
        gold_answers(task)

    def succeeds(self, scores: Mapping[str, Any]) -> bool:
        raise NotImplementedError

    def score(self, scores: Mapping[str, Any]) -> float:
        return float(scores["f1"])

    async def judge(self, task: Task, answer: str) -> Verdict:
        golds = gold_answers(task)
        normalized = normalize_answer(answer)
        if not normalized:
            why = "empty answer" if not answer.strip() else "the answer is empty once normalised"
            return empty_answer(self.spec, why)
        best: tuple[bool, float, dict[str, Any]] | None = None
        for gold in golds:
            scores = text_scores(answer, gold)
            candidate = (self.succeeds(scores), self.score(scores), scores)
            if best is None or candidate[:2] > best[:2]:
                best = candidate
        assert best is not None  # gold_answers never returns an empty list
        success, score, scores = best
        details = {**scores, "normalized_answer": clip(normalized)}
        if len(golds) > 1:
            details["golds"] = len(golds)
        return judged(Verdict(success=success, score=score, details=details), self.spec)

    @classmethod
    def summary(cls, task: Task, verdict: Verdict) -> str:
        details = verdict.details
        if "error" in details:
            return f"{details.get('judge', cls.name)}: {details['error']}"
        em, f1 = details.get("em", 0.0), details.get("f1", 0.0)
        return f"EM {em:g} · F1 {f1:.2f}"


class ExactJudge(_TextJudge):
    """``exact``: equal after normalisation; the score is that equality (1 or 0)."""

    name: ClassVar[str] = "exact"

    def succeeds(self, scores: Mapping[str, Any]) -> bool:
        return bool(scores["em"] == 1.0)

    def score(self, scores: Mapping[str, Any]) -> float:
        return float(scores["em"])

    @classmethod
    def summary(cls, task: Task, verdict: Verdict) -> str:
        details = verdict.details
        if "error" in details:
            return super().summary(task, verdict)
        sign = "=" if verdict.success else "≠"
        answer, gold = details.get("normalized_answer", ""), details.get("normalized_gold", "")
        return f"exact: {answer!r} {sign} {gold!r}"


class EMJudge(_TextJudge):
    """``em``: the official exact match decides; the score is the F1 (as for HotpotQA)."""

    name: ClassVar[str] = "em"

    def succeeds(self, scores: Mapping[str, Any]) -> bool:
        return bool(scores["em"] == 1.0)


class ContainsJudge(_TextJudge):
    """``contains``: HotpotQA's lenient rule (gold as whole words, or a number within 5%)."""

    name: ClassVar[str] = "contains"

    def succeeds(self, scores: Mapping[str, Any]) -> bool:
        return bool(scores["contains"])

    @classmethod
    def summary(cls, task: Task, verdict: Verdict) -> str:
        details = verdict.details
        if "error" in details:
            return super().summary(task, verdict)
        found = "contains the gold" if verdict.success else "gold not found"
        return f"contains: {found} · F1 {details.get('f1', 0.0):.2f}"


class F1Judge(_TextJudge):
    """``f1>=T``: success when the token F1 reaches ``T`` (0 <= T <= 1)."""

    name: ClassVar[str] = "f1"

    def __init__(self, threshold: float = 1.0, written: str | None = None) -> None:
        super().__init__(None)
        self.threshold = threshold
        self._written = written or f"{threshold:g}"

    @property
    def spec(self) -> JudgeSpec:
        return JudgeSpec("f1", ">=", self._written)

    @classmethod
    def from_spec(cls, spec: JudgeSpec, options: Mapping[str, str]) -> BaseJudge:
        how = "write --source-opt judge=f1>=T with 0 <= T <= 1, e.g. judge=f1>=0.8"
        if spec.arg is None or spec.sep != ">=" or not spec.arg.strip():
            raise ConfigError(f"--source-opt judge={spec}: the threshold is missing ({how})")
        try:
            threshold = float(spec.arg.strip())
        except ValueError:
            threshold = math.nan
        if not 0.0 <= threshold <= 1.0:  # also refuses NaN
            raise ConfigError(f"--source-opt judge={spec}: {spec.arg!r} is not a threshold ({how})")
        cls.parse_options(options)
        return cls(threshold, spec.arg.strip())

    def succeeds(self, scores: Mapping[str, Any]) -> bool:
        return bool(scores["f1"] >= self.threshold)

    @classmethod
    def summary(cls, task: Task, verdict: Verdict) -> str:
        details = verdict.details
        if "error" in details:
            return super().summary(task, verdict)
        spec = str(details.get("judge", "f1"))
        threshold = spec.partition(">=")[2] or "?"
        sign = ">=" if verdict.success else "<"
        return f"F1 {details.get('f1', 0.0):.2f} {sign} {threshold} · EM {details.get('em', 0.0):g}"
