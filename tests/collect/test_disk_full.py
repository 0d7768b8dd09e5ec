"""Disk full while writing: the run stops with one clear line and loses nothing written.

The output root is a tiny tmpfs in a private mount namespace (``unshare -m``), so the disk
really fills (ENOSPC from the kernel, not a simulated error); growing the tmpfs then plays the
part of freeing space, and a resume completes the run with exactly one record per task.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

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
