"""Released ALFWorld games and their expert plans, turned into household-tool calls.

``tests/fixtures/alfworld/json_2.1.1`` holds real games of ALFWorld's released data (see its
README). Each trial's ``traj_data.json`` carries ALFRED's expert plan, ``plan.high_pddl``: one
subgoal per step (``GotoLocation``, ``PickupObject``, ``PutObject``, ``HeatObject``, ...),
naming things by their THOR ``objectId``. ``expert_calls`` says that plan with trajkit's tools,
by one set of rules for every game, so a game won through those calls shows that the tools map
onto the engine (a script written for one game would only show that the script is right).

Names come from the game file itself, through alfworld's own ``Demangler``, and never from
trajkit: a change in how trajkit names, words or routes a command makes a game unwinnable here
instead of being mirrored by the test.

Run as a script on a whole download, it plays every game a user would load from it:
``.venv/bin/python tests/sources/alfworld/released_games.py DIR [--split S ...]``.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import re
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import SimpleNamespace
from typing import Any

from trajkit.core.tools import EndEpisode
from trajkit.sources.alfworld import TASK_TYPES, AlfWorldEnv, AlfWorldSource
from trajkit.sources.base import LoadOptions

FIXTURE = Path(__file__).resolve().parents[2] / "fixtures" / "alfworld"
RELEASE = FIXTURE / "json_2.1.1"

#: ALFRED subgoals done at one appliance; the text engine does each as one command.
APPLIANCE_TOOLS = {"HeatObject": "heat", "CoolObject": "cool", "CleanObject": "clean"}
#: How ALFRED's objectIds are spelled as PDDL names (alfworld's Demangler undoes this).
_MANGLE = (("|", "_bar_"), ("-", "_minus_"), ("+", "_plus_"), (".", "_dot_"), (",", "_comma_"))
_FACT_RE = re.compile(r"\(\s*([\w-]+)((?:\s+[\w-]+)+)\s*\)")
_OBJECT_RE = re.compile(r"([\w-]+)\s+-\s+\w+")


class UntranslatablePlan(ValueError):
    """The plan cannot be said literally in the text game, e.g. its object lies in no
    receptacle there (the text engine only takes things from receptacles)."""


@dataclass(frozen=True)
class ToolCall:
    """One household-tool call: ``ToolCall("goto", ("drawer 1",))``."""

    tool: str
    args: tuple[str, ...]

    def code(self) -> str:
        """The call as a teacher's code writes it: ``goto("drawer 1")``."""
        return f"{self.tool}({', '.join(json.dumps(a) for a in self.args)})"


def pddl_id(alfred_id: str) -> str:
    """THOR's ``objectId`` as the game names the entity (lower case, as textworld keeps ids):
    ``Sink|+01.10|+00.91|-01.60|SinkBasin`` → ``sink_bar__plus_01_dot_10_..._bar_sinkbasin``."""
    text = alfred_id
    for char, word in _MANGLE:
        text = text.replace(char, word)
    return text.lower()


def display_names(ids: Sequence[str]) -> dict[str, str]:
    """PDDL id → the name the engine shows ("sinkbasin 1"), by alfworld's own ``Demangler``
    over every entity of the game, as ``AlfredDemangler`` numbers them when a game loads."""
    from alfworld.agents.utils.misc import Demangler

    demangler = Demangler(game_infos={i: SimpleNamespace(id=i) for i in ids})
    return {i: demangler.demangle_alfred_name(i).strip() for i in ids}


class GameWorld:
    """What the translation needs from a game's initial PDDL state, kept up to date as the
    plan moves things: names, which receptacle holds which object, which open and close."""

    def __init__(self, problem: str) -> None:
        text = problem.lower()
        objects = re.search(r"\(:objects(.*?)\)", text, re.S)
        start, end = text.find("(:init"), text.find("(:goal")
        if objects is None or start < 0 or end < start:
            raise ValueError("not an ALFWorld PDDL problem (no :objects, :init and :goal)")
        self.ids = {m.group(1) for m in _OBJECT_RE.finditer(objects.group(1))}
        self.names = display_names(sorted(self.ids))
        facts = [(m.group(1), m.group(2).split()) for m in _FACT_RE.finditer(text[start:end])]
        self.where = {args[0]: args[1] for name, args in facts if name == "inreceptacle"}
        self.openable = {args[0] for name, args in facts if name == "openable"}
        self.opened = {args[0] for name, args in facts if name == "opened"}

    def entity(self, alfred_id: str) -> str:
        """The game's id for a THOR ``objectId``; the plan and the game must agree on it."""
        found = pddl_id(alfred_id)
        if found not in self.ids:
            raise UntranslatablePlan(f"{alfred_id}: not an entity of this game")
        return found

    def name(self, entity: str) -> str:
        return self.names[entity]

    def holder(self, obj: str) -> str:
        """The receptacle ``obj`` lies in; objects elsewhere cannot be taken in the text game."""
        recep = self.where.get(obj)
        if recep is None:
            raise UntranslatablePlan(f"{self.name(obj)} lies in no receptacle of the game")
        return recep

    def at(self, recep: str, act: ToolCall, *, close: bool) -> list[ToolCall]:
        """``act`` at ``recep``, opening it first when the game has it closed (the engine
        refuses to take from or put into a closed receptacle) and, as ALFRED's expert does
        in its low-level actions, closing it again after when ``close``."""
        if recep not in self.openable or recep in self.opened:
            return [act]
        opened = ToolCall("open_receptacle", (self.name(recep),))
        if not close:
            self.opened.add(recep)
            return [opened, act]
        return [opened, act, ToolCall("close_receptacle", (self.name(recep),))]


