"""verify_version finds tampering; rebuild_version reproduces the bytes from the manifest."""

from __future__ import annotations

import json
import os
import re
from pathlib import Path

import pytest
from dataset_helpers import sample
from factories import make_trajectory, trajectory_line, write_run

from trajkit.core.errors import DataError
from trajkit.dataset.verify import rebuild_version, verify_version
from trajkit.dataset.version import DATA_FILE, MANIFEST_FILE, build_version
from trajkit.filters.chain import FilterChain
from trajkit.filters.presets import build_chain, default_chain
from trajkit.filters.success import SuccessFilter


@pytest.fixture
def built(tmp_path: Path) -> Path:
    a = write_run(tmp_path / "runs" / "a", sample("run-a"))
    b = write_run(tmp_path / "runs" / "b", sample("run-b", source="apps"))
    # The runs lie under the output root (as `trajkit collect`/`filter` with one --out lay
    # them out), so the manifest locates them and a rebuild needs no --input.
    return build_version([a, b, a], "ds", tmp_path, default_chain()).path


def test_fresh_version_verifies(built: Path) -> None:
    assert verify_version(built) == []


def test_tampered_data_is_reported(built: Path) -> None:
    data = built / DATA_FILE
    os.chmod(data, 0o644)
    with open(data, "ab") as fh:
        fh.write(trajectory_line(make_trajectory("extra")).encode())
    problems = verify_version(built)
    assert any("sha256" in p for p in problems)
    assert any("5 records, manifest says 4" in p for p in problems)
    assert any("writable" in p for p in problems)
    assert any("per-source" in p for p in problems)


def test_missing_files_are_reported(built: Path, tmp_path: Path) -> None:
    (built / MANIFEST_FILE).unlink()
    assert verify_version(built) == [f"{built / MANIFEST_FILE}: missing"]
    assert verify_version(tmp_path / "nope") == [f"{tmp_path / 'nope'}: not a dataset version directory"]


def test_rebuild_gives_identical_bytes(built: Path, tmp_path: Path) -> None:
    sha = rebuild_version(built, tmp_path / "rebuilt")
    manifest_sha = json.loads((built / MANIFEST_FILE).read_text())["data_sha256"]
    assert sha == manifest_sha
    assert (tmp_path / "rebuilt" / DATA_FILE).read_bytes() == (built / DATA_FILE).read_bytes()


@pytest.mark.parametrize(
    "chain", [build_chain(["all"]), FilterChain([SuccessFilter(min_score=0.5)])], ids=["all", "p"]
)
def test_rebuild_other_chains(tmp_path: Path, chain: FilterChain) -> None:
    run = write_run(tmp_path / "run", sample())
    res = build_version([run], "ds", tmp_path, chain)
    assert rebuild_version(res.path, tmp_path / "re") == res.manifest.data_sha256


def test_rebuild_detects_changed_input(built: Path, tmp_path: Path) -> None:
    path = tmp_path / "runs" / "b" / "trajectories.jsonl"
    with open(path, "a") as fh:
        fh.write(trajectory_line(make_trajectory("new", run="run-b")))
    with pytest.raises(DataError, match=rf"{re.escape(str(tmp_path / 'runs' / 'b'))}.*input changed since ds v1"):
        rebuild_version(built, tmp_path / "rebuilt")


def test_rebuild_tolerates_a_new_torn_tail(built: Path, tmp_path: Path) -> None:
    with open(tmp_path / "runs" / "a" / "trajectories.jsonl", "a") as fh:
        fh.write('{"id": "half-writ')
    sha = rebuild_version(built, tmp_path / "rebuilt")
    assert sha == json.loads((built / MANIFEST_FILE).read_text())["data_sha256"]


def test_rebuild_from_relocated_inputs(built: Path, tmp_path: Path) -> None:
    moved = tmp_path / "moved"
    (tmp_path / "runs").rename(moved)
    with pytest.raises(DataError):
        rebuild_version(built, tmp_path / "rebuilt")
    sha = rebuild_version(built, tmp_path / "rebuilt", inputs=[moved / "a", moved / "b", moved / "a"])
    assert (tmp_path / "rebuilt" / DATA_FILE).read_bytes() == (built / DATA_FILE).read_bytes()
    assert len(sha) == 64
