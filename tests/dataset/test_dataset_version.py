"""build_version: numbering, idempotence, canonical bytes, torn tails, bad data, dedup."""

from __future__ import annotations

import errno
import json
import os
import re
import socket
import stat
from pathlib import Path

import pytest
from dataset_helpers import sample, tree
from factories import make_trajectory, trajectory_line, write_jsonl, write_run

import trajkit.dataset.changelog as changelog_module
import trajkit.dataset.version as version_module
from trajkit.core.errors import ConfigError, DataError, StorageError
from trajkit.dataset.version import (
    DATA_FILE,
    MANIFEST_FILE,
    build_version,
    canonical_line,
    list_versions,
    read_manifest,
)
from trajkit.filters.base import Drop
from trajkit.filters.chain import FilterChain
from trajkit.filters.presets import build_chain, default_chain
from trajkit.schemas import SCHEMA_VERSION


@pytest.fixture
def run_a(tmp_path: Path) -> Path:
    return write_run(tmp_path / "runs" / "run-a", sample("run-a"))


@pytest.fixture
def out(tmp_path: Path) -> Path:
    return tmp_path / "out"


def test_first_build_writes_v1(run_a: Path, out: Path) -> None:
    res = build_version([run_a], "mission", out, default_chain())
    assert not res.existed and res.version == 1
    assert res.path == out / "datasets" / "mission" / "v1"
    lines = (res.path / DATA_FILE).read_bytes().splitlines(keepends=True)
    assert [json.loads(line)["task_id"] for line in lines] == ["t1", "t5"]
    m = read_manifest(res.path)
    assert m == res.manifest
    assert (m.name, m.version, m.records, m.schema_version) == ("mission", 1, 2, SCHEMA_VERSION)
    assert m.counts_by_source == {"math": 2}
    # The run lies outside the output root: named by its file only, never by a machine path.
    assert [(i.path, i.base, i.records) for i in m.inputs] == [("trajectories.jsonl", "elsewhere", 6)]
    assert [(f.name, f.seen, f.kept) for f in m.filters] == [("success", 6, 4), ("self-correct", 4, 2)]
    assert m.created_at.endswith("Z") and m.toolkit_version and len(m.fingerprint) == 64
    assert not [p for p in res.path.parent.iterdir() if p.name.startswith(".tmp-")]


@pytest.mark.timeout(30)  # before the fix: a busy loop, forever
@pytest.mark.parametrize("squatter", ["file", "dangling-link"])
def test_a_non_directory_at_the_next_version_is_one_error(
    run_a: Path, out: Path, squatter: str
) -> None:
    root = out / "datasets" / "mission"
    root.mkdir(parents=True)
    if squatter == "file":
        (root / "v1").write_text("x\n")
    else:
        (root / "v1").symlink_to(out / "nowhere")
    with pytest.raises(DataError, match=r"v1: exists and is not a dataset version directory"):
        build_version([run_a], "mission", out, default_chain())
    assert sorted(p.name for p in root.iterdir()) == ["v1"]  # no scratch directory left


