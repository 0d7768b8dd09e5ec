"""The household tools against the real engine: every bundled game is won through them, in
either command wording; invalid actions, the step cap and the judge; the generator rebuilds
the bundled games exactly."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from alfworld_helpers import game_file, require_engine, spec, task_id

from trajkit.core.errors import DataError
from trajkit.core.tools import EndEpisode, Tool
from trajkit.schemas import Task
from trajkit.sources.alfworld import SAMPLE_DIR, AlfWorldEnv, AlfWorldSource
from trajkit.sources.alfworld.engine import command_templates, format_command, step_game
from trajkit.sources.alfworld.make_games import write_games
from trajkit.sources.alfworld.sample_games import SPECS, GameSpec
from trajkit.sources.base import LoadOptions

# Walkthrough command → (tool, arguments): how a teacher would say each command with tools.
PREFIXES = [
    ("go to ", "goto", None),
    ("take ", "take_from", " from "),
    ("move ", "put", " to "),
    ("put ", "put", " in/on "),
    ("open ", "open_receptacle", None),
    ("close ", "close_receptacle", None),
    ("heat ", "heat", " with "),
    ("cool ", "cool", " with "),
    ("clean ", "clean", " with "),
    ("use ", "toggle", None),
]


def as_tool_call(command: str) -> tuple[str, list[str]]:
    for prefix, tool, sep in PREFIXES:
        if command.startswith(prefix):
            rest = command[len(prefix) :]
            return tool, rest.split(sep) if sep else [rest]
    raise AssertionError(command)


async def open_env(s: GameSpec, max_steps: int = 50) -> AlfWorldEnv:
    source = AlfWorldSource.from_options({"max_steps": str(max_steps)})
    tasks = source.load(LoadOptions(split=s.split, types=[s.task_type]))
    (task,) = [t for t in tasks if t.task_id == task_id(s)]
    return await source.open_env(task)


async def call(env: AlfWorldEnv, name: str, *args: str) -> str:
    tool: Tool = next(t for t in env.tools() if t.name == name)
    return await tool.call(list(args), {})


def test_templates_follow_the_games_grammar_in_either_wording() -> None:
    new = json.loads(game_file(spec("pick_and_place_simple")).read_text())["grammar"]
    old = json.loads(game_file(spec("pick_and_place_simple", "valid_unseen")).read_text())[
        "grammar"
    ]
    assert command_templates(new)["put"] == "move {o} to {r}"
    assert command_templates(old)["put"] == "put {o} in/on {r}"
    for grammar in (new, old):
        t = command_templates(grammar)
        assert format_command(t["goto"], ("fridge 1",)) == "go to fridge 1"
        assert (
            format_command(t["take_from"], ("apple 1", "fridge 1")) == "take apple 1 from fridge 1"
        )
        assert (t["toggle"], t["use"], t["look"]) == ("use {o}", "use {o}", "look")
    assert format_command(command_templates(old)["put"], ("a 1", "b 1")) == "put a 1 in/on b 1"
    assert command_templates("no actions here")["put"] == "move {o} to {r}"  # 0.4.x default
    with pytest.raises(ValueError, match="takes 2 argument"):
        format_command("heat {o} with {r}", ("apple 1",))


@pytest.mark.parametrize("s", SPECS, ids=lambda s: f"{s.split}-{s.task_type}")
async def test_every_bundled_game_is_won_through_the_tools(s: GameSpec) -> None:
    require_engine()
    env = await open_env(s)
    try:
        *steps, last = s.walkthrough
        for command in steps:
            tool, args = as_tool_call(command)
            text = await call(env, tool, *[a.upper() for a in args])  # names are normalized
            assert text != "Nothing happens." and env.outcome is None, (command, text)
        tool, args = as_tool_call(last)
        with pytest.raises(EndEpisode) as end:
            await call(env, tool, *args)
        assert end.value.text.endswith("The task is complete.")
        assert env.outcome is not None and env.outcome.success and env.outcome.score == 1.0
        assert env.outcome.details["env_steps"] == len(s.walkthrough)
        assert env.commands == list(s.walkthrough)  # the engine's own wording, both grammars
        if tool == "put":
            verb = "You put" if s.old_wording else "You move"
            assert end.value.text.startswith(f"{verb} the {args[0]}")
    finally:
        await env.aclose()


async def test_invalid_action_step_cap_and_judge() -> None:
    require_engine()
    env = await open_env(spec("pick_heat_then_place_in_recep"), max_steps=4)
    try:
        assert await call(env, "take_from", "apple 1", "fridge 1") == "Nothing happens."
        assert await call(env, "goto", "moon 1") == "Nothing happens."
        assert (await call(env, "goto", "fridge 1")).startswith("You arrive at fridge 1.")
        lost = await env.judge("done")
        assert not lost.success and lost.details["reason"] == "solution before the task was done"
        with pytest.raises(EndEpisode, match=r"Step limit reached \(4 actions\)"):
            await call(env, "look")
        assert env.outcome is not None and not env.outcome.success
        assert env.outcome.details["reason"] == "step cap" and env.steps == 4
        with pytest.raises(EndEpisode, match=r"The episode is over\."):
            await call(env, "look")
        assert env.steps == 4
        with pytest.raises(TypeError, match=r"^heat\(\) missing 1 required positional argument"):
            await call(env, "heat", "apple 1")
    finally:
        await env.aclose()
    with pytest.raises(RuntimeError, match="the game is closed"):  # a late step never runs
        step_game(env._game, "look")
    await env.aclose()  # closing twice is harmless


async def test_tools_listing_and_interactive_only_source() -> None:
    require_engine()
    env = await open_env(spec("pick_and_place_simple"))
    try:
        names = [t.name for t in env.tools()]
        assert names == [
            "goto",
            "take_from",
            "put",
            "open_receptacle",
            "close_receptacle",
            "toggle",
            "clean",
            "heat",
            "cool",
            "use",
            "look",
        ]
        put = next(t for t in env.tools() if t.name == "put")
        assert put.signature == "put(obj: str, recep: str) -> str" and "hold" in put.doc
    finally:
        await env.aclose()
    with pytest.raises(TypeError, match="open_env"):
        AlfWorldSource().tools(Task(source="alfworld", task_id="t", prompt=""))


@pytest.mark.parametrize(
    ("key", "cut", "message"),
    [("pddl_problem", -30, "Missing ')'"), ("grammar", 500, "Expecting <strBlock>")],
)
def test_a_game_the_engine_cannot_load_is_one_line_naming_the_file(
    tmp_path: Path, key: str, cut: int, message: str
) -> None:
    require_engine()
    s = spec("pick_and_place_simple")
    shutil.copytree(SAMPLE_DIR / s.path, tmp_path / s.path)
    path = game_file(s, tmp_path)
    game = json.loads(path.read_text())
    path.write_text(json.dumps({**game, key: game[key][:cut]}))
    with pytest.raises(DataError) as info:
        AlfWorldSource().load(LoadOptions(data=str(tmp_path)))
    text = str(info.value)
    assert (
        "\n" not in text and text.startswith(f"{path}: the engine cannot load") and message in text
    )


def test_generator_rebuilds_the_bundled_games_exactly(tmp_path: Path) -> None:
    """The committed games are what make_games.py writes (and each is won by the engine)."""
    require_engine()
    write_games(tmp_path)
    built = sorted(p.relative_to(tmp_path) for p in tmp_path.rglob("*") if p.is_file())
    bundled = sorted(
        p.relative_to(SAMPLE_DIR) for p in (SAMPLE_DIR / "json_2.1.1").rglob("*") if p.is_file()
    )
    assert built == bundled and len(built) == 3 * len(SPECS)
    for rel in built:
        assert (tmp_path / rel).read_bytes() == (SAMPLE_DIR / rel).read_bytes(), rel
