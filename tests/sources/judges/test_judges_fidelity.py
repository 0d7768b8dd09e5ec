"""docs/fidelity/judges.md: every row of its tables, upstream verdict and trajkit verdict.

The upstream columns come from transcriptions written for this test from reading the
upstream code (kept apart from trajkit's judges, so a change to a judge cannot move the
reference with it), except math-verify, which is installed and called as its README shows:

- SQuAD v1.1 ``evaluate-v1.1.py`` (``normalize_answer``, ``exact_match_score``, ``f1_score``,
  ``metric_max_over_ground_truths``), as copied in seominjoon/denspi at 51915f6;
- lm-evaluation-harness GSM8K ``flexible-extract`` (``lm_eval/tasks/gsm8k/gsm8k.yaml`` at
  47f16bf: ``regex`` filter, last match, then ``exact_match`` with ``regexes_to_ignore``);
- lm-evaluation-harness MMLU generative (``lm_eval/tasks/mmlu/generative/_default_template_yaml``
  at 36512eb: first line, stripped, the letter regex, ``exact_match`` ignoring case and
  punctuation) against the letter of MMLU's 0-based ``answer``;
- math-verify 0.9: ``verify(parse("$GOLD$"), parse(ANSWER))``;
- Python's ``re.fullmatch`` for ``regex:PATTERN`` (trajkit matches with the ``regex`` package).
"""

from __future__ import annotations

import re
import string
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
from judges_helpers import task

from trajkit.sources.judges import make_judge

DOC = Path(__file__).resolve().parents[3] / "docs" / "fidelity" / "judges.md"
YES, NO = "✓", "✗"
CAPITALS = ["Lyon", "Paris", "Marseille", "Nice"]


# --------------------------------------------------------------------------- the doc's tables


def cell(text: str) -> str:
    """A table cell's value: backticks off, ⏎ for a newline, ∅ for the empty string."""
    text = text.strip()
    if text.startswith("`") and text.endswith("`") and len(text) >= 2:
        text = text[1:-1]
    return "" if text == "∅" else text.replace("⏎", "\n")


def gold(text: str) -> Any:
    """``a ‖ b`` is a list of acceptable answers."""
    value = cell(text)
    return [part.strip() for part in value.split("‖")] if "‖" in value else value


def tables() -> dict[str, list[list[str]]]:
    """Rows of each ``<!-- table: NAME -->`` table of the doc, header and rule left out."""
    found: dict[str, list[list[str]]] = {}
    name = None
    for line in DOC.read_text(encoding="utf-8").splitlines():
        marker = re.fullmatch(r"<!-- table: (\w+) -->", line.strip())
        if marker:
            name = marker[1]
            found[name] = []
            continue
        if name and line.startswith("|"):
            cells = [c for c in re.split(r"(?<!\\)\|", line.strip())[1:-1]]
            if set(cells[0].strip()) <= {"-", ":"} or cells[0].strip() == "answer":
                continue
            found[name].append(cells)
        elif name and found[name]:
            name = None
    return found


TABLES = tables()


def rows(name: str) -> list[list[str]]:
    return TABLES.get(name, [])


def test_every_table_is_there() -> None:
    sizes = {name: len(rows) for name, rows in TABLES.items()}
    assert sizes == {"text": 12, "numeric": 16, "choice": 14, "math": 12, "regex": 8}


def test_the_summary_counts_the_rows_that_differ() -> None:
    def differ(name: str, upstream: int, trajkit: int) -> int:
        return sum(cell(r[upstream]) != cell(r[trajkit]) for r in rows(name))

    def same_number(name: str, upstream: int, trajkit: int) -> int:
        return sum(float(cell(r[upstream])) != float(cell(r[trajkit])) for r in rows(name))

    counts = {
        "text EM": same_number("text", 2, 4),
        "text F1": same_number("text", 3, 5),
        "numeric": differ("numeric", 2, 3),
        "choice": differ("choice", 2, 3),
        "math": differ("math", 2, 3),
        "regex": differ("regex", 2, 3),
    }
    assert counts == {"text EM": 1, "text F1": 1, "numeric": 7, "choice": 3, "math": 3, "regex": 0}
    summary = DOC.read_text(encoding="utf-8").split("## Summary")[1].split("##")[0]
    for line in (
        "| 12 | 11 on EM, 11 on F1 |",
        "| 16 | 9 | 7 ",
        "| 14 | 11 | 3 ",
        "| 12 | 9 | 3 ",
        "| 8 | 8 | 0 |",
    ):
        assert line in summary


# --------------------------------------------------------------------------- SQuAD v1.1


def squad_normalize(s: str) -> str:
    lowered = s.lower()
    no_punct = "".join(ch for ch in lowered if ch not in set(string.punctuation))
    no_articles = re.sub(r"\b(a|an|the)\b", " ", no_punct)
    return " ".join(no_articles.split())


def squad_f1(prediction: str, truth: str) -> float:
    pred, ref = squad_normalize(prediction).split(), squad_normalize(truth).split()
    same = sum((Counter(pred) & Counter(ref)).values())
    if same == 0:
        return 0.0
    precision, recall = same / len(pred), same / len(ref)
    return 2 * precision * recall / (precision + recall)


