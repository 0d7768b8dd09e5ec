"""``exact``, ``em``, ``f1>=T`` and ``contains``: the SQuAD/HotpotQA metrics as judges."""

from __future__ import annotations

from typing import Any

import pytest
from judges_helpers import HOSTILE, task, verdict

from trajkit.core.errors import ConfigError, JudgeError
from trajkit.sources.judges import make_judge

# (spec, gold, answer, success, score)
TABLE: list[tuple[str, Any, str, bool, float]] = [
    ("exact", "The Beatles", "beatles", True, 1.0),
    ("exact", "The Beatles", "  THE BEATLES!  ", True, 1.0),
    ("exact", "The Beatles", "The Beatles band", False, 0.0),
    ("exact", "U.S.", "US", True, 1.0),
    ("exact", "3.5", "35", True, 1.0),  # the official normalisation deletes the point
    ("exact", 42, "42", True, 1.0),  # a number as gold
    ("exact", 2.0, "2", True, 1.0),  # 2.0 reads as 2, not "20"
    ("exact", 2.5, "2.5", True, 1.0),
    ("exact", ["Paris", "City of Paris"], "city of paris", True, 1.0),  # best over the list
    ("exact", ["Paris", "Lyon"], "Marseille", False, 0.0),
    ("em", "Barack Obama", "barack obama", True, 1.0),
    ("em", "Barack Obama", "Obama", False, 2 / 3),  # fails on EM, scores F1
    ("em", "yes", "yes it is", False, 0.0),  # HotpotQA: no partial credit for yes/no
    ("em", ["Lyon", "Paris"], "Paris", True, 1.0),
    ("f1>=0.6", "Barack Obama", "Obama", True, 2 / 3),
    ("f1>=0.8", "Barack Obama", "Obama", False, 2 / 3),
    ("f1>=1", "Barack Obama", "Barack Obama", True, 1.0),
    ("f1>=0", "Barack Obama", "nothing shared", True, 0.0),  # T=0 accepts any non-empty answer
    ("f1>=0.5", ["x y z", "Barack Obama"], "Obama", True, 2 / 3),
    ("contains", "Paris", "It is Paris, France.", True, 0.4),
    ("contains", "Paris", "Parisian", False, 0.0),  # whole words only
    ("contains", "1984", "about 1990", True, 0.0),  # a numeric gold: within 5 %
    ("contains", "1984", "about 2100", False, 0.0),
    ("contains", "yes", "yes and no", False, 0.0),  # both yes and no: not an answer
    ("contains", ["Lyon", "Paris"], "I say Paris", True, 0.5),
]


@pytest.mark.parametrize(("spec", "gold", "answer", "success", "score"), TABLE)
async def test_text_judges_table(
    spec: str, gold: Any, answer: str, success: bool, score: float
) -> None:
    result = await verdict(spec, gold, answer)
    assert (result.success, result.score) == (success, pytest.approx(score))


@pytest.mark.parametrize("spec", ["exact", "em", "f1>=0.5", "contains"])
@pytest.mark.parametrize("name", list(HOSTILE))
async def test_hostile_answers_end_in_verdicts(spec: str, name: str) -> None:
    result = await verdict(spec, "zebra", HOSTILE[name])
    assert not result.success
    if name in ("empty", "blank"):
        assert result.details["error"] == "empty answer"


@pytest.mark.parametrize(
    ("spec", "success"), [("exact", False), ("f1>=0.5", False), ("contains", True)]
)
async def test_a_nul_stays_part_of_its_word_as_in_the_official_normalisation(
    spec: str, success: bool
) -> None:
    # "4\x00" is one token "4\x00" (NUL is neither punctuation nor space); only the contains
    # rule, which reads numbers from the raw text, finds the 4.
    assert (await verdict(spec, "4", "4\x00")).success is success


async def test_details_explain_the_decision() -> None:
    result = await verdict("em", ["Lyon", "The Eiffel Tower"], "eiffel tower!")
    assert result.details["normalized_answer"] == "eiffel tower"
    assert result.details["normalized_gold"] == "eiffel tower"
    assert result.details["gold"] == "The Eiffel Tower" and result.details["golds"] == 2
    assert result.details["em"] == 1.0 and result.details["f1"] == 1.0


async def test_an_answer_empty_once_normalised_never_matches() -> None:
    # "the" and "." both normalise to "": SQuAD would call them equal; a judge must not.
    result = await verdict("exact", "The", ".")
    assert not result.success
    assert result.details["error"] == "the answer is empty once normalised"


async def test_a_long_answer_is_judged_and_its_details_are_clipped() -> None:
    result = await verdict("contains", "needle", "hay " * 250_000 + "needle")
    assert result.success
    assert len(result.details["normalized_answer"]) <= 200


@pytest.mark.parametrize("gold", [None, True, {"a": 1}, [], ["ok", None], float("nan")])
async def test_a_gold_that_is_not_text_is_a_judge_error_naming_the_task(gold: Any) -> None:
    with pytest.raises(JudgeError, match="task t1: the gold answer"):
        await make_judge("em").judge(task(gold), "x")


@pytest.mark.parametrize(
    ("spec", "why"),
    [
        ("f1", "the threshold is missing"),
        ("f1:0.8", "the threshold is missing"),
        ("f1>=", "the threshold is missing"),
        ("f1>=1.5", "'1.5' is not a threshold"),
        ("f1>=-0.1", "'-0.1' is not a threshold"),
        ("f1>=nan", "'nan' is not a threshold"),
        ("f1>=high", "'high' is not a threshold"),
    ],
)
def test_f1_threshold_errors_are_one_line_naming_the_flag(spec: str, why: str) -> None:
    with pytest.raises(ConfigError) as info:
        make_judge(spec)
    message = str(info.value)
    assert message.startswith(f"--source-opt judge={spec}: {why}")
    assert "judge=f1>=T" in message and "\n" not in message


@pytest.mark.parametrize("spec", ["exact:x", "em>=0.5", "contains:1"])
def test_text_judges_take_no_argument(spec: str) -> None:
    with pytest.raises(ConfigError, match="takes no argument"):
        make_judge(spec)


def test_text_judges_take_no_options() -> None:
    with pytest.raises(ConfigError, match="--source-opt tol: judge 'em' takes no options"):
        make_judge("em", {"tol": "1"})


async def test_summaries_speak_each_judges_terms() -> None:
    cases = [
        ("em", "Barack Obama", "Obama", "EM 0 · F1 0.67"),
        ("exact", "Paris", "paris", "exact: 'paris' = 'paris'"),
        ("f1>=0.5", "Barack Obama", "Obama", "F1 0.67 >= 0.5 · EM 0"),
        ("f1>=0.8", "Barack Obama", "Obama", "F1 0.67 < 0.8 · EM 0"),
        ("contains", "Paris", "in Paris", "contains: contains the gold · F1 0.67"),
        ("em", "Paris", "", "em: empty answer"),
    ]
    for spec, gold, answer, line in cases:
        result = await verdict(spec, gold, answer)
        judge = make_judge(spec)
        assert type(judge).summary(task(gold), result) == line
