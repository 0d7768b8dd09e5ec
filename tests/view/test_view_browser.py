"""End to end in headless Chromium: the report opened from ``file://`` as a reader would.

Chromium and Playwright as ``browser_support`` describes (the tests skip without them, and
fail under ``TRAJKIT_REQUIRE_ALL=1``); screenshots go to ``out/test-artifacts/view/``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from browser_support import ARTIFACTS, Watched, browser
from factories import write_run
from view_helpers import HOSTILE, episodes, hostile, make_version

from trajkit.view import site as site_mod
from trajkit.view.model import make_row, open_target
from trajkit.view.site import build_site

__all__ = ["browser"]  # the shared fixture, used by name


def num(text: str) -> int:
    return int(text.strip().replace(",", ""))


def table_counts(page: Any, ident: str) -> dict[str, int]:
    rows = page.locator(f"#{ident} tbody tr")
    return {
        rows.nth(i).get_attribute("data-key"): num(rows.nth(i).locator("td").nth(1).inner_text())
        for i in range(rows.count())
    }


def test_overview_numbers_equal_the_manifest_without_javascript(
    browser: Any, tmp_path: Path
) -> None:
    version = make_version(tmp_path)
    manifest = open_target(version).manifest
    assert manifest is not None
    report = build_site(version, tmp_path / "report").path
    w = Watched(browser, java_script_enabled=False)
    page = w.page
    page.goto((report / "index.html").as_uri())
    assert num(page.inner_text('[data-stat="records"] .v')) == manifest.records
    assert table_counts(page, "by-source") == manifest.counts_by_source
    assert table_counts(page, "by-teacher") == manifest.counts_by_teacher
    assert table_counts(page, "by-termination") == manifest.counts_by_termination
    assert manifest.usage is not None
    tokens = page.inner_text('[data-stat="tokens"] .v').split("/")
    assert [num(t) for t in tokens] == [manifest.usage.input_tokens, manifest.usage.output_tokens]
    for unit in manifest.filters:
        row = page.locator(f'#filters tr[data-key="{unit.name}"]')
        assert num(row.locator('[data-col="kept"]').inner_text()) == unit.kept
        assert num(row.locator('[data-col="dropped"]').inner_text()) == unit.dropped
        for reason, n in unit.drop_reasons.items():
            assert f"{reason}: {n}" in row.inner_text()
    assert page.locator("svg.chart").count() == 4
    assert "run-a" in page.locator("h2:has-text('Parents') + table").inner_text()
    page.screenshot(path=str(ARTIFACTS / "overview.png"), full_page=True)
    w.check()


def test_filter_to_self_corrected_successes_and_open_one(
    browser: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(site_mod, "LIST_CHUNK", 3)  # several chunks of each kind, loaded lazily
    monkeypatch.setattr(site_mod, "REC_CHUNK", 2)
    trajs = episodes()
    run = write_run(tmp_path / "runs" / "run-a", trajs)
    report = build_site(run).path
    rows = [make_row(i, t) for i, t in enumerate(trajs)]
    wanted = [r for r in rows if r.success and r.self_corrected]
    assert len(wanted) == 4

    w = Watched(browser)
    page = w.page
    page.goto((report / "list.html").as_uri())
    page.wait_for_selector("body[data-loaded='1']")
    assert page.inner_text("#count").startswith(f"{len(trajs)} of {len(trajs)} match")
    page.select_option("#f-success", "1")
    page.select_option("#f-self_corrected", "1")
    assert page.get_attribute("#count", "data-matches") == str(len(wanted))
    shown = page.locator("#rows tbody tr")
    assert [shown.nth(i).get_attribute("data-i") for i in range(shown.count())] == [
        str(r.index) for r in wanted
    ]
    assert "success=1" in page.url and "self_corrected=1" in page.url
    page.click("#rows th[data-col='turns']")
    page.click("#rows th[data-col='turns']")  # descending
    first = page.locator("#rows tbody tr").first.get_attribute("data-i")
    assert first == str(max(wanted, key=lambda r: (r.turns, -r.index)).index)
    page.screenshot(path=str(ARTIFACTS / "list-self-corrected.png"), full_page=True)

    target = max(wanted, key=lambda r: (r.turns, -r.index))
    page.click(f"#rows a[data-i='{target.index}']")
    page.wait_for_selector(f"body[data-shown='{target.index}']")
    assert target.task_id in page.inner_text("#traj-title")
    assert "self-corrected" in page.inner_text("#traj-title")
    sc = page.locator(".msg.assistant.sc-mark")
    assert sc.count() == 1 and sc.get_attribute("id") == f"turn-{target.correction_step + 1}"
    assert "self-correction" in sc.inner_text()
    assert page.locator(".msg.obs.err .errline").count() >= 1
    assert page.locator("pre.code span.b, pre.code span.k").count() >= 1  # highlighted code
    assert "success" in page.inner_text("#verdict")
    assert page.locator("text=Turns: tokens and timing").count() == 1
    assert page.inner_text("#where") == f"#{target.index} · filtered list: 1 of {len(wanted)}"
    page.screenshot(path=str(ARTIFACTS / "trajectory.png"), full_page=True)

    page.click("#next")  # the next record of the filtered, sorted list (another chunk)
    second = sorted(wanted, key=lambda r: (-r.turns, r.index))[1]
    page.wait_for_selector(f"body[data-shown='{second.index}']")
    assert second.task_id in page.inner_text("#traj-title")
    page.click("#back")
    page.wait_for_selector("body[data-loaded='1']")
    assert page.get_attribute("#count", "data-matches") == str(len(wanted))  # filters restored

    page.fill("#f-q", "run-a/h1")
    page.wait_for_selector("#count[data-matches='1']")
    w.check()


def test_record_text_never_runs_as_script(browser: Any, tmp_path: Path) -> None:
    run = write_run(tmp_path / "runs" / "h", [episodes()[0], hostile()])
    report = build_site(run).path
    w = Watched(browser)
    page = w.page
    for name, fragment in (("index.html", ""), ("list.html", ""), ("traj.html", "#i=1")):
        page.goto((report / name).as_uri() + fragment)
        page.wait_for_load_state("load")
        page.wait_for_timeout(200)
        assert page.evaluate("window.__pwned") is None, name
    page.wait_for_selector("body[data-shown='1']")
    assert HOSTILE in page.inner_text("#traj-title")  # shown as text, in full
    assert HOSTILE in page.inner_text(".msg.task")
    page.goto((report / "list.html").as_uri())
    page.wait_for_selector("body[data-loaded='1']")
    page.fill("#f-q", HOSTILE[:20])
    page.wait_for_selector("#count[data-matches='1']")
    assert page.evaluate("window.__pwned") is None
    page.screenshot(path=str(ARTIFACTS / "hostile-list.png"), full_page=True)
    w.check()
