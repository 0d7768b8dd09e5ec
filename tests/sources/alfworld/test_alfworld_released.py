"""Released ALFWorld games (tests/fixtures/alfworld, see its README), one or more of each of the
six task types, loaded the way a user loads them (``--data DIR --split S``) and won by the
engine's own expert plans: alfworld's planner expert (``AlfredExpert``, type ``planner``) gives
each game's plan as commands, one generic translation turns them into household-tool calls
(``released_games.expert_calls``), and those are called on the episode's environment and, for
every game, replayed as a teacher's ``<execute>`` cells through the real CLI.

The bundled samples are games written for trajkit; these are the data users train on, in the
released 2.1.1 wording ("put X in/on Y", "You arrive at loc 14."), so a change in how the tools
map onto the engine that only real games notice fails here.
"""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from alfworld_helpers import require_engine
from released_games import (
    FIXTURE,
    RELEASE,
    ToolCall,
    UntranslatablePlan,
    engine_plan,
    expert_calls,
    play,
    play_release,
    replay_turns,
    trial_calls,
)
from support import require_isolation

from trajkit.schemas import Task
from trajkit.sources.alfworld import TASK_TYPES, AlfWorldSource
from trajkit.sources.base import LoadOptions

TRAJKIT = [sys.executable, "-m", "trajkit.cli"]
DOC = Path(__file__).resolve().parents[3] / "docs" / "fidelity" / "alfworld.md"

#: Task id (split/task folder/trial) → the calls the engine's expert plan becomes, as a teacher
#: writes them. The translation is generic; this pins what it says for each released game.
GAMES: dict[str, list[str]] = {
    "valid_seen/look_at_obj_in_light-Bowl-None-DeskLamp-316/trial_T20190908_230702_962704": [
        'goto("desk 1")',
        'toggle("desklamp 1")',
        'take_from("bowl 1", "desk 1")',
    ],
    "valid_seen/pick_clean_then_place_in_recep-SoapBar-None-Drawer-423/"
    "trial_T20190906_202340_749336": [
        'goto("bathtubbasin 1")',
        'take_from("soapbar 1", "bathtubbasin 1")',
        'goto("sinkbasin 2")',
        'clean("soapbar 1", "sinkbasin 2")',
        'goto("drawer 4")',
        'open_receptacle("drawer 4")',
        'put("soapbar 1", "drawer 4")',
    ],
    "valid_seen/pick_heat_then_place_in_recep-Plate-None-DiningTable-28/"
    "trial_T20190908_001247_096796": [
        'goto("diningtable 1")',
        'take_from("plate 1", "diningtable 1")',
        'goto("microwave 1")',
        'heat("plate 1", "microwave 1")',
        'goto("diningtable 2")',
        'put("plate 1", "diningtable 2")',
    ],
    "valid_seen/pick_two_obj_and_place-ToiletPaper-None-Drawer-423/"
    "trial_T20190907_111251_461099": [
        'goto("countertop 2")',
        'take_from("toiletpaper 3", "countertop 2")',
        'goto("drawer 4")',
        'open_receptacle("drawer 4")',
        'put("toiletpaper 3", "drawer 4")',
        'goto("toilet 1")',
        'take_from("toiletpaper 2", "toilet 1")',
        'goto("drawer 4")',
        'put("toiletpaper 2", "drawer 4")',
    ],
    "valid_unseen/pick_and_place_simple-SoapBottle-None-Toilet-424/"
    "trial_T20190907_004321_405868": [
        'goto("countertop 1")',
        'take_from("soapbottle 3", "countertop 1")',
        'goto("toilet 1")',
        'put("soapbottle 3", "toilet 1")',
    ],
    "valid_unseen/pick_cool_then_place_in_recep-Bread-None-CounterTop-10/"
    "trial_T20190908_091811_414150": [
        'goto("countertop 3")',
        'take_from("bread 2", "countertop 3")',
        'goto("fridge 1")',
        'cool("bread 2", "fridge 1")',
        'goto("countertop 2")',
        'put("bread 2", "countertop 2")',
    ],
}

