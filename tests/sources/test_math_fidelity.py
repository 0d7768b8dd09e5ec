"""Fidelity of the MATH judge to the answer forms MATH uses (docs/fidelity/math.md).

``FORMS`` is the table of that document: one row per answer form, with the verdict trajkit
must give and the verdicts of the reference normalisers, columns "math-verify, hendrycks,
Minerva" as ``Y``/``n``:

* math-verify 0.9.0 with its own MATH task config (gold ``LatexExtractionConfig(
  boxed_match_priority=0)``; prediction ``LatexExtractionConfig(), ExprExtractionConfig()``,
  the answer boxed as a model would box it). Re-checked live by
  ``test_math_verify_column_is_what_math_verify_says``.
* hendrycks/math ``is_equiv`` (modeling/math_equivalence.py) and lm-eval's ``minerva_math``
  (``normalize_final_answer`` then ``is_equiv`` with sympy's ``parse_latex``), recorded from a
  run of their published code; the Minerva one needs antlr4 4.11, which the project cannot
  install next to latex2sympy2_extended's 4.13, so those two columns are recorded, not live.

"before" is what trajkit said before the form rules existed (answer bare, answer boxed).
Each row is judged four ways: the answer bare and boxed, against a reference taken from the
last box of a worked solution and from an ``answer`` field (the MATH-500 layout).

The items are MATH-style problems written for this table (MATH's own problems must not be
committed), each reproducing an answer form found in MATH.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterator
from pathlib import Path
from typing import Any, NamedTuple

import pytest

from trajkit.schemas import Task
from trajkit.sources.math import MathJudge, MathSource
from trajkit.sources.math.check import answer_core
from trajkit.sources.math.forms import is_percent_question, normalise_answer
from trajkit.sources.math.records import record_to_task

DOC = Path(__file__).resolve().parents[2] / "docs" / "fidelity" / "math.md"


class Item(NamedTuple):
    problem: str
    reference: str  # as MATH boxes it


class Form(NamedTuple):
    family: str
    item: str
    answer: str  # as a teacher writes it in <solution>
    trajkit: str  # "Y" correct, "n" wrong
    refs: str  # math-verify, hendrycks, Minerva
    before: str  # trajkit before the form rules: bare, boxed

    @property
    def expected(self) -> bool:
        return self.trajkit == "Y"


ITEMS: dict[str, Item] = {
    "notebooks": Item(
        r"Three notebooks cost \$6.30 each. How much do they cost in all?",
        r"\$18.90",
    ),
    "notebooks-plain": Item(
        r"Three notebooks cost \$6.30 each. How many dollars do they cost in all?",
        "18.90",
    ),
    "laptop": Item(
        r"A \$1,\!250 laptop comes with a \$250 rebate. What does it cost after the rebate?",
        r"\$1,\!000",
    ),
    "chess": Item(
        "Of the 300 students at a school, 21 play chess. What percent of the students play chess?",
        "7",
    ),
    "chess-sign": Item(
        "Of the 300 students at a school, 21 play chess. What percent of the students play chess?",
        r"7\%",
    ),
    "shirt": Item(
        r"A shirt's price drops from \$40 to \$35. By what percent does the price drop?",
        r"12.5\%",
    ),
    "apples": Item(
        "Lena has 4 apples and buys 3 more. How many apples does she have?",
        "7",
    ),
    "spinner": Item(
        r"A spinner lands on red $7\%$ of the time. As a decimal, what is the probability of red?",
        "0.07",
    ),
    "angle": Item(
        r"In right triangle $ABC$, $\angle A = 60^\circ$. What is the measure of acute $\angle B$?",
        r"30^\circ",
    ),
    "angle-plain": Item(
        r"In right triangle $ABC$, $\angle A = 60^\circ$. How many degrees are in $\angle B$?",
        "30",
    ),
    "dodecagon": Item(
        "How many degrees are in each interior angle of a regular dodecagon?",
        "150",
    ),
    "square-side": Item(
        "A square has a perimeter of 20 cm. How long is one side?",
        r"5\text{ cm}",
    ),
    "square-side-plain": Item(
        "A square has a perimeter of 20 cm. How many centimeters long is one side?",
        "5",
    ),
    "foot": Item(
        "How many inches are in one foot?",
        "12",
    ),
    "foot-units": Item(
        "How long is one foot, in inches?",
        r"12\text{ inches}",
    ),
    "triangle-area": Item(
        "What is the area, in square units, of a right triangle with legs 6 and 6?",
        "18",
    ),
    "rectangle": Item(
        "What is the area of a 4 cm by 5 cm rectangle?",
        r"20\text{ cm}^2",
    ),
    "rectangle-plain": Item(
        "How many square centimeters are in the area of a 4 cm by 5 cm rectangle?",
        "20",
    ),
    "speed": Item(
        "A car travels 120 miles in 3 hours. What is its average speed, in miles per hour?",
        "40",
    ),
    "trip": Item(
        "A car travels 120 miles at 40 miles per hour. How many hours does the trip take?",
        "3",
    ),
    "cube-ten": Item(
        "What is $10^3$?",
        "1000",
    ),
    "cube-ten-comma": Item(
        "What is $10^3$?",
        "1,000",
    ),
    "square-hundred": Item(
        "What is $100^2$?",
        "10000",
    ),
    "square-hundred-sep": Item(
        "What is $100^2$?",
        r"10,\!000",
    ),
    "million": Item(
        "What is $1000^2$?",
        r"1,\!000,\!000",
    ),
    "product": Item(
        r"What is $40 \cdot 30$?",
        "1,200",
    ),
    "two-roots": Item(
        "Find all solutions to $(x-1)(x-200)=0$. Enter the solutions, separated by commas.",
        "1, 200",
    ),
    "zero": Item(
        "What is $7 - 7$?",
        "0",
    ),
    "fraction": Item(
        r"What is $\frac{1}{2} + \frac{1}{4}$? Express your answer as a common fraction.",
        r"\frac{3}{4}",
    ),
    "fraction-d": Item(
        r"What is $\frac{1}{2} + \frac{1}{4}$? Express your answer as a common fraction.",
        r"\dfrac{3}{4}",
    ),
    "fraction-t": Item(
        r"What is $\frac{1}{2} + \frac{1}{4}$? Express your answer as a common fraction.",
        r"\tfrac34",
    ),
    "interval": Item(
        r"Solve $2 < 2x \le 4$. Express your answer in interval notation.",
        "(1,2]",
    ),
    "range": Item(
        r"What is the range of $f(x) = \sqrt{x}$? Express your answer in interval notation.",
        r"[0, \infty)",
    ),
    "union": Item(
        "Solve $(x+2)(x-3) > 0$. Express your answer in interval notation.",
        r"(-\infty, -2) \cup (3, \infty)",
    ),
    "point": Item(
        "Where do the lines $y = -4$ and $x = 3$ meet? Enter your answer as an ordered pair.",
        "(3, -4)",
    ),
    "polar": Item(
        "Convert the point $(0, 3)$ in rectangular coordinates to polar coordinates.",
        r"\left( 3, \frac{\pi}{2} \right)",
    ),
    "triple": Item(
        "Find the ordered triple $(a, b, c)$ with $a = 1$, $b = 2a$ and $c = a + b$.",
        "(1,2,3)",
    ),
    "choice": Item(
        "Which is largest? (A) $2^3$ (B) $3^2$ (C) $2^4$ (D) $4$",
        r"\text{(C)}",
    ),
    "choice-letter": Item(
        "Which is largest? (A) $2^3$ (B) $3^2$ (C) $2^4$ (D) $4$",
        "C",
    ),
    "weekday": Item(
        "Today is Friday. What day of the week will it be 10 days from now?",
        r"\text{Monday}",
    ),
    "parity": Item(
        'Is $f(x) = x^2$ even, odd, or neither? Enter "odd", "even", or "neither".',
        r"\text{even}",
    ),
    "primes": Item(
        "Which of these are prime? (A) 2 (B) 4 (C) 5. Enter the letters, separated by commas.",
        r"\text{A, C}",
    ),
    "radical": Item(
        r"Simplify $\sqrt{12}$.",
        r"2\sqrt{3}",
    ),
    "circle": Item(
        r"What is the area of a circle of radius 2? Express your answer in terms of $\pi$.",
        r"4\pi",
    ),
    "half": Item(
        r"Reduce $\frac{2}{4}$ to lowest terms.",
        r"\frac12",
    ),
    "half-decimal": Item(
        r"What is $\frac{2}{4}$ as a decimal?",
        "0.5",
    ),
    "third": Item(
        r"What is $\frac{2}{6}$ in lowest terms?",
        r"\frac{1}{3}",
    ),
    "linear": Item(
        "Solve $2x + 6 = 0$.",
        "-3",
    ),
    "solve": Item(
        "Solve $x + 2 = 7$.",
        "5",
    ),
    "solve-eq": Item(
        "Solve $x + 2 = 7$.",
        "x=5",
    ),
    "line": Item(
        "Find the equation of the line with slope 2 and $y$-intercept 3.",
        "y = 2x + 3",
    ),
    "quadratic": Item(
        "Find all solutions to $x^2 + x - 6 = 0$. Enter the solutions, separated by commas.",
        "2, -3",
    ),
}

# family, item, answer, trajkit's verdict, references (math-verify, hendrycks, Minerva),
# trajkit before this change (bare, boxed)
FORMS: list[Form] = [
    Form("money", "notebooks", r"\$18.90", "Y", "YYY", "nY"),
    Form("money", "notebooks", "18.90", "Y", "YYY", "YY"),
    Form("money", "notebooks", "18.9", "Y", "YnY", "YY"),
    Form("money", "notebooks", r"\$18.9", "Y", "YnY", "nY"),
    Form("money", "notebooks", "$18.90", "Y", "YnY", "YY"),
    Form("money", "notebooks", r"\text{\$}18.90", "Y", "nnY", "nn"),
    Form("money", "notebooks", "18.90 dollars", "Y", "nnY", "nn"),
    Form("money", "notebooks-plain", r"\$18.90", "Y", "YYY", "nY"),
    Form("money", "notebooks", r"\$19.80", "n", "nnn", "nn"),
    Form("money", "notebooks", "18.09", "n", "nnn", "nn"),
    Form("money", "notebooks", r"\$1890", "n", "nnn", "nn"),
    Form("money", "laptop", r"\$1,000", "Y", "YYY", "nY"),
    Form("money", "laptop", "1000", "Y", "YnY", "YY"),
    Form("money", "laptop", r"\$1000", "Y", "YnY", "nY"),
    Form("money", "laptop", "1,000 dollars", "Y", "nnY", "nn"),
    Form("money", "laptop", r"\$100", "n", "nnn", "nn"),
    Form("percent", "chess", r"7\%", "Y", "YYn", "YY"),
    Form("percent", "chess", "7%", "Y", "YYn", "YY"),
    Form("percent", "chess", "7", "Y", "YYY", "YY"),
    Form("percent", "chess", "7 percent", "Y", "Ynn", "YY"),
    Form("percent", "chess", "0.07", "n", "nnn", "nn"),
    Form("percent", "chess", r"70\%", "n", "nnn", "nn"),
    Form("percent", "chess-sign", "7", "Y", "YYn", "YY"),
    Form("percent", "chess-sign", r"7\%", "Y", "YYn", "YY"),
    Form("percent", "chess-sign", "7%", "Y", "YYn", "YY"),
    Form("percent", "chess-sign", "0.07", "n", "Ynn", "YY"),
    Form("percent", "chess-sign", r"70\%", "n", "nnn", "nn"),
    Form("percent", "chess-sign", "0.7", "n", "nnn", "nn"),
    Form("percent", "shirt", "12.5", "Y", "nYn", "nn"),
    Form("percent", "shirt", r"12.5\%", "Y", "YYn", "YY"),
    Form("percent", "shirt", r"\frac{25}{2}\%", "Y", "nnn", "YY"),
    Form("percent", "shirt", "0.125", "n", "Ynn", "YY"),
    Form("percent", "apples", r"7\%", "n", "YYn", "YY"),
    Form("percent", "apples", "7%", "n", "YYn", "YY"),
    Form("percent", "apples", "7", "Y", "YYY", "YY"),
    Form("percent", "spinner", r"7\%", "Y", "Ynn", "YY"),
    Form("percent", "spinner", "0.07", "Y", "YYY", "YY"),
    Form("percent", "spinner", "7", "n", "nnn", "nn"),
    Form("degrees", "angle", "30", "Y", "YYY", "YY"),
    Form("degrees", "angle", r"30^\circ", "Y", "YYY", "YY"),
    Form("degrees", "angle", r"30^{\circ}", "Y", "YYY", "YY"),
    Form("degrees", "angle", "30°", "Y", "nnn", "Yn"),
    Form("degrees", "angle", "30 degrees", "Y", "YnY", "YY"),
    Form("degrees", "angle", r"30\text{ degrees}", "Y", "YYY", "YY"),
    Form("degrees", "angle-plain", r"30^\circ", "Y", "YYY", "YY"),
    Form("degrees", "dodecagon", r"150^{\circ}", "Y", "YYY", "YY"),
    Form("degrees", "angle", r"60^\circ", "n", "nnn", "nn"),
    Form("degrees", "angle", r"\frac{\pi}{6}", "n", "nnn", "nn"),
    Form("units", "square-side", "5", "Y", "YYY", "YY"),
    Form("units", "square-side", r"5\text{ cm}", "Y", "YYY", "YY"),
    Form("units", "square-side", "5 cm", "Y", "YnY", "YY"),
    Form("units", "square-side-plain", r"5\text{ cm}", "Y", "YYY", "YY"),
    Form("units", "square-side-plain", r"5\mbox{ cm}", "Y", "YnY", "YY"),
    Form("units", "foot", r"12\text{ inches}", "Y", "YYY", "YY"),
    Form("units", "foot-units", "12 inches", "Y", "YnY", "YY"),
    Form("units", "foot-units", "12", "Y", "YYY", "YY"),
    Form("units", "triangle-area", r"18\text{ square units}", "Y", "YYY", "YY"),
    Form("units", "rectangle", "20", "Y", "YYY", "YY"),
    Form("units", "rectangle-plain", r"20\text{ cm}^2", "Y", "YYY", "YY"),
    Form("units", "speed", r"40\text{ mph}", "Y", "YYY", "YY"),
    Form("units", "trip", r"3\text{ hours}", "Y", "YYY", "YY"),
    Form("units", "square-side", r"6\text{ cm}", "n", "nnn", "nn"),
    Form("thousands", "cube-ten", "1,000", "Y", "YnY", "YY"),
    Form("thousands", "cube-ten", "1{,}000", "Y", "YnY", "YY"),
    Form("thousands", "cube-ten", r"1,\!000", "Y", "YnY", "YY"),
    Form("thousands", "cube-ten-comma", "1000", "Y", "YnY", "YY"),
    Form("thousands", "square-hundred", r"10,\!000", "Y", "YnY", "YY"),
    Form("thousands", "square-hundred-sep", "10000", "Y", "YnY", "YY"),
    Form("thousands", "square-hundred-sep", "10,000", "Y", "YYY", "YY"),
    Form("thousands", "square-hundred-sep", r"10\,000", "Y", "nnY", "nn"),
    Form("thousands", "million", "1000000", "Y", "YnY", "YY"),
    Form("thousands", "million", "1,000,000", "Y", "YYY", "YY"),
    Form("thousands", "product", "1200", "Y", "YnY", "YY"),
    Form("thousands", "cube-ten", "1,00", "n", "nnn", "nn"),
    Form("thousands", "cube-ten", "(1, 000)", "n", "nnY", "nn"),
    Form("thousands", "two-roots", "1200", "n", "nnY", "nn"),
    Form("thousands", "two-roots", "200, 1", "Y", "Ynn", "YY"),
    Form("thousands", "square-hundred-sep", "10,001", "n", "nnn", "nn"),
    Form("thousands", "zero", r"10\,000", "n", "Ynn", "YY"),
    Form("fractions", "fraction", r"\dfrac{3}{4}", "Y", "YYY", "YY"),
    Form("fractions", "fraction", r"\tfrac{3}{4}", "Y", "YYY", "YY"),
    Form("fractions", "fraction", r"\frac34", "Y", "YYY", "YY"),
    Form("fractions", "fraction", "3/4", "Y", "YYY", "YY"),
    Form("fractions", "fraction", "0.75", "Y", "YnY", "YY"),
    Form("fractions", "fraction-d", r"\frac{3}{4}", "Y", "YYY", "YY"),
    Form("fractions", "fraction-t", "3/4", "Y", "YYY", "YY"),
    Form("fractions", "fraction", "4/3", "n", "nnn", "nn"),
    Form("fractions", "fraction", "0.7", "n", "nnn", "nn"),
    Form("fractions", "half", "0.5", "Y", "YYY", "YY"),
    Form("fractions", "half", "1/2", "Y", "YYY", "YY"),
    Form("fractions", "half-decimal", r"\frac12", "Y", "YYY", "YY"),
    Form("fractions", "third", "0.333333", "Y", "Ynn", "YY"),
    Form("fractions", "third", "0.33", "n", "nnn", "nn"),
    Form("intervals", "interval", "(1, 2]", "Y", "YYn", "YY"),
    Form("intervals", "interval", r"\left(1,2\right]", "Y", "YYn", "YY"),
    Form("intervals", "interval", "[1,2]", "n", "nnn", "nn"),
    Form("intervals", "interval", "(1,2)", "n", "nnn", "nn"),
    Form("intervals", "range", r"[0,\infty)", "Y", "YYn", "YY"),
    Form("intervals", "range", "[0, oo)", "Y", "nnn", "Yn"),
    Form("intervals", "range", "[0, inf)", "Y", "Ynn", "YY"),
    Form("intervals", "range", r"(0, \infty)", "n", "nnn", "nn"),
    Form("intervals", "union", r"(-\infty,-2)\cup(3,\infty)", "Y", "YYn", "YY"),
    Form("intervals", "union", r"(-\infty,-2)\cup[3,\infty)", "n", "nnn", "nn"),
    Form("tuples", "point", "(3,-4)", "Y", "YYn", "YY"),
    Form("tuples", "point", r"\left(3, -4\right)", "Y", "YYn", "YY"),
    Form("tuples", "point", "(-4, 3)", "n", "nnn", "nn"),
    Form("tuples", "point", "(3, 4)", "n", "nnn", "nn"),
    Form("tuples", "polar", r"(3, \frac{\pi}{2})", "Y", "YYn", "YY"),
    Form("tuples", "triple", "(1, 2, 3)", "Y", "YYn", "YY"),
    Form("tuples", "triple", "(1, 3, 2)", "n", "nnn", "nn"),
    Form("text", "choice", r"\text{(C)}", "Y", "YYY", "YY"),
    Form("text", "choice", "(C)", "Y", "YnY", "YY"),
    Form("text", "choice", "C", "Y", "YnY", "YY"),
    Form("text", "choice", r"\text{C}", "Y", "YnY", "YY"),
    Form("text", "choice", "(c)", "Y", "Ynn", "YY"),
    Form("text", "choice-letter", r"\text{(C)}", "Y", "YnY", "YY"),
    Form("text", "choice", "(B)", "n", "nnn", "nn"),
    Form("text", "choice", "B", "n", "nnn", "nn"),
    Form("text", "weekday", "Monday", "Y", "YnY", "YY"),
    Form("text", "weekday", r"\text{Monday}", "Y", "YYY", "YY"),
    Form("text", "weekday", "monday", "Y", "Ynn", "YY"),
    Form("text", "weekday", "Tuesday", "n", "nnn", "nn"),
    Form("text", "weekday", "Dynamo", "n", "nnn", "nn"),
    Form("text", "parity", "even", "Y", "YnY", "YY"),
    Form("text", "parity", "odd", "n", "nnn", "nn"),
    Form("text", "primes", "A, C", "Y", "nnY", "nn"),
    Form("text", "primes", "C, A", "Y", "nnn", "nn"),
    Form("text", "primes", "(A), (C)", "Y", "nnY", "nn"),
    Form("text", "primes", "A", "n", "nnY", "nn"),
    Form("text", "primes", "A, B, C", "n", "nnY", "nn"),
    Form("radicals", "radical", r"2\sqrt3", "Y", "YYY", "YY"),
    Form("radicals", "radical", r"\sqrt{12}", "Y", "YnY", "YY"),
    Form("radicals", "radical", "2*sqrt(3)", "Y", "Ynn", "YY"),
    Form("radicals", "radical", r"3\sqrt{2}", "n", "nnn", "nn"),
    Form("pi", "circle", r"4 \pi", "Y", "YYY", "YY"),
    Form("pi", "circle", "4*pi", "Y", "nnn", "nn"),
    Form("pi", "circle", "4pi", "Y", "nnn", "nn"),
    Form("pi", "circle", "12.566", "n", "nnn", "nn"),
    Form("pi", "circle", r"2\pi", "n", "nnn", "nn"),
    Form("negatives", "linear", "-3", "Y", "YYY", "YY"),
    Form("negatives", "linear", "- 3", "Y", "YYY", "YY"),
    Form("negatives", "linear", "−3", "Y", "Ynn", "YY"),
    Form("negatives", "linear", "3", "n", "nnn", "nn"),
    Form("equations", "solve", "x = 5", "Y", "YYY", "YY"),
    Form("equations", "solve", "x=5", "Y", "YYY", "YY"),
    Form("equations", "solve-eq", "5", "Y", "YYY", "YY"),
    Form("equations", "line", "2x+3", "Y", "YYY", "YY"),
    Form("equations", "solve", "x = 6", "n", "nnn", "nn"),
    Form("equations", "quadratic", "-3, 2", "Y", "Ynn", "YY"),
    Form("equations", "quadratic", "x = 2, x = -3", "Y", "Ynn", "YY"),
    Form("equations", "quadratic", "2", "n", "nnY", "nn"),
]


def _task(item: str, layout: str) -> Task:
    """The item as a loaded task: reference from a worked solution's last box, or from an
    ``answer`` field as MATH-500 stores it."""
    problem, reference = ITEMS[item]
    record: dict[str, Any] = {"problem": problem}
    if layout == "solution":
        record["solution"] = f"Working it out, the answer is $\\boxed{{{reference}}}$."
    else:
        record["answer"] = reference
    task = record_to_task(record, f"fidelity:{item}")
    assert task is not None and task.reference == reference
    return task


@pytest.fixture(scope="module")
def source() -> Iterator[MathSource]:
    src = MathSource(judge_workers=2)
    yield src
    src.close()


# --------------------------------------------------------------------------- the table


@pytest.mark.parametrize("form", FORMS, ids=[f"{f.family}:{f.item}:{f.answer}" for f in FORMS])
async def test_form_is_judged_as_expected(source: MathSource, form: Form) -> None:
    cases = [
        (layout, shown)
        for layout in ("solution", "answer")
        for shown in (form.answer, f"\\boxed{{{form.answer}}}")
    ]
    verdicts = await asyncio.gather(
        *(source.judge(_task(form.item, layout), shown) for layout, shown in cases)
    )
    got = {
        f"{layout} / {shown}": v.success
        for (layout, shown), v in zip(cases, verdicts, strict=True)
    }
    assert set(got.values()) == {form.expected}, (got, [v.details for v in verdicts])


def test_math_verify_column_is_what_math_verify_says() -> None:
    """The recorded math-verify verdicts still hold for the installed math-verify (run with
    its MATH task config), so the document's comparison does not go stale on an upgrade."""
    from math_verify import LatexExtractionConfig, parse, verify

    logging.getLogger("math_verify").setLevel(logging.ERROR)
    gold_config = [LatexExtractionConfig(boxed_match_priority=0)]
    drift = []
    for form in FORMS:
        reference = ITEMS[form.item].reference
        gold = parse(f"so $\\boxed{{{reference}}}$.", gold_config, parsing_timeout=None)
        pred = parse(f"$\\boxed{{{form.answer}}}$", parsing_timeout=None)
        upstream = bool(verify(gold, pred, timeout_seconds=None))
        if upstream != (form.refs[0] == "Y"):
            drift.append((reference, form.answer, upstream))
    assert not drift


