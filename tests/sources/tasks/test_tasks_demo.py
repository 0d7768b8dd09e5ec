"""The ``tasks`` demo recording: each hand-written episode does what it is meant to, in plain
Python and replayed through ``trajkit collect tasks`` into the real sandbox, and ``trajkit demo``
picks the source up."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
from pathlib import Path

from demo_replay_check import cell_errors, check_shape, episodes, solutions, step_errors
from support import require_isolation

from trajkit.sources.base import LoadOptions
from trajkit.sources.tasks import DEMO_REPLAY, TasksSource

# Per episode, by question: the error type of each cell (None = clean) and whether each
# proposed answer is right under the default judge (exact).
INTENT: dict[str, tuple[list[str | None], list[bool]]] = {
    "primes": (["NameError", None], [True]),  # math used before its import
    "weekday": ([None], [True]),
    "backwards": ([None], [True]),
    "digits": (["TypeError", None], [True]),  # sum() of an int
    "gold": ([], [True]),  # direct answer
    "strawberry": ([None], [False, True]),  # a wrong guess, then counts
}
KEYS = {"prime": "primes", "day of the week": "weekday", "backwards": "backwards",
        "digits": "digits", "gold": "gold", "strawberry": "strawberry"}


def name_of(prompt: str) -> str:
    return next(name for key, name in KEYS.items() if key in prompt)


def test_the_recording_matches_the_sample_and_does_what_it_means() -> None:
    source = TasksSource()
    tasks = {t.task_id: t for t in source.load(LoadOptions())}
    eps = episodes(DEMO_REPLAY)
    assert [e["task_id"] for e in eps] == list(tasks)
    got = {}
    for ep in eps:
        check_shape(ep)
        task = tasks[ep["task_id"]]
        verdicts = [asyncio.run(source.judge(task, a)).success for a in solutions(ep["turns"])]
        got[name_of(task.prompt)] = (cell_errors(ep["turns"]), verdicts)
    assert got == INTENT


def test_the_recording_replays_through_the_cli(tmp_path: Path) -> None:
    require_isolation()
    env = {k: v for k, v in os.environ.items() if not k.endswith("_API_KEY")}
    out = tmp_path / "out"
    proc = subprocess.run(
        [sys.executable, "-m", "trajkit.cli", "collect", "tasks", "--teacher", f"replay:{DEMO_REPLAY}",
         "--out", str(out), "--run", "demo"],
        env=env, capture_output=True, text=True, timeout=180,
    )
    assert proc.returncode == 0, proc.stderr
    lines = (out / "runs/demo/trajectories.jsonl").read_text().splitlines()
    records = {name_of(r["task"]["prompt"]): r for r in map(json.loads, lines)}
    for name, (errors, verdicts) in INTENT.items():
        rec = records[name]
        assert step_errors(rec) == errors, name
        assert [s["verdict"]["success"] for s in rec["steps"] if s["verdict"]] == verdicts, name
        assert rec["success"] and rec["self_corrected"] == any(errors), name


def test_trajkit_demo_lists_tasks_and_gsm8k() -> None:
    from trajkit.cli.demo_command import demo_sources

    found = {name: (replay, why) for name, replay, why in demo_sources()}
    assert found["tasks"] == (DEMO_REPLAY, None)
    assert found["gsm8k"][0] is not None and found["gsm8k"][1] is None
