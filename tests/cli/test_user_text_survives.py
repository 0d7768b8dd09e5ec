"""What the terminal shows: rates that never round to 100 %, and bracketed user text printed
whole (rich would take ``[alfworld]`` in ``pip install 'trajkit[alfworld]'`` for markup)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from factories import make_trajectory
from typer.testing import CliRunner

from trajkit.cli import demo_command
from trajkit.cli.app import app
from trajkit.cli.run_report import report_run
from trajkit.collect.runner import RunResult
from trajkit.schemas import RunCounts, RunManifest

runner = CliRunner()


def test_the_collect_summary_never_rounds_one_failure_away(capsys: pytest.CaptureFixture[str]) -> None:
    counts = RunCounts(total_tasks=200, done=200, succeeded=199, by_termination={"solved": 199, "max_turns": 1})
    manifest = RunManifest(run="r", status="completed", counts=counts, config={}, started_at="t",
                           updated_at="t", toolkit_version="0")
    report_run(RunResult(Path("out/runs/r"), manifest))
    line = capsys.readouterr().out
    assert "success 99.5%" in line and "100%" not in line


def test_the_demo_prints_an_install_hint_whole(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    hint = "engine not installed (pip install 'trajkit[alfworld]')"
    monkeypatch.setattr(demo_command, "demo_sources", lambda: [("alfworld", None, hint)])
    result = runner.invoke(app, ["demo", "--out", str(tmp_path)])
    assert f"demo: skipping alfworld: {hint}" in result.output


def test_stats_tables_print_bracketed_names_whole(tmp_path: Path) -> None:
    path = tmp_path / "t.jsonl"
    traj = make_trajectory().model_dump(mode="json")
    traj["source"] = traj["task"]["source"] = "tasks[alfworld]"
    path.write_text(json.dumps(traj) + "\n")
    result = runner.invoke(app, ["stats", str(path)], env={"COLUMNS": "200"})
    assert result.exit_code == 0, result.output
    assert "tasks[alfworld]" in result.output


def test_errors_print_bracketed_paths_whole(tmp_path: Path) -> None:
    result = runner.invoke(app, ["stats", str(tmp_path / "no[such]file.jsonl")])
    assert result.exit_code == 2 and "no[such]file.jsonl" in result.output
