"""Disk full while writing: the run stops with one clear line and loses nothing written.

The output root is a tiny tmpfs in a private mount namespace (``unshare -m``), so the disk
really fills (ENOSPC from the kernel, not a simulated error); growing the tmpfs then plays the
part of freeing space, and a resume completes the run with exactly one record per task.
"""

from __future__ import annotations

import errno
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from math_tasks import answer_directly, write_problems
from support import require, require_isolation

TASKS = 60




def _can_unshare() -> bool:
    if shutil.which("unshare") is None:
        return False
    return subprocess.run(["unshare", "-m", "true"], capture_output=True).returncode == 0


def test_disk_full_stops_cleanly_and_resume_completes(tmp_path: Path, loopback) -> None:
    require_isolation()
    require(_can_unshare(), "needs `unshare -m` (mount namespaces) to make a small tmpfs")
    loopback.set_policy(answer_directly)
    data = write_problems(tmp_path / "p.jsonl", TASKS, pad_words=200)
    out = tmp_path / "out"
    out.mkdir()
    collect = [sys.executable, "-m", "trajkit.cli", "collect", "math", "--teacher", "openai:m",
               "--data", str(data), "--run", "full", "--out", str(out), "--no-cache",
               "--concurrency", "2"]
    script = f"""
set -u
mount -t tmpfs -o size=96k tmpfs {out}
{' '.join(collect)} 2> {tmp_path}/err1; echo $? > {tmp_path}/rc1
cp -r {out}/runs {tmp_path}/after-full
mount -o remount,size=16m {out}
{' '.join(collect)} 2> {tmp_path}/err2; echo $? > {tmp_path}/rc2
cp -r {out}/runs {tmp_path}/after-resume
"""
    proc = subprocess.run(["unshare", "-m", "sh", "-c", script], capture_output=True, text=True,
                          timeout=300, env=dict(os.environ))
    assert proc.returncode == 0, proc.stderr
    err1 = (tmp_path / "err1").read_text()
    assert (tmp_path / "rc1").read_text().strip() == "2", err1
    assert "No space left on device" in err1 and "Traceback" not in err1
    assert "intact" in err1 and "re-run to resume" in err1
    lines = (tmp_path / "after-full" / "full" / "trajectories.jsonl").read_bytes()
    assert lines.endswith(b"\n")  # no torn half-record left behind
    kept = [json.loads(line) for line in lines.splitlines()]
    assert 0 < len(kept) < TASKS

    assert (tmp_path / "rc2").read_text().strip() == "0", (tmp_path / "err2").read_text()
    final = (tmp_path / "after-resume" / "full" / "trajectories.jsonl").read_text().splitlines()
    ids = [json.loads(line)["task_id"] for line in final]
    assert len(ids) == len(set(ids)) == TASKS
    assert [json.loads(line) for line in final[: len(kept)]] == kept  # earlier records untouched


def test_a_run_directory_that_cannot_be_made_is_one_storage_error(tmp_path: Path) -> None:
    """``--out /proc/nope``: StorageError naming the run directory (before: FileNotFoundError)."""
    from trajkit.collect.run_store import RunStore
    from trajkit.core.errors import StorageError

    with pytest.raises(StorageError) as err:
        RunStore(Path("/proc/nope/runs/r"), "r", {}, describe=False)
    assert str(err.value).startswith("/proc/nope/runs/r: cannot create the run directory (")


def test_a_lock_the_filesystem_refuses_is_one_storage_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An existing run on a read-only filesystem: creating ``.lock`` fails with EROFS."""
    import trajkit.collect.run_store as run_store
    from trajkit.core.errors import StorageError

    real_open = os.open

    def read_only(path, flags, *args):
        if flags & os.O_CREAT:
            raise OSError(errno.EROFS, os.strerror(errno.EROFS), str(path))
        return real_open(path, flags, *args)

    (tmp_path / "r").mkdir()
    monkeypatch.setattr(run_store.os, "open", read_only)
    with pytest.raises(StorageError) as err:
        run_store.RunStore(tmp_path / "r", "r", {}, describe=False)
    assert str(err.value).startswith(f"{tmp_path / 'r' / '.lock'}: cannot create the run's lock")
    assert "Read-only file system" in str(err.value)


def test_read_only_and_full_output_are_one_line_errors(tmp_path: Path) -> None:
    """A real read-only tmpfs for collect and filter, and a real full one for filter: exit 2,
    one line naming the path, no traceback, and the input run untouched."""
    require(_can_unshare(), "needs `unshare -m` (mount namespaces) to make a small tmpfs")
    replay = Path(__file__).resolve().parents[2] / "sources/math/samples/math_demo_replay.jsonl"
    require(replay.is_file(), f"needs the demo replay {replay}")
    cli = f"{sys.executable} -m trajkit.cli"
    src, ro, full = tmp_path / "src", tmp_path / "ro", tmp_path / "full"
    ro.mkdir()
    full.mkdir()
    run = subprocess.run(
        [sys.executable, "-m", "trajkit.cli", "collect", "math", "--teacher", f"replay:{replay}",
         "--run", "r", "--out", str(src)], capture_output=True, text=True, timeout=300,
    )
    assert run.returncode == 0, run.stderr
    before = (src / "runs" / "r" / "trajectories.jsonl").read_bytes()
    script = f"""
set -u
mount -t tmpfs -o size=1m,ro tmpfs {ro}
mount -t tmpfs -o size=40k tmpfs {full}
{cli} collect math --teacher replay:{replay} --run r --out {ro} 2> {tmp_path}/e1; echo $? > {tmp_path}/rc1
{cli} filter {src}/runs/r --dataset d --out {ro} 2> {tmp_path}/e2; echo $? > {tmp_path}/rc2
{cli} filter {src}/runs/r --dataset d --out {full} 2> {tmp_path}/e3; echo $? > {tmp_path}/rc3
ls -A {full}/datasets > {tmp_path}/left
"""
    proc = subprocess.run(["unshare", "-m", "sh", "-c", script], capture_output=True, text=True,
                          timeout=300, env=dict(os.environ))
    assert proc.returncode == 0, proc.stderr
    expected = {
        "1": (f"{ro}/runs/r: cannot create the run directory", "Read-only file system"),
        "2": (f"{ro}/datasets/d: cannot create the dataset directory", "Read-only file system"),
        "3": (f"{full}/datasets/d/", "No space left on device"),
    }
    for n, (start, reason) in expected.items():
        err = (tmp_path / f"e{n}").read_text()
        assert (tmp_path / f"rc{n}").read_text().strip() == "2", err
        assert "Traceback" not in err and len(err.strip().splitlines()) == 1, err
        assert start in err and reason in err, err
    assert (tmp_path / "left").read_text() == ""  # no version, no scratch, no empty datasets/d
    assert (src / "runs" / "r" / "trajectories.jsonl").read_bytes() == before
