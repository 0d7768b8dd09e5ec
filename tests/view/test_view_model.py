"""The data the report pages are built from: targets, rows, totals, histogram bins."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from factories import make_trajectory, write_run
from view_helpers import episodes, make_run, make_version

from trajkit.core.errors import DataError
from trajkit.dataset.stats import compute_stats
from trajkit.dataset.summary import summarize_file
from trajkit.schemas import TeacherInfo, Usage
from trajkit.view.model import (
    LIST_COLUMNS,
    Overview,
    histogram,
    js_literal,
    make_row,
    open_target,
    row_json,
)


def overview_of(trajs: list, **kw: object) -> Overview:
    o = Overview(kind="run", name="r", path="p")
    for i, t in enumerate(trajs):
        o.add(make_row(i, t, **kw), t)
    return o


def test_open_target_recognises_runs_and_versions(tmp_path: Path) -> None:
    version = make_version(tmp_path)
    run = tmp_path / "runs" / "run-a"
    t = open_target(run)
    assert (t.kind, t.name, t.data) == ("run", "run-a", run / "trajectories.jsonl")
    assert t.run_manifest is not None
    v = open_target(version)
    assert (v.kind, v.name) == ("version", "demo/v1")
    assert v.manifest is not None and v.manifest.records == 3


def test_a_tampered_version_is_refused_by_view_and_compare(tmp_path: Path) -> None:
    """export, publish and filter refused a version whose data changed since it was written;
    view and compare showed it, under the manifest's name and numbers."""
    from typer.testing import CliRunner

    from trajkit.cli.app import app

    version = make_version(tmp_path)
    data = version / "data.jsonl"
    data.chmod(0o644)
    data.write_bytes(data.read_bytes().replace(b"{", b"{ ", 1))  # one byte more, same records
    with pytest.raises(DataError, match="fails verification"):
        open_target(version)
    runner = CliRunner()
    for args in (["view", str(version), "--out", str(tmp_path / "rep")],
                 ["compare", str(version), str(tmp_path / "runs" / "run-a")]):
        res = runner.invoke(app, args)
        assert res.exit_code == 2 and "fails verification" in res.output, (args, res.output)


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda root: root / "missing", "no such run directory or dataset version"),
        (
            lambda root: (root / "f.jsonl").write_text("{}") and root / "f.jsonl",
            "a directory is expected",
        ),
        (lambda root: (root / "empty").mkdir() or root / "empty", "not a run directory"),
        (lambda root: make_version(root).parent, "a dataset with versions v1; name one"),
    ],
)
def test_open_target_refuses_other_paths(tmp_path: Path, make, message: str) -> None:
    with pytest.raises(DataError, match=message):
        open_target(make(tmp_path))


def test_open_target_names_an_invalid_manifest(tmp_path: Path) -> None:
    run = make_run(tmp_path)
    (run / "run.json").write_text('{"run": 1}')
    with pytest.raises(DataError, match=r"run\.json: invalid RunManifest"):
        open_target(run)


def test_self_correction_marks_follow_the_shared_rule_not_the_stored_flag() -> None:
    recovered = make_row(
        0, make_trajectory(steps=["exception", "ok", "solve"], self_corrected=False)
    )
    assert recovered.self_corrected
    assert (recovered.success_step, recovered.correction_step) == (2, 1)
    immediate = make_row(0, make_trajectory(steps=["ok", "syntax", "solve"]))
    assert (immediate.success_step, immediate.correction_step) == (2, 2)
    after = make_row(0, make_trajectory(steps=["solve", "exception"], self_corrected=True))
    assert not after.self_corrected and after.correction_step is None and after.errors == 1
    failed = make_row(0, make_trajectory(steps=["exception", "wrong"], success=False))
    assert (failed.success_step, failed.correction_step, failed.self_corrected) == (
        None,
        None,
        False,
    )


def test_row_decision_cost_and_title() -> None:
    gpt = TeacherInfo(provider="openai", model="gpt-4o-mini")
    usage = Usage(input_tokens=1_000_000, output_tokens=1_000_000, calls=1)
    traj = make_trajectory(steps=["ok", "solve"], teacher=gpt, usage=usage)
    row = make_row(3, traj)
    assert row.decision == "self-correct: no_error_before_success"
    assert row.teacher == "openai:gpt-4o-mini"
    assert row.cost == pytest.approx(
        (100 * 0.15 + 20 * 0.60) * 2 / 1e6
    )  # per-step usage is what was paid
    assert make_row(3, traj, prices={"gpt-4o-mini": (1e6, 0)}).cost == pytest.approx(200)
    assert make_row(0, make_trajectory()).cost is None  # model "fake-1" has no price
    # A replay's tokens are counted, never billed, whatever its file is called.
    replay = TeacherInfo(provider="replay", model="gpt-4o-mini.jsonl@sha256:0123456789ab")
    replayed = make_trajectory(steps=["ok", "solve"], teacher=replay, usage=usage)
    assert make_row(0, replayed).cost is None
    assert make_row(0, traj, decision="kept").decision == "kept"
    long = make_trajectory(
        task={
            "source": "math",
            "task_id": "t",
            "prompt": "p " * 200,
            "metadata": {"problem": "  What is\n 6 x 7? " + "x" * 300},
        }
    )
    title = make_row(0, long).title
    assert title.startswith("What is 6 x 7? x") and title.endswith("…") and len(title) == 81


