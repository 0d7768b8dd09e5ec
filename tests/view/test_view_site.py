"""The report folder: files, chunks, replacing an old report, compare, and the CLI."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from factories import make_trajectory
from typer.testing import CliRunner
from view_helpers import episodes, make_run, make_version

from trajkit.cli.app import app
from trajkit.core.errors import ConfigError
from trajkit.view import site as site_mod
from trajkit.view.compare import build_compare, compare_outcomes
from trajkit.view.model import LIST_COLUMNS
from trajkit.view.site import MARKER, build_site, default_out

runner = CliRunner()


def chunk_items(path: Path, func: str) -> tuple[int, list]:
    text = path.read_text()
    m = re.fullmatch(rf"TK\.{func}\((\d+),JSON\.parse\('(\[.*\])'\)\);\n", text, re.DOTALL)
    assert m, text[:200]
    return int(m.group(1)), json.loads(re.sub(r"\\(.)", r"\1", m.group(2)))  # undo the JS string


def meta(report: Path) -> dict:
    text = (report / "data" / "meta.js").read_text()
    assert text.startswith("window.TK_META = ") and text.endswith(";\n")
    return json.loads(text[len("window.TK_META = ") : -2])


def test_report_layout_and_chunks(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(site_mod, "LIST_CHUNK", 3)
    monkeypatch.setattr(site_mod, "REC_CHUNK", 5)
    run = make_run(tmp_path)
    result = build_site(run)
    report = tmp_path / "reports" / "run-a"
    assert result.path == default_out(result.target) and result.path.resolve() == report.resolve()
    assert {p.name for p in report.iterdir()} == {
        "index.html",
        "list.html",
        "traj.html",
        "data",
        MARKER,
    }
    m = meta(report)
    assert (m["total"], m["listChunks"], m["listChunkSize"], m["recChunkSize"]) == (8, 3, 3, 5)
    assert m["cols"] == list(LIST_COLUMNS) and m["sources"] == ["math", "hotpotqa"]
    rows = []
    for k in range(3):
        n, items = chunk_items(report / "data" / f"list-{k}.js", "listChunk")
        assert n == k
        rows += items
    assert [r[0] for r in rows] == list(range(8))
    assert [r[2] for r in rows] == [t.task_id for t in episodes()]
    recs = (
        chunk_items(report / "data" / "rec-0.js", "recChunk")[1]
        + chunk_items(report / "data" / "rec-1.js", "recChunk")[1]
    )
    assert [r["t"] for r in recs] == [t.task_id for t in episodes()]
    assert 'id="turn-2"' in recs[0]["h"] and "sc-mark" in recs[0]["h"]
    assert sorted(p.name for p in (report / "data").iterdir()) == [
        "list-0.js",
        "list-1.js",
        "list-2.js",
        "meta.js",
        "rec-0.js",
        "rec-1.js",
    ]


def test_pages_are_self_contained(tmp_path: Path) -> None:
    report = build_site(make_version(tmp_path), tmp_path / "rep").path
    for name in ("index.html", "list.html", "traj.html"):
        page = (report / name).read_text()
        assert "<style>" in page and 'rel="stylesheet"' not in page
        assert not re.search(r"(src|href)=\"(https?:)?//", page), name  # nothing from the network
        assert re.findall(r'<script src="([^"]+)"', page) in ([], ["data/meta.js"])
    assert "TK.listChunk" in (report / "list.html").read_text()  # list.js inlined
    assert "TK.recChunk" in (report / "traj.html").read_text()


def test_rebuild_replaces_the_old_report_and_refuses_other_folders(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(site_mod, "REC_CHUNK", 2)
    out = tmp_path / "rep"
    build_site(make_run(tmp_path), out)
    assert (out / "data" / "rec-3.js").is_file()
    build_site(make_run(tmp_path, "small", episodes("small")[:2]), out)
    assert sorted(p.name for p in (out / "data").iterdir()) == ["list-0.js", "meta.js", "rec-0.js"]
    assert not list(tmp_path.glob(".rep*"))  # no temporary folders left
    mine = tmp_path / "mine"
    mine.mkdir()
    (mine / "notes.txt").write_text("keep me")
    with pytest.raises(ConfigError, match="exists and is not a trajkit report"):
        build_site(make_run(tmp_path), mine)
    assert (mine / "notes.txt").read_text() == "keep me"


def test_compare_outcomes_counts_flips() -> None:
    a = {
        ("m", "1"): (True, 0),
        ("m", "2"): (False, 1),
        ("m", "3"): (True, 2),
        ("h", "4"): (False, 3),
        ("h", "5"): (True, 4),
    }
    b = {
        ("m", "1"): (True, 9),
        ("m", "2"): (True, 8),
        ("m", "3"): (False, 7),
        ("h", "4"): (False, 6),
        ("x", "6"): (True, 5),
    }
    c = compare_outcomes(a, b)
    assert (c.shared, c.both_success, c.both_failure, c.only_a, c.only_b) == (4, 1, 1, 1, 1)
    assert [(f.task_id, f.a_index, f.b_index) for f in c.to_success] == [("2", 1, 8)]
    assert [(f.task_id, f.a_index, f.b_index) for f in c.to_failure] == [("3", 2, 7)]
    assert c.by_source["m"] == {"shared": 3, "both_success": 1, "to_success": 1, "to_failure": 1}


def test_build_compare_links_both_records(tmp_path: Path) -> None:
    a = make_run(tmp_path, "a")
    changed = [
        make_trajectory(t.task_id, ["exception", "wrong"], success=False, run="b", source=t.source)
        if t.task_id == "m1"
        else make_trajectory(t.task_id, ["ok", "solve"], run="b", source=t.source)
        if t.task_id == "m3"
        else t
        for t in episodes("b")
    ]
    b = make_run(tmp_path, "b", changed)
    index, c = build_compare(a, b)
    assert index.resolve() == (tmp_path / "reports" / "a-vs-b" / "index.html").resolve()
    page = index.read_text()
    assert (len(c.to_success), len(c.to_failure), c.shared) == (1, 1, 8)
    assert re.search(
        r'<tr data-key="math/m3">.*?href="a/traj.html#i=2".*?href="b/traj.html#i=2"', page
    )
    assert re.search(r'<table id="to-failure">.*?math/m1', page)
    assert (index.parent / "a" / "index.html").is_file() and (
        index.parent / "b" / "list.html"
    ).is_file()


def test_cli_view_writes_the_report(tmp_path: Path) -> None:
    version = make_version(tmp_path)
    result = runner.invoke(app, ["view", str(version), "--out", str(tmp_path / "r")])
    assert result.exit_code == 0, result.output
    assert f"report: {tmp_path / 'r' / 'index.html'} (3 trajectories)" in " ".join(
        result.output.split()
    )
    result = runner.invoke(
        app, ["view", str(tmp_path / "runs" / "run-a"), str(version), "--out", str(tmp_path / "c")]
    )
    assert result.exit_code == 0, result.output
    assert "3 shared tasks: 0 failure → success, 0 success → failure" in " ".join(
        result.output.split()
    )


@pytest.mark.parametrize("args", [["nope"], ["README-missing.md"], ["."], ["RUN", "nope"]])
def test_cli_view_bad_input_is_one_line_exit_2(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, args: list[str]
) -> None:
    monkeypatch.chdir(tmp_path)
    run = make_run(tmp_path)
    result = runner.invoke(app, ["view", *[str(run) if a == "RUN" else a for a in args]])
    assert result.exit_code == 2
    lines = result.output.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), result.output
    assert not (tmp_path / "report").exists()


def test_an_empty_or_torn_run_still_gets_a_report(tmp_path: Path) -> None:
    from factories import write_run

    empty = build_site(write_run(tmp_path / "runs" / "empty", []))
    assert meta(empty.path)["total"] == 0 and meta(empty.path)["listChunks"] == 0
    assert "no data" in empty.index.read_text()
    torn = build_site(write_run(tmp_path / "runs" / "live", episodes()[:2], tail='{"id": "x'))
    assert meta(torn.path)["total"] == 2 and torn.overview.torn_tail
    assert "ends in a torn line" in torn.index.read_text()


def test_demo_ends_by_writing_its_report(tmp_path: Path) -> None:
    import os
    import subprocess
    import sys

    from support import require_isolation

    require_isolation()
    env = {k: v for k, v in os.environ.items() if not k.endswith("_API_KEY")}
    proc = subprocess.run(
        [sys.executable, "-m", "trajkit.cli", "demo", "--out", str(tmp_path)],
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stderr
    index = (tmp_path / "reports" / "demo-v1" / "index.html").resolve()
    assert proc.stdout.strip().splitlines()[-1] == f"report: {index}"
    records = json.loads((tmp_path / "datasets" / "demo" / "v1" / "manifest.json").read_text())[
        "records"
    ]
    assert f'data-stat="records"><div class="v">{records}</div>' in index.read_text()
