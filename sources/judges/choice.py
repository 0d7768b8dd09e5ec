"""``choice``: multiple choice, answered by letter or by the option's text.

**Options** come from the task's metadata field named by ``--source-opt choices=FIELD``
(default ``choices``): a list of option texts, lettered A, B, C, … in order (MMLU's
``choices``), or a dict label → text (``{"A": "Paris", "B": "Lyon"}``); a JSON string of
either is read too (CSV files). ``choices=A,B,C,D`` (several fields, comma-separated) takes
one option per field, lettered in the order written (the original MMLU CSV columns).

**The gold** (``task.reference``) is, in this order: an integer → a **0-based** index into
the options (MMLU's ``answer`` field: 0 is A); a label (``B``, ``(B)``, any case); the text of
exactly one option (normalised as for ``exact``); a string of digits → a 0-based index. A gold
that names no option is the data's fault: ``JudgeError``.

**The answer** names an option by its label (``B``, ``(B)``, ``B)``, ``B.``, ``**B**``,
after an optional lead-in: ``Answer: B``, ``The answer is (B)``, ``Option B``), by its label
and text (``B) Paris``), or by the option's full text (normalised). When the whole answer
does not read so, its first line may (``B⏎Because …``: the answer, then the reasoning, as
lm-eval's generative MMLU reads the first line); failing that, the parenthesised capital
labels (``(B)``) and ``answer is B`` phrases in the prose count. An answer that names two
different options (``A or C``, ``(A) … (C)``, ``B) Lyon`` when Lyon is C) is wrong; so is one
naming no option, or a label beyond the options (``E`` of four).
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, ClassVar

from pydantic import BaseModel, ConfigDict, Field

from trajkit.core.errors import JudgeError
from trajkit.schemas import Task, Verdict
from trajkit.sources.hotpotqa.judge import normalize_answer
from trajkit.sources.judges.base import BaseJudge, JudgeSpec, judged
from trajkit.sources.judges.text import clip
from trajkit.sources.reading import ReferenceView

LETTERS = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"

_LEAD_IN = re.compile(
    r"^\s*(?:(?:so|thus|therefore)\s*,?\s*)?(?:the\s+)?(?:final\s+|correct\s+)?"
    r"(?:answer|option|choice)\b\s*(?:is\b|:|=)?\s*:?\s*",
    re.IGNORECASE,
)
_LABEL = r"\(?([A-Za-z])\)?[.:)]?"
#: The whole answer is labels only: ``B``, ``(B)``, ``A and C``, ``A, C``.
_LABELS_ONLY = re.compile(rf"{_LABEL}(?:(?:\s*(?:,|;|/|&|\band\b|\bor\b)\s*|\s+){_LABEL})*", re.I)
_ONE_LABEL = re.compile(_LABEL)
#: One label inside a labels-only answer (not the letters of ``and``/``or``).
_LABEL_TOKEN = re.compile(rf"(?<![A-Za-z]){_LABEL}(?![A-Za-z])")
#: A label leading the answer and followed by text: ``B) Paris``, ``(B) Paris``, ``B. Paris``.
_LABEL_THEN_TEXT = re.compile(r"(?:\(([A-Za-z])\)|([A-Za-z])[.:)])\s+(\S.*)", re.S)
#: Labels mentioned in prose: ``(B)`` anywhere, or ``answer is B`` / ``answer: B`` (capital
#: letters only, so "(a) first, (b) second" or "the answer is a number" name nothing).
_MENTION = re.compile(r"\(([A-Z])\)|\b[Aa]nswer\s*(?:is|:)\s*\(?([A-Z])\b(?![-'’])")


@dataclass(frozen=True)
class Options:
    """The options of one task: labels in order, their texts, and their normalised texts."""

    labels: tuple[str, ...]
    texts: tuple[str, ...]

    @property
    def normalised(self) -> tuple[str, ...]:
        return tuple(normalize_answer(text) for text in self.texts)

    def by_text(self, text: str) -> str | None:
        """The label of the one option whose normalised text is ``text`` (else ``None``)."""
        hits = {
            label
            for label, norm in zip(self.labels, self.normalised, strict=True)
            if norm and norm == text
        }
        return hits.pop() if len(hits) == 1 else None

    def label(self, letter: str) -> str | None:
        key = letter.upper()
        return key if key in self.labels else None


def _option_text(value: Any) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return str(value)
    return json.dumps(value, ensure_ascii=False, default=str)


def read_options(task: Task, field: str) -> Options:
    """The task's options from ``field`` (see the module doc); ``JudgeError`` when missing."""
    names = [name.strip() for name in field.split(",") if name.strip()]
    if len(names) > 1:
        missing = [name for name in names if name not in task.metadata]
        if missing:
            raise JudgeError(
                f"task {task.task_id}: no field {missing[0]!r} for --source-opt choices"
            )
        values: Any = [task.metadata[name] for name in names]
    else:
        if field not in task.metadata:
            raise JudgeError(
                f"task {task.task_id}: no options field {field!r} "
                "(name it with --source-opt choices=FIELD)"
            )
        values = task.metadata[field]
    if isinstance(values, str):
        try:
            values = json.loads(values)
        except ValueError:
            pass
    if isinstance(values, Mapping) and values:
        labels = tuple(str(key).strip().upper() for key in values)
        if len(set(labels)) != len(labels) or not all(labels):
            raise JudgeError(
                f"task {task.task_id}: option labels {list(values)!r} are not distinct"
            )
        return Options(labels, tuple(_option_text(value) for value in values.values()))
    if isinstance(values, (list, tuple)) and values:
        if len(values) > len(LETTERS):
            raise JudgeError(f"task {task.task_id}: {len(values)} options; at most 26 are lettered")
        return Options(tuple(LETTERS[: len(values)]), tuple(_option_text(v) for v in values))
    raise JudgeError(
        f"task {task.task_id}: options field {field!r} must be a non-empty list or dict "
        f"(got {type(values).__name__})"
    )


