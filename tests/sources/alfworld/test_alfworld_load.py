"""Loading ALFWorld games: the alfworld-download layout, split and type selection, seeded
sampling, bad data as one-line errors, and the missing extra as a one-line ConfigError.

Discovery needs no engine; building prompts (and the CLI) does."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from alfworld_helpers import require_engine, spec, task_id

from trajkit.core.errors import ConfigError, DataError
from trajkit.sources.alfworld import SAMPLE_DIR, AlfWorldSource, openings
from trajkit.sources.alfworld import engine as engine_mod
from trajkit.sources.alfworld.load import load_games
from trajkit.sources.base import LoadOptions

TRAIN_TYPES = [
    "pick_and_place_simple",
    "pick_heat_then_place_in_recep",
    "pick_cool_then_place_in_recep",
    "pick_clean_then_place_in_recep",
]


def _types(tasks) -> list[str]:
    return [t.metadata["type"] for t in tasks]


@pytest.fixture
def data(tmp_path: Path) -> Path:
    """A writable copy of the bundled games, laid out as alfworld-download leaves them."""
    root = tmp_path / "alfworld"
    shutil.copytree(SAMPLE_DIR / "json_2.1.1", root / "json_2.1.1")
    return root


def test_default_is_the_bundled_train_split_in_path_order() -> None:
    tasks, report = load_games(LoadOptions())
    assert sorted(_types(tasks)) == sorted(TRAIN_TYPES)
    assert [t.task_id for t in tasks] == sorted(t.task_id for t in tasks)
    assert all(t.task_id.startswith("train/") and t.source == "alfworld" for t in tasks)
    heat = next(t for t in tasks if t.metadata["type"] == "pick_heat_then_place_in_recep")
    assert heat.task_id == task_id(spec("pick_heat_then_place_in_recep"))
    assert heat.metadata["object"] == "Apple" and heat.metadata["receptacle"] == "DiningTable"
    # Relative to the data root: records are published, the root is this machine's path.
    assert not Path(heat.metadata["game_file"]).is_absolute()
    assert (SAMPLE_DIR / "json_2.1.1" / heat.metadata["game_file"]).is_file() and report.selected == 4


def test_splits_and_data_dir_forms(data: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    seen, _ = load_games(LoadOptions(data=str(data), split="valid_seen"))
    unseen, _ = load_games(LoadOptions(data=str(data / "json_2.1.1"), split="valid_unseen"))
    assert _types(seen) == ["look_at_obj_in_light"]
    assert [t.task_id for t in unseen] == [task_id(spec("pick_and_place_simple", "valid_unseen"))]
    monkeypatch.setenv("ALFWORLD_DATA", str(data))  # --data defaults to $ALFWORLD_DATA
    tasks, report = load_games(LoadOptions(split="train"))
    assert len(tasks) == 4 and report.origin == str(data / "json_2.1.1" / "train")
    with pytest.raises(ConfigError, match="--split: 'test' is not an ALFWorld split"):
        load_games(LoadOptions(split="test"))


def test_type_selection_by_full_name_or_short_name() -> None:
    heat, _ = load_games(LoadOptions(types=["pick_heat_then_place_in_recep"]))
    two, _ = load_games(LoadOptions(types=["cool,clean"]))
    assert _types(heat) == ["pick_heat_then_place_in_recep"]
    assert sorted(_types(two)) == [
        "pick_clean_then_place_in_recep",
        "pick_cool_then_place_in_recep",
    ]
    none, _ = load_games(LoadOptions(types=["look"]))  # only in valid_seen
    assert none == []
    with pytest.raises(ConfigError, match="--type: 'boil' is not an ALFWorld task type"):
        load_games(LoadOptions(types=["boil"]))
    with pytest.raises(ConfigError, match="--level"):
        load_games(LoadOptions(levels=["hard"]))


def test_seeded_sampling_is_repeatable_and_grows_as_a_superset() -> None:
    def ids(limit: int, seed: int) -> list[str]:
        return [t.task_id for t in load_games(LoadOptions(limit=limit, seed=seed))[0]]

    assert ids(2, 0) == ids(2, 0)
    assert len(ids(2, 0)) == 2 and len(ids(1, 0)) == 1
    assert set(ids(2, 0)) <= set(ids(3, 0))
    assert {tuple(ids(2, s)) for s in range(6)} != {tuple(ids(2, 0))}  # the seed matters


def test_unplayable_trials_are_skipped_and_counted(data: Path) -> None:
    train = data / "json_2.1.1" / "train"
    mug = train / spec("pick_and_place_simple").task_dir
    (next(mug.iterdir()) / "game.tw-pddl").unlink()
    moved = train / "pick_and_place_simple-Mug-None-Desk-301-movable"
    shutil.copytree(train / spec("pick_heat_then_place_in_recep").task_dir, moved)
    clean = next((train / spec("pick_clean_then_place_in_recep").task_dir).iterdir())
    game = json.loads((clean / "game.tw-pddl").read_text())
    (clean / "game.tw-pddl").write_text(json.dumps({**game, "solvable": False}))
    tasks, report = load_games(LoadOptions(data=str(data)))
    assert sorted(_types(tasks)) == [
        "pick_cool_then_place_in_recep",
        "pick_heat_then_place_in_recep",
    ]
    assert report.found == 5 and report.skipped == {
        "no game.tw-pddl": 1,
        "movable or sliced objects (unsupported)": 1,
        "marked unsolvable in game.tw-pddl": 1,
    }


@pytest.mark.parametrize(
    ("file", "content", "message"),
    [
        ("traj_data.json", '{"task_type": ', "traj_data.json:1: not valid JSON"),
        ("traj_data.json", '{"pddl_params": {}}', "traj_data.json: missing 'task_type'"),
        ("traj_data.json", "[1, 2]", "traj_data.json: expected a JSON object, got list"),
        (
            "game.tw-pddl",
            '{"grammar": "x", "pddl_domain": "y"}',
            "game.tw-pddl: missing 'pddl_problem'",
        ),
        ("game.tw-pddl", "\xff not json", "game.tw-pddl:1: not valid JSON"),
    ],
)
def test_bad_data_is_one_line_naming_the_file(
    data: Path, file: str, content: str, message: str
) -> None:
    trial = next((data / "json_2.1.1" / "train" / spec("pick_and_place_simple").task_dir).iterdir())
    (trial / file).write_text(content)
    with pytest.raises(DataError) as info:
        load_games(LoadOptions(data=str(data), types=["pick"]))
    text = str(info.value)
    assert "\n" not in text and str(trial / file) in text and message in text


def test_bad_data_dirs_are_one_line(tmp_path: Path) -> None:
    with pytest.raises(DataError, match="no such directory"):
        load_games(LoadOptions(data=str(tmp_path / "missing")))
    with pytest.raises(DataError, match=r"no json_2\.1\.1/ or split folders"):
        load_games(LoadOptions(data=str(tmp_path)))
    (tmp_path / "json_2.1.1" / "valid_seen").mkdir(parents=True)
    with pytest.raises(DataError, match="train: no such split folder"):
        load_games(LoadOptions(data=str(tmp_path)))


def test_source_prompts_hold_the_opening_observation() -> None:
    require_engine()
    tasks = AlfWorldSource().load(LoadOptions(types=["heat"]))
    (task,) = tasks
    assert task.prompt.startswith("Interact with a household to solve a task.\nYou are in the")
    assert "a microwave 1" in task.prompt and "Welcome to TextWorld" not in task.prompt
    assert "Your task is to: put a hot apple in diningtable." in task.prompt
    assert "take_from(obj, recep)" in task.prompt and os.environ.get("ALFWORLD_DATA") is None


def test_openings_are_cached_by_game_content(
    data: Path, private_cache: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    require_engine()
    first = AlfWorldSource().load(LoadOptions(data=str(data)))
    assert len(list(private_cache.glob("*.txt"))) == 4

    def no_engine(path: Path) -> None:
        raise AssertionError(f"engine started for {path}")

    monkeypatch.setattr(openings, "open_game", no_engine)
    again = AlfWorldSource().load(LoadOptions(data=str(data)))
    assert [t.prompt for t in again] == [t.prompt for t in first]
    with pytest.raises(AssertionError, match="engine started"):  # cache=none always starts it
        AlfWorldSource.from_options({"cache": "none"}).load(LoadOptions(data=str(data)))
    trial = next((data / "json_2.1.1" / "train" / spec("pick_and_place_simple").task_dir).iterdir())
    game = json.loads((trial / "game.tw-pddl").read_text())
    game["grammar"] = game["grammar"].replace("put a mug in desk", "put some mug on desk")
    (trial / "game.tw-pddl").write_text(json.dumps(game))
    with pytest.raises(AssertionError, match="engine started"):  # a changed game is re-read
        AlfWorldSource().load(LoadOptions(data=str(data), types=["pick"]))


def test_missing_extra_is_a_one_line_config_error(monkeypatch: pytest.MonkeyPatch) -> None:
    real = engine_mod.importlib.import_module

    def no_textworld(name: str, *args: object):
        if name.split(".")[0] == "textworld":
            raise ImportError(f"No module named {name!r}", name=name)
        return real(name, *args)

    monkeypatch.setattr(engine_mod.importlib, "import_module", no_textworld)
    with pytest.raises(ConfigError, match=r"pip install 'trajkit\[alfworld\]'"):
        AlfWorldSource().load(LoadOptions())
    assert AlfWorldSource.demo_unavailable() == "engine not installed (pip install 'trajkit[alfworld]')"


def test_cli_without_the_extra_exits_2_with_the_install_hint(tmp_path: Path) -> None:
    """A ``textworld`` that cannot be imported stands in for a machine without the extra."""
    fake = tmp_path / "fake" / "textworld"
    fake.mkdir(parents=True)
    (fake / "__init__.py").write_text(
        "raise ImportError(\"No module named 'textworld'\", name='textworld')\n"
    )
    env = {**os.environ, "PYTHONPATH": str(tmp_path / "fake")}
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "trajkit.cli",
            "collect",
            "alfworld",
            "--teacher",
            "openai:m",
            "--out",
            str(tmp_path / "out"),
        ],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 2, proc.stderr
    lines = [line for line in proc.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and "pip install 'trajkit[alfworld]'" in lines[0], proc.stderr


def test_source_options_are_checked_up_front(tmp_path: Path) -> None:
    opts = AlfWorldSource.from_options({"max_steps": "12", "cache": str(tmp_path)}).options
    assert opts.max_steps == 12 and opts.cache == tmp_path
    assert AlfWorldSource.from_options({"cache": "none"}).options.cache is None
    for bad in ("0", "10001", "1" * 5000):  # 5,000 digits: past int()'s own limit
        with pytest.raises(ConfigError, match=r"max_steps='1*0*1*': expected a whole number from 1 to 10,000"):
            AlfWorldSource.from_options({"max_steps": bad})
    with pytest.raises(ConfigError, match="--source-opt search: unknown ALFWorld option"):
        AlfWorldSource.from_options({"search": "x"})
