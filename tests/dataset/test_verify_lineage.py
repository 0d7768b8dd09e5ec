"""Manifest lineage: parents, counts by teacher/termination, token totals, file digests,
versions as inputs, merging teachers and sources, and CHANGELOG.md between versions."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from dataset_helpers import sample
from factories import make_trajectory, write_jsonl, write_run

from trajkit.core.errors import DataError
from trajkit.dataset.changelog import CHANGELOG_FILE, MAX_IDS
from trajkit.dataset.export_version import export_version
from trajkit.dataset.inputs import resolve_input
from trajkit.dataset.verify import rebuild_problems, verify_version
from trajkit.dataset.version import DATA_FILE, MANIFEST_FILE, build_version, read_manifest
from trajkit.filters.presets import build_chain, default_chain
from trajkit.schemas import DatasetManifest, TeacherInfo, Trajectory, Usage

GPT = TeacherInfo(provider="openai", model="gpt-4o-mini")
CLAUDE = TeacherInfo(provider="anthropic", model="claude-sonnet")


def teacher_run(run: str, source: str, teacher: TeacherInfo, n: int = 3) -> list[Trajectory]:
    """``n`` self-correcting successes plus one failure (dropped by the default chain)."""
    trajs = [make_trajectory(f"{source}-{i}", ["exception", "solve"], run=run, source=source, teacher=teacher)
             for i in range(n)]
    trajs.append(make_trajectory(f"{source}-fail", ["timeout", "wrong"], success=False, run=run,
                                 source=source, teacher=teacher))
    return trajs


def test_manifest_records_lineage_counts_tokens_and_files(tmp_path: Path) -> None:
    run = write_run(tmp_path / "runs" / "math-a", sample("math-a"))
    res = build_version([run], "ds", tmp_path / "out", build_chain(["all"]))
    m = read_manifest(res.path)
    assert m.data_format and m.schema_version and m.toolkit_version and m.created_at
    [parent] = m.parents or []
    # Outside the output root: the run is named by its directory's name, not located.
    assert (parent.kind, parent.name, parent.path, parent.base, parent.records) == (
        "run", "math-a", "math-a", "elsewhere", 6)
    assert parent.sha256 == m.inputs[0].sha256
    assert m.counts_by_teacher == {"fake:fake-1": 6}
    assert m.counts_by_termination == {"max_turns": 1, "solved": 5}
    trajs = sample("math-a")
    assert m.usage == sum((t.usage for t in trajs), Usage())
    files = {f.path: f for f in m.files or []}
    assert set(files) == {DATA_FILE, CHANGELOG_FILE}
    assert files[DATA_FILE].sha256 == m.data_sha256
    assert files[DATA_FILE].bytes == (res.path / DATA_FILE).stat().st_size
    assert m.previous_version is None
    assert verify_version(res.path) == []


def test_merging_teachers_and_sources(tmp_path: Path) -> None:
    gpt = write_run(tmp_path / "runs" / "math-gpt", teacher_run("math-gpt", "math", GPT, 3))
    claude = write_run(tmp_path / "runs" / "apps-claude", teacher_run("apps-claude", "apps", CLAUDE, 2))
    loose = write_jsonl(tmp_path / "extra.jsonl", teacher_run("extra", "hotpotqa", GPT, 1))
    res = build_version([gpt, claude, loose], "mix", tmp_path, default_chain())
    m = res.manifest
    assert m.records == 6
    assert m.counts_by_source == {"apps": 2, "hotpotqa": 1, "math": 3}
    assert m.counts_by_teacher == {"anthropic:claude-sonnet": 2, "openai:gpt-4o-mini": 4}
    assert m.counts_by_termination == {"solved": 6}
    assert m.usage is not None and (m.usage.input_tokens, m.usage.output_tokens) == (1200, 240)
    assert [(p.kind, p.name, p.records) for p in m.parents or []] == [
        ("run", "math-gpt", 4), ("run", "apps-claude", 3), ("jsonl", "extra", 2)]
    ids = [json.loads(x)["id"] for x in (res.path / DATA_FILE).read_bytes().splitlines()]
    assert ids == ["math-gpt/math-0", "math-gpt/math-1", "math-gpt/math-2",
                   "apps-claude/apps-0", "apps-claude/apps-1", "extra/hotpotqa-0"]
    assert verify_version(res.path) == [] and rebuild_problems(res.path) == []


def test_a_version_is_an_input(tmp_path: Path) -> None:
    run = write_run(tmp_path / "runs" / "a", sample("a"))
    out = tmp_path / "out"
    wide = build_version([run], "wide", out, build_chain(["success"]))
    assert resolve_input(wide.path) == (wide.path / DATA_FILE).resolve()
    narrow = build_version([wide.path], "narrow", out, build_chain(["self-correct"]))
    direct = build_version([run], "direct", out, default_chain())
    assert (narrow.path / DATA_FILE).read_bytes() == (direct.path / DATA_FILE).read_bytes()
    [parent] = narrow.manifest.parents or []
    assert (parent.kind, parent.name, parent.version, parent.fingerprint) == (
        "version", "wide", 1, wide.manifest.fingerprint)
    assert parent.sha256 == wide.manifest.data_sha256
    assert (parent.path, parent.base) == ("datasets/wide/v1", "out")
    assert verify_version(narrow.path) == [] and rebuild_problems(narrow.path) == []
    again = build_version([wide.path], "narrow", out, build_chain(["self-correct"]))
    assert again.existed and again.version == 1


def test_a_dataset_dir_must_name_its_version(tmp_path: Path) -> None:
    run = write_run(tmp_path / "runs" / "a", sample("a"))
    res = build_version([run], "ds", tmp_path / "out", default_chain())
    with pytest.raises(DataError, match=r"a dataset with versions v1; name one, e\.g\. .*/ds/v1"):
        resolve_input(res.path.parent)


def test_a_drifted_parent_version_is_refused(tmp_path: Path) -> None:
    run = write_run(tmp_path / "runs" / "a", sample("a"))
    wide = build_version([run], "wide", tmp_path / "out", build_chain(["all"]))
    data = wide.path / DATA_FILE
    os.chmod(data, 0o644)
    data.write_bytes(data.read_bytes().replace(b'"score":1.0', b'"score":0.9', 1))
    with pytest.raises(DataError, match=r"wide/v1: data\.jsonl does not match its manifest.*trajkit verify"):
        build_version([wide.path], "narrow", tmp_path / "out", default_chain())
    assert not (tmp_path / "out" / "datasets" / "narrow").exists()


def test_changelog_diffs_against_the_previous_version(tmp_path: Path) -> None:
    a = write_run(tmp_path / "runs" / "a", sample("a"))
    b = write_run(tmp_path / "runs" / "b", teacher_run("b", "apps", CLAUDE, 2))
    out = tmp_path / "out"
    v1 = build_version([a], "ds", out, default_chain())
    v2 = build_version([a, b], "ds", out, default_chain())
    v3 = build_version([b], "ds", out, default_chain())
    first = (v1.path / CHANGELOG_FILE).read_text()
    assert first.startswith("# ds v1\n") and "First version of `ds`: 2 records." in first
    second = (v2.path / CHANGELOG_FILE).read_text()
    assert v2.manifest.previous_version == 1
    assert "4 records: 2 added, 0 removed, 2 kept from v1." in second
    assert "| records | 2 | 4 | +2 |" in second
    assert "| teacher: `anthropic:claude-sonnet` | 0 | 2 | +2 |" in second
    assert "- added: run b (" in second and "- unchanged: 1" in second
    assert "### Added (2)\n\n- `b/apps-0`\n- `b/apps-1`\n" in second
    assert "### Removed (0)\n\n(none)" in second
    third = (v3.path / CHANGELOG_FILE).read_text()
    assert "2 records: 0 added, 2 removed, 2 kept from v2." in third
    assert "- `a/t1`\n- `a/t5`" in third and "- removed: run a (" in third
    # Record ids are the trajectory ids: the same episode keeps its id in every version.
    ids = [{json.loads(x)["id"] for x in (v.path / DATA_FILE).read_bytes().splitlines()} for v in (v1, v2)]
    assert ids[0] <= ids[1]


def test_changelog_names_a_changed_chain_and_caps_id_lists(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("trajkit.dataset.changelog.MAX_IDS", 1)
    run = write_run(tmp_path / "runs" / "a", sample("a"))
    build_version([run], "ds", tmp_path / "out", default_chain())
    v2 = build_version([run], "ds", tmp_path / "out", build_chain(["all"]))
    text = (v2.path / CHANGELOG_FILE).read_text()
    assert "- v1: success(min_score=1.0) → self-correct\n- v2: (none: all kept)" in text
    assert "### Added (4)\n\n- `a/t2`\n- … and 3 more\n" in text
    assert MAX_IDS == 1000  # the real cap (the module constant was patched for this test only)


def test_dry_run_reports_the_new_numbers(tmp_path: Path) -> None:
    run = write_run(tmp_path / "runs" / "a", teacher_run("a", "math", GPT, 2))
    res = build_version([run], "ds", tmp_path / "out", default_chain(), dry_run=True)
    assert res.manifest.counts_by_teacher == {"openai:gpt-4o-mini": 2}
    assert res.manifest.parents and res.manifest.parents[0].records == 3
    assert not (tmp_path / "out").exists()


def test_manifests_from_before_lineage_still_load_and_verify(tmp_path: Path) -> None:
    run = write_run(tmp_path / "runs" / "a", sample("a"))
    res = build_version([run], "ds", tmp_path / "out", default_chain())
    legacy_keys = {"schema_version", "name", "version", "fingerprint", "created_at", "inputs", "filters",
                   "records", "counts_by_source", "data_sha256", "toolkit_version"}
    path = res.path / MANIFEST_FILE
    old = {k: v for k, v in json.loads(path.read_text()).items() if k in legacy_keys}
    os.chmod(path, 0o644)
    path.write_text(json.dumps(old, indent=2))
    os.chmod(path, 0o444)
    (res.path / CHANGELOG_FILE).unlink()  # old versions had none
    m = DatasetManifest.model_validate(old)
    assert m.parents is None and m.counts_by_teacher is None and m.files is None
    assert verify_version(res.path) == []
    # Its card takes the numbers the manifest lacks from the data.
    export_version(res.path, "hf", tmp_path / "hf")
    card = (tmp_path / "hf" / "README.md").read_text()
    assert "| `fake:fake-1` | 2 | 100.0% |" in card and "| input | 500 | 250.0 |" in card
    assert not (tmp_path / "hf" / CHANGELOG_FILE).exists()
    # ... and a new version diffs against it from its data.
    v2 = build_version([run], "ds", tmp_path / "out", build_chain(["all"]))
    assert "6 records: 4 added, 0 removed, 2 kept from v1." in (v2.path / CHANGELOG_FILE).read_text()