def _mark(verdict: str) -> str:
    return "✓" if verdict == "Y" else "✗"


def render_table() -> str:
    """The Markdown table of docs/fidelity/math.md, built from ``FORMS``."""
    lines = [
        "| form | reference | answer | % question | trajkit | math-verify | hendrycks "
        "| Minerva | before (bare/boxed) |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for form in FORMS:
        problem, reference = ITEMS[form.item]
        percent = "yes" if is_percent_question(problem, reference) else ""
        cells = [
            form.family,
            f"`{reference}`",
            f"`{form.answer}`",
            percent,
            f"**{_mark(form.trajkit)}**",
            *(_mark(verdict) for verdict in form.refs),
            "/".join(_mark(verdict) for verdict in form.before),
        ]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def test_document_table_is_this_table() -> None:
    text = DOC.read_text(encoding="utf-8")
    start, end = "<!-- table: start -->\n", "\n<!-- table: end -->"
    table = text[text.index(start) + len(start) : text.index(end)]
    assert table == render_table(), "regenerate the table in docs/fidelity/math.md:\n" + (
        render_table()
    )


def test_table_counts_quoted_in_the_document() -> None:
    """The summary numbers in the document are computed from the table, not typed."""
    text = " ".join(DOC.read_text(encoding="utf-8").split())
    agree = [sum(f.trajkit == f.refs[i] for f in FORMS) for i in range(3)]
    correct = sum(f.expected for f in FORMS)
    quoted = [
        f"{len(FORMS)} answer forms ({correct} that should be judged correct, "
        f"{len(FORMS) - correct} deliberately wrong ones) in {len({f.family for f in FORMS})}",
        f"all {len(FORMS) * 4} checks",
        f"matches math-verify on {agree[0]} of them, Minerva on {agree[2]} and hendrycks on "
        f"{agree[1]}",
        f"agree with each other on only {sum(len(set(f.refs)) == 1 for f in FORMS)} rows",
        f"No reference agrees with trajkit on "
        f"{sum(f.trajkit not in f.refs for f in FORMS)} rows",
        f"Before this change trajkit was right on {sum(f.before == f.trajkit * 2 for f in FORMS)}",
        f"It judged {sum(f.expected and 'n' in f.before for f in FORMS)} correct answers wrong",
        f"It judged {sum(not f.expected and 'Y' in f.before for f in FORMS)} wrong answers right",
    ]
    assert [q for q in quoted if q not in text] == []


# --------------------------------------------------------------------------- regressions

# Each was judged the other way before the form rules (see "before" in FORMS).
FIXED = [
    ("money-bare", "notebooks", r"\$18.90", True),
    ("money-bare-plain-reference", "notebooks-plain", r"\$18.90", True),
    ("money-in-prose", "notebooks", r"The answer is \$18.90.", True),
    ("money-thousands", "laptop", r"\$1,000", True),
    ("money-text-dollar", "notebooks", r"\text{\$}18.90", True),
    ("money-unit-word", "laptop", "1,000 dollars", True),
    ("percent-decimal-number", "shirt", "12.5", True),
    ("percent-sign-not-asked-for", "apples", r"7\%", False),
    ("percent-as-fraction-when-percent-asked", "chess-sign", "0.07", False),
    ("degree-sign-boxed", "angle", r"\boxed{30°}", True),
    ("thin-space-thousands", "square-hundred-sep", r"10\,000", True),
    ("thin-space-is-not-ten-times-zero", "zero", r"10\,000", False),
    ("python-infinity-boxed", "range", r"\boxed{[0, oo)}", True),
    ("python-pi", "circle", "4*pi", True),
    ("python-pi-juxtaposed", "circle", "4pi", True),
    ("option-letters", "primes", "A, C", True),
]


@pytest.mark.parametrize(
    ("item", "answer", "expected"), [case[1:] for case in FIXED], ids=[c[0] for c in FIXED]
)
async def test_fixed_form(source: MathSource, item: str, answer: str, expected: bool) -> None:
    verdict = await source.judge(_task(item, "solution"), answer)
    assert verdict.success is expected, verdict.details


async def test_without_the_question_percent_follows_the_reference_normalisers() -> None:
    """A caller that gives no problem gets the references' reading: ``7\\%`` equals ``7``."""
    judge = MathJudge(workers=1)
    try:
        assert (await judge.judge("7", r"7\%")).success
        apples = ITEMS["apples"].problem
        assert not (await judge.judge("7", r"7\%", problem=apples)).success
        assert not judge.judge_sync("7", "7%", problem=apples).success
    finally:
        await judge.aclose()


# --------------------------------------------------------------------------- the rules


@pytest.mark.parametrize(
    ("problem", "reference", "expected"),
    [
        ("What percent of the class walks?", "7", True),
        ("Express your answer as a percentage.", "12", True),
        ("How many apples are left?", "7", False),
        (r"After a $20\%$ discount, what does the coat cost?", r"\$40", False),
        ("How many apples are left?", r"7\%", True),  # the reference itself is a percent
        (None, "7", True),  # no question: follow the reference normalisers
    ],
)
def test_is_percent_question(problem: str | None, reference: str, expected: bool) -> None:
    assert is_percent_question(problem, reference) is expected


@pytest.mark.parametrize(
    ("text", "percent_question", "expected"),
    [
        (r"\$18.90", True, "18.90"),
        (r"10,\!000", True, "10000"),
        (r"-1{,}234.5", True, "-1234.5"),
        ("1, 200", True, "1, 200"),  # a list, not a thousands separator
        ("(1,000, 2)", True, "(1,000, 2)"),  # only a whole-answer number is regrouped
        (r"12.5\%", True, "12.5"),
        (r"12.5\%", False, r"12.5\cdot\frac{1}{100}"),
        ("7 percent", False, r"7\cdot\frac{1}{100}"),
        (r"30^{\circ}", True, "30"),
        (r"f \circ g", True, r"f \circ g"),  # composition, not degrees
        (r"20\text{ cm}^2", True, "20"),
        ("5 x", True, "5 x"),  # a variable, not a unit
        ("6 ways", True, "6"),
        ("5 and more", True, "5 and more"),  # a relation, not a unit
        ("5 million", True, r"5\cdot 10^{6}"),  # a magnitude multiplies
        ("1,200 thousand dollars", True, r"1200\cdot 10^{3}"),
        (r"3\textrm{ million}", True, r"3\cdot 10^{6}"),
        ("4 dozen", True, r"4\cdot 12"),
        ("5 squared", True, "5 squared"),  # an operation, not a unit
        (r"5\text{ squared}", True, "5 squared"),  # out of the \text{} math-verify drops
        ("3 halves", True, "3 halves"),
        (r"\text{(A), (C)}", True, "A, C"),
        (r"\text{(C)}", True, r"\text{(C)}"),
    ],
)
def test_normalise_answer(text: str, percent_question: bool, expected: str) -> None:
    assert normalise_answer(text, percent_question=percent_question) == expected


@pytest.mark.parametrize(
    ("answer", "expected"),
    [
        (r"\boxed{\$18.90}", "18.90"),
        (r"The answer is $\boxed{\frac{7}{10}}$.", r"\frac{7}{10}"),
        (r"\(x = 5\)", "x = 5"),
        ("$$(3, -4)$$", "(3, -4)"),
        (r"\boxed{1} and \boxed{2}", "2"),  # several boxes: the last, as MATH's grader
        (r"\boxed{1}. Wait, actually \boxed{2}.", "2"),
        (r"Since $x^2 = 4$, $x = \boxed{2}$.", "2"),  # prose around a box: the box
        (r"\boxed{1} and \boxed{", None),  # a broken last box: never an earlier one
        (r"Since $x^2 = 4$, we get $x = 2$", None),  # prose holding formulas
    ],
)
def test_answer_core(answer: str, expected: str | None) -> None:
    assert answer_core(answer) == expected


# Found by a differential run against hendrycks/math's grader: each was judged correct before
# (the number read alone, or two boxes read as a set) where the grader says wrong, or wrong
# where it takes the last box.
READ_AS_WRITTEN = [
    ("5", "5 million", False),
    ("5000000", "5 million", True),
    ("5", r"3\textrm{ million}", False),
    ("48", "4 dozen", True),
    ("5", "5 squared", False),
    ("2", "2 cubed", False),
    ("3", "3 halves", False),
    ("10", "10 factorial", False),
    ("7", "7 mod", False),
    ("5", r"5\text{ squared}", False),
    ("2", r"\boxed{1}. Wait, actually \boxed{2}", True),
    ("5", r"\boxed{3} \boxed{5}", True),
    ("3, 5", r"\boxed{3} \boxed{5}", False),
    ("5", "5 cm", True),  # units still go
]


async def test_words_that_change_the_value_and_several_boxes() -> None:
    judge = MathJudge(workers=1)
    try:
        got = [
            (reference, answer, (await judge.judge(reference, answer)).success)
            for reference, answer, _ in READ_AS_WRITTEN
        ]
    finally:
        await judge.aclose()
    assert got == READ_AS_WRITTEN