#: SHA-256 of every released game file: upstream's bytes, never edited (see the README).
GAME_DIGESTS = {
    "valid_seen/look_at_obj_in_light-Bowl-None-DeskLamp-316/trial_T20190908_230702_962704": (
        "2a7a812259549d3d9b851b64c066e3c116675e3d2d15a3ce209d575d7d999b6f"
    ),
    "valid_seen/pick_clean_then_place_in_recep-SoapBar-None-Drawer-423/"
    "trial_T20190906_202340_749336": (
        "7d6f010724af24ff5af32a6791dc9bd6ad6f4ac3b7c3fd93da800c5ea1ef2e0f"
    ),
    "valid_seen/pick_heat_then_place_in_recep-Plate-None-DiningTable-28/"
    "trial_T20190908_001247_096796": (
        "0c9be9ac6cbea7774256ae0a6d61a6a6b6e9c1f8e4fe5abe129c54a4d248249b"
    ),
    "valid_seen/pick_two_obj_and_place-ToiletPaper-None-Drawer-423/"
    "trial_T20190907_111251_461099": (
        "b9bf136b95d37e7e92fed17b8d226e6af42fa791548e41b92550339fe4b079b7"
    ),
    "valid_unseen/pick_and_place_simple-SoapBottle-None-Toilet-424/"
    "trial_T20190907_004321_405868": (
        "41e5a0309554656d5c67cfba65147d2d5d4ffc131f9d2e3593a4d1a4bd29b0ae"
    ),
    "valid_unseen/pick_cool_then_place_in_recep-Bread-None-CounterTop-10/"
    "trial_T20190908_091811_414150": (
        "88b1f45814a98d7e7082f4c47dc99f53d06a041cfb25e61b4e4ae0c7cac4636e"
    ),
}

#: What ``traj_data.json`` holds: it is written for trajkit (ALFRED's own file is not among the
#: sources fixtures may come from), with only what the loader reads (see the README).
TRAJ_KEYS = ["_written_for_trajkit", "pddl_params", "task_id", "task_type"]
PDDL_PARAMS = ["mrecep_target", "object_sliced", "object_target", "parent_target", "toggle_target"]


def type_of(task_id: str) -> str:
    return task_id.split("/")[1].split("-", 1)[0]


def split_of(task_id: str) -> str:
    return task_id.split("/", 1)[0]


def load(split: str) -> list[Task]:
    """What ``trajkit collect alfworld --data FIXTURE --split SPLIT`` loads."""
    return AlfWorldSource().load(LoadOptions(data=str(FIXTURE), split=split))


def goal_of(trial: Path) -> str:
    """The task description the released game's grammar shows ("examine the bowl with ...")."""
    grammar = json.loads((trial / "game.tw-pddl").read_text(encoding="utf-8"))["grammar"]
    marker = '"rhs": "Your task is to: '
    start = grammar.index(marker) + len(marker)
    return grammar[start : grammar.index('"', start)]


def test_the_games_are_released_data_kept_byte_for_byte() -> None:
    """Upstream's game files, unedited, in the released 2.1.1 format (not sample_games.py
    output): each game's PDDL problem is named after its trial, its grammar still words ``put``
    the 2.1.1 way, and its domain is the one the release was generated with."""
    trials = sorted(str(p.parent.relative_to(RELEASE)) for p in RELEASE.glob("*/*/*/game.tw-pddl"))
    assert trials == sorted(GAMES) == sorted(GAME_DIGESTS)
    assert sorted({type_of(t) for t in trials}) == sorted(TASK_TYPES)
    assert sorted(p.name for p in FIXTURE.iterdir()) == ["README.md", "json_2.1.1"]
    for task_id, digest in GAME_DIGESTS.items():
        trial = RELEASE / task_id
        assert sorted(p.name for p in trial.iterdir()) == ["game.tw-pddl", "traj_data.json"]
        assert hashlib.sha256((trial / "game.tw-pddl").read_bytes()).hexdigest() == digest
        game = json.loads((trial / "game.tw-pddl").read_text(encoding="utf-8"))
        assert sorted(game) == ["grammar", "pddl_domain", "pddl_problem", "solvable"]
        assert game["solvable"] is True
        assert f"(define (problem plan_{trial.name})" in game["pddl_problem"]
        assert 'template :: "put {o} in/on {r}";' in game["grammar"]
        assert "You arrive at {lend.name}." in game["grammar"]  # 0.4 names the receptacle
        assert "\n                (receptacleType ?r SinkType)\n" in game["pddl_domain"]


