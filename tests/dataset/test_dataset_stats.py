"""compute_stats numbers on a known set, for runs, JSONL files and dataset versions."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from factories import DEEP_LINE, make_trajectory, nested_line, write_jsonl, write_run
from rich.console import Console
from typer.testing import CliRunner

from trajkit.cli.app import app
from trajkit.core.errors import DataError
from trajkit.dataset.stats import compute_stats, render_stats, stats_as_dict
from trajkit.dataset.version import build_version
from trajkit.filters.presets import build_chain, default_chain
from trajkit.schemas import Trajectory, Usage


def known() -> list[Trajectory]:
    """Step usage defaults to 100 in / 20 out per step."""
    return [
        make_trajectory("t1", ["exception", "solve"]),
        make_trajectory("t2", ["ok", "solve"]),
        make_trajectory("t3", ["timeout", "wrong", "timeout"], success=False),
        make_trajectory("t4", ["worker_restart", "syntax", "ok", "solve"], source="apps"),
        make_trajectory("t5", ["solve"], source="apps", usage=Usage(input_tokens=1000, output_tokens=10)),
    ]


def test_numbers_on_a_known_run(tmp_path: Path) -> None:
    stats = compute_stats(write_run(tmp_path / "run", known()))
    assert stats.kind == "run" and stats.records == 5
    assert stats.by_source == {"math": 3, "apps": 2}
    assert stats.by_termination == {"solved": 4, "max_turns": 1}
    assert (stats.successes, stats.success_rate) == (4, 0.8)
    assert (stats.self_corrected, stats.self_correction_rate) == (2, 0.4)
    assert (stats.turns_mean, stats.turns_median, stats.turns_max) == (2.4, 2.0, 4)
    assert (stats.tokens_in, stats.tokens_out) == (2100, 230)
    assert (stats.tokens_in_mean, stats.tokens_out_mean) == (420.0, 46.0)
    assert stats.errors_by_kind == {"exception": 1, "timeout": 2, "worker_restart": 1, "syntax": 1}
    assert stats.episodes_with_errors == 3
    assert not stats.torn_tail and stats.manifest is None and stats.problems == []


def test_even_median_and_empty_file(tmp_path: Path) -> None:
    trajs = [make_trajectory(f"t{n}", ["ok"] * (n - 1) + ["solve"]) for n in (1, 2, 3, 4)]
    assert compute_stats(write_jsonl(tmp_path / "a.jsonl", trajs)).turns_median == 2.5
    empty = compute_stats(write_jsonl(tmp_path / "b.jsonl", []))
    assert empty.kind == "jsonl" and empty.records == 0
    assert (empty.success_rate, empty.turns_mean, empty.turns_median, empty.turns_max) == (0, 0, 0, 0)


def test_torn_tail_is_reported_not_raised(tmp_path: Path) -> None:
    stats = compute_stats(write_run(tmp_path / "run", known(), tail='{"id": "t6", "ru'))
    assert stats.records == 5 and stats.torn_tail


@pytest.mark.parametrize("tail", [DEEP_LINE, nested_line(make_trajectory("deep"), 201)],
                         ids=["too-deep-for-json", "deeper-than-pydantic-reads"])
def test_a_deeply_nested_line_is_one_line_error_naming_file_and_line(tmp_path: Path, tail: str) -> None:
    """Valid JSON nested past what the readers take (Python's ``json`` raises ``RecursionError``,
    not ``ValueError``, for the first) is malformed data: exit 2 and ``FILE:LINE``, no traceback."""
    path = write_jsonl(tmp_path / "deep.jsonl", known()[:1], tail=tail)
    res = CliRunner().invoke(app, ["stats", str(path)])
    assert res.exit_code == 2, res.output
    assert f"{path}:2: not valid JSON (nested more than 200 deep)" in res.output
    assert "Traceback" not in res.output


def test_dataset_version_stats_and_filter_table(tmp_path: Path) -> None:
    run = write_run(tmp_path / "run", known())
    res = build_version([run], "ds", tmp_path / "out", default_chain())
    stats = compute_stats(res.path)
    assert stats.kind == "dataset" and stats.records == 2 and stats.problems == []
    assert stats.manifest == res.manifest
    assert stats.self_correction_rate == 1.0 and stats.by_source == {"math": 1, "apps": 1}

    console = Console(record=True, width=200)
    render_stats(stats, console)
    text = console.export_text()
    assert "ds v1" in text and "success(min_score=1.0)" in text
    assert "unsuccessful (1)" in text and "no_error_before_success (2)" in text
    assert "self-correct" in text and "problem" not in text

    data = stats_as_dict(stats)
    assert json.loads(json.dumps(data)) == data
    assert data["dataset"]["filters"][1]["kept"] == 2 and data["dataset"]["duplicates_skipped"] == 0
    assert data["turns"] == {"mean": 3.0, "median": 3.0, "max": 4}


def test_dataset_name_dir_means_latest_version(tmp_path: Path) -> None:
    run = write_run(tmp_path / "run", known())
    build_version([run], "ds", tmp_path / "out", default_chain())
    build_version([run], "ds", tmp_path / "out", build_chain(["all"]))
    stats = compute_stats(tmp_path / "out" / "datasets" / "ds")
    assert stats.manifest is not None and stats.manifest.version == 2 and stats.records == 5


def test_tampered_version_shows_problems(tmp_path: Path) -> None:
    run = write_run(tmp_path / "run", known())
    res = build_version([run], "ds", tmp_path / "out", build_chain(["all"]))
    data = res.path / "data.jsonl"
    data.chmod(0o644)
    data.write_bytes(data.read_bytes().splitlines(keepends=True)[0])
    stats = compute_stats(res.path)
    assert stats.records == 1 and any("manifest says 5" in p for p in stats.problems)
    console = Console(record=True, width=200)
    render_stats(stats, console)
    assert "problem:" in console.export_text()
    assert stats_as_dict(stats)["problems"] == stats.problems


def test_unknown_paths_are_data_errors(tmp_path: Path) -> None:
    with pytest.raises(DataError, match="no such file"):
        compute_stats(tmp_path / "missing")
    (tmp_path / "empty").mkdir()
    with pytest.raises(DataError, match="not a dataset version, dataset, or run directory"):
        compute_stats(tmp_path / "empty")
    os.mkfifo(tmp_path / "fifo")  # it exists, and reading it would wait for a writer
    with pytest.raises(DataError, match="fifo: not a regular file or directory"):
        compute_stats(tmp_path / "fifo")


def test_render_plain_run(tmp_path: Path) -> None:
    console = Console(record=True, width=200)
    render_stats(compute_stats(write_run(tmp_path / "run", known(), tail="{")), console)
    text = console.export_text()
    for expected in ("80.0% (4)", "40.0% (2)", "2.40 / 2 / 4", "2,100 / 420", "worker_restart",
                     "torn last line"):
        assert expected in text


def test_duplicate_ids_count_once_as_in_filter(tmp_path: Path) -> None:
    """Three lines, two of them the same trajectory: ``filter`` keeps 2, so stats says 2 and
    names the skipped line (the first occurrence counts: its success, not the copy's)."""
    first = make_trajectory("d1", ["exception", "solve"], run="r")
    copy = make_trajectory("d1", ["ok", "wrong"], success=False, run="r")
    run = write_run(tmp_path / "run", [first, make_trajectory("d2", run="r"), copy])
    stats = compute_stats(run)
    version = build_version([run], "ds", tmp_path / "out", build_chain(["all"]))
    assert stats.records == version.manifest.records == 2
    assert (stats.duplicates, stats.successes, stats.self_corrected) == (1, 2, 1)
    assert stats_as_dict(stats)["duplicates_skipped"] == 1
    console = Console(record=True, width=200)
    render_stats(stats, console)
    assert "1 line(s) repeating an earlier trajectory id skipped" in console.export_text()
