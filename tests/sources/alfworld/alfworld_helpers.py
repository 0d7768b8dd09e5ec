"""ALFWorld test helpers: the engine requirement (skip on a laptop, failure in CI) and game
shortcuts shared by the test modules."""

from __future__ import annotations

from pathlib import Path

from support import require

from trajkit.sources.alfworld import SAMPLE_DIR, engine_available
from trajkit.sources.alfworld.sample_games import SPECS, GameSpec


def require_engine() -> None:
    """Skip (or, with TRAJKIT_REQUIRE_ALL=1, fail) without the ``alfworld`` extra."""
    reason = engine_available()
    require(reason is None, f"ALFWorld engine unavailable: {reason}")


def spec(task_type: str, split: str = "train") -> GameSpec:
    return next(s for s in SPECS if s.task_type == task_type and s.split == split)


def game_file(s: GameSpec, root: Path = SAMPLE_DIR) -> Path:
    return root / s.path / "game.tw-pddl"


def task_id(s: GameSpec) -> str:
    return f"{s.split}/{s.task_dir}/{s.trial}"