def test_each_traj_data_is_written_for_trajkit_from_the_folder_and_the_game() -> None:
    """``traj_data.json`` says it was written for trajkit and holds only what the loader reads,
    in ALFRED's format: the task type and targets the trial folder is named after
    (``<type>-<object>-<mrecep>-<parent>-<scene>``; for look-at-in-light games the last target
    is the lamp to toggle), which the game's own goal names too."""
    for task_id in GAMES:
        trial = RELEASE / task_id
        traj = json.loads((trial / "traj_data.json").read_text(encoding="utf-8"))
        assert sorted(traj) == TRAJ_KEYS and sorted(traj["pddl_params"]) == PDDL_PARAMS
        assert traj["_written_for_trajkit"].startswith("Written for trajkit; not ALFRED's")
        assert traj["task_id"] == trial.name and traj["task_type"] == type_of(task_id)
        kind, obj, mrecep, parent, _scene = trial.parent.name.split("-")
        look = kind == "look_at_obj_in_light"
        assert traj["pddl_params"] == {
            "object_target": obj,
            "parent_target": "" if look else parent,
            "mrecep_target": "" if mrecep == "None" else mrecep,
            "toggle_target": parent if look else "",
            "object_sliced": False,
        }
        goal = json.loads((trial / "game.tw-pddl").read_text(encoding="utf-8"))["pddl_problem"]
        goal = goal[goal.index("(:goal") :]
        assert f" {obj}Type)" in goal and f" {parent}Type)" in goal


def test_released_games_load_through_the_source_by_split() -> None:
    """``--data`` (download root or its json_2.1.1 folder) with ``--split``, as a user runs it:
    every trial becomes a task whose prompt shows the released game's own goal."""
    require_engine()
    for split in ("valid_seen", "valid_unseen"):
        tasks = load(split)
        assert [t.task_id for t in tasks] == sorted(t for t in GAMES if split_of(t) == split)
        for task in tasks:
            trial = RELEASE / task.task_id
            assert task.metadata["type"] == type_of(task.task_id)
            assert task.metadata["split"] == split
            assert task.metadata["game_file"] == f"{task.task_id}/game.tw-pddl"  # no machine path
            assert (RELEASE / task.metadata["game_file"]).resolve() == (trial / "game.tw-pddl").resolve()
            assert task.prompt.startswith("Interact with a household to solve a task.\n")
            assert f"Your task is to: {goal_of(trial)}" in task.prompt
            assert "Welcome to TextWorld" not in task.prompt
        if split == "valid_seen":
            look = tasks[0]
            assert "Your task is to: examine the bowl with the desklamp." in look.prompt
            assert look.metadata["object"] == "Bowl" and look.metadata["receptacle"] == ""
    root = AlfWorldSource().load(
        LoadOptions(data=str(RELEASE), split="valid_unseen", types=["cool"])
    )
    assert [t.metadata["type"] for t in root] == ["pick_cool_then_place_in_recep"]


def test_expert_plans_become_the_same_tool_calls_for_every_game() -> None:
    """One translation for all games; what it says for each one is pinned in ``GAMES``."""
    require_engine()  # the plans come from the engine's planner
    for task_id, expected in GAMES.items():
        assert [call.code() for call in trial_calls(RELEASE / task_id)] == expected, task_id


