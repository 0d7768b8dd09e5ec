"""HTML built from records: the highlighter, the trajectory fragment, charts and the overview."""

from __future__ import annotations

import html
import re
import xml.etree.ElementTree as ET
from html.parser import HTMLParser
from pathlib import Path

import pytest
from factories import make_trajectory
from view_helpers import HOSTILE, episodes, hostile, make_version

from trajkit.view.charts import histogram_svg, rate_bars_svg
from trajkit.view.highlight import highlight_python
from trajkit.view.model import Bin, Overview, histogram, make_row, open_target
from trajkit.view.render_overview import render_overview
from trajkit.view.render_trajectory import render_trajectory

SAMPLES = [
    'def f(x, *a, **k):\n    """Doc <b>."""\n    return len(x) + 0x1F + 1.5e-3  # <!-- c\n',
    "@decorator\nclass A(B):\n    s = f'{x!r}' + b'\\x00' + r'\\d' + 'it\\'s'\n",
    'print(\'unterminated\nx = """never closed\n<script>alert(1)</script>',
    "match p:\n    case [1, _]: pass\nλ = 1 if True else None & 2 < 3 > 1",
    "",
]


class _Tags(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.tags: set[str] = set()
        self.attrs: set[str] = set()

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.add(tag)
        self.attrs.update(name for name, _ in attrs)


def _parse(markup: str) -> _Tags:
    parser = _Tags()
    parser.feed(markup)
    return parser


def elements(markup: str) -> set[str]:
    """The element names an HTML parser finds in ``markup``."""
    return _parse(markup).tags


def attributes(markup: str) -> set[str]:
    return _parse(markup).attrs


def strip_tags(markup: str) -> str:
    return html.unescape(re.sub(r"</?span[^>]*>", "", markup))


@pytest.mark.parametrize("code", SAMPLES)
def test_highlighter_keeps_every_character_escaped(code: str) -> None:
    out = highlight_python(code)
    assert strip_tags(out) == code
    assert re.sub(r'</?span( class="[a-z]")?>', "", out).count("<") == 0  # no markup but ours


def test_highlighter_classifies_tokens() -> None:
    out = highlight_python("def area(r):  # circle\n    return math.pi * r ** 2 + len('x')")
    for token, cls in [
        ("def", "k"),
        ("area", "f"),
        ("# circle", "c"),
        ("return", "k"),
        ("len", "b"),
        ("2", "n"),
        ("'x'", "s"),
    ]:
        assert f'<span class="{cls}">{html.escape(token, quote=False)}</span>' in out
    assert '<span class="n">pi</span>' not in out and "math" in out
    assert '<span class="s">"""a\nb"""</span>' in highlight_python('"""a\nb"""')
    assert '<span class="d">@cache</span>' in highlight_python("@cache\ndef f(): pass")


def test_trajectory_fragment_marks_the_self_correction_step() -> None:
    traj = make_trajectory(steps=["ok", "exception", "ok", "solve"])
    page = render_trajectory(traj, make_row(7, traj))
    turns = re.findall(r'<div class="msg assistant([^"]*)" id="turn-(\d)"', page)
    assert turns == [("", "1"), (" failed", "2"), (" sc-mark", "3"), ("", "4")]
    assert "self-correction: recovers from the failed action in turn 2" in page
    assert page.count("the step that succeeded") == 1
    assert (
        '<div class="msg obs err"><div class="role">observation · error: exception · '
        "ZeroDivisionError" in page
    )
    assert '<span class="errline">Observation: ZeroDivisionError: division by zero</span>' in page
    assert 'href="#i=7&amp;turn=4"' in page
    assert (
        "judge: accepted" in page and '<span class="k">print</span>' not in page
    )  # print is a builtin
    assert '<span class="b">print</span>' in page


def test_trajectory_fragment_without_success_has_no_markers() -> None:
    traj = make_trajectory(steps=["exception", "wrong"], success=False)
    page = render_trajectory(traj, make_row(0, traj))
    assert "sc-mark" not in page and "the step that succeeded" not in page
    assert "judge feedback · answer rejected" in page  # "Your answer is wrong." after it
    assert "judge: rejected" in page and '<span class="badge bad">failure</span>' in page


def test_trajectory_fragment_escapes_record_text() -> None:
    traj = hostile()
    page = render_trajectory(traj, make_row(0, traj))
    assert elements(page) <= {
        "h1",
        "h2",
        "h3",
        "section",
        "caption",
        "span",
        "dl",
        "dt",
        "dd",
        "div",
        "b",
        "pre",
        "details",
        "summary",
        "code",
        "table",
        "thead",
        "tbody",
        "tr",
        "th",
        "td",
        "a",
    }
    assert not any(name.startswith("on") for name in attributes(page))
    assert (
        page.count(html.escape(HOSTILE, quote=True)) >= 5
    )  # prompt, observation, answer, details, source


def test_svg_charts_are_well_formed_and_state_their_numbers() -> None:
    svg = histogram_svg(
        histogram([1, 2, 2, 3, 9], integer=True),
        title="turns <per> episode",
        unit="turns",
        integer=True,
    )
    root = ET.fromstring(svg)
    texts = [t.text for t in root.iter("{http://www.w3.org/2000/svg}text")]
    assert "2" in texts and "1" in texts and "turns" in texts
    assert len(list(root.iter("{http://www.w3.org/2000/svg}rect"))) == 9
    ET.fromstring(histogram_svg([], title="x", unit="y"))
    ET.fromstring(histogram_svg([Bin(0.0, 0.5, 3), Bin(0.5, 1.0, 0)], title="c", unit="USD"))
    bars = rate_bars_svg([("<src>", 0.5, 0.25)], title="rates")
    assert "50.0%" in bars and "25.0%" in bars and "&lt;src&gt;" in bars
    ET.fromstring(bars)


def test_overview_states_the_manifest(tmp_path: Path) -> None:
    target = open_target(make_version(tmp_path))
    o = Overview(kind="version", name=target.name, path=str(target.path))
    kept = [t for t in episodes() if t.task_id in ("m1", "m4", "h1")]
    for i, t in enumerate(kept):
        o.add(make_row(i, t, decision="kept"), t)
    page = render_overview(target, o)
    assert '<div class="card" data-stat="records"><div class="v">3</div>' in page
    assert re.search(
        r'<tr data-key="success"><td>success</td><td>min_score=1\.0</td><td class="num">8</td>'
        r'<td class="num" data-col="kept">5</td><td class="num" data-col="dropped">3</td>'
        r"<td>unsuccessful: 2; score_below_min: 1</td>",
        page,
    )
    assert 'data-key="self-correct"' in page and "no_error_before_success: 2" in page
    assert "<h2>Parents</h2>" in page and "run-a" in page
    assert (
        '<tr data-key="math"><td><a href="list.html#source=math">math</a></td><td class="num">'
        "2</td>" in page
    )
    assert page.count("<svg") == 4  # rates, turns, tokens, cost


def test_overview_escapes_data(tmp_path: Path) -> None:
    from factories import write_run

    run = write_run(tmp_path / "runs" / "r", [hostile()])
    target = open_target(run)
    o = Overview(kind="run", name=target.name, path=str(target.path))
    o.add(make_row(0, hostile()), hostile())
    page = render_overview(target, o)
    assert "script" not in elements(page) and "img" not in elements(page)
    assert not any(name.startswith("on") for name in attributes(page))
    assert html.escape(HOSTILE) in page