def test_overview_counts_equal_the_manifest_and_stats(tmp_path: Path) -> None:
    run = make_run(tmp_path)
    o = overview_of(episodes())
    summary = summarize_file(run / "trajectories.jsonl").summary
    assert {k: g.records for k, g in o.by_source.items()} == summary.by_source
    assert {k: g.records for k, g in o.by_teacher.items()} == summary.by_teacher
    assert o.by_termination == summary.by_termination
    assert (o.input_tokens, o.output_tokens, o.calls) == (
        summary.input_tokens,
        summary.output_tokens,
        summary.calls,
    )
    stats = compute_stats(run)
    assert (o.records, o.total.successes, o.total.self_corrected) == (
        stats.records,
        stats.successes,
        stats.self_corrected,
    )
    assert o.by_decision == {
        "kept": 3,
        "success: unsuccessful": 2,
        "self-correct: no_error_before_success": 2,
        "success: score_below_min": 1,
    }
    math = o.by_source["math"]
    assert (math.records, math.successes, math.self_corrected) == (5, 4, 2)
    assert math.success_rate == 0.8 and math.self_correction_rate == 0.4
    assert o.errors_by_kind == {"exception": 4, "syntax": 1, "timeout": 1}
    assert o.error_types[("hotpotqa", "fake:fake-1", "ZeroDivisionError")] == 2
    assert o.termination_by_source[("hotpotqa", "max_turns")] == 1
    assert sorted(o.turns) == sorted(len(t.steps) for t in episodes())
    assert len(o.costs) == 3 and o.total.priced == 3  # only the gpt-4o-mini episodes are priced


def test_histogram_integer_values_get_one_bar_each() -> None:
    bins = histogram([1, 3, 3, 5], integer=True)
    assert [(b.lo, b.count) for b in bins] == [(1, 1), (2, 0), (3, 2), (4, 0), (5, 1)]
    assert histogram([]) == []
    assert [(b.lo, b.hi, b.count) for b in histogram([7.0, 7.0])] == [(7.0, 7.0, 2)]


@pytest.mark.parametrize(
    "values", [[0.0, 0.013, 0.2, 1.7], list(range(0, 100_001, 997)), [5, 40, 41]]
)
def test_histogram_bins_cover_every_value_with_round_edges(values: list[float]) -> None:
    bins = histogram(values, integer=all(isinstance(v, int) for v in values), max_bins=20)
    assert sum(b.count for b in bins) == len(values)
    assert bins[0].lo <= min(values) and bins[-1].hi > max(values)
    assert len(bins) <= 21
    width = bins[0].hi - bins[0].lo
    mantissa = (
        width / 10 ** len(str(int(width))) * 10 if width >= 1 else float(f"{width:e}".split("e")[0])
    )
    assert round(mantissa, 6) in (1, 2, 5, 10)
    for b in bins:
        assert b.count == sum(b.lo <= v < b.hi or (b is bins[-1] and v == b.hi) for v in values)


def test_row_json_matches_the_columns_and_codes_strings() -> None:
    tables: dict[str, dict[str, int]] = {
        "sources": {},
        "teachers": {},
        "terminations": {},
        "decisions": {},
    }
    rows = [row_json(make_row(i, t), **tables) for i, t in enumerate(episodes())]
    assert all(len(r) == len(LIST_COLUMNS) for r in rows)
    col = {c: i for i, c in enumerate(LIST_COLUMNS)}
    assert list(tables["sources"]) == ["math", "hotpotqa"]
    assert [r[col["source"]] for r in rows] == [0] * 5 + [1] * 3
    assert [r[col["self_corrected"]] for r in rows] == [1, 0, 0, 1, 0, 1, 0, 1]
    json.dumps(rows, allow_nan=False)


def test_js_literal_cannot_close_a_script_element() -> None:
    text = js_literal({"h": "</script><script>alert(1)</script>\u2028&"})
    assert "<" not in text and ">" not in text and "\u2028" not in text
    assert json.loads(text) == {"h": "</script><script>alert(1)</script>\u2028&"}


def test_torn_tail_and_invalid_lines(tmp_path: Path) -> None:
    from trajkit.view.site import iter_trajectories

    run = write_run(tmp_path / "r", episodes()[:2], tail='{"id": "torn')
    torn: list[int] = []
    assert len(list(iter_trajectories(run / "trajectories.jsonl", torn))) == 2 and torn == [3]
    bad = write_run(tmp_path / "b", episodes()[:1], tail='{"id": 1}\n')
    with pytest.raises(DataError, match=r"trajectories\.jsonl:2: invalid Trajectory"):
        list(iter_trajectories(bad / "trajectories.jsonl", []))