def _site(world: GameWorld, subgoal: Mapping[str, Any]) -> str:
    """The receptacle a subgoal acts at, which is where the ``GotoLocation`` before it goes.

    ALFRED's ``GotoLocation`` names a camera pose (``loc|4|-3|1|45``), often not the game's
    location of any receptacle there, and the text engine goes to receptacles, not poses.
    """
    action = subgoal["discrete_action"]["action"]
    planner = subgoal["planner_action"]
    if action == "PickupObject" or action == "ToggleObject":
        return world.holder(world.entity(planner["objectId"]))
    if action == "PutObject":
        return world.entity(planner["receptacleObjectId"])
    if action in APPLIANCE_TOOLS:
        return world.entity(planner["objectId"])
    raise UntranslatablePlan(f"GotoLocation before {action}: no receptacle to go to")


def expert_calls(traj: Mapping[str, Any], problem: str) -> list[ToolCall]:
    """The tool calls that carry out ``traj``'s expert plan in the game of ``problem``.

    Every subgoal becomes the tool that does it in the text game: ``GotoLocation`` → ``goto``
    the receptacle the next subgoal acts at (skipped when already there: ALFRED may step to
    another pose at the same receptacle, and going where one is is no move in the text game);
    ``PickupObject`` → ``take_from`` the receptacle that holds the object; ``PutObject`` →
    ``put``; ``HeatObject``/``CoolObject``/``CleanObject`` → ``heat``/``cool``/``clean`` the
    object in hand with the appliance the subgoal names; ``ToggleObject`` → ``toggle``;
    ``NoOp`` ends the plan. Opening and closing happen inside ALFRED's subgoals, so they come
    with the take or put that needs them; the last subgoal wins the game, so nothing is closed
    after it. Any other subgoal (ALFRED's ``SliceObject``, which the text games do not
    support) raises ``UntranslatablePlan``.
    """
    world = GameWorld(problem)
    subgoals = [s for s in traj["plan"]["high_pddl"] if s["discrete_action"]["action"] != "NoOp"]
    calls: list[ToolCall] = []
    held: str | None = None
    here: str | None = None
    for i, subgoal in enumerate(subgoals):
        action = subgoal["discrete_action"]["action"]
        planner = subgoal["planner_action"]
        last = i == len(subgoals) - 1
        if action == "GotoLocation":
            if last:
                raise UntranslatablePlan("the plan ends with GotoLocation")
            there = _site(world, subgoals[i + 1])
            if there != here:  # ALFRED may move between two poses at one receptacle
                calls.append(ToolCall("goto", (world.name(there),)))
            here = there
        elif action == "PickupObject":
            obj = world.entity(planner["objectId"])
            recep = world.holder(obj)
            take = ToolCall("take_from", (world.name(obj), world.name(recep)))
            calls += world.at(recep, take, close=True)
            del world.where[obj]
            held = obj
        elif action == "PutObject":
            obj = world.entity(planner["objectId"])
            if obj != held:
                raise UntranslatablePlan(f"PutObject of {world.name(obj)}, which is not in hand")
            recep = world.entity(planner["receptacleObjectId"])
            put = ToolCall("put", (world.name(obj), world.name(recep)))
            calls += world.at(recep, put, close=not last)
            world.where[obj] = recep
            held = None
        elif action in APPLIANCE_TOOLS:
            if held is None:
                raise UntranslatablePlan(f"{action} with nothing in hand")
            appliance = world.entity(planner["objectId"])
            calls.append(
                ToolCall(APPLIANCE_TOOLS[action], (world.name(held), world.name(appliance)))
            )
        elif action == "ToggleObject":
            calls.append(ToolCall("toggle", (world.name(world.entity(planner["objectId"])),)))
        else:
            raise UntranslatablePlan(f"{action}: no household tool does this")
    return calls


