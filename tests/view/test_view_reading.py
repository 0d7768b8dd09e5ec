"""How each source's verdict reads (summary line and reference view), found through the
registry with a generic fallback, and shown at the top of the trajectory page."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from factories import make_trajectory

from trajkit.core import registry
from trajkit.schemas import Task, Verdict
from trajkit.sources.alfworld.report import AlfWorldReport
from trajkit.sources.apps.report import AppsReport
from trajkit.sources.base import BaseSource
from trajkit.sources.hotpotqa.report import HotpotQAReport
from trajkit.sources.math.report import MathReport
from trajkit.sources.reading import (
    ReferenceView,
    ReportTable,
    VerdictReader,
    generic_reference,
    generic_summary,
)
from trajkit.sources.webshop.report import WebShopReport
from trajkit.view.model import make_row
from trajkit.view.render_trajectory import render_trajectory


def task(source: str, reference: object = None, **metadata: object) -> Task:
    return Task(source=source, task_id="t", prompt="p", reference=reference, metadata=metadata)


def test_math_reads_as_math_verify_saw_it() -> None:
    t = task("math", "\\frac{7}{10}", level=2, type="Algebra")
    ok = Verdict(success=True, score=1.0, details={"parsed_gold": "7/10", "parsed_pred": "0.7"})
    assert MathReport.verdict_summary(t, ok) == "math-verify: 0.7 ≡ 7/10"
    bad = Verdict(success=False, score=0.0, details={"parsed_gold": "7/10", "parsed_pred": "3"})
    assert MathReport.verdict_summary(t, bad) == "math-verify: 3 ≢ 7/10"
    timeout = Verdict(success=False, score=0.0, details={"error": "timeout"})
    assert MathReport.verdict_summary(t, timeout) == "math-verify: timeout"
    assert MathReport.reference_view(t, ok).fields == (
        ("reference", "\\frac{7}{10}"),
        ("reference read as", "7/10"),
        ("answer read as", "0.7"),
        ("problem", "level 2 · Algebra"),
    )


def test_hotpotqa_reads_as_em_and_f1() -> None:
    t = task(
        "hotpotqa",
        "Hampshire",
        type="bridge",
        level="medium",
        supporting_facts=[["Jane Austen", 0], ["Jane Austen", 2], ["Steventon", 1]],
    )
    ok = Verdict(
        success=True,
        score=1.0,
        details={
            "rule": "em",
            "em": 1.0,
            "f1": 1.0,
            "normalized_answer": "hampshire",
            "normalized_reference": "hampshire",
        },
    )
    assert HotpotQAReport.verdict_summary(t, ok) == "EM 1 · F1 1.00"
    part = Verdict(success=False, score=0.5, details={"rule": "em", "em": 0.0, "f1": 0.5})
    assert HotpotQAReport.verdict_summary(t, part) == "EM 0 · F1 0.50 · success needs em"
    fields = dict(HotpotQAReport.reference_view(t, ok).fields)
    assert fields["supporting"] == "Jane Austen · Steventon"
    assert fields["compared"] == "'hampshire' vs 'hampshire'"


def apps_reference(n: int) -> dict[str, object]:
    return {
        "mode": "stdin",
        "fn_name": None,
        "inputs": [f"{i}\n" for i in range(n)],
        "outputs": [f"{2 * i}\n" for i in range(n)],
        "examples": [],
    }


def test_apps_reads_as_tests_passed_with_a_table_of_the_first() -> None:
    t = task("apps", apps_reference(6))
    tests = [{"index": i, "status": "pass", "match": "exact"} for i in range(6)]
    tests[4] = {"index": 4, "status": "wrong", "got": "9\n"}
    tests[5] = {"index": 5, "status": "timeout"}
    v = Verdict(
        success=False,
        score=4 / 6,
        details={
            "mode": "stdin",
            "passed": 4,
            "total": 6,
            "test_timeout_s": 4.0,
            "tests": tests,
            "counts": {"pass": 4, "wrong": 1, "timeout": 1},
        },
    )
    assert AppsReport.verdict_summary(t, v) == "4/6 tests passed: 1 wrong answer, 1 timeout"
    view = AppsReport.reference_view(t, v)
    assert view.fields == (("tests", "6 · stdin → stdout · 4s each"),)
    [table] = view.tables
    assert table.columns == ("#", "input", "expected", "got")
    assert table.rows == (
        ("1", "0", "0", "✓ same"),
        ("2", "1", "2", "✓ same"),
        ("3", "2", "4", "✓ same"),
        ("5", "4", "8", "✗ 9"),
    )
    assert table.caption == "tests 1, 2, 3, 5 of 6 (test 5 is the first that failed)"
    all_pass = Verdict(success=True, score=1.0, details={"passed": 6, "total": 6})
    assert AppsReport.verdict_summary(t, all_pass) == "6/6 tests passed"
    broken = Verdict(
        success=False,
        score=0.0,
        details={"passed": 0, "total": 6, "compile_error": "SyntaxError: invalid syntax (line 3)"},
    )
    assert AppsReport.verdict_summary(t, broken).startswith("0/6 tests run: compile error: Syn")


def test_apps_cells_stay_small_however_large_the_test() -> None:
    ref = {"mode": "stdin", "inputs": ["ab" * 50_000], "outputs": ["x\n" * 1000]}
    [table] = AppsReport.reference_view(task("apps", ref), Verdict(success=True, score=1.0)).tables
    _, inp, expected, _ = table.rows[0]
    assert len(inp) < 200 and inp.endswith("more chars)") and expected.count("\n") <= 4


def test_webshop_reads_as_goal_against_purchase() -> None:
    goal = {
        "asin": "B1",
        "instruction_text": "a grey office chair under 130",
        "name": "Chair",
        "attributes": ["lumbar support", "adjustable height"],
        "goal_options": ["grey", "large"],
        "price_upper": 130.0,
    }
    details = {
        "reward": 0.6,
        "r_type": 1.0,
        "r_att": 1.0,
        "r_option": 0.0,
        "r_price": True,
        "w_att": 0.4,
        "w_option": 0.4,
        "w_price": 0.2,
        "asin": "B1",
        "options": {"color": "black"},
        "price": 119.99,
        "goal_asin": "B1",
    }
    v = Verdict(success=False, score=0.6, details=details)
    t = task("webshop", goal)
    assert WebShopReport.verdict_summary(t, v) == "2/2 attributes, 0/2 options, price ok"
    view = WebShopReport.reference_view(t, v)
    assert view.fields == (("goal", "a grey office chair under 130"),)
    rows = {(r[0], r[1]): r for r in view.tables[0].rows}
    assert rows[("option", "grey")][2:] == ("black", "✗")
    assert rows[("attributes", "lumbar support, adjustable height")][2:] == (
        "2 of 2 in the product",
        "✓",
    )
    assert rows[("price", "under $130.00")][2:] == ("$119.99", "✓")
    grey = Verdict(
        success=False, score=0.8, details={**details, "options": {"color": "light grey"}}
    )
    rows = {(r[0], r[1]): r for r in WebShopReport.reference_view(t, grey).tables[0].rows}
    assert rows[("option", "grey")][3] == "✓"  # the reward's own colour-normalised fuzzy match
    cap = Verdict(
        success=False, score=0.0, details={"reason": "step cap", "steps": 50, "max_steps": 50}
    )
    assert WebShopReport.verdict_summary(t, cap) == "no purchase: step limit, 50 of 50 actions"


def test_alfworld_reads_as_won_or_not() -> None:
    t = task(
        "alfworld",
        None,
        type="pick_and_place_simple",
        object="Mug",
        receptacle="Desk",
        game_file="/somewhere/on/the/collector/game.tw-pddl",
    )
    won = Verdict(
        success=True,
        score=1.0,
        details={
            "won": True,
            "env_steps": 5,
            "max_steps": 50,
            "reason": "won",
            "game": "train/pick-Mug/trial_1",
        },
    )
    assert AlfWorldReport.verdict_summary(t, won) == "won after 5 of 50 steps"
    capped = Verdict(
        success=False,
        score=0.0,
        details={"won": False, "env_steps": 50, "max_steps": 50, "reason": "step cap"},
    )
    assert AlfWorldReport.verdict_summary(t, capped) == "not won: step cap after 50 of 50 steps"
    fields = dict(AlfWorldReport.reference_view(t, won).fields)
    assert fields["goal"] == "Mug → Desk" and fields["game"] == "train/pick-Mug/trial_1"
    assert "/somewhere" not in repr(fields)


def test_generic_reading_for_a_source_that_declares_none() -> None:
    t = task("x", {"unit": "km", "value": 3.5})
    v = Verdict(success=False, score=0.0, details={"reason": "too   far\noff"})
    assert generic_summary(t, v) == "too far off"
    assert generic_reference(t, v).fields == (("unit", "km"), ("value", "3.5"))
    assert generic_reference(task("x", [1, 2]), v).fields == (("reference", "[1, 2]"),)
    assert BaseSource.verdict_summary(t, v) == "too far off"


class Declares(BaseSource):
    name = "declares"

    @classmethod
    def verdict_summary(cls, task: Task, verdict: Verdict) -> str:
        return f"own words\n{verdict.score:g}"

    @classmethod
    def reference_view(cls, task: Task, verdict: Verdict) -> ReferenceView:
        return ReferenceView((("mine", 7),), (ReportTable(("a",), ((1,),)),))  # type: ignore[arg-type]


class Raises(BaseSource):
    name = "raises"

    @staticmethod
    def verdict_summary(task: Task, verdict: Verdict) -> str:
        raise RuntimeError("a plugin bug")

    @staticmethod
    def reference_view(task: Task, verdict: Verdict) -> ReferenceView:
        return "not a view"  # type: ignore[return-value]


@pytest.fixture
def plugins() -> Iterator[None]:
    registry.register("source", "declares", Declares)
    registry.register("source", "raises", Raises)
    yield
    registry.REGISTRY.unregister("source", "declares")
    registry.REGISTRY.unregister("source", "raises")


def test_reader_uses_a_plugin_s_reading_and_survives_broken_or_missing_ones(plugins: None) -> None:
    reader = VerdictReader()
    v = Verdict(success=True, score=0.5, details={"reason": "generic"})
    t = task("any", "ref")
    assert reader.summary("declares", t, v) == "own words 0.5"  # one line, always
    assert reader.reference("declares", t, v) == ReferenceView(
        (("mine", "7"),), (ReportTable(("a",), (("1",),)),)
    )
    for broken in ("raises", "uninstalled-since", "<script>"):
        assert reader.summary(broken, t, v) == "generic"
        assert reader.reference(broken, t, v) == ReferenceView((("reference", "ref"),))


def test_the_page_leads_with_the_verdict_line_and_the_reference(plugins: None) -> None:
    traj = make_trajectory(
        "m1", ["exception", "ok", "solve"], source="declares", task=task("declares", "ref")
    )
    page = render_trajectory(traj, make_row(3, traj))
    first = page.index('id="verdict"')
    assert first < page.index('id="judge"') < page.index("<h2>Conversation</h2>")
    line = re.search(r'<div class="verdict-line ok" id="verdict">(.*?)</div>', page)
    assert line and re.sub("<[^>]+>", "", line.group(1)) == "✓ success · own words 1 · score 1"
    assert "<td><pre>1</pre></td>" in page and "<dt>mine</dt>" in page
    # the details and the record's facts are folded, below the reference
    assert page.index('<details class="more"') > page.index('id="reference"')
    assert page.index("<dt>sandbox</dt>") > page.index('<details class="more"')
    # the failed action is marked at its own turn, and the recovering turn quotes it
    assert re.search(
        r'id="turn-1"><div class="role">[^<]*<b class="mark bad failed-mark">'
        r"✗ this action failed: exception · ZeroDivisionError",
        page,
    )
    assert "recovers from the failed action in turn 1 (ZeroDivisionError: division by zero)" in page
    assert 'href="#i=3&amp;turn=2">⟲ self-corrects at turn 2</a>' in page


def test_a_failure_says_how_it_ended() -> None:
    traj = make_trajectory("m2", ["ok", "wrong"], success=False)
    page = render_trajectory(traj, make_row(0, traj))
    line = re.search(r'id="verdict">(.*?)</div>', page)
    assert line and re.sub("<[^>]+>", "", line.group(1)).startswith("✗ failure · ")
    assert "ended: max_turns" in line.group(1)
