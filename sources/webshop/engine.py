"""The local WebShop: one session's page state machine over a shared catalogue and index.

Transitions follow WebShop's text environment (``SimServer.receive``): ``search[...]`` works
from any page and shows page 1 of the results; ``Back to Search`` returns to the search page;
``Next >``/``< Prev`` page through results (``Next >`` is on every results page, and past
the last one shows an empty page, as upstream); ``< Prev`` on an item page goes back to the
results, on a sub-page back to the item; a result's ASIN opens the item; an option value sets
that option; ``Description``/``Features``/``Reviews`` open sub-pages; ``Buy Now`` ends the
session with WebShop's reward. A click that is not on the current page changes nothing: here
it raises ``InvalidAction`` so the teacher reads why (the page text is in the message).
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from typing import Any

from trajkit.sources.webshop import pages
from trajkit.sources.webshop.catalog import Catalogue, Product
from trajkit.sources.webshop.reward import Goal, get_reward
from trajkit.sources.webshop.search import SearchIndex, page_of

#: Above this many products a search runs on a worker thread, off the event loop.
OFFLOAD_SEARCH_ABOVE = 20_000
#: ... and so does any search whose query is longer than this many characters.
OFFLOAD_QUERY_ABOVE = 2_000


class InvalidAction(ValueError):
    """An action the current page does not offer; the session is unchanged."""


@dataclass
class StepResult:
    """What one action produced: the new page text, and the reward once bought."""

    text: str
    done: bool = False
    reward: float = 0.0
    info: dict[str, Any] = field(default_factory=dict)


def invalid(action: str, why: str, page: pages.Page) -> InvalidAction:
    """The error for an action the page does not offer, naming what it does offer."""
    offered = ", ".join(page.clickables) or "nothing to click (use search)"
    return InvalidAction(
        f"{action} is not a valid action here: {why}. Nothing changed. "
        f"Clickable on this page: {offered}. Current page: {page.text}"
    )


class LocalShop:
    """A catalogue with its search index, shared read-only by every session."""

    def __init__(self, catalogue: Catalogue) -> None:
        self.catalogue = catalogue
        self.index = SearchIndex(catalogue.products)
        self.offload = len(catalogue.products) > OFFLOAD_SEARCH_ABOVE

    def session(self, goal: Goal) -> LocalSession:
        return LocalSession(self, goal)

    async def search(self, query: str) -> list[str]:
        """Off the event loop when the catalogue or the query is big enough to stall it (a
        teacher's code decides the query: a megabyte of it takes ~0.3 s to tokenise)."""
        if self.offload or len(query) > OFFLOAD_QUERY_ABOVE:
            return await asyncio.to_thread(self.index.search, query)
        return self.index.search(query)


class LocalSession:
    """One shopper's state: which page is shown and what it was reached with."""

    def __init__(self, shop: LocalShop, goal: Goal) -> None:
        self.shop, self.goal = shop, goal
        self.kind = "start"  # start | results | item | sub | done
        self.keywords = ""
        self.results: list[str] = []
        self.page_no = 1
        self.asin: str | None = None
        self.options: dict[str, str] = {}
        self.sub: str | None = None
        self.page = pages.start_page(goal.instruction_text)

    @property
    def instruction(self) -> str:
        return self.goal.instruction_text

    async def start(self) -> str:
        return self.page.text

    async def search(self, query: str) -> StepResult:
        keywords = " ".join(query.lower().split())
        if self.kind == "done":
            raise invalid(f"search[{query}]", "the purchase is finished", self.page)
        if not keywords:
            raise invalid(f"search[{query}]", "the query is empty", self.page)
        self.keywords = keywords
        self.results = await self.shop.search(keywords)
        self._show_results(1)
        return StepResult(self.page.text)

    async def click(self, target: str) -> StepResult:
        found = self.page.find(target)
        if found is None or self.kind == "done":
            raise invalid(f"click[{target}]", "no such button, link or option", self.page)
        if found == pages.BUY_NOW:
            return self._buy()
        if found == pages.BACK_TO_SEARCH:
            self.kind, self.keywords, self.results = "start", "", []
            self.asin, self.options, self.sub = None, {}, None
            self.page = pages.start_page(self.instruction)
        elif found == pages.NEXT:
            self._show_results(self.page_no + 1)
        elif found == pages.PREV and self.kind == "results":
            self._show_results(self.page_no - 1)
        elif found == pages.PREV and self.kind == "item":
            self._show_results(self.page_no)
        elif found == pages.PREV:  # from a sub-page
            self._show_item()
        elif found in pages.SUB_PAGES:
            self.kind, self.sub = "sub", found
            self.page = pages.sub_page(self.instruction, self._product(), found)
        elif self.kind == "results":
            self.asin, self.options = found, {}
            self._show_item()
        else:  # an option value on the item page
            owner = pages.option_owner(self._product(), found)
            assert owner is not None
            self.options[owner] = found
            self._show_item()
        return StepResult(self.page.text)

    def _product(self) -> Product:
        assert self.asin is not None
        return self.shop.catalogue.by_asin[self.asin]

    def _show_results(self, page_no: int) -> None:
        self.kind, self.page_no, self.asin, self.options = "results", page_no, None, {}
        shown = [self.shop.catalogue.by_asin[a] for a in page_of(self.results, page_no)]
        self.page = pages.results_page(self.instruction, shown, page_no, len(self.results))

    def _show_item(self) -> None:
        self.kind, self.sub = "item", None
        self.page = pages.item_page(self.instruction, self._product())

    def _buy(self) -> StepResult:
        product = self._product()
        reward = get_reward(product.purchase(), self.goal, product.price, self.options)
        self.kind = "done"
        self.page = pages.done_page(reward.total)
        info = reward.info() | {
            "asin": product.asin,
            "options": dict(self.options),
            "price": product.price,
            "goal_asin": self.goal.asin,
        }
        return StepResult(self.page.text, done=True, reward=reward.total, info=info)

    async def aclose(self) -> None:
        """Nothing to release: the catalogue and index belong to the shop."""
