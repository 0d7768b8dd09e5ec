"""The demo's report as a reader opens it: real runs of every source, collected under a
distinctively named directory, viewed in headless Chromium at 1300×900.

What must be on the first screen, asserted (not only screenshotted): on each source's
trajectory page the verdict line (✓/✗, the source's own summary, the score) and the first user
and assistant turns; on the overview the record count; on the list the first rows, teachers
named as a user names them. No path of the collecting machine (the distinctive directory, or
where trajkit itself is installed, which holds the demo's recordings and games) appears in any
file of the report. Screenshots of the first screen go to ``out/test-artifacts/view/demo-*.png``.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from browser_support import ARTIFACTS, Watched, browser
from support import require_isolation
from view_helpers import report_text

import trajkit.sources
from trajkit.collect.teachers.replay_teacher import ReplayTeacher
from trajkit.core import registry
from trajkit.dataset.show import teacher_name
from trajkit.schemas import Trajectory
from trajkit.sources.alfworld.report import AlfWorldReport
from trajkit.sources.apps.report import AppsReport
from trajkit.sources.base import source_class
from trajkit.sources.reading import VerdictReader
from trajkit.view.site import build_site
from trajkit.view.verdict import episode_verdict

__all__ = ["browser"]  # the shared fixture, used by name

SOURCES = ("math", "hotpotqa", "apps", "webshop", "alfworld", "wikitq", "tasks", "gsm8k", "mbpp",
           "humaneval")
DISTINCT = "collector-home-Kw9q"
HEIGHT = 900
#: Where trajkit is installed: the demo's recordings and ALFWorld games live there.
INSTALLED = str(Path(trajkit.sources.__file__).resolve().parents[1])
#: What each source's summary says on its demo records (all of them are successes).
SAYS = {
    "math": "math-verify: ",
    "hotpotqa": "EM 1 · F1 1.00",
    "apps": " tests passed",
    "webshop": "price ok",
    "alfworld": "won after ",
    "wikitq": "denotation: ",
    "tasks": "exact: ",
    "gsm8k": "numeric: ",
    "mbpp": " tests passed",
    "humaneval": " tests passed",
}


def _cli(*args: str, cwd: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.endswith("_API_KEY")}
    proc = subprocess.run(
        [sys.executable, "-m", "trajkit.cli", *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert proc.returncode == 0, proc.stderr[-2000:]


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """``OUT`` of ``trajkit demo`` run under a distinctive directory, plus a MATH run whose
    replay file is a copy in that directory."""
    require_isolation()
    home = tmp_path_factory.mktemp("demo") / DISTINCT
    home.mkdir()
    _cli("demo", "--out", str(home / "out"), cwd=home)
    replay = home / "my-recordings" / "math_demo_replay.jsonl"
    replay.parent.mkdir()
    shutil.copy(source_class("math").demo_replay, replay)
    _cli(
        "collect",
        "math",
        "--teacher",
        f"replay:{replay}",
        "--run",
        "math-copy",
        "--out",
        str(home / "out"),
        "--concurrency",
        "2",
        cwd=home,
    )
    return home / "out"


@pytest.fixture(scope="module")
def readings() -> Iterator[None]:
    """APPS and ALFWorld readings hooked up for this module if their source classes do not
    declare them yet (the hookup lives in files other engineers own)."""
    added = []
    for name, report in (("apps", AppsReport), ("alfworld", AlfWorldReport)):
        cls = source_class(name)
        if not issubclass(cls, report):
            registry.register("source", name, type(cls.__name__, (report, cls), {}), replace=True)
            added.append(name)
    yield
    for name in added:
        registry.REGISTRY.unregister("source", name)


def test_no_path_of_the_collecting_machine_is_in_the_report(demo: Path, tmp_path: Path) -> None:
    runs = sorted((demo / "runs").glob("*"))
    assert len(runs) >= 5 and demo / "runs" / "math-copy" in runs
    for path in (demo / "datasets" / "demo" / "v1", *runs):
        text = report_text(build_site(path, tmp_path / path.name).path)
        for where in (DISTINCT, str(demo), INSTALLED):
            assert where not in text, (path.name, where)
        if path.name == "math-copy":  # its teacher is a file in the distinctive directory
            assert text.count("replay:math_demo_replay.jsonl") >= 3


def _box(page: Any, selector: str) -> dict[str, float]:
    box = page.locator(selector).first.bounding_box()
    assert box is not None, f"{selector} is not displayed"
    return box


def above_the_fold(page: Any, selector: str, whole: bool = True) -> None:
    """``selector`` is displayed on the first screen: entirely, or (``whole=False``) with at
    least its first line showing."""
    box = _box(page, selector)
    bottom = box["y"] + (box["height"] if whole else 40)
    assert box["y"] >= 0 and bottom <= HEIGHT, f"{selector}: {box} not above the fold"


def test_each_source_s_page_leads_with_its_verdict_and_the_conversation(
    browser: Any, demo: Path, readings: None, tmp_path: Path
) -> None:
    version = demo / "datasets" / "demo" / "v1"
    report = build_site(version, tmp_path / "report").path
    records = [
        Trajectory.model_validate_json(line)
        for line in (version / "data.jsonl").read_bytes().splitlines()
    ]
    reader = VerdictReader()
    shown = {}
    for i, traj in enumerate(records):
        shown.setdefault(traj.source, (i, traj))
    if "alfworld" not in shown:
        assert source_class("alfworld").demo_unavailable(), "the demo skipped alfworld"
    w = Watched(browser)
    page = w.page
    for source in SOURCES:
        if source not in shown:
            continue
        index, traj = shown[source]
        summary = reader.summary(source, traj.task, episode_verdict(traj))
        assert SAYS[source] in summary, (source, summary)
        page.goto((report / "traj.html").as_uri() + f"#i={index}")
        page.wait_for_selector(f"body[data-shown='{index}']")
        line = page.inner_text("#verdict")
        assert line == f"✓ success · {summary} · score {traj.score:g}", line
        above_the_fold(page, "#verdict")
        above_the_fold(page, "#task .role")
        above_the_fold(page, "#task pre", whole=False)
        above_the_fold(page, "#turn-1 .role")
        above_the_fold(page, "#turn-1 .prose, #turn-1 pre.code", whole=False)
        assert traj.task.prompt.splitlines()[0] in page.inner_text("#task pre")
        facts = page.inner_text("#facts")
        assert f"replay:{source}_demo_replay.jsonl" in facts and "/" not in facts.split(" · ")[1]
        reference = page.inner_text("#reference")
        assert reference.strip() and "{" not in reference.split("\n")[1], reference
        page.screenshot(path=str(ARTIFACTS / f"demo-trajectory-{source}.png"))
    w.check()


def test_overview_and_list_first_screens(browser: Any, demo: Path, tmp_path: Path) -> None:
    version = demo / "datasets" / "demo" / "v1"
    result = build_site(version, tmp_path / "report")
    w = Watched(browser)
    page = w.page
    page.goto((result.path / "index.html").as_uri())
    above_the_fold(page, '[data-stat="records"]')
    assert int(page.inner_text('[data-stat="records"] .v')) == result.overview.records
    assert page.inner_text("h1 + p.muted") == "datasets/demo/v1"
    page.screenshot(path=str(ARTIFACTS / "demo-overview.png"))
    page.goto((result.path / "list.html").as_uri())
    page.wait_for_selector("body[data-loaded='1']")
    above_the_fold(page, "#rows tbody tr:nth-child(10)")
    teachers = {
        page.locator("#rows tbody td.teacher").nth(i).inner_text()
        for i in range(page.locator("#rows tbody td.teacher").count())
    }
    # Records name a replay by its file and content hash (never its path).
    expected = {
        teacher_name("replay", ReplayTeacher(source_class(s).demo_replay).info.model) for s in SOURCES
    }
    assert teachers and teachers <= expected, teachers
    page.screenshot(path=str(ARTIFACTS / "demo-list.png"))
    w.check()