def test_every_engine_command_has_one_tool_and_other_commands_are_refused() -> None:
    """Each command of ALFWorld's grammars (both wordings of ``put``) becomes the tool that
    sends it, names passed on as the engine wrote them; a command no tool sends, or a game
    the planner found no plan for, is refused, not guessed."""
    commands = [
        "go to desk 1",
        "take bowl 1 from desk 1",
        "put bowl 1 in/on shelf 2",
        "move bowl 1 to shelf 2",
        "open drawer 3",
        "close drawer 3",
        "heat plate 1 with microwave 1",
        "cool bread 2 with fridge 1",
        "clean soapbar 1 with sinkbasin 2",
        "use desklamp 1",
        "look",
    ]
    assert [call.code() for call in expert_calls(commands)] == [
        'goto("desk 1")',
        'take_from("bowl 1", "desk 1")',
        'put("bowl 1", "shelf 2")',
        'put("bowl 1", "shelf 2")',
        'open_receptacle("drawer 3")',
        'close_receptacle("drawer 3")',
        'heat("plate 1", "microwave 1")',
        'cool("bread 2", "fridge 1")',
        'clean("soapbar 1", "sinkbasin 2")',
        'toggle("desklamp 1")',
        "look()",
    ]
    for command in ("examine bowl 1", "inventory", "slice apple 1 with knife 1", "take bowl 1"):
        with pytest.raises(UntranslatablePlan, match="no household tool sends this command"):
            expert_calls(["go to desk 1", command])
    with pytest.raises(UntranslatablePlan, match="found no plan"):
        expert_calls([])


@pytest.mark.parametrize("task_id", sorted(GAMES), ids=lambda t: type_of(t))
async def test_each_released_game_is_won_by_its_expert_plan_through_the_tools(
    task_id: str,
) -> None:
    """Every call is admissible and the game is won exactly at the plan's last call, within
    the default step cap, the tools sending the engine's expert commands word for word."""
    require_engine()
    source = AlfWorldSource()
    (task,) = [
        t
        for t in source.load(
            LoadOptions(data=str(FIXTURE), split=split_of(task_id), types=[type_of(task_id)])
        )
        if t.task_id == task_id
    ]
    calls = trial_calls(RELEASE / task_id)
    env = await source.open_env(task)
    try:
        played = await play(env, calls)
    finally:
        await env.aclose()
    assert played.ended_at == len(calls) - 1, played.texts
    assert all(text.strip() != "Nothing happens." for text in played.texts), played.texts
    assert played.texts[-1].endswith("The task is complete.")
    assert env.outcome is not None and env.outcome.success and env.outcome.score == 1.0
    assert env.outcome.details["type"] == type_of(task_id) and env.outcome.details["won"]
    assert env.steps == len(calls) <= source.options.max_steps
    # The tools sent the engine's own expert commands, word for word (2.1.1's "put X in/on Y"
    # read from the game's grammar), not trajkit's idea of them.
    assert env.commands == list(engine_plan(RELEASE / task_id / "game.tw-pddl"))


async def test_the_tools_no_plan_uses_work_on_a_released_game_too() -> None:
    """``look`` shows where one is; ``use`` is the other name of ``toggle``: the
    look-at-in-light game is won the same way with it in the plan's place."""
    require_engine()
    source = AlfWorldSource()
    (task,) = source.load(LoadOptions(data=str(FIXTURE), split="valid_seen", types=["look"]))
    calls = [ToolCall("look", ()), *trial_calls(RELEASE / task.task_id)]
    toggle = calls.index(ToolCall("toggle", ("desklamp 1",)))
    calls[toggle] = ToolCall("use", ("desklamp 1",))
    env = await source.open_env(task)
    try:
        played = await play(env, calls)
    finally:
        await env.aclose()
    assert played.texts[0].startswith("You are in the middle of a room.")
    assert played.ended_at == len(calls) - 1 and env.outcome is not None and env.outcome.success
    assert env.commands[0] == "look" and env.commands[toggle] == "use desklamp 1"


