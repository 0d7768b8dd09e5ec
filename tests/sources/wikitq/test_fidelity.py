"""The answer-form table of docs/fidelity/wikitq.md, asserted row by row: trajkit's verdict is
the one written there, and it agrees with the official evaluator's (derived from
``evaluator.py``'s rules) on every row except the one the page lists under "Differences"."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from trajkit.sources.wikitq.judge import judge_denotation
from trajkit.sources.wikitq.tsv import unescape_list

DOC = Path(__file__).resolve().parents[3] / "docs" / "fidelity" / "wikitq.md"
CELL_SPLIT = re.compile(r"(?<!\\)\|")
KNOWN_DIFFERENCES = {("17", "17 years", None)}


def code(cell: str) -> str:
    cell = cell.strip()
    assert cell.startswith("`") and cell.endswith("`"), cell
    return cell[1:-1]


def rows() -> list[tuple[str, list[str], list[str] | None, bool, bool]]:
    found = []
    in_table = False
    for line in DOC.read_text(encoding="utf-8").splitlines():
        if line.startswith("| answer |"):
            in_table = True
            continue
        if not in_table or line.startswith("|---"):
            continue
        if not line.startswith("|"):
            break
        cells = [c.replace("\\|", "|") for c in CELL_SPLIT.split(line.strip())[1:-1]]
        answer, target, canon, official, ours = cells[:5]
        canon_text = canon.strip()
        found.append(
            (
                code(answer),
                unescape_list(code(target)),
                None if canon_text.startswith("—") else unescape_list(code(canon_text)),
                official.strip() == "✓",
                ours.strip() == "✓",
            )
        )
    return found


ROWS = rows()


def test_the_table_is_there_and_covers_every_kind_of_form() -> None:
    assert len(ROWS) >= 45
    assert sum(1 for r in ROWS if r[4]) >= 20 and sum(1 for r in ROWS if not r[4]) >= 15
    assert sum(1 for r in ROWS if r[2] is None) >= 4  # approximated targetCanon
    assert sum(1 for r in ROWS if len(r[1]) > 1) >= 8  # multi-value targets


@pytest.mark.parametrize(("answer", "targets", "canons", "official", "ours"), ROWS)
def test_verdict_matches_the_page(
    answer: str, targets: list[str], canons: list[str] | None, official: bool, ours: bool
) -> None:
    verdict = judge_denotation(targets, canons, answer)
    assert verdict.success is ours
    assert verdict.score == (1.0 if ours else 0.0)
    key = (answer, "|".join(targets), None if canons is None else "|".join(canons))
    if key in KNOWN_DIFFERENCES:
        assert official != ours
    else:
        assert official == ours, "an undocumented difference from evaluator.py"
