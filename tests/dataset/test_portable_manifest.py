"""How a manifest names its inputs and parents without machine paths, how ``verify --rebuild``
finds them again, and that versions written before (absolute paths, replay teachers recorded
as paths) still verify, rebuild and export; plus the changelog and card texts that could
carry a path (issue 13 item 6)."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
from pathlib import Path

import pyarrow.parquet as pq
from dataset_helpers import sample
from factories import make_trajectory, write_jsonl, write_run
from typer.testing import CliRunner

from trajkit.cli.app import app
from trajkit.dataset.changelog import CHANGELOG_FILE, chain_text
from trajkit.dataset.export_version import export_version
from trajkit.dataset.verify import rebuild_problems, verify_version
from trajkit.dataset.version import DATA_FILE, MANIFEST_FILE, build_version
from trajkit.filters.chain import FilterChain
from trajkit.filters.decontaminate import DecontaminateFilter
from trajkit.filters.presets import build_chain, default_chain
from trajkit.schemas import FilterReport, TeacherInfo

MARK = "collector-home-Kw9q"
runner = CliRunner()


def verify_cli(*args: str) -> tuple[int, list[str]]:
    res = runner.invoke(app, ["verify", *args])
    return res.exit_code, res.output.splitlines()


def test_inputs_outside_the_output_root_are_named_not_located(tmp_path: Path) -> None:
    home = tmp_path / MARK
    inside = write_run(tmp_path / "out" / "runs" / "a", sample("a"))
    apart = write_run(home / "runs" / "b", sample("b", source="apps"))
    loose = write_jsonl(home / "extra.jsonl", [make_trajectory("x", ["exception", "solve"], run="x")])
    res = build_version([inside, apart, loose], "ds", tmp_path / "out", default_chain())
    text = (res.path / MANIFEST_FILE).read_text()
    assert MARK not in text and str(tmp_path) not in text
    m = res.manifest
    assert [(i.path, i.base) for i in m.inputs] == [
        ("runs/a/trajectories.jsonl", "out"), ("trajectories.jsonl", "elsewhere"), ("extra.jsonl", "elsewhere")]
    assert [(p.kind, p.path, p.base) for p in m.parents or []] == [
        ("run", "runs/a", "out"), ("run", "b", "elsewhere"), ("jsonl", "extra.jsonl", "elsewhere")]
    assert verify_version(res.path) == []

    # Without their places the rebuild cannot run: one line naming them and the flag.
    code, lines = verify_cli(str(res.path), "--rebuild")
    assert code == 1 and len(lines) == 2, lines
    assert "input" in lines[1] and "2 (run b, sha256" in lines[1] and "3 (file extra, sha256" in lines[1]
    assert "outside the output root" in lines[1] and "--input" in lines[1]
    # Only the places the manifest lacks, in order; or every input, as before.
    for given in ([apart, loose], [inside, apart, loose]):
        code, lines = verify_cli(str(res.path), "--rebuild", *[f"--input={p}" for p in given])
        assert code == 0 and "identical bytes" in lines[0], lines
    code, lines = verify_cli(str(res.path), "--rebuild", f"--input={apart}")
    assert code == 1 and "manifest has 3 inputs (or 2: those it does not locate), got 1" in lines[1]
    # A located input that moved: the problem says so and points at --input.
    shutil.move(tmp_path / "out" / "runs" / "a", tmp_path / "a-moved")
    [problem] = rebuild_problems(res.path, [apart, loose])
    assert "input 1 (run a, sha256" in problem and "not where the manifest says" in problem
    assert rebuild_problems(res.path, [tmp_path / "a-moved", apart, loose]) == []


def test_a_run_dir_reached_through_a_symlink_under_the_root_is_inside(tmp_path: Path) -> None:
    """``out/runs`` on a bigger disk, linked in: the manifest still says ``runs/...``."""
    disk = write_run(tmp_path / "disk" / "runs" / "a", sample("a")).parent
    (tmp_path / "out").mkdir()
    os.symlink(disk, tmp_path / "out" / "runs")
    res = build_version([tmp_path / "out" / "runs" / "a"], "ds", tmp_path / "out", default_chain())
    assert [(i.path, i.base) for i in res.manifest.inputs] == [("runs/a/trajectories.jsonl", "out")]
    assert rebuild_problems(res.path) == []


def _as_written_before(version: Path, replay_model: str | None = None) -> None:
    """Rewrite a version's manifest as trajkit wrote it before inputs were placed: absolute
    paths, no ``base``, teacher keys as recorded (the manifest is not in its own digest)."""
    manifest = json.loads((version / MANIFEST_FILE).read_text())
    root = version.parents[2]
    for entry in [*manifest["inputs"], *manifest["parents"]]:
        assert entry.pop("base") == "out"
        entry["path"] = str((root / entry["path"]).resolve())
    if replay_model is not None:
        manifest["counts_by_teacher"] = {f"replay:{replay_model}": manifest["records"]}
        changelog = version / CHANGELOG_FILE
        name = f"replay:{Path(replay_model).name}"
        text = changelog.read_bytes().replace(f"`{name}`".encode(), f"`replay:{replay_model}`".encode())
        os.chmod(changelog, 0o644)
        changelog.write_bytes(text)
        os.chmod(changelog, 0o444)
        [entry] = [f for f in manifest["files"] if f["path"] == CHANGELOG_FILE]
        entry.update(sha256=hashlib.sha256(text).hexdigest(), bytes=len(text))
    os.chmod(version / MANIFEST_FILE, 0o644)
    (version / MANIFEST_FILE).write_text(json.dumps(manifest, indent=2) + "\n")
    os.chmod(version / MANIFEST_FILE, 0o444)


def test_versions_written_before_still_verify_rebuild_and_export(tmp_path: Path) -> None:
    """Absolute input paths in the manifest, and records whose replay teacher is a path."""
    recorded = str(tmp_path / MARK / "recordings" / "math_replay.jsonl")
    old_replay = TeacherInfo(provider="replay", model=recorded)
    trajs = [make_trajectory(f"t{i}", ["exception", "solve"], run="m", teacher=old_replay)
             for i in range(3)]
    run = write_run(tmp_path / "out" / "runs" / "m", trajs)
    version = build_version([run], "ds", tmp_path / "out", default_chain()).path
    _as_written_before(version, recorded)
    assert str(run.resolve()) in (version / MANIFEST_FILE).read_text()
    assert recorded in (version / CHANGELOG_FILE).read_text()
    assert verify_version(version) == [] and rebuild_problems(version) == []
    code, lines = verify_cli(str(version), "--rebuild")
    assert code == 0 and "identical bytes" in lines[0]
    out = export_version(version, "hf", tmp_path / "hf")
    card = (out.path / "README.md").read_text()
    assert "`replay:math_replay.jsonl`" in card and MARK not in card
    published = (out.path / CHANGELOG_FILE).read_text()  # the version's own stays as hashed
    assert "| teacher: `replay:math_replay.jsonl` | 3 |" in published and MARK not in published
    rows = pq.read_table(next((out.path / "data").glob("*.parquet"))).to_pylist()
    assert {r["teacher"] for r in rows} == {"replay:math_replay.jsonl"}
    # The teacher counts now name the file, also for a version built from those old records.
    again = build_version([run], "again", tmp_path / "out", default_chain())
    assert again.manifest.counts_by_teacher == {"replay:math_replay.jsonl": 3}
    changelog = (again.path / CHANGELOG_FILE).read_text()
    assert "replay:math_replay.jsonl" in changelog and MARK not in changelog


def test_a_changelog_note_about_an_unreadable_previous_version_names_no_path(tmp_path: Path) -> None:
    out = tmp_path / MARK / "out"
    run = write_run(out / "runs" / "a", sample("a"))
    first = build_version([run], "ds", out, build_chain(["all"])).path
    data = first / DATA_FILE
    os.chmod(first, 0o755)
    data.unlink()
    data.mkdir()  # unreadable as a file, whoever runs the test (root reads through chmod 000)
    second = build_version([run], "ds", out, default_chain())
    text = (second.path / CHANGELOG_FILE).read_text()
    assert "Note: v1/data.jsonl: unreadable (" in text
    assert MARK not in text and str(tmp_path) not in text


def test_filter_parameters_that_are_files_are_shown_by_name(tmp_path: Path) -> None:
    """A decontamination reference (or an ``hf:`` tokenizer file) is a path of the building
    machine: the manifest records its name and sha256 (the reference store keeps the bytes a
    rebuild reads), and the changelog and the card show its name; manifests written before
    that, with the full path, are still shown by name."""
    ref = tmp_path / MARK / "eval.jsonl"
    ref.parent.mkdir()
    ref.write_text(json.dumps({"problem": "a completely unrelated evaluation question about tiles"}) + "\n")
    run = write_run(tmp_path / "out" / "runs" / "a", sample("a"))
    chain = FilterChain([DecontaminateFilter([str(ref)], n=5)])
    res = build_version([run], "ds", tmp_path / "out", chain)
    assert MARK not in (res.path / MANIFEST_FILE).read_text()
    assert res.manifest.filters[0].params["paths"] == ["eval.jsonl"]
    assert rebuild_problems(res.path) == []
    changelog = (res.path / CHANGELOG_FILE).read_text()
    assert "paths=['eval.jsonl']" in changelog and MARK not in changelog
    card = (export_version(res.path, "hf", tmp_path / "hf").path / "README.md").read_text()
    assert "paths=['eval.jsonl']" in card and MARK not in card
    report = FilterReport(name="tokens", params={"tokenizer": "hf:/home/alice/tok/tokenizer.json",
                                                 "max_tokens": 10})
    assert chain_text([report]) == "tokens(max_tokens=10,tokenizer=hf:tokenizer.json)"
    assert chain_text([FilterReport(name="t", params={"tokenizer": "hf:org/name"})]) == (
        "t(tokenizer=hf:org/name)")


def test_a_replayed_version_s_card_says_its_tokens_were_counted(tmp_path: Path) -> None:
    digest = hashlib.sha256(b"x").hexdigest()[:12]
    replay = TeacherInfo(provider="replay", model=f"r.jsonl@sha256:{digest}",
                         params={"tokens_counted_with": "chars4"})
    trajs = [make_trajectory(f"t{i}", ["exception", "solve"], run="m", teacher=replay) for i in range(2)]
    run = write_run(tmp_path / "out" / "runs" / "m", trajs)
    res = build_version([run], "ds", tmp_path / "out", default_chain())
    assert res.manifest.counts_by_teacher == {f"replay:r.jsonl@sha256:{digest}": 2}
    card = (export_version(res.path, "hf", tmp_path / "hf").path / "README.md").read_text()
    assert "Tokens of 2 record(s) were counted from the text with a tokenizer, not billed" in card
    assert "chars4 (2)" in card
