"""The ALFWorld engine: the real ``alfworld`` + ``textworld[pddl]`` packages, one game per episode.

A game is started the way ``alfworld``'s ``AlfredTWEnv`` starts one (``textworld.start`` on a
``game.tw-pddl`` with the ``AlfredDemangler`` and ``AlfredInfos`` wrappers, requesting ``won``
and ``admissible_commands``), minus the gym batch layer: each episode owns its game.

Every engine call holds ``ENGINE_LOCK``. Each game loads its own copy of fast-downward's
library, but textworld parses every feedback text with one module-level tatsu parser and the
PDDL translator keeps module state, neither safe across threads. Callers run engine work in a
thread (``asyncio.to_thread``) so the event loop, and every other episode's teacher call and
sandbox, keep going while one game steps.
"""

from __future__ import annotations

import importlib
import os
import re
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from trajkit.core.errors import ConfigError, DataError

INSTALL_HINT = "pip install 'trajkit[alfworld]'"
ENGINE_LOCK = threading.Lock()

#: Tool name → (grammar action, its template in alfworld 0.4.x). The template actually used
#: comes from the loaded game's own grammar, so older data (``put {o} in/on {r}``) works too.
ACTIONS: dict[str, tuple[str, str]] = {
    "goto": ("GotoLocation", "go to {r}"),
    "take_from": ("PickupObject", "take {o} from {r}"),
    "put": ("PutObject", "move {o} to {r}"),
    "open_receptacle": ("OpenObject", "open {r}"),
    "close_receptacle": ("CloseObject", "close {r}"),
    "toggle": ("ToggleObject", "use {o}"),
    "use": ("ToggleObject", "use {o}"),
    "clean": ("CleanObject", "clean {o} with {r}"),
    "heat": ("HeatObject", "heat {o} with {r}"),
    "cool": ("CoolObject", "cool {o} with {r}"),
    "look": ("look", "look"),
}

_ACTION_RE = re.compile(r'action\s+(\w+)\s*\{\s*template\s*::\s*"([^"]*)"')
# A slot is a ``{var}`` or a bracketed grammar expression such as ``[{r.name | ...}]``.
_SLOT_RE = re.compile(r"\[[^\]]*\]|\{[^}]*\}")
_HEADER_RE = re.compile(r"^-= .* =-\s*$")


def _import_engine() -> tuple[Any, Any, Any, Any]:
    """(textworld, fast_downward, AlfredDemangler, AlfredInfos), or a one-line ConfigError.

    Importing ``alfworld`` sets ``$ALFWORLD_DATA`` to its cache folder when unset; that is
    undone, so ``--data``'s default stays what the user exported.
    """
    before = os.environ.get("ALFWORLD_DATA")
    try:
        textworld = importlib.import_module("textworld")
        fast_downward = importlib.import_module("fast_downward")
        importlib.import_module("textworld.envs.pddl")
        tw_env = importlib.import_module("alfworld.agents.environment.alfred_tw_env")
    except ImportError as exc:
        missing = exc.name or str(exc)
        raise ConfigError(
            f"alfworld: the ALFWorld engine is not installed ({missing} missing): {INSTALL_HINT}"
        ) from None
    finally:
        if before is None:
            os.environ.pop("ALFWORLD_DATA", None)
    return textworld, fast_downward, tw_env.AlfredDemangler, tw_env.AlfredInfos


def engine_available() -> str | None:
    """None if the engine imports, else the one-line reason (for skips and the demo)."""
    try:
        _import_engine()
    except ConfigError as exc:
        return str(exc)
    return None


def require_engine() -> None:
    """Raise the one-line ConfigError naming the extra when the engine is missing."""
    _import_engine()


def command_templates(grammar: str) -> dict[str, str]:
    """Tool name → command template, read from a game's grammar (0.4.x defaults otherwise)."""
    found = dict(_ACTION_RE.findall(grammar))
    return {tool: found.get(action, default) for tool, (action, default) in ACTIONS.items()}


def format_command(template: str, args: tuple[str, ...]) -> str:
    """Fill a template's slots in order: ``format_command("put {o} in/on {r}", ("a 1", "b 1"))``."""
    slots = _SLOT_RE.findall(template)
    if len(slots) != len(args):
        raise ValueError(f"template {template!r} takes {len(slots)} argument(s), got {len(args)}")
    parts = _SLOT_RE.split(template)
    out = [parts[0]]
    for arg, tail in zip(args, parts[1:], strict=True):
        out += [arg, tail]
    return "".join(out)


def initial_observation(feedback: str) -> str:
    """The reset text without TextWorld's banner, joined as in CodeAct's ALFWorld prompt."""
    blocks = [b.strip() for b in feedback.strip().split("\n\n") if b.strip()]
    if blocks and _HEADER_RE.match(blocks[0]):
        blocks = blocks[1:]
    return "\n".join(blocks)


@dataclass
class StepResult:
    """What one command did: the engine's text and whether the game is now won."""

    feedback: str
    won: bool


class Game:
    """One running ALFWorld game. Not thread-safe by itself: call it under ``ENGINE_LOCK``."""

    def __init__(self, game_file: Path) -> None:
        textworld, _, demangler, infos_wrapper = _import_engine()
        request = textworld.EnvInfos(won=True, admissible_commands=True, extras=["gamefile"])
        try:
            self._env = textworld.start(
                str(game_file),
                request_infos=request,
                wrappers=[demangler(shuffle=False), infos_wrapper],
            )
            state = self._env.reset()
        except (Exception, SystemExit) as exc:  # fast-downward's translator may sys.exit()
            first = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
            raise DataError(f"{game_file}: the engine cannot load this game ({first})") from None
        self.game_file = game_file
        self.templates = command_templates(str(self._env._game_data.get("grammar", "")))
        self.intro = str(state.feedback)
        self.admissible: list[str] = list(state["admissible_commands"] or [])
        self.won = bool(state["won"])
        self.closed = False

    def step(self, command: str) -> StepResult:
        """Run one command; an inadmissible one is answered "Nothing happens." by the engine.

        A step that reaches the engine after ``close`` (its episode was cancelled while the
        step waited for the lock) is refused: the planner's state is already freed.
        """
        if self.closed:
            raise RuntimeError("the game is closed")
        state, _, _ = self._env.step(command)
        self.admissible = list(state["admissible_commands"] or [])
        self.won = bool(state["won"])
        return StepResult(str(state.feedback), self.won)

    def close(self) -> None:
        """Free the planner's state for this game.

        The game's private copy of the planner library stays mapped (about 1 MB resident per
        finished game): unloading it with ``fast_downward.close_lib`` makes the interpreter
        crash at exit once several copies were unloaded.
        """
        if self.closed:
            return
        self.closed = True
        lib = getattr(self._env, "downward_lib", None)
        self._env.close()
        if lib is not None:
            lib.cleanup()


def open_game(game_file: Path) -> Game:
    """Start ``game_file`` under the engine lock (blocking: run it in a thread)."""
    with ENGINE_LOCK:
        return Game(game_file)


def step_game(game: Game, command: str) -> StepResult:
    """One command under the engine lock (blocking: run it in a thread)."""
    with ENGINE_LOCK:
        return game.step(command)


def close_game(game: Game) -> None:
    """Close under the engine lock (blocking: run it in a thread)."""
    with ENGINE_LOCK:
        game.close()
