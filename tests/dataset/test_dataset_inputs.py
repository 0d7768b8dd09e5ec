"""Input snapshots: complete-line hashing, reading exactly the snapshot, detecting rewrites."""

from __future__ import annotations

from pathlib import Path

import pytest
from dataset_helpers import sample
from factories import make_trajectory, trajectory_line, write_jsonl

from trajkit.core.errors import DataError
from trajkit.dataset.inputs import iter_snapshot, resolve_input, snapshot_input


def test_records_appended_after_snapshot_are_not_read(tmp_path: Path) -> None:
    path = write_jsonl(tmp_path / "t.jsonl", sample(), tail='{"id": "tor')
    snap = snapshot_input(path)
    assert snap.torn
    with open(path, "a") as fh:  # the live run finishes the torn line and appends another
        fh.write('n"}\n' + trajectory_line(make_trajectory("late")))
    assert [t.task_id for _, t in iter_snapshot(snap)] == ["t1", "t2", "t3", "t4", "t5", "t6"]


def test_rewritten_input_is_detected(tmp_path: Path) -> None:
    trajs = sample()
    path = write_jsonl(tmp_path / "t.jsonl", trajs)
    snap = snapshot_input(path)
    write_jsonl(path, [make_trajectory("other-" + t.task_id) for t in trajs])
    with pytest.raises(DataError, match="changed while being read"):
        list(iter_snapshot(snap))


def test_untouched_files_are_not_hashed_twice_but_any_change_is_caught(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import hashlib

    import trajkit.dataset.inputs as inputs

    trajs = sample()
    path = write_jsonl(tmp_path / "t.jsonl", trajs)
    snap = snapshot_input(path)
    assert snap.stamp is not None
    made = []
    real = hashlib.sha256
    monkeypatch.setattr(inputs.hashlib, "sha256", lambda *a: made.append(1) or real(*a))
    assert len(list(iter_snapshot(snap))) == len(trajs) and made == []  # the stamp vouches
    # Appended to while being read (a live run): still fine, only the snapshot's range counts.
    records = iter_snapshot(snap)
    next(records)
    with open(path, "a") as fh:
        fh.write(trajectory_line(make_trajectory("late")))
    assert len([t for _, t in records]) == len(trajs) - 1
    # Rewritten in place with the same size while being read: detected.
    snap = snapshot_input(path)
    records = iter_snapshot(snap)
    next(records)
    data = path.read_bytes()
    path.write_bytes(data.replace(b'"t2"', b'"x2"'))
    with pytest.raises(DataError, match="changed while being read"):
        list(records)


def test_blank_lines_and_trailing_whitespace(tmp_path: Path) -> None:
    trajs = sample()
    path = tmp_path / "t.jsonl"
    path.write_text(trajectory_line(trajs[0]) + "\n\n" + trajectory_line(trajs[1]) + "  ")
    snap = snapshot_input(path)
    assert not snap.torn
    assert [(n, t.task_id) for n, t in iter_snapshot(snap)] == [(1, "t1"), (4, "t2")]


def test_resolve_input(tmp_path: Path) -> None:
    path = write_jsonl(tmp_path / "run" / "trajectories.jsonl", [])
    assert resolve_input(tmp_path / "run") == path.resolve()
    assert resolve_input(path) == path.resolve()
    with pytest.raises(DataError, match="missing"):
        resolve_input(tmp_path / "missing")
