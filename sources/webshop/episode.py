"""One WebShop episode as an ``EpisodeEnv``: ``search``/``click`` tools over one session.

The session is a local one (``engine.LocalSession``) or a real server's (``server``); either
answers an action with the next page's text and, at ``Buy Now``, the reward. This module adds
what the collector needs around it: the tools the sandbox calls, the end of the episode at the
purchase (``EndEpisode``, with ``outcome`` = reward ≥ threshold), and a cap on actions so a
loop in the teacher's code cannot shop forever.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from typing import Protocol

from trajkit.core.tools import EndEpisode, Tool
from trajkit.schemas import Verdict
from trajkit.sources.webshop.engine import StepResult

SEARCH_DOC = (
    "Type `query` into the shop's search box (from any page) and return the text of page 1 "
    "of the results: 10 products per page, 50 at most."
)
CLICK_DOC = (
    "Click something shown on the current page and return the new page's text: a product ID "
    "from the results, an option value (e.g. a size or colour), 'Description', 'Features', "
    "'Reviews', 'Back to Search', '< Prev', 'Next >', or 'Buy Now', which buys the product "
    "with the options chosen and ends the episode."
)
#: Characters of one action's argument kept in the verdict's ``actions`` list: the list says
#: what the teacher did, and an argument is teacher-chosen text of any size.
ACTION_CHARS = 200

NO_PURCHASE = (
    "a WebShop episode is scored by its purchase: click('Buy Now') on the product page "
    "instead of answering"
)


class ShopSession(Protocol):
    """One shopper on one goal (local engine or a WebShop server)."""

    @property
    def instruction(self) -> str: ...

    async def start(self) -> str: ...

    async def search(self, query: str) -> StepResult: ...

    async def click(self, target: str) -> StepResult: ...

    async def aclose(self) -> None: ...


class WebShopEnv:
    """The environment of one episode; its tools act on its own session only."""

    def __init__(self, session: ShopSession, *, max_steps: int, success_threshold: float) -> None:
        self.session = session
        self.max_steps = max_steps
        self.success_threshold = success_threshold
        self.steps = 0
        self.actions: list[str] = []
        self._outcome: Verdict | None = None

    @property
    def outcome(self) -> Verdict | None:
        return self._outcome

    def tools(self) -> Sequence[Tool]:
        async def search(query: str) -> str:
            return await self._act(f"search[{query}]", self.session.search, query)

        async def click(target: str) -> str:
            return await self._act(f"click[{target}]", self.session.click, target)

        return [
            Tool("search", search, "search(query: str) -> str", SEARCH_DOC),
            Tool("click", click, "click(target: str) -> str", CLICK_DOC),
        ]

    async def _act(
        self, action: str, step: Callable[[str], Awaitable[StepResult]], arg: str
    ) -> str:
        if not isinstance(arg, str):
            raise TypeError(f"{action.split('[')[0]}() takes a string, got {type(arg).__name__}")
        if self._outcome is not None:
            raise EndEpisode("The episode is over.")
        if self.steps >= self.max_steps:
            self._outcome = Verdict(
                success=False,
                score=0.0,
                details={"reason": "step cap", "steps": self.steps, "max_steps": self.max_steps},
            )
            raise EndEpisode(
                f"Step limit reached: {self.max_steps} actions without buying. The episode is over."
            )
        self.steps += 1
        self.actions.append(_bounded(action))
        result: StepResult = await step(arg)
        if result.done:
            self._outcome = Verdict(
                success=result.reward >= self.success_threshold - 1e-9,
                score=result.reward,
                details={**result.info, "steps": self.steps, "actions": list(self.actions)},
            )
            raise EndEpisode(result.text)
        return result.text

    async def judge(self, answer: str) -> Verdict:
        """A ``<solution>`` buys nothing: only ``Buy Now`` scores a WebShop episode."""
        return Verdict(success=False, score=0.0, details={"reason": NO_PURCHASE})

    async def aclose(self) -> None:
        await self.session.aclose()


def _bounded(action: str) -> str:
    """``action`` as the verdict records it: at most ``ACTION_CHARS`` characters of argument."""
    if len(action) <= ACTION_CHARS + 20:
        return action
    name, _, arg = action.partition("[")
    return f"{name}[{arg[:ACTION_CHARS]}…(+{len(arg) - ACTION_CHARS - 1:,} chars)]"
