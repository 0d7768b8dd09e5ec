"""The ALFWorld source (Shridhar et al., 2021): household tasks played in the real text engine.

Games come from ``--data DIR`` (default ``$ALFWORLD_DATA``, else the bundled sample) in the
layout ``alfworld-download`` leaves, ``--split train|valid_seen|valid_unseen``, ``--type`` for
task types. Each episode opens its own game; the teacher's code acts through household tools
(``goto``, ``take_from``, ``put``, ...) and the episode ends, mid-cell, when the game is won
or its step cap is reached. Needs the ``alfworld`` extra: ``pip install 'trajkit[alfworld]'``.

``--source-opt`` keys: ``max_steps``, ``cache`` (see ``AlfWorldOptions``).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path

from trajkit.core.demonstration import Demonstration
from trajkit.core.tools import Tool
from trajkit.schemas import Task, Verdict
from trajkit.sources.alfworld.demonstration import DEMONSTRATION
from trajkit.sources.alfworld.engine import INSTALL_HINT, engine_available, require_engine
from trajkit.sources.alfworld.env import AlfWorldEnv
from trajkit.sources.alfworld.load import (
    DEMO_REPLAY,
    SAMPLE_DIR,
    SPLITS,
    TASK_TYPES,
    LoadReport,
    data_root,
    game_path,
    load_games,
)
from trajkit.sources.alfworld.openings import opening
from trajkit.sources.alfworld.options import AlfWorldOptions
from trajkit.sources.alfworld.prompt import build_prompt
from trajkit.sources.alfworld.report import AlfWorldReport
from trajkit.sources.base import LoadOptions, SourceRuntime

__all__ = [
    "DEMO_REPLAY",
    "INSTALL_HINT",
    "SAMPLE_DIR",
    "SPLITS",
    "TASK_TYPES",
    "AlfWorldEnv",
    "AlfWorldOptions",
    "AlfWorldSource",
    "LoadReport",
    "engine_available",
]


class AlfWorldSource(AlfWorldReport):
    """ALFWorld as an interactive trajkit source: one fresh game per episode."""

    name = "alfworld"
    options_model = AlfWorldOptions
    demo_replay = DEMO_REPLAY
    typical_episode = (8.0, 200.0, 120.0)  # turns, output and observation tokens per turn

    def demonstration(self) -> Demonstration:
        """The in-context example episode (``--shots 1``): ``demonstration.py``."""
        return DEMONSTRATION

    def __init__(self, options: AlfWorldOptions | None = None) -> None:
        self.options = options or AlfWorldOptions()
        self.last_report: LoadReport | None = None
        self.root: Path | None = None  # where the games are: set by load() and attach()

    @classmethod
    def from_options(cls, raw: Mapping[str, str]) -> AlfWorldSource:
        """Build from ``--source-opt KEY=VALUE`` pairs; bad ones are one-line ConfigErrors."""
        return cls(AlfWorldOptions.parse(raw))

    def load(self, options: LoadOptions) -> list[Task]:
        """Select games (split, ``--type``, seeded ``--limit``) and phrase each as a task whose
        prompt holds the game's opening observation. Without the extra: a one-line
        ConfigError naming ``pip install 'trajkit[alfworld]'``, before anything is read."""
        require_engine()
        self.root = data_root(options.data)
        tasks, self.last_report = load_games(options)
        cache = self.options.cache
        return [
            task.model_copy(update={"prompt": build_prompt(opening(self.game_file(task), cache))})
            for task in tasks
        ]

    def attach(self, runtime: SourceRuntime) -> None:
        """Know where the games are (a Ray worker plays tasks it did not load)."""
        self.root = data_root(runtime.load.data)

    def game_file(self, task: Task) -> Path:
        """``task``'s game file on this machine (records name it relative to the data root)."""
        return game_path(task, self.root if self.root is not None else data_root(None))

    def tools(self, task: Task) -> Sequence[Tool]:
        """The tools act on one episode's game, so they come from ``open_env(task).tools()``."""
        raise TypeError("alfworld is interactive: its tools come from open_env(task).tools()")

    async def open_env(self, task: Task) -> AlfWorldEnv:
        """A fresh game for one episode; concurrent episodes never share one."""
        details = {
            "type": task.metadata.get("type"),
            "game": task.task_id,
            "max_steps": self.options.max_steps,
        }
        return await AlfWorldEnv.open(
            self.game_file(task), max_steps=self.options.max_steps, details=details
        )

    @classmethod
    def demo_unavailable(cls) -> str | None:
        """Why ``trajkit demo`` must skip this source here (the extra is missing), else None."""
        return None if engine_available() is None else f"engine not installed ({INSTALL_HINT})"

    async def judge(self, task: Task, answer: str) -> Verdict:
        """Only a game can say whether its task is done; without one nothing is solved."""
        return Verdict(
            success=False, score=0.0, details={"reason": "alfworld is judged by its game"}
        )