def squad(prediction: str, truths: list[str]) -> tuple[float, float]:
    em = max(float(squad_normalize(prediction) == squad_normalize(t)) for t in truths)
    return em, max(squad_f1(prediction, t) for t in truths)


@pytest.mark.parametrize("row", rows("text"), ids=lambda r: cell(r[0])[:30])
async def test_text_rows(row: list[str]) -> None:
    answer, golds = cell(row[0]), gold(row[1])
    truths = golds if isinstance(golds, list) else [golds]
    up_em, up_f1, tk_em, tk_f1, tk_contains = (cell(c) for c in row[2:7])
    assert (float(up_em), round(float(up_f1), 2)) == tuple(
        round(x, 2) for x in squad(answer, truths)
    )
    em = await make_judge("em").judge(task(golds), answer)
    contains = await make_judge("contains").judge(task(golds), answer)
    assert float(tk_em) == float(em.success)
    assert round(float(tk_f1), 2) == round(em.score, 2)
    assert tk_contains == (YES if contains.success else NO)
    exact = await make_judge("exact").judge(task(golds), answer)
    assert exact.success is em.success


# --------------------------------------------------------------------------- GSM8K (lm-eval)


def lm_eval_regex(pattern: str, response: str, group_select: int = 0) -> str:
    """lm-eval's ``regex`` filter: findall, pick a match, first non-empty group, strip."""
    found = re.findall(pattern, response)
    if not found:
        return "[invalid]"
    match = found[group_select]
    if isinstance(match, tuple):
        match = next(m for m in match if m)
    return str(match).strip()


def lm_eval_exact_match(
    prediction: str, reference: str, ignore: list[str], case: bool, punctuation: bool
) -> bool:
    """``exact_match`` with ``regexes_to_ignore``, ``ignore_case``, ``ignore_punctuation``."""

    def clean(text: str) -> str:
        for pattern in ignore:
            text = re.sub(pattern, "", text)
        if case:
            text = text.lower()
        if punctuation:
            text = text.translate(str.maketrans("", "", string.punctuation))
        return text

    return clean(prediction) == clean(reference)


def gsm8k_flexible(response: str, target: str) -> bool:
    extracted = lm_eval_regex(r"(-?[$0-9.,]{2,})|(-?[0-9]+)", response, group_select=-1)
    return lm_eval_exact_match(
        extracted, target, [",", "\\$", "(?s).*#### ", "\\.$"], case=True, punctuation=False
    )


@pytest.mark.parametrize("row", rows("numeric"), ids=lambda r: cell(r[0])[:30])
async def test_numeric_rows(row: list[str]) -> None:
    answer, golds = cell(row[0]), gold(row[1])
    upstream, trajkit = cell(row[2]), cell(row[3])
    assert upstream == (YES if gsm8k_flexible(answer, str(golds)) else NO)
    result = await make_judge("numeric").judge(task(golds), answer)
    assert trajkit == (YES if result.success else NO)


# --------------------------------------------------------------------------- MMLU (lm-eval)

_MMLU_LETTER = r"(?i)(?:^\W*|answer\s*(?:is)?\s*[:\-]?\s*|option\s*[:\-]?\s*)\(?([A-D])\)?\W*$"


def mmlu_generative(response: str, answer_index: int) -> bool:
    text = lm_eval_regex(r"^(.*?)(?=\n|$)", response)
    text = text[1:] if text.startswith(" ") else text
    text = lm_eval_regex(r"^(.*?)\s*$", text)
    text = lm_eval_regex(_MMLU_LETTER, text)
    target = "ABCD"[answer_index]
    return lm_eval_exact_match(text, target, [], case=True, punctuation=True)


@pytest.mark.parametrize("row", rows("choice"), ids=lambda r: cell(r[0])[:30])
async def test_choice_rows(row: list[str]) -> None:
    answer, index = cell(row[0]), int(cell(row[1]))
    upstream, trajkit = cell(row[2]), cell(row[3])
    assert upstream == (YES if mmlu_generative(answer, index) else NO)
    result = await make_judge("choice").judge(task(index, choices=CAPITALS), answer)
    assert trajkit == (YES if result.success else NO), result.details


# --------------------------------------------------------------------------- math-verify


async def test_math_rows() -> None:
    from math_verify import parse, verify

    judge = make_judge("math")
    try:
        for row in rows("math"):
            answer, reference = cell(row[0]), str(gold(row[1]))
            upstream, trajkit = cell(row[2]), cell(row[3])
            verdict = verify(parse(f"${reference}$"), parse(answer))
            assert upstream == (YES if verdict else NO), row
            result = await judge.judge(task(reference), answer)
            assert trajkit == (YES if result.success else NO), (row, result.details)
    finally:
        await judge.aclose()


# --------------------------------------------------------------------------- regex


@pytest.mark.parametrize("row", rows("regex"), ids=lambda r: cell(r[1])[:30])
async def test_regex_rows(row: list[str]) -> None:
    answer, pattern = cell(row[0]), cell(row[1]).replace("\\|", "|")
    upstream, trajkit = cell(row[2]), cell(row[3])
    assert upstream == (YES if re.fullmatch(pattern, answer.strip()) else NO)
    result = await make_judge(f"regex:{pattern}").judge(task(None), answer)
    assert trajkit == (YES if result.success else NO)