def gold_label(task: Task, options: Options) -> str:
    """The label the gold names (see the module doc); ``JudgeError`` if none."""
    gold = task.reference
    if isinstance(gold, int) and not isinstance(gold, bool):
        if 0 <= gold < len(options.labels):
            return options.labels[gold]
    elif isinstance(gold, str):
        text = gold.strip()
        match = _ONE_LABEL.fullmatch(text)
        label = options.label(match[1]) if match else options.label(text)
        if label is None:
            label = options.by_text(normalize_answer(text))
        if label is None and text.isdigit() and int(text) < len(options.labels):
            label = options.labels[int(text)]
        if label is not None:
            return label
    raise JudgeError(
        f"task {task.task_id}: gold {clip(repr(gold), 80)} names none of the options "
        f"{', '.join(options.labels)}"
    )


@dataclass(frozen=True)
class Reading:
    """What an answer names: the labels (none, one, several) and how they were found."""

    labels: frozenset[str]
    how: str
    unknown: str | None = None


def read_answer(answer: str, options: Options) -> Reading:
    """The option(s) ``answer`` names (see the module doc)."""
    text = answer.strip().replace("*", "").strip()
    text = _LEAD_IN.sub("", text, count=1).strip().rstrip(".").strip()
    by_text = options.by_text(normalize_answer(text))
    if _LABELS_ONLY.fullmatch(text):
        letters = [m[1] for m in _LABEL_TOKEN.finditer(text)]
        unknown = [letter for letter in letters if options.label(letter) is None]
        if not unknown:
            return Reading(frozenset(letter.upper() for letter in letters), "label")
        if by_text is None:  # "x" may be an option's text rather than a label
            return Reading(frozenset(), "label", unknown=unknown[0].upper())
    if by_text is not None:
        return Reading(frozenset({by_text}), "text")
    led = _LABEL_THEN_TEXT.fullmatch(text)
    if led is not None:
        label = options.label(led[1] or led[2])
        if label is not None:
            named = options.by_text(normalize_answer(led[3]))
            return Reading(frozenset({label} | ({named} if named else set())), "label+text")
    first, newline, rest = text.partition("\n")
    if newline:
        # "B\nBecause ..." : an answer on its own first line, then the reasoning.
        head = read_answer(first, options)
        if head.labels and head.how != "mentions":
            return Reading(head.labels | mentions(rest, options), "first line")
    return Reading(mentions(text, options), "mentions")


