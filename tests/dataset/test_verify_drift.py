"""Drift detection, by ``verify_version`` and by ``trajkit verify`` (exit 0 clean, 1 drift,
2 bad input), including ``--rebuild`` comparing the bytes a rebuild from the parents gives."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from dataset_helpers import sample
from factories import DEEP_LINE, write_run
from typer.testing import CliRunner

from trajkit.cli.app import app
from trajkit.dataset.changelog import CHANGELOG_FILE
from trajkit.dataset.verify import rebuild_problems, verify_version
from trajkit.dataset.version import DATA_FILE, MANIFEST_FILE, build_version
from trajkit.filters.presets import build_chain

runner = CliRunner()


@pytest.fixture
def version(tmp_path: Path) -> Path:
    run = write_run(tmp_path / "runs" / "a", sample("a"))  # under the output root: located
    return build_version([run], "ds", tmp_path, build_chain(["success"])).path


def edit(path: Path, old: bytes, new: bytes) -> None:
    """Change bytes of a read-only version file, then make it read-only again (no permission noise)."""
    os.chmod(path, 0o644)
    data = path.read_bytes()
    assert old in data
    path.write_bytes(data.replace(old, new, 1))
    os.chmod(path, 0o444)


def test_one_changed_byte_is_detected(version: Path) -> None:
    data = version / DATA_FILE
    raw = bytearray(data.read_bytes())
    k = raw.index(b"Let me compute")
    raw[k] = ord("l")  # same length, still valid JSON, same counts
    os.chmod(data, 0o644)
    data.write_bytes(bytes(raw))
    os.chmod(data, 0o444)
    problems = verify_version(version)
    assert len(problems) == 1 and "sha256" in problems[0] and str(data) in problems[0]


def test_counts_that_no_longer_match_are_each_named(version: Path) -> None:
    edit(version / DATA_FILE, b'"provider":"fake"', b'"provider":"other"')
    edit(version / DATA_FILE, b'"termination":"solved"', b'"termination":"max_turns"')
    edit(version / DATA_FILE, b'"input_tokens":200,', b'"input_tokens":201,')  # a record's total
    problems = "\n".join(verify_version(version))
    assert "per-teacher counts" in problems and "'other:fake-1': 1" in problems
    assert "per-termination counts" in problems
    assert "token totals in/out 901/180 != manifest 900/180" in problems


def test_changelog_and_extra_files_are_checked(version: Path) -> None:
    edit(version / CHANGELOG_FILE, b"# ds v1", b"# ds v9")
    (version / "notes.txt").write_text("hi")
    problems = verify_version(version)
    assert any(CHANGELOG_FILE in p and "sha256" in p for p in problems)
    assert any("notes.txt: not part of this version" in p for p in problems)
    assert any("notes.txt: writable" in p for p in problems)
    (version / CHANGELOG_FILE).unlink()
    assert any(p.endswith(f"{CHANGELOG_FILE}: missing") for p in verify_version(version))


def test_repeated_ids_and_lineage_disagreement(version: Path) -> None:
    data = version / DATA_FILE
    first = data.read_bytes().splitlines(keepends=True)[0]
    os.chmod(data, 0o644)
    with open(data, "ab") as fh:
        fh.write(first)
    os.chmod(data, 0o444)
    edit(version / MANIFEST_FILE, b'"records": 6', b'"records": 7')  # the parent's count
    problems = "\n".join(verify_version(version))
    assert "repeated record ids: a/t1" in problems
    assert "parent 1 (run a) disagrees with input" in problems


def test_rebuild_compares_bytes(version: Path) -> None:
    assert rebuild_problems(version) == []
    # A manifest whose chain no longer gives these records: verify passes, the rebuild differs.
    edit(version / MANIFEST_FILE, b'"min_score": 1.0', b'"min_score": 0.5')
    assert verify_version(version) == []
    [problem] = rebuild_problems(version)
    assert problem.startswith(f"rebuild: {version / DATA_FILE} differs from a rebuild from its parents")


def test_cli_exit_codes(version: Path, tmp_path: Path) -> None:
    ok = runner.invoke(app, ["verify", str(version)])
    assert ok.exit_code == 0, ok.output
    assert ok.stdout.startswith(f"ok {version}: 4 records")
    rebuilt = runner.invoke(app, ["verify", str(version), "--rebuild"])
    assert rebuilt.exit_code == 0 and "rebuilt from 1 parent(s): identical bytes" in rebuilt.stdout
    whole = runner.invoke(app, ["verify", str(version.parent)])  # a dataset dir: every version
    assert whole.exit_code == 0 and whole.stdout.count("ok ") == 1

    edit(version / DATA_FILE, b"Let me compute", b"let me compute")
    drift = runner.invoke(app, ["verify", str(version)])
    assert drift.exit_code == 1
    assert drift.stdout.splitlines()[0] == f"drift {version}: 1 problem(s)"
    assert "sha256" in drift.stdout.splitlines()[1]

    for bad in ([str(tmp_path / "missing")], [str(tmp_path / "runs")], [str(version), "--input", "x"]):
        res = runner.invoke(app, ["verify", *bad])
        assert res.exit_code == 2, (bad, res.output)
        assert len(res.stderr.strip().splitlines()) == 1 and res.stderr.startswith("error:")


def test_cli_rebuild_reports_a_changed_parent(version: Path, tmp_path: Path) -> None:
    trajectories = tmp_path / "runs" / "a" / "trajectories.jsonl"
    lines = trajectories.read_text().splitlines(keepends=True)
    trajectories.write_text("".join(lines[:-1]))
    res = runner.invoke(app, ["verify", str(version), "--rebuild"])
    assert res.exit_code == 1
    assert "rebuild:" in res.stdout and "input changed since ds v1" in res.stdout
    moved = tmp_path / "moved.jsonl"
    moved.write_text("".join(lines))
    res = runner.invoke(app, ["verify", str(version), "--rebuild", "--input", str(moved)])
    assert res.exit_code == 0, res.output
    assert json.loads((version / MANIFEST_FILE).read_text())["inputs"][0]["path"] == "runs/a/trajectories.jsonl"


def test_a_deeply_nested_line_appended_is_drift_not_a_traceback(version: Path) -> None:
    """Valid JSON too deep for Python's ``json`` (``RecursionError``) is a line that is not a
    record: a drift report naming it, exit 1, and the version left as it was."""
    data = version / DATA_FILE
    os.chmod(data, 0o644)
    with open(data, "a", encoding="utf-8") as fh:
        fh.write(DEEP_LINE)
    os.chmod(data, 0o444)
    before = data.read_bytes()
    res = runner.invoke(app, ["verify", str(version)])
    assert res.exit_code == 1, res.output
    assert res.stdout.splitlines()[0].startswith(f"drift {version}:")
    assert f"{data}:5: not a JSON record" in res.stdout
    assert data.read_bytes() == before
