"""One ALFWorld episode: its game, the household tools the teacher's code calls, its outcome.

Each tool turns into one command in the loaded game's own wording and returns the engine's
text ("Nothing happens." for a command the game does not admit). The episode ends inside the
running cell, by ``EndEpisode``, the moment the game reports ``won`` (success) or when the
per-episode cap on environment steps is reached (``env_ended``): a ``while`` loop in one cell
cannot play on. Engine work runs in a thread, so concurrent episodes keep moving.
"""

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from pathlib import Path

from trajkit.core.tools import EndEpisode, Tool
from trajkit.schemas import Verdict
from trajkit.sources.alfworld.engine import (
    Game,
    close_game,
    format_command,
    open_game,
    step_game,
)

WON_TEXT = "The task is complete."


def _normalize(value: object) -> str:
    """Names as the game spells them: lower case, single spaces ("Apple  1" → "apple 1")."""
    return " ".join(str(value).split()).lower()


class AlfWorldEnv:
    """Host-side state of one ALFWorld episode (see ``trajkit.sources.base.EpisodeEnv``)."""

    def __init__(self, game: Game, *, max_steps: int, details: dict[str, object]) -> None:
        self._game = game
        self.max_steps = max_steps
        self.steps = 0
        self.commands: list[str] = []
        self._details = details
        self._outcome: Verdict | None = None
        self._lock = asyncio.Lock()  # one command at a time, in the order the cell issued them
        self._closed = False
        self._tools = [Tool.from_function(fn) for fn in household_tools(self.act)]

    @classmethod
    async def open(
        cls, game_file: Path, *, max_steps: int, details: dict[str, object]
    ) -> "AlfWorldEnv":
        """Start a fresh game for one episode (in a thread: loading runs the PDDL translator)."""
        game = await asyncio.to_thread(open_game, game_file)
        return cls(game, max_steps=max_steps, details=details)

    @property
    def outcome(self) -> Verdict | None:
        return self._outcome

    @property
    def intro(self) -> str:
        return self._game.intro

    @property
    def templates(self) -> dict[str, str]:
        return self._game.templates

    def tools(self) -> Sequence[Tool]:
        return self._tools

    def _verdict(self, won: bool, reason: str) -> Verdict:
        details = {**self._details, "won": won, "env_steps": self.steps, "reason": reason}
        return Verdict(success=won, score=1.0 if won else 0.0, details=details)

    async def act(self, tool: str, *args: object) -> str:
        """Run one tool call as a game command; raise ``EndEpisode`` when the game ends."""
        command = format_command(self._game.templates[tool], tuple(_normalize(a) for a in args))
        async with self._lock:
            if self._outcome is not None:
                raise EndEpisode("The episode is over.")
            result = await asyncio.to_thread(step_game, self._game, command)
            self.steps += 1
            self.commands.append(command)
            if result.won:
                self._outcome = self._verdict(True, "won")
                raise EndEpisode(f"{result.feedback}\n{WON_TEXT}")
            if self.steps >= self.max_steps:
                self._outcome = self._verdict(False, "step cap")
                raise EndEpisode(
                    f"{result.feedback}\nStep limit reached ({self.max_steps} actions): "
                    "the episode is over."
                )
            return result.feedback

    async def judge(self, answer: str) -> Verdict:
        """ALFWorld has no answer to check: only the game decides, so a ``<solution>`` before
        the game is won is wrong (and a won game has already ended the episode)."""
        won = self._game.won
        return self._verdict(won, "won" if won else "solution before the task was done")

    async def aclose(self) -> None:
        """Free the game; a step still waiting in its thread is then refused, not run."""
        if not self._closed:
            self._closed = True
            await asyncio.to_thread(close_game, self._game)


def household_tools(act: Callable[..., Awaitable[str]]) -> list[Callable[..., Awaitable[str]]]:
    """The household tools, in the order the prompt lists them, each a thin call of ``act``.

    They are real functions with real parameters, so a wrong call fails the way Python does
    ("heat() missing 1 required positional argument: 'recep'") and the teacher can fix it.
    """

    async def goto(recep: str) -> str:
        """Go to a receptacle, e.g. goto("countertop 1"); returns what you see there."""
        return await act("goto", recep)

    async def take_from(obj: str, recep: str) -> str:
        """Pick up an object where you are, e.g. take_from("apple 1", "countertop 1")."""
        return await act("take_from", obj, recep)

    async def put(obj: str, recep: str) -> str:
        """Put the object you hold in/on the receptacle you are at: put("apple 1", "fridge 1")."""
        return await act("put", obj, recep)

    async def open_receptacle(recep: str) -> str:
        """Open a receptacle you are at, e.g. open_receptacle("fridge 1")."""
        return await act("open_receptacle", recep)

    async def close_receptacle(recep: str) -> str:
        """Close a receptacle you are at."""
        return await act("close_receptacle", recep)

    async def toggle(obj_or_recep: str) -> str:
        """Turn something you are at on or off, e.g. toggle("desklamp 1")."""
        return await act("toggle", obj_or_recep)

    async def clean(obj: str, recep: str) -> str:
        """Clean the object you hold with a receptacle, e.g. clean("plate 1", "sinkbasin 1")."""
        return await act("clean", obj, recep)

    async def heat(obj: str, recep: str) -> str:
        """Heat the object you hold with a receptacle, e.g. heat("apple 1", "microwave 1")."""
        return await act("heat", obj, recep)

    async def cool(obj: str, recep: str) -> str:
        """Cool the object you hold with a receptacle, e.g. cool("apple 1", "fridge 1")."""
        return await act("cool", obj, recep)

    async def use(obj: str) -> str:
        """Use an object you are at, e.g. use("desklamp 1")."""
        return await act("use", obj)

    async def look() -> str:
        """Look around where you are."""
        return await act("look")

    tools: list[Callable[..., Awaitable[str]]] = [
        goto,
        take_from,
        put,
        open_receptacle,
        close_receptacle,
        toggle,
        clean,
        heat,
        cool,
        use,
        look,
    ]
    for fn in tools:
        fn.__qualname__ = fn.__name__
    return tools