def mentions(text: str, options: Options) -> frozenset[str]:
    """The labels prose names: ``(B)`` anywhere, ``answer is B`` (see ``_MENTION``)."""
    return frozenset(
        label
        for match in _MENTION.finditer(text)
        if (label := options.label(match[1] or match[2])) is not None
    )


class ChoiceOptions(BaseModel):
    """``--source-opt choices=FIELD`` (or ``FIELD1,FIELD2,…``): where the options are."""

    model_config = ConfigDict(extra="forbid")

    choices: str = Field("choices", min_length=1)


class ChoiceJudge(BaseJudge):
    """The answer names exactly the gold option (see the module doc)."""

    name: ClassVar[str] = "choice"
    options_model: ClassVar[type[BaseModel] | None] = ChoiceOptions
    #: The ``tasks`` prompt's last paragraph under this judge (see ``sources/tasks/prompt.py``).
    answer_format: ClassVar[str] = (
        "Give only the letter of the one correct option inside <solution></solution>, "
        "e.g. <solution>B</solution>."
    )

    @property
    def field(self) -> str:
        return str(getattr(self.options, "choices", "choices"))

    def check_reference(self, task: Task) -> None:
        gold_label(task, read_options(task, self.field))

    async def judge(self, task: Task, answer: str) -> Verdict:
        spec = JudgeSpec(self.name)
        options = read_options(task, self.field)
        gold = gold_label(task, options)
        empty = not answer.strip()
        reading = Reading(frozenset(), "empty") if empty else read_answer(answer, options)
        details: dict[str, Any] = {
            "gold": gold,
            "answer": sorted(reading.labels),
            "read_as": reading.how,
            "options": {
                label: clip(text, 80)
                for label, text in zip(options.labels, options.texts, strict=True)
            },
        }
        if empty:
            details["error"] = "empty answer"
        elif reading.unknown is not None:
            details["error"] = f"{reading.unknown} is not an option ({', '.join(options.labels)})"
        elif not reading.labels:
            details["error"] = "the answer names no option"
        elif len(reading.labels) > 1:
            details["error"] = f"the answer names {len(reading.labels)} options"
        success = "error" not in details and reading.labels == {gold}
        return judged(Verdict(success=success, score=float(success), details=details), spec)

    @classmethod
    def summary(cls, task: Task, verdict: Verdict) -> str:
        details = verdict.details
        gold = details.get("gold", "?")
        if "error" in details:
            return f"choice: {details['error']} (gold {gold})"
        answer = "".join(details.get("answer", [])) or "?"
        sign = "=" if verdict.success else "≠"
        return f"choice: {answer} {sign} {gold}"

    @classmethod
    def reference_view(cls, task: Task, verdict: Verdict) -> ReferenceView:
        """The gold option and every option, from the verdict's details, for a report."""
        options = verdict.details.get("options")
        gold = verdict.details.get("gold")
        if not isinstance(options, dict) or not isinstance(gold, str):
            return ReferenceView((("reference", clip(str(task.reference), 80)),))
        fields = [("gold", f"{gold} · {options.get(gold, '?')}")]
        fields += [(str(label), str(text)) for label, text in options.items()]
        return ReferenceView(tuple(fields))
