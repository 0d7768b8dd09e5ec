"""Task files are outside input: their text is made valid where tasks are made, an empty
selection is an error rather than a run that "completes" 0/0, and an oversized task is left out
with one line instead of being copied into every record and cache row."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from math_tasks import write_problems
from support import require_isolation

from trajkit.schemas import Task
from trajkit.sources.math import DEMO_REPLAY

TRAJKIT = [sys.executable, "-m", "trajkit.cli"]


def trajkit(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*TRAJKIT, *args], cwd=cwd, env=dict(os.environ), capture_output=True,
                          text=True, timeout=240)


def test_a_lone_surrogate_in_a_task_becomes_a_visible_replacement() -> None:
    task = Task(source="math", task_id="t\ud800", prompt="What is 1+\udfff1?")
    assert task.task_id == "t\ufffd" and task.prompt == "What is 1+\ufffd1?"
    task.model_dump_json().encode("utf-8")  # writable


def test_a_task_file_with_an_escaped_surrogate_is_collected(tmp_path: Path) -> None:
    require_isolation()
    data = write_problems(tmp_path / "p.jsonl", 2)
    lines = data.read_text().splitlines()
    row = json.loads(lines[0])
    row["problem"] += " \ud800"
    lines[0] = json.dumps(row)  # written as the escape \\ud800, as a JSON file can hold it
    data.write_text("\n".join(lines) + "\n")
    replay = tmp_path / "r.jsonl"
    replay.write_text("".join(
        json.dumps({"task_id": f"t/{i}", "turns": [f"<solution>{i + 1}</solution>"]}) + "\n"
        for i in range(2)
    ))
    proc = trajkit("collect", "math", "--teacher", f"replay:{replay}", "--data", str(data),
                   "--run", "s", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    text = (tmp_path / "out/runs/s/trajectories.jsonl").read_bytes().decode("utf-8")  # strict
    assert "\\ufffd" in text or "\ufffd" in text
    assert json.loads((tmp_path / "out/runs/s/run.json").read_text())["counts"]["done"] == 2


def test_an_empty_selection_is_one_line_and_exit_2(tmp_path: Path) -> None:
    empty = tmp_path / "empty.jsonl"
    empty.write_text("")
    proc = trajkit("collect", "math", "--teacher", f"replay:{DEMO_REPLAY}", "--data", str(empty),
                   "--run", "e", cwd=tmp_path)
    assert proc.returncode == 2 and proc.stderr.count("\n") == 1, proc.stderr
    assert "no tasks to collect" in proc.stderr


def test_an_oversized_task_is_left_out_saying_so(tmp_path: Path) -> None:
    require_isolation()
    data = write_problems(tmp_path / "p.jsonl", 3)
    lines = data.read_text().splitlines()
    row = json.loads(lines[1])
    row["problem"] += " pad" * 1000
    lines[1] = json.dumps(row)
    data.write_text("\n".join(lines) + "\n")
    replay = tmp_path / "r.jsonl"
    replay.write_text("".join(
        json.dumps({"task_id": f"t/{i}", "turns": [f"<solution>{i + 1}</solution>"]}) + "\n"
        for i in range(3)
    ))
    proc = trajkit("collect", "math", "--teacher", f"replay:{replay}", "--data", str(data),
                   "--run", "o", "--task-chars", "1000", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert "1 task(s) longer than --task-chars 1,000 characters left out (first: t/1" in proc.stderr
    ids = [json.loads(line)["task_id"] for line in
           (tmp_path / "out/runs/o/trajectories.jsonl").read_text().splitlines()]
    assert sorted(ids) == ["t/0", "t/2"]


def test_content_ids_of_tasks_with_a_surrogate_are_computed(tmp_path: Path) -> None:
    """MATH, HotpotQA and APPS derive an id from the text of records that have none; that
    hash used to encode the raw text and raise on a lone surrogate before any task was made."""
    from trajkit.sources.hotpotqa.records import question_hash_id
    from trajkit.sources.math.records import problem_hash_id

    assert problem_hash_id("What is 1+\ud800?") != problem_hash_id("What is 1+\udfff?")
    assert question_hash_id("Who \ud800?").startswith("hotpotqa-")
    from trajkit.sources.apps.records import problem_key

    assert problem_key({}, "Read \ud800.", "f:1").startswith("q-")
