"""ALFWorld end to end: ``trajkit collect alfworld`` (real CLI process, real OpenAI SDK over HTTP
to the loopback teacher, isolated sandbox whose tool calls step the real engine on the host),
four concurrent episodes that win, lose, act invalidly and loop; concurrent episodes of one
game never share state; the hand-written demo replays to its intended verdicts and the
filtered dataset keeps its two self-correcting episodes."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

from alfworld_helpers import require_engine, spec, task_id
from loop_fakes import FakeTeacher
from loopback_teacher import ScriptedPolicy
from support import require_isolation

from trajkit.collect.loop import LoopConfig
from trajkit.collect.play import play_task
from trajkit.collect.sandbox.config import SandboxConfig
from trajkit.collect.sandbox.local import LocalSandbox
from trajkit.schemas import Termination
from trajkit.sources.alfworld import DEMO_REPLAY, AlfWorldSource
from trajkit.sources.base import LoadOptions

TRAJKIT = [sys.executable, "-m", "trajkit.cli"]

SCRIPTS = {
    # win: two cells, the game ends mid-cell on the last put
    "put a mug in desk": [
        '<execute>\nprint(goto("shelf 2"))\nprint(take_from("mug 1", "shelf 2"))\n</execute>',
        '<execute>\nprint(goto("desk 1"))\nprint(put("mug 1", "desk 1"))\n'
        'print("after")\n</execute>',
    ],
    # invalid action first ("Nothing happens."), then the right order, won
    "put a hot apple in diningtable": [
        '<execute>\nprint(take_from("apple 1", "fridge 1"))\n</execute>',
        '<execute>\nprint(goto("fridge 1"))\n'
        'print(open_receptacle("fridge 1"))\nprint(take_from("apple 1", "fridge 1"))\n'
        'print(goto("microwave 1"))\nprint(heat("apple 1", "microwave 1"))\n'
        'print(goto("diningtable 1"))\nprint(put("apple 1", "diningtable 1"))\n</execute>',
    ],
    # loop inside one cell: the step cap ends the episode
    "put a cool tomato in countertop": [
        "<execute>\nn = 0\nwhile True:\n    look()\n    n += 1\n</execute>",
    ],
    # lose: answers instead of acting, twice
    "put a clean plate in cabinet": [
        "<solution>done</solution>",
        "<solution>The plate is clean and in the cabinet.</solution>",
    ],
}


def trajkit(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess:
    return subprocess.run([*TRAJKIT, *args], env=env, capture_output=True, text=True, timeout=300)


def read_records(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def test_collect_alfworld_win_lose_invalid_loop_concurrently(loopback, tmp_path: Path) -> None:
    require_engine()
    require_isolation()
    loopback.set_policy(ScriptedPolicy(SCRIPTS))
    loopback.set_delay(0.2)  # all four episodes are in flight at once
    env = {**os.environ, **loopback.env()}
    env.pop("ALFWORLD_DATA", None)
    out = tmp_path / "out"
    proc = trajkit(
        "collect",
        "alfworld",
        "--teacher",
        "openai:m",
        "--out",
        str(out),
        "--run",
        "alf",
        "--concurrency",
        "4",
        "--source-opt",
        "max_steps=10",
        env=env,
    )
    assert proc.returncode == 0, proc.stderr
    records = {r["task_id"]: r for r in read_records(out / "runs" / "alf" / "trajectories.jsonl")}
    by_type = {r["task"]["metadata"]["type"]: r for r in records.values()}
    assert len(by_type) == 4

    win = by_type["pick_and_place_simple"]
    assert win["termination"] == "solved" and win["success"] and len(win["steps"]) == 2
    last = win["steps"][1]["observation"]["text"]
    assert "You move the mug 1 to the desk 1." in last and "The task is complete." in last
    assert "after" not in last  # the cell stopped when the game was won
    assert win["score_details"]["env_steps"] == 4 and win["score_details"]["won"]
    assert "goto(recep: str) -> str" in win["messages"][0]["content"]
    assert win["messages"][1]["content"].startswith("Interact with a household to solve a task.")

    invalid = by_type["pick_heat_then_place_in_recep"]
    assert invalid["steps"][0]["observation"]["text"].strip() == "Nothing happens."
    assert invalid["termination"] == "solved" and invalid["score_details"]["env_steps"] == 8

    loop = by_type["pick_cool_then_place_in_recep"]
    assert loop["termination"] == "env_ended" and not loop["success"]
    assert (
        loop["score_details"]["reason"] == "step cap" and loop["score_details"]["env_steps"] == 10
    )
    assert "Step limit reached (10 actions)" in loop["steps"][0]["observation"]["text"]

    lose = by_type["pick_clean_then_place_in_recep"]
    assert lose["termination"] == "max_solutions" and not lose["success"]
    assert [s["observation"]["text"] for s in lose["steps"]] == ["Your answer is wrong."] * 2
    run = json.loads((out / "runs" / "alf" / "run.json").read_text())
    assert run["config"]["source"] == "alfworld"


async def test_concurrent_episodes_of_one_game_never_share_state() -> None:
    """Three episodes of the same game at once, each with its own game: the first wins in
    four actions, the others see the untouched start (the mug still on the shelf)."""
    require_engine()
    require_isolation()
    source = AlfWorldSource()
    (task,) = source.load(LoadOptions(types=["pick"]))
    assert task.task_id == task_id(spec("pick_and_place_simple"))
    take = "<execute>\nprint(goto('shelf 2'))\nprint(take_from('mug 1', 'shelf 2'))\n</execute>"
    finish = "<execute>\nprint(goto('desk 1'))\nprint(put('mug 1', 'desk 1'))\n</execute>"
    peek = "<execute>\nprint(goto('shelf 1'))\nprint(goto('shelf 2'))\n</execute>"

    def factory(tools):
        return LocalSandbox(SandboxConfig(), tools)

    async def play(turns: list[str]):
        return await play_task(
            task, source, FakeTeacher(turns), factory, LoopConfig(), run="r", sandbox_name="local"
        )

    winner, *others = await asyncio.gather(
        play([take, finish]),
        play([take, peek, "<solution>x</solution>"] + [peek] * 2),
        play([peek] * 5),
    )
    assert winner.termination is Termination.SOLVED and winner.score_details["env_steps"] == 4
    holder, watcher = others
    # The second episode holds its own mug: its shelf is empty afterwards, not the third's.
    assert "you see a mug 1" in holder.steps[0].observation.text
    assert "On the shelf 2, you see nothing." in holder.steps[1].observation.text
    assert all("you see a mug 1" in s.observation.text for s in watcher.steps)
    assert watcher.termination is Termination.MAX_TURNS


# What each demo episode shows: per <execute>, the observation's error type (None = clean),
# whether any cell got "Nothing happens.", and whether the episode is self-correcting.
DEMO_INTENT = {
    "pick_and_place_simple": ([None, None], False, False),
    "pick_heat_then_place_in_recep": ([None, None, "RuntimeError", None], False, True),
    "pick_cool_then_place_in_recep": ([None, "NameError", None, None], False, True),
    "pick_clean_then_place_in_recep": ([None, None, None], True, False),
}


def test_demo_replays_through_the_cli_and_keeps_its_self_corrections(tmp_path: Path) -> None:
    require_engine()
    require_isolation()
    env = {k: v for k, v in os.environ.items() if not k.endswith("_API_KEY")}
    env.pop("ALFWORLD_DATA", None)
    out = tmp_path / "out"
    proc = trajkit(
        "collect",
        "alfworld",
        "--teacher",
        f"replay:{DEMO_REPLAY}",
        "--out",
        str(out),
        "--run",
        "demo",
        env=env,
    )
    assert proc.returncode == 0, proc.stderr
    records = read_records(out / "runs" / "demo" / "trajectories.jsonl")
    assert len(records) == 4
    for rec in records:
        errors, nothing, corrected = DEMO_INTENT[rec["task"]["metadata"]["type"]]
        obs = [s["observation"] for s in rec["steps"]]
        assert [o["error"]["type"] if o.get("error") else None for o in obs] == errors
        assert any("Nothing happens." in o["text"] for o in obs) == nothing
        assert rec["success"] and rec["termination"] == "solved"
        assert rec["self_corrected"] == corrected, rec["task_id"]
    proc = trajkit(
        "filter", str(out / "runs" / "demo"), "--dataset", "d", "--out", str(out), env=env
    )
    assert proc.returncode == 0, proc.stderr
    kept = read_records(out / "datasets" / "d" / "v1" / "data.jsonl")
    assert sorted(r["task"]["metadata"]["type"] for r in kept) == [
        "pick_cool_then_place_in_recep",
        "pick_heat_then_place_in_recep",
    ]