@pytest.mark.parametrize("split", ["valid_seen", "valid_unseen"])
def test_collect_replays_the_expert_plans_as_execute_cells_through_the_cli(
    split: str, tmp_path: Path
) -> None:
    """``trajkit collect alfworld --data FIXTURE --split SPLIT`` with a replay teacher whose
    turns are the engine's expert calls as code: every released game of the split ends ``solved``,
    mid-cell, at the plan's last call."""
    require_engine()
    require_isolation()
    recording = tmp_path / "replay.jsonl"
    ids = [t for t in sorted(GAMES) if split_of(t) == split]
    calls = {t: trial_calls(RELEASE / t) for t in ids}
    recording.write_text(
        "".join(json.dumps({"task_id": t, "turns": replay_turns(calls[t])}) + "\n" for t in ids)
    )
    env = {k: v for k, v in os.environ.items() if not k.endswith("_API_KEY")}
    env.pop("ALFWORLD_DATA", None)
    out = tmp_path / "out"
    proc = subprocess.run(
        [
            *TRAJKIT,
            "collect",
            "alfworld",
            "--data",
            str(FIXTURE),
            "--split",
            split,
            "--teacher",
            f"replay:{recording}",
            "--out",
            str(out),
            "--run",
            "released",
            "--concurrency",
            "2",
        ],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stderr
    lines = (out / "runs" / "released" / "trajectories.jsonl").read_text().splitlines()
    # Records are published: the games' folder on this machine must not be in them.
    assert all(str(RELEASE.parent) not in line for line in lines)
    records = {r["task_id"]: r for r in map(json.loads, lines)}
    assert sorted(records) == ids
    for task_id, record in records.items():
        n = len(calls[task_id])
        assert record["termination"] == "solved" and record["success"], task_id
        assert record["task"]["metadata"]["type"] == type_of(task_id)
        assert record["score_details"]["won"] and record["score_details"]["env_steps"] == n
        assert len(record["steps"]) == len(replay_turns(calls[task_id]))
        observations = [s["observation"]["text"] for s in record["steps"]]
        assert all(s["observation"].get("error") is None for s in record["steps"])
        assert "Nothing happens." not in "\n".join(observations)
        assert observations[-1].rstrip().endswith("The task is complete.")


def fidelity_table() -> str:
    """The table of docs/fidelity/alfworld.md, from ``GAMES`` (each row is won at its last
    call by the parametrized test above)."""
    rows = [
        "| game type | released game (`json_2.1.1/…`) | expert plan through the tools | won |",
        "|---|---|---|---|",
    ]
    for task_id in sorted(GAMES, key=lambda t: TASK_TYPES.index(type_of(t))):
        tools = " → ".join(call.split("(")[0] for call in GAMES[task_id])
        n = len(GAMES[task_id])
        rows.append(f"| `{type_of(task_id)}` | `{task_id}` | {tools} | yes, in {n} steps |")
    return "\n".join(rows)


def test_the_fidelity_doc_shows_these_games() -> None:
    assert fidelity_table() in DOC.read_text(encoding="utf-8")


async def test_the_release_runner_plays_a_release_folder_split_by_split() -> None:
    """``released_games.py DIR`` (how the doc's whole-validation-set numbers were made) on
    the fixture, which is a small release folder: every game won, none refused or lost."""
    require_engine()
    report = await play_release(FIXTURE, ["valid_seen", "valid_unseen"])
    assert report.won == {t: 1 for t in TASK_TYPES}
    assert report.refused == [] and report.lost == [] and report.early == []
    assert "| `pick_two_obj_and_place` | 1 | 1 | 0 | 0 |" in report.table()
