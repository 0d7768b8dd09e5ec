"""Build the bundled ALFWorld sample games from readable definitions, and check they are winnable.

``python -m trajkit.sources.alfworld.make_games [OUT_DIR]`` (default: this package's
``samples/``) writes, per game of ``sample_games.SPECS``, what ``alfworld-download`` leaves in a trial folder:
``initial_state.pddl`` (the PDDL problem), ``traj_data.json`` (task type, targets and a task
description, as ALFRED's) and ``game.tw-pddl`` (JSON: ``pddl_domain``, ``grammar``,
``pddl_problem``, ``solvable``), built the way ``alfworld``'s ``AlfredTWEnv.gen_game_files``
builds one: the domain (``alfred.pddl``) and grammar (``alfred.twl2``) the wheel ships, with
the task description put into the grammar. The goal and its description come from
``alfworld.gen.goal_library``, receptacle contents and object abilities from
``alfworld.gen.constants``. Every game is then played by the real engine along its walkthrough
and must be won exactly at the last command. Needs the ``alfworld`` extra.

The games and every name in them were written for trajkit; none comes from ALFRED.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from trajkit.sources.alfworld.engine import close_game, open_game, require_engine, step_game
from trajkit.sources.alfworld.load import SAMPLE_DIR
from trajkit.sources.alfworld.sample_games import SPECS, GameSpec

#: Types the domain's actions name (sink, microwave, fridge, knives): every problem declares them.
DOMAIN_RTYPES = ("SinkBasin", "Microwave", "Fridge")
DOMAIN_OTYPES = ("Knife", "ButterKnife")
#: Receptacles that ALFRED names after their outer object ("Sink|...|SinkBasin").
BASINS = {"SinkBasin": "Sink", "BathtubBasin": "Bathtub"}
#: 0.4.x says "move X to Y"; older alfworld data says "put X in/on Y". The older wording is
#: made by rewriting the shipped grammar back, so both can be played by the same engine.
OLD_WORDING = (
    ('template :: "move {o} to {r}";', 'template :: "put {o} in/on {r}";'),
    ("You move the {o.name} to the {r.name}.", "You put the {o.name} in/on the {r.name}."),
    ("move (object) to (receptacle):  place", "put (object) in/on (receptacle): place"),
)


def _split_name(name: str) -> tuple[str, int]:
    cls, _, num = name.rpartition(" ")
    return cls, int(num)


def entity_ids(names: list[str]) -> dict[str, str]:
    """PDDL ids for display names, chosen so alfworld's ``Demangler`` shows them as written.

    The demangler numbers the ids of one class in sorted order from the highest number down,
    so "cabinet 1" of two cabinets gets the id that sorts last.
    """
    counts: dict[str, int] = {}
    for name in names:
        cls, _ = _split_name(name)
        counts[cls] = counts.get(cls, 0) + 1
    ids = {}
    for name in names:
        cls, num = _split_name(name)
        if sorted(_split_name(n)[1] for n in names if _split_name(n)[0] == cls) != list(
            range(1, counts[cls] + 1)
        ):
            raise ValueError(f"{cls}: numbers must run 1..{counts[cls]}")
        order = f"{counts[cls] - num:02d}"
        ids[name] = (
            f"{BASINS[cls]}_bar_{order}_bar_{cls}" if cls in BASINS else f"{cls}_bar_{order}"
        )
    return ids


def problem_pddl(spec: GameSpec) -> str:
    """The PDDL problem of ``spec``, in the shape of ALFRED's ``initial_state.pddl``."""
    from alfworld.gen import constants, goal_library

    recep_ids = entity_ids(list(spec.receptacles))
    obj_ids = entity_ids(list(spec.contents))
    rtypes = sorted({_split_name(r)[0] for r in spec.receptacles} | set(DOMAIN_RTYPES))
    otypes = sorted({_split_name(o)[0] for o in spec.contents} | set(DOMAIN_OTYPES))
    abilities = constants.VAL_ACTION_OBJECTS
    locs = {r: f"loc{i}" for i, r in enumerate(spec.receptacles, 1)}
    objects = ["agent1 - agent", "locCenter - location"]
    objects += [f"{loc} - location" for loc in locs.values()]
    objects += [f"{t}Type - rtype" for t in rtypes] + [f"{t}Type - otype" for t in otypes]
    objects += [f"{i} - receptacle" for i in recep_ids.values()]
    objects += [f"{i} - object" for i in obj_ids.values()]
    init = ["(atLocation agent1 locCenter)"]
    for r, rid in recep_ids.items():
        cls = _split_name(r)[0]
        init += [f"(receptacleType {rid} {cls}Type)", f"(receptacleAtLocation {rid} {locs[r]})"]
        if cls in constants.OPENABLE_CLASS_LIST:
            init.append(f"(openable {rid})")
        for ot in otypes:
            if ot in constants.VAL_RECEPTACLE_OBJECTS.get(cls, ()):
                init.append(f"(canContain {cls}Type {ot}Type)")
    for o, oid in obj_ids.items():
        cls, where = _split_name(o)[0], spec.contents[o]
        init += [
            f"(objectType {oid} {cls}Type)",
            f"(inReceptacle {oid} {recep_ids[where]})",
            f"(objectAtLocation {oid} {locs[where]})",
        ]
        init += [
            f"({fact} {oid})"
            for fact, group in (
                ("heatable", "Heatable"),
                ("coolable", "Coolable"),
                ("cleanable", "Cleanable"),
                ("toggleable", "Toggleable"),
            )
            if cls in abilities[group]
        ]
        if cls not in abilities["Toggleable"]:
            init.append(f"(pickupable {oid})")
    goal = (
        goal_library.gdict[spec.task_type]["pddl"]
        .format(obj=spec.obj, recep=spec.recep, toggle=spec.toggle, mrecep="")
        .replace("#", "-")
    )
    lines = [
        f"(define (problem trajkit_{spec.scene}_{spec.task_type})",
        "    (:domain alfred)",
        "    (:objects",
        *[f"        {o}" for o in objects],
        "    )",
        "    (:init",
        *[f"        {f}" for f in sorted(set(init), key=init.index)],
        "    )",
    ]
    return "\n".join(lines) + "\n" + goal.strip("\n") + "\n"


