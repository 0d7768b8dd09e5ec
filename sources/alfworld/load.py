"""Finding ALFWorld games laid out as ``alfworld-download`` leaves them, and selecting tasks.

``DIR/json_2.1.1/{train,valid_seen,valid_unseen}/<task>/<trial>/`` holds ``traj_data.json``
and ``game.tw-pddl``. Discovery and selection read directory names only (the task type is the
task folder's prefix, as in ALFRED), so sampling 50 of 3,553 training games never opens the
other 3,503 ``traj_data.json`` files; only the selected games are read and checked. This module
needs no engine: the source adds each task's opening observation afterwards.
"""

from __future__ import annotations

import json
import logging
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from trajkit.core.errors import ConfigError, DataError
from trajkit.core.jsonl import parse_json
from trajkit.schemas import Task
from trajkit.sources.base import LoadOptions
from trajkit.sources.sampling import sample_tasks

logger = logging.getLogger(__name__)

SAMPLE_DIR = Path(__file__).parent / "samples"
#: Hand-written CodeAct turns for the bundled training games (replay teacher, offline demo).
DEMO_REPLAY = SAMPLE_DIR / "alfworld_demo_replay.jsonl"
DATA_SUBDIR = "json_2.1.1"
SPLITS = ("train", "valid_seen", "valid_unseen")
TASK_TYPES = (
    "pick_and_place_simple",
    "look_at_obj_in_light",
    "pick_clean_then_place_in_recep",
    "pick_heat_then_place_in_recep",
    "pick_cool_then_place_in_recep",
    "pick_two_obj_and_place",
)
#: Short names accepted by ``--type`` (the prefixes CodeAct/MINT use for ALFWorld).
TYPE_ALIASES = {
    "pick": "pick_and_place_simple",
    "look": "look_at_obj_in_light",
    "clean": "pick_clean_then_place_in_recep",
    "heat": "pick_heat_then_place_in_recep",
    "cool": "pick_cool_then_place_in_recep",
    "puttwo": "pick_two_obj_and_place",
    "pick_two": "pick_two_obj_and_place",
}
GAME_KEYS = ("pddl_domain", "pddl_problem", "grammar")


@dataclass
class LoadReport:
    """What a load did, so the CLI can say why fewer games came back than expected."""

    origin: str
    found: int = 0
    skipped: dict[str, int] = field(default_factory=dict)
    selected: int = 0

    def skip(self, reason: str) -> None:
        self.skipped[reason] = self.skipped.get(reason, 0) + 1


def data_root(data: str | None) -> Path:
    """The folder holding the split folders: ``--data``, else ``$ALFWORLD_DATA``, else the
    bundled sample; ``DIR`` may be the download root (with ``json_2.1.1/``) or that folder."""
    raw = data or os.environ.get("ALFWORLD_DATA") or str(SAMPLE_DIR)
    root = Path(raw).expanduser()
    if not root.exists():
        raise DataError(f"{root}: no such directory (expected alfworld-download's data folder)")
    if not root.is_dir():
        raise DataError(f"{root}: is not a directory (expected alfworld-download's data folder)")
    if (root / DATA_SUBDIR).is_dir():
        return root / DATA_SUBDIR
    if any((root / split).is_dir() for split in SPLITS):
        return root
    raise DataError(
        f"{root}: no {DATA_SUBDIR}/ or split folders ({', '.join(SPLITS)}) inside; "
        "expected the layout alfworld-download leaves"
    )


def parse_split(split: str | None) -> str:
    """``--split``, default ``train`` (training data is not made from evaluation games)."""
    value = (split or "train").strip().lower()
    if value not in SPLITS:
        raise ConfigError(f"--split: {split!r} is not an ALFWorld split ({', '.join(SPLITS)})")
    return value


def parse_types(raw: list[str]) -> set[str]:
    """``--type`` values (full task types or their short names, comma-separable) → types."""
    wanted: set[str] = set()
    for item in raw:
        for part in item.split(","):
            name = part.strip().lower().replace("-", "_")
            if not name:
                continue
            full = TYPE_ALIASES.get(name, name)
            if full not in TASK_TYPES:
                known = ", ".join([*TASK_TYPES, *TYPE_ALIASES])
                raise ConfigError(
                    f"--type: {part.strip()!r} is not an ALFWorld task type ({known})"
                )
            wanted.add(full)
    return wanted


def task_type_of(task_dir: str) -> str:
    """ALFRED names task folders ``<type>-<object>-<mrecep>-<parent>-<scene>``."""
    return task_dir.split("-", 1)[0]


