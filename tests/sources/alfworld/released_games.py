"""Released ALFWorld games and their engine expert plans, turned into household-tool calls.

``tests/fixtures/alfworld/json_2.1.1`` holds real games of ALFWorld's released data (see its
README). Each game's expert plan comes from the engine itself: alfworld's ``AlfredExpert``
wrapper of type ``planner`` (the one ``AlfredTWEnv`` uses to check that a game is solvable)
asks textworld's PDDL planner (fast-downward) for a plan from the game's own domain and
problem and hands it over at reset, as ``extra.expert_plan``, in the game's own wording:
``go to desk 1``, ``take bowl 1 from desk 1``, ``use desklamp 1``. ``expert_calls`` says those
commands with trajkit's tools, by one set of rules for every game, so a game won through those
calls shows that the tools map onto the engine (a script written for one game would only
show that the script is right).

The plan, its wording and its names come from alfworld and textworld (names through
alfworld's own ``AlfredDemangler``), never from trajkit: a change in how trajkit names, words
or routes a command makes a game unwinnable here instead of being mirrored by the test.

Run as a script on a whole download, it plays every game a user would load from it:
``.venv/bin/python tests/sources/alfworld/released_games.py DIR [--split S ...]``.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import re
import sys
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path

from trajkit.core.tools import EndEpisode
from trajkit.sources.alfworld import TASK_TYPES, AlfWorldEnv, AlfWorldSource
from trajkit.sources.alfworld.engine import ENGINE_LOCK
from trajkit.sources.base import LoadOptions

FIXTURE = Path(__file__).resolve().parents[2] / "fixtures" / "alfworld"
RELEASE = FIXTURE / "json_2.1.1"

#: A thing as the engine names it: "desk 1", "sinkbasin 2".
_NAME = r"([a-z]+ \d+)"
#: Engine command → the household tool that sends it, one rule per command of ALFWorld's
#: grammars (``put {o} in/on {r}`` in the 2.1.1 release, ``move {o} to {r}`` in 0.4's data).
COMMANDS: tuple[tuple[re.Pattern[str], str], ...] = tuple(
    (re.compile(pattern), tool)
    for pattern, tool in (
        (f"go to {_NAME}", "goto"),
        (f"take {_NAME} from {_NAME}", "take_from"),
        (f"put {_NAME} in/on {_NAME}", "put"),
        (f"move {_NAME} to {_NAME}", "put"),
        (f"open {_NAME}", "open_receptacle"),
        (f"close {_NAME}", "close_receptacle"),
        (f"heat {_NAME} with {_NAME}", "heat"),
        (f"cool {_NAME} with {_NAME}", "cool"),
        (f"clean {_NAME} with {_NAME}", "clean"),
        (f"use {_NAME}", "toggle"),
        ("look", "look"),
    )
)


class UntranslatablePlan(ValueError):
    """The engine's plan cannot be said with the household tools (a command no tool sends,
    such as ``examine`` or ``inventory``), or the engine found no plan."""


@dataclass(frozen=True)
class ToolCall:
    """One household-tool call: ``ToolCall("goto", ("drawer 1",))``."""

    tool: str
    args: tuple[str, ...]

    def code(self) -> str:
        """The call as a teacher's code writes it: ``goto("drawer 1")``."""
        return f"{self.tool}({', '.join(json.dumps(a) for a in self.args)})"


@cache
def engine_plan(game_file: Path) -> tuple[str, ...]:
    """The engine's expert plan for ``game_file``: the game started as alfworld starts it
    (``AlfredDemangler``, ``AlfredInfos``) with alfworld's ``AlfredExpert`` of type
    ``planner``, whose ``extra.expert_plan`` at reset is the whole plan as commands."""
    before = os.environ.get("ALFWORLD_DATA")
    import textworld
    import textworld.envs.pddl  # registers the .tw-pddl backend
    from alfworld.agents.environment.alfred_tw_env import (
        AlfredDemangler,
        AlfredExpert,
        AlfredExpertType,
        AlfredInfos,
    )

    if before is None:  # importing alfworld sets it; the loader's default must not change
        os.environ.pop("ALFWORLD_DATA", None)
    request = textworld.EnvInfos(won=True, admissible_commands=True, extras=["expert_plan"])
    wrappers = [
        AlfredDemangler(shuffle=False),
        AlfredInfos,
        AlfredExpert(expert_type=AlfredExpertType.PLANNER),
    ]
    with ENGINE_LOCK:  # textworld's parser and the planner's module state are not thread-safe
        env = textworld.start(str(game_file), request_infos=request, wrappers=wrappers)
        try:
            plan = tuple(str(c) for c in env.reset()["extra.expert_plan"])
        finally:
            lib = getattr(env, "downward_lib", None)
            env.close()
            if lib is not None:
                lib.cleanup()
    return plan


def expert_calls(commands: Sequence[str]) -> list[ToolCall]:
    """The tool calls that send ``commands``, the engine's expert plan, one call per command:
    ``go to R`` → ``goto(R)``; ``take O from R`` → ``take_from(O, R)``; ``put O in/on R`` and
    ``move O to R`` → ``put(O, R)``; ``open R``/``close R`` → ``open_receptacle``/
    ``close_receptacle``; ``heat``/``cool``/``clean O with A`` → ``heat``/``cool``/``clean(O, A)``;
    ``use L`` → ``toggle(L)``; ``look`` → ``look()``. The names are passed on as the engine
    wrote them. Any other command (``examine``, ``inventory``, a slice) raises
    ``UntranslatablePlan``, and so does an empty plan (the planner found none)."""
    if not commands:
        raise UntranslatablePlan("the engine's planner found no plan for this game")
    calls: list[ToolCall] = []
    for command in commands:
        for pattern, tool in COMMANDS:
            match = pattern.fullmatch(command)
            if match is not None:
                calls.append(ToolCall(tool, match.groups()))
                break
        else:
            raise UntranslatablePlan(f"{command!r}: no household tool sends this command")
    return calls


def trial_calls(trial: Path) -> list[ToolCall]:
    """``expert_calls`` of the engine's expert plan for a trial folder of the released layout."""
    return expert_calls(engine_plan(trial / "game.tw-pddl"))


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
    """Every loaded game of a release folder, played by the engine's expert plan: games won
    (by task type), won before the plan's last call, refused (the plan cannot be said with
    the tools, with the reason) and lost."""

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