def goal_text(spec: GameSpec) -> str:
    """The templated task description alfworld writes into the grammar (first template)."""
    from alfworld.gen import goal_library

    template = goal_library.gdict[spec.task_type]["templates"][0]
    return template.format(
        obj=spec.obj.lower(), recep=spec.recep.lower(), toggle=spec.toggle.lower(), mrecep=""
    )


def game_files(spec: GameSpec) -> dict[str, str]:
    """The three files of ``spec``'s trial folder, as text."""
    import alfworld

    domain = Path(alfworld.ALFRED_PDDL_PATH).read_text()
    grammar = Path(alfworld.ALFRED_TWL2_PATH).read_text().replace("UNKNOWN GOAL", goal_text(spec))
    if spec.old_wording:
        for new, old in OLD_WORDING:
            if new not in grammar:
                raise ValueError(f"alfred.twl2 no longer contains {new!r}")
            grammar = grammar.replace(new, old)
    problem = problem_pddl(spec)
    traj = {
        "task_id": f"trajkit_{spec.scene}_{spec.trial[-14:]}",
        "task_type": spec.task_type,
        "pddl_params": {
            "object_target": spec.obj,
            "parent_target": spec.recep,
            "toggle_target": spec.toggle,
            "mrecep_target": "",
            "object_sliced": False,
        },
        "scene": {"scene_num": spec.scene, "floor_plan": f"FloorPlan{spec.scene}"},
        "turk_annotations": {
            "anns": [
                {"task_desc": spec.description, "high_descs": list(spec.walkthrough), "votes": [1]}
            ]
        },
        "source": "written for trajkit by make_games.py; not from ALFRED",
    }
    game = {"pddl_domain": domain, "grammar": grammar, "pddl_problem": problem, "solvable": True}
    return {
        "initial_state.pddl": problem,
        "traj_data.json": json.dumps(traj, indent=2) + "\n",
        "game.tw-pddl": json.dumps(game) + "\n",
    }


def check_walkthrough(game_file: Path, walkthrough: tuple[str, ...]) -> None:
    """Play ``walkthrough`` in the real engine: every command admissible, won at the last."""
    game = open_game(game_file)
    try:
        for i, command in enumerate(walkthrough, 1):
            if command not in game.admissible:
                raise AssertionError(
                    f"{game_file}: {command!r} not admissible; got {game.admissible}"
                )
            result = step_game(game, command)
            if result.won != (i == len(walkthrough)):
                raise AssertionError(f"{game_file}: won={result.won} after {command!r}")
    finally:
        close_game(game)


def write_games(out: Path, specs: tuple[GameSpec, ...] = SPECS) -> list[Path]:
    """Write and check every game under ``out``; returns the game files."""
    require_engine()
    written = []
    for spec in specs:
        folder = out / spec.path
        folder.mkdir(parents=True, exist_ok=True)
        for name, text in game_files(spec).items():
            (folder / name).write_text(text, encoding="utf-8")
        check_walkthrough(folder / "game.tw-pddl", spec.walkthrough)
        written.append(folder / "game.tw-pddl")
    return written


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("out", nargs="?", type=Path, default=SAMPLE_DIR)
    args = parser.parse_args(argv)
    for path in write_games(args.out):
        print(f"wrote and won {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
