"""``trajkit export`` and ``trajkit show`` from the command line (in-process, typer's runner)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from factories import DEEP_LINE, make_trajectory, nested_line, write_jsonl, write_run
from typer.testing import CliRunner

from trajkit.cli.app import app
from trajkit.core.errors import DataError
from trajkit.dataset.export_validate import validate_openai_jsonl
from trajkit.dataset.show import find_trajectory, search_files
from trajkit.dataset.version import build_version
from trajkit.filters.presets import build_chain
from trajkit.schemas import TeacherInfo

runner = CliRunner()


@pytest.fixture
def out(tmp_path: Path) -> Path:
    """An output root with one run and one dataset version built from it."""
    root = tmp_path / "out"
    trajs = [
        make_trajectory("t1", ["exception", "solve"], run="r", teacher=TeacherInfo(provider="openai", model="m")),
        make_trajectory("t2", ["ok", "wrong", "solve"], run="r"),
    ]
    run = write_run(root / "runs" / "r", trajs)
    build_version([run], "ds", root, build_chain(["all"]))
    return root


def test_export_each_format(out: Path, tmp_path: Path) -> None:
    version = out / "datasets" / "ds" / "v1"
    for fmt in ("openai", "sharegpt", "codeact", "hf"):
        res = runner.invoke(app, ["export", str(version), "--format", fmt, "--to", str(tmp_path / fmt)])
        assert res.exit_code == 0, res.output
        assert res.stdout.startswith(f"wrote {tmp_path / fmt}: 2 rows of ds v1")
    assert validate_openai_jsonl(tmp_path / "openai") == []
    assert (tmp_path / "hf" / "README.md").is_file()
    masked = runner.invoke(app, ["export", str(out / "datasets" / "ds"), "--format", "openai",
                                 "--to", str(tmp_path / "m.jsonl"), "--mask-failed"])
    assert masked.exit_code == 0, masked.output
    weights = [m.get("weight") for line in (tmp_path / "m.jsonl").read_text().splitlines()
               for m in json.loads(line)["messages"] if m["role"] == "assistant"]
    assert weights == [0, 1, 1, 0, 1]


def test_export_refusals_are_one_line(out: Path, tmp_path: Path) -> None:
    version = str(out / "datasets" / "ds" / "v1")
    (tmp_path / "taken.jsonl").write_text("keep me\n")
    cases = [
        ["--format", "openai", "--to", str(tmp_path / "taken.jsonl")],
        ["--format", "parquet", "--to", str(tmp_path / "x")],
        ["--format", "codeact", "--to", str(tmp_path / "x"), "--weights"],
    ]
    for args in cases:
        res = runner.invoke(app, ["export", version, *args])
        assert res.exit_code == 2, (args, res.output)
        assert len(res.stderr.strip().splitlines()) == 1 and res.stderr.startswith("error: ")
    assert (tmp_path / "taken.jsonl").read_text() == "keep me\n"
    forced = runner.invoke(app, ["export", version, "--format", "openai", "--to", str(tmp_path / "taken.jsonl"),
                                 "--force"])
    assert forced.exit_code == 0 and validate_openai_jsonl(tmp_path / "taken.jsonl") == []


def test_show_renders_a_trajectory(out: Path) -> None:
    res = runner.invoke(app, ["show", "r/t1", "--in", str(out)])
    assert res.exit_code == 0, res.output
    text = res.stdout
    for fact in ("r/t1", "openai:m", "success", "ZeroDivisionError", "exception", "print(x)",
                 "judge: accepted", "200 in / 40 out"):
        assert fact in text, fact
    assert f"found in {out / 'runs' / 'r' / 'trajectories.jsonl'}:1" in res.stderr
    by_task = runner.invoke(app, ["show", "t2", "--in", str(out / "datasets" / "ds" / "v1"), "--json"])
    assert by_task.exit_code == 0, by_task.output
    assert json.loads(by_task.stdout)["id"] == "r/t2"
    missing = runner.invoke(app, ["show", "nope", "--in", str(out)])
    assert missing.exit_code == 2 and "no trajectory with this id or task id" in missing.stderr


def test_find_streams_and_reports_other_matches(tmp_path: Path) -> None:
    a = make_trajectory("same-task", ["ok", "solve"], run="a")
    b = make_trajectory("same-task", ["exception", "solve"], run="b")
    path = write_jsonl(tmp_path / "t.jsonl", [a, b], tail='{"id": "same-task", "tor')
    found = find_trajectory("same-task", path)
    assert (found.trajectory.id, found.lineno, found.others) == ("a/same-task", 1, ["b/same-task"])
    assert find_trajectory("b/same-task", path).lineno == 2
    with pytest.raises(DataError, match="no such file"):
        search_files(tmp_path / "missing")
    (tmp_path / "empty").mkdir()
    with pytest.raises(DataError, match="not a run, dataset version"):
        search_files(tmp_path / "empty")


def _tree(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


def test_force_replaces_only_an_earlier_export(out: Path, tmp_path: Path) -> None:
    """``--force`` once renamed any ``--to`` aside and deleted it: the version being exported,
    the whole output root, a run's records, a user's folder. Each is refused now, one line,
    exit 2, nothing touched; an earlier export (file or hf folder) is still replaced."""
    version = out / "datasets" / "ds" / "v1"
    user = tmp_path / "mine"
    user.mkdir()
    (user / "notes.txt").write_text("precious\n")
    before, mine = _tree(out), _tree(user)
    cases = [
        (["--format", "hf", "--to", str(version)], "the dataset version being exported"),
        (["--format", "hf", "--to", str(out)], "the dataset version being exported"),
        (["--format", "openai", "--to", str(out / "runs" / "r" / "trajectories.jsonl")],
         "inside a collection run"),
        (["--format", "hf", "--to", str(user)], "not an earlier hf export"),
        (["--format", "openai", "--to", str(user)], "is a directory"),
    ]
    for args, why in cases:
        res = runner.invoke(app, ["export", str(version), *args, "--force"])
        assert res.exit_code == 2 and why in res.output, (args, res.output)
        assert len(res.output.strip().splitlines()) == 1
    assert _tree(out) == before and _tree(user) == mine
    for fmt, to in (("hf", tmp_path / "hf"), ("openai", tmp_path / "a.jsonl")):
        for _ in range(2):
            res = runner.invoke(app, ["export", str(version), "--format", fmt, "--to", str(to), "--force"])
            assert res.exit_code == 0, res.output


def test_filter_of_valid_json_too_deep_to_read_is_one_line_error(out: Path, tmp_path: Path) -> None:
    """Python's ``json`` raises ``RecursionError`` (not ``ValueError``) on such a line, as an
    input or as a ``--decontaminate`` reference: exit 2 and ``FILE:LINE``, nothing written."""
    deep = tmp_path / "deep.jsonl"
    deep.write_text(DEEP_LINE, encoding="utf-8")
    res = runner.invoke(app, ["filter", str(deep), "--dataset", "x", "--out", str(tmp_path / "o")])
    assert res.exit_code == 2, res.output
    assert f"{deep}:1: not valid JSON (nested more than 200 deep" in res.output
    ref = runner.invoke(app, ["filter", str(out / "runs" / "r"), "--dataset", "x", "--out", str(tmp_path / "o"),
                              "--decontaminate", str(deep)])
    assert ref.exit_code == 2, ref.output
    assert "deep.jsonl" in ref.output and "nested more than 200 deep" in ref.output
    assert not (tmp_path / "o" / "datasets" / "x" / "v1").exists()


@pytest.mark.parametrize(("depth", "valid"), [(200, True), (201, False), (250, False)])
def test_filter_and_export_agree_on_a_deeply_nested_record(tmp_path: Path, depth: int, valid: bool) -> None:
    """Export parses with pydantic, which refuses JSON nested more than 200 deep; ``filter``
    once read such a record with ``json.loads`` and wrote a version ``export`` then called an
    invalid Trajectory. Now a record exactly 200 deep passes both, and one deeper neither."""
    path = tmp_path / "in.jsonl"
    path.write_text(nested_line(make_trajectory("t1", ["solve"]), depth), encoding="utf-8")
    built = runner.invoke(app, ["filter", str(path), "--dataset", "ds", "--out", str(tmp_path / "o")])
    if not valid:
        assert built.exit_code == 2, built.output
        assert f"{path}:1: not valid JSON (nested more than 200 deep" in built.output
        return
    assert built.exit_code == 0, built.output
    version = tmp_path / "o" / "datasets" / "ds" / "v1"
    res = runner.invoke(app, ["export", str(version), "--format", "openai", "--to", str(tmp_path / "e.jsonl")])
    assert res.exit_code == 0, res.output


def test_show_reads_the_documented_run_colon_task_form(out: Path) -> None:
    """``trajkit show RUN:TASK_ID`` is the help's own example; it found nothing before."""
    found = runner.invoke(app, ["show", "r:t1", "--in", str(out), "--json"])
    assert found.exit_code == 0, found.output
    assert json.loads(found.stdout)["task_id"] == "t1"
    assert "runs/r/trajectories.jsonl:1" in found.stderr
    for missing in ("nope:t1", "r:t9", "../r:t1"):
        res = runner.invoke(app, ["show", missing, "--in", str(out)])
        assert res.exit_code == 2 and "no trajectory" in res.output, (missing, res.output)


def test_a_bad_record_or_manifest_names_the_field_to_fix(out: Path, tmp_path: Path) -> None:
    """``show`` said "invalid Trajectory (14 validation errors for Trajectory)" and ``verify``
    of a ``[]`` manifest "1 validation error for DatasetManifest": neither named the field."""
    bad = tmp_path / "bad.jsonl"
    bad.write_text(json.dumps({"id": "x1", "task_id": "t", "success": "maybe"}) + "\n")
    res = runner.invoke(app, ["show", "x1", "--in", str(bad)])
    assert res.exit_code == 2 and f"{bad}:1: invalid Trajectory: " in res.output, res.output
    assert "validation error" not in res.output
    version = out / "datasets" / "ds" / "v1"
    manifest = version / "manifest.json"
    manifest.chmod(0o644)
    manifest.write_text("[]")
    res = runner.invoke(app, ["verify", str(version)])
    assert "invalid manifest: record: Input should be an object" in res.output, res.output