def test_data_is_canonical(run_a: Path, out: Path) -> None:
    res = build_version([run_a], "all", out, build_chain(["all"]))
    data = (res.path / DATA_FILE).read_bytes()
    assert data == b"".join(canonical_line(t) for t in sample("run-a"))
    first = data.splitlines()[0]
    obj = json.loads(first)
    assert first == json.dumps(obj, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def test_files_are_read_only(run_a: Path, out: Path) -> None:
    res = build_version([run_a], "mission", out, default_chain())
    for name in (DATA_FILE, MANIFEST_FILE):
        assert stat.S_IMODE((res.path / name).stat().st_mode) == 0o444
    assert stat.S_IMODE(res.path.stat().st_mode) & 0o555 == 0o555  # readable by others


def test_same_inputs_and_settings_exist(run_a: Path, out: Path) -> None:
    first = build_version([run_a], "mission", out, default_chain())
    before = tree(out)
    again = build_version([run_a], "mission", out, default_chain())
    assert again.existed and again.version == 1 and again.path == first.path
    assert again.manifest == first.manifest
    assert tree(out) == before


def test_new_settings_make_new_versions(run_a: Path, out: Path) -> None:
    v1 = build_version([run_a], "ds", out, default_chain())
    v2 = build_version([run_a], "ds", out, build_chain(["success"]))
    v3 = build_version([run_a], "ds", out, build_chain(["all"]))
    assert [v.version for v in (v1, v2, v3)] == [1, 2, 3]
    assert [v.manifest.records for v in (v1, v2, v3)] == [2, 4, 6]
    assert list_versions(out / "datasets" / "ds") == [1, 2, 3]
    assert build_version([run_a], "ds", out, build_chain(["success"])).version == 2


def test_input_order_matters(tmp_path: Path, out: Path) -> None:
    a = write_run(tmp_path / "a", sample("run-a"))
    b = write_run(tmp_path / "b", sample("run-b"))
    ab = build_version([a, b], "ds", out, default_chain())
    ba = build_version([b, a], "ds", out, default_chain())
    assert (ab.version, ba.version) == (1, 2) and not ba.existed
    assert [json.loads(x)["run"] for x in (ba.path / DATA_FILE).read_bytes().splitlines()] == [
        "run-b", "run-b", "run-a", "run-a"]


def test_changed_input_makes_new_version(run_a: Path, out: Path) -> None:
    build_version([run_a], "ds", out, default_chain())
    with open(run_a / "trajectories.jsonl", "a") as fh:
        fh.write(trajectory_line(make_trajectory("t7", ["exception", "solve"], run="run-a")))
    res = build_version([run_a], "ds", out, default_chain())
    assert res.version == 2 and res.manifest.records == 3


def test_torn_tail_is_tolerated_and_does_not_change_fingerprint(tmp_path: Path, out: Path) -> None:
    run = write_run(tmp_path / "run", sample(), tail='{"id": "t7", "run": "ru')
    first = build_version([run], "ds", out, default_chain())
    assert first.version == 1 and first.torn == [run / "trajectories.jsonl"]
    assert first.manifest.inputs[0].records == 6
    write_run(tmp_path / "run", sample(), tail='{"id": "t7", "run": "run-a", "source": "ma')
    again = build_version([run], "ds", out, default_chain())
    assert again.existed and again.version == 1
    write_run(tmp_path / "run", sample())  # the crash-free file: same complete lines
    assert build_version([run], "ds", out, default_chain()).existed


def test_missing_final_newline_is_a_complete_line(tmp_path: Path, out: Path) -> None:
    trajs = sample()
    path = write_jsonl(tmp_path / "t.jsonl", trajs[:-1], tail=trajectory_line(trajs[-1]).rstrip("\n"))
    first = build_version([path], "ds", out, build_chain(["all"]))
    assert first.manifest.records == 6 and first.torn == []
    write_jsonl(tmp_path / "t.jsonl", trajs)  # the writer finally adds the newline
    assert build_version([path], "ds", out, build_chain(["all"])).existed


@pytest.mark.parametrize(
    ("bad", "message"),
    [("{not json\n", "not valid JSON"), ('{"id": "x"}\n', "invalid Trajectory")],
)
def test_malformed_middle_line_names_file_and_line(
    tmp_path: Path, out: Path, bad: str, message: str
) -> None:
    trajs = sample()
    path = tmp_path / "run" / "trajectories.jsonl"
    path.parent.mkdir()
    path.write_text(trajectory_line(trajs[0]) + bad + trajectory_line(trajs[1]))
    with pytest.raises(DataError, match=rf"{re.escape(str(path))}:2: {message}"):
        build_version([path.parent], "ds", out, default_chain())
    assert list_versions(out / "datasets" / "ds") == []
    assert not (out / "datasets" / "ds").exists()  # no empty dataset left behind


def test_nan_is_refused_with_file_and_line(tmp_path: Path, out: Path) -> None:
    line = trajectory_line(make_trajectory("t1")).replace('"score":1.0', '"score":NaN')
    path = write_jsonl(tmp_path / "t.jsonl", [], tail=line)
    with pytest.raises(DataError, match=rf"{re.escape(str(path))}:1: not valid JSON"):
        build_version([path], "ds", out, build_chain(["all"]))


def test_missing_input_is_named(tmp_path: Path, out: Path, run_a: Path) -> None:
    with pytest.raises(DataError, match="nowhere"):
        build_version([run_a, tmp_path / "nowhere"], "ds", out, default_chain())
    (tmp_path / "empty-run").mkdir()
    with pytest.raises(DataError, match=r"empty-run: run directory has no trajectories\.jsonl"):
        build_version([tmp_path / "empty-run"], "ds", out, default_chain())
    assert not (out / "datasets").exists()


def test_bad_arguments_are_config_errors(run_a: Path, out: Path) -> None:
    with pytest.raises(ConfigError, match="--dataset"):
        build_version([run_a], "../escape", out, default_chain())
    with pytest.raises(ConfigError, match="no input"):
        build_version([], "ds", out, default_chain())


def test_duplicates_by_id_are_written_once(tmp_path: Path, run_a: Path, out: Path) -> None:
    copy = write_run(tmp_path / "copy", sample("run-a"))  # same ids, another directory
    res = build_version([run_a, copy, run_a], "ds", out, build_chain(["all"]))
    ids = [json.loads(x)["id"] for x in (res.path / DATA_FILE).read_bytes().splitlines()]
    assert len(ids) == len(set(ids)) == 6
    assert [i.records for i in res.manifest.inputs] == [6, 6, 6]
    assert res.duplicates == 12


def test_duplicates_skipped_before_the_chain(tmp_path: Path, run_a: Path, out: Path) -> None:
    res = build_version([run_a, run_a], "ds", out, default_chain())
    assert res.manifest.filters[0].seen == 6 and res.manifest.records == 2 and res.duplicates == 6


def test_dry_run_writes_nothing(run_a: Path, out: Path) -> None:
    res = build_version([run_a], "ds", out, default_chain(), dry_run=True)
    assert res.dry_run and not res.existed and res.version == 1 and res.manifest.records == 2
    assert not out.exists()
    real = build_version([run_a], "ds", out, default_chain())
    assert real.manifest.data_sha256 == res.manifest.data_sha256
    assert real.manifest.fingerprint == res.manifest.fingerprint
    assert build_version([run_a], "ds", out, default_chain(), dry_run=True).existed


class Boom:
    name = "boom"
    params: dict = {}  # noqa: RUF012

    def __init__(self) -> None:
        self.calls = 0

    def decide(self, traj: object) -> Drop:
        self.calls += 1
        if self.calls == 3:
            raise KeyboardInterrupt
        return Drop("x")


def test_interruption_leaves_no_version(run_a: Path, out: Path) -> None:
    with pytest.raises(KeyboardInterrupt):
        build_version([run_a], "ds", out, FilterChain([Boom()]))
    assert not (out / "datasets" / "ds").exists()  # nor an empty dataset


def test_stale_tmp_dirs_are_cleaned_live_ones_kept(run_a: Path, out: Path) -> None:
    root = out / "datasets" / "ds"
    host = socket.gethostname()
    dead = root / f".tmp-{host}-999999999-abc123"
    live = root / f".tmp-{host}-{os.getpid()}-def456"
    for d in (dead, live):
        d.mkdir(parents=True)
        (d / DATA_FILE).write_text("half")
    build_version([run_a], "ds", out, default_chain())
    assert not dead.exists() and live.exists()
    assert list_versions(root) == [1]


def test_jsonl_file_inputs_and_sources(tmp_path: Path, out: Path) -> None:
    a = write_jsonl(tmp_path / "a.jsonl", sample("ra", source="math"))
    b = write_jsonl(tmp_path / "b.jsonl", sample("rb", source="apps"))
    res = build_version([a, b], "ds", out, default_chain())
    assert res.manifest.counts_by_source == {"apps": 2, "math": 2}
    assert [i.path for i in res.manifest.inputs] == ["a.jsonl", "b.jsonl"]


class _FullFile:
    """A file opened for writing on a disk that is full: every write is ENOSPC."""

    def __init__(self, fh) -> None:
        self.fh = fh

    def write(self, data: bytes) -> int:
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    def __getattr__(self, name: str):
        return getattr(self.fh, name)

    def __enter__(self) -> _FullFile:
        return self

    def __exit__(self, *exc: object) -> None:
        self.fh.close()


@pytest.mark.parametrize("victim", [DATA_FILE, "CHANGELOG.md", MANIFEST_FILE])
def test_disk_full_while_writing_a_version_is_one_storage_error(
    victim: str, run_a: Path, tmp_path: Path, out: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """ENOSPC writing data.jsonl, CHANGELOG.md or manifest.json: a StorageError naming the file
    (before the fix: a bare OSError traceback); no new version, no scratch left, v1 untouched."""
    first = build_version([run_a], "mission", out, default_chain())
    root = first.path.parent
    before = tree(root)
    run_b = write_run(tmp_path / "runs" / "run-b", sample("run-b"))

    def full_open(file, mode="r", *args, **kwargs):
        fh = open(file, mode, *args, **kwargs)
        if Path(file).name == victim and "w" in mode:
            return _FullFile(fh)
        return fh

    monkeypatch.setattr(version_module, "open", full_open, raising=False)
    monkeypatch.setattr(changelog_module, "open", full_open, raising=False)
    with pytest.raises(StorageError) as err:
        build_version([run_a, run_b], "mission", out, default_chain())
    message = str(err.value)
    assert "\n" not in message
    assert victim in message and "No space left on device" in message
    assert list_versions(root) == [1]
    assert tree(root) == before  # v1 intact, the scratch directory removed