def discover(root: Path, split: str, report: LoadReport) -> list[Task]:
    """One placeholder task per playable trial of ``split``, in path order (no file is read).

    Like ``alfworld``'s own loader, trials with movable or sliced objects are skipped
    (unsupported by the text engine), and so are trials without a ``game.tw-pddl``.
    """
    split_dir = root / split
    if not split_dir.is_dir():
        raise DataError(f"{split_dir}: no such split folder")
    tasks: list[Task] = []
    for trial in sorted(split_dir.glob("*/*/traj_data.json")):
        trial_dir = trial.parent
        report.found += 1
        task_dir = trial_dir.parent.name
        if "movable" in task_dir or "Sliced" in task_dir:
            report.skip("movable or sliced objects (unsupported)")
            continue
        game_file = trial_dir / "game.tw-pddl"
        if not game_file.is_file():
            report.skip("no game.tw-pddl")
            continue
        tasks.append(
            Task(
                source="alfworld",
                task_id=f"{split}/{task_dir}/{trial_dir.name}",
                prompt="",
                metadata={
                    "type": task_type_of(task_dir),
                    "split": split,
                    # Relative to the data root: records are published, and the root is a
                    # path on the collecting machine (``game_path`` resolves it again).
                    "game_file": game_file.relative_to(root).as_posix(),
                },
            )
        )
    return tasks


def _read_json_object(path: Path) -> dict[str, Any]:
    try:
        obj = parse_json(path.read_text(encoding="utf-8"))
    except UnicodeDecodeError as exc:
        raise DataError(f"{path}: not UTF-8 text ({exc.reason})") from None
    except json.JSONDecodeError as exc:
        raise DataError(f"{path}:{exc.lineno}: not valid JSON ({exc.msg})") from None
    except OSError as exc:
        raise DataError(f"{path}: cannot read ({exc.strerror})") from None
    if not isinstance(obj, dict):
        raise DataError(f"{path}: expected a JSON object, got {type(obj).__name__}")
    return obj


def game_path(task: Task, root: Path) -> Path:
    """Where ``task``'s game file is on this machine: its ``game_file`` (relative to the data
    root; absolute in records written before) resolved against ``root``."""
    return root / str(task.metadata["game_file"])


def read_trial(task: Task, root: Path) -> Task | None:
    """Check a selected trial's two files and fill in its goal; None if marked unsolvable."""
    game_file = game_path(task, root)
    traj_path = game_file.parent / "traj_data.json"
    traj = _read_json_object(traj_path)
    task_type = traj.get("task_type")
    if not isinstance(task_type, str) or not task_type:
        raise DataError(f"{traj_path}: missing 'task_type'")
    game = _read_json_object(game_file)
    for key in GAME_KEYS:
        if not isinstance(game.get(key), str) or not game[key].strip():
            raise DataError(f"{game_file}: missing {key!r} (not a game.tw-pddl file)")
    if game.get("solvable") is False:
        return None
    found = traj.get("pddl_params")
    params: dict[str, Any] = found if isinstance(found, dict) else {}
    metadata = {
        **task.metadata,
        "type": task_type,
        "object": params.get("object_target"),
        "receptacle": params.get("parent_target"),
    }
    return task.model_copy(update={"metadata": metadata})


def load_games(options: LoadOptions) -> tuple[list[Task], LoadReport]:
    """Discover, select by ``--type``, sample ``--limit`` with ``--seed``, then read the
    selected trials. Prompts are left empty for the source to fill from the engine."""
    if options.hf:
        raise ConfigError("--hf: ALFWorld games come from a local folder; use --data DIR")
    if options.levels:
        raise ConfigError("--level: ALFWorld games have no levels; select with --type")
    split = parse_split(options.split)
    wanted = parse_types(options.types)
    root = data_root(options.data)
    report = LoadReport(origin=str(root / split))
    tasks = discover(root, split, report)
    if wanted:
        tasks = [t for t in tasks if t.metadata["type"] in wanted]
    chosen: list[Task] = []
    for task in sample_tasks(tasks, options.limit, options.seed):
        full = read_trial(task, root)
        if full is None:
            report.skip("marked unsolvable in game.tw-pddl")
        else:
            chosen.append(full)
    if report.skipped:
        detail = ", ".join(f"{n} {why}" for why, n in report.skipped.items())
        logger.warning("alfworld: skipped %s (%s)", detail, report.origin)
    report.selected = len(chosen)
    return chosen, report