def trial_calls(trial: Path) -> list[ToolCall]:
    """``expert_calls`` for a trial folder of the released layout."""
    traj = json.loads((trial / "traj_data.json").read_text(encoding="utf-8"))
    game = json.loads((trial / "game.tw-pddl").read_text(encoding="utf-8"))
    return expert_calls(traj, game["pddl_problem"])


@dataclass
class Played:
    """What playing a list of calls did: each call's text, and the index of the call that
    ended the episode (None if the calls ran out first)."""

    texts: list[str]
    ended_at: int | None


async def play(env: AlfWorldEnv, calls: Sequence[ToolCall]) -> Played:
    """Call the episode's tools directly (the host-side functions the sandbox stubs reach),
    in order, until the calls run out or the episode ends."""
    tools = {tool.name: tool for tool in env.tools()}
    texts: list[str] = []
    for i, call in enumerate(calls):
        try:
            texts.append(await tools[call.tool].call(list(call.args), {}))
        except EndEpisode as end:
            texts.append(end.text)
            return Played(texts, i)
    return Played(texts, None)


def replay_turns(calls: Sequence[ToolCall], per_cell: int = 4) -> list[str]:
    """The calls as a teacher's CodeAct turns: ``<execute>`` cells of ``per_cell`` calls,
    each call printed, as ``samples/alfworld_demo_replay.jsonl`` writes them."""
    turns = []
    for start in range(0, len(calls), per_cell):
        body = "\n".join(f"print({call.code()})" for call in calls[start : start + per_cell])
        turns.append(f"I'll follow the plan.\n<execute>\n{body}\n</execute>")
    return turns


@dataclass
class ReleaseReport:
    """Every loaded game of a release folder, played by its expert plan: games won (by task
    type), won before the plan's last call, refused (the plan cannot be said in the text
    game, with the reason) and lost."""

    loaded: dict[str, int] = field(default_factory=dict)
    won: dict[str, int] = field(default_factory=dict)
    early: list[str] = field(default_factory=list)
    refused: list[str] = field(default_factory=list)
    lost: list[str] = field(default_factory=list)

    def table(self) -> str:
        """Markdown: task type, games, won through the tools, refused, lost."""
        rows = [
            "| game type | games | won through the tools | refused | lost |",
            "|---|---|---|---|---|",
        ]
        for kind in TASK_TYPES:
            refused = sum(1 for r in self.refused if f"/{kind}-" in r)
            lost = sum(1 for t in self.lost if f"/{kind}-" in t)
            n, won = self.loaded.get(kind, 0), self.won.get(kind, 0)
            rows.append(f"| `{kind}` | {n} | {won} | {refused} | {lost} |")
        return "\n".join(rows)


async def play_release(data: Path, splits: Sequence[str]) -> ReleaseReport:
    """Load ``data`` split by split through the source, as ``--data``/``--split`` do, and
    play each game's expert plan on a fresh episode (one game at a time)."""
    source = AlfWorldSource()
    report = ReleaseReport()
    for split in splits:
        for task in source.load(LoadOptions(data=str(data), split=split)):
            kind = str(task.metadata["type"])
            report.loaded[kind] = report.loaded.get(kind, 0) + 1
            try:
                calls = trial_calls(source.game_file(task).parent)
            except UntranslatablePlan as exc:
                report.refused.append(f"{task.task_id}: {exc}")
                continue
            env = await source.open_env(task)
            try:
                played = await play(env, calls)
            finally:
                await env.aclose()
            if env.outcome is None or not env.outcome.success:
                report.lost.append(task.task_id)
                continue
            report.won[kind] = report.won.get(kind, 0) + 1
            if played.ended_at != len(calls) - 1:
                report.early.append(task.task_id)
    return report


def main(argv: Sequence[str] | None = None) -> int:
    """Print the report of ``play_release``; exit 1 if any game was lost."""
    parser = argparse.ArgumentParser(description="Play a release's games by their expert plans.")
    parser.add_argument("data", type=Path, help="the download folder (or its json_2.1.1/)")
    parser.add_argument("--split", action="append", help="valid_seen and valid_unseen by default")
    args = parser.parse_args(argv)
    report = asyncio.run(play_release(args.data, args.split or ["valid_seen", "valid_unseen"]))
    print(report.table())
    for title, items in (("won early", report.early), ("refused", report.refused)):
        print(f"\n{title}: {len(items)}", *items, sep="\n")
    print(f"\nlost: {len(report.lost)}", *report.lost, sep="\n")
    return 1 if report.lost else 0


if __name__ == "__main__":
    sys.exit(main())
