"""WebShop's pages in its ``text`` observation mode: visible strings joined by ``[SEP]``.

Each function returns what WebShop's text environment shows for one page of the released site
(search page, results, item page, its Description/Features/Reviews sub-pages, the done page)
and the page's clickables, lower-cased as the environment matches them. The server backend
derives the same text from a real server's HTML (``server.html_to_text``), so both backends
show the teacher the same observations.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from trajkit.sources.webshop.catalog import Product

SEP = " [SEP] "
BACK_TO_SEARCH = "Back to Search"
PREV = "< Prev"
NEXT = "Next >"
BUY_NOW = "Buy Now"
SUB_PAGES = ("Description", "Features", "Reviews")
DONE_HEADING = "Thank you for shopping with us!"
SCORE_LABEL = "Your score (min 0.0, max 1.0)"


@dataclass(frozen=True)
class Page:
    """One rendered page: its text and the clickables as shown (matched lower-cased)."""

    text: str
    clickables: tuple[str, ...] = ()

    def find(self, target: str) -> str | None:
        """The clickable ``target`` names, compared as WebShop does (lower-cased)."""
        wanted = target.strip().lower()
        for c in self.clickables:
            if c.lower() == wanted:
                return c
        return None


def _join(parts: Sequence[str]) -> str:
    return SEP.join(p.strip() for p in parts if p and p.strip())


def _header(instruction: str) -> list[str]:
    return ["Instruction:", instruction]


def start_page(instruction: str) -> Page:
    return Page(_join(["WebShop", *_header(instruction), "Search"]))


def results_page(instruction: str, products: Sequence[Product], page: int, total: int) -> Page:
    """Page ``page`` of ``total`` results; ``products`` are the ones on this page.

    As WebShop's ``results_page.html``: "< Prev" from page 2 on, and "Next >" on every page,
    the last one (and an empty result) included; past the end it shows an empty page.
    """
    buttons = [BACK_TO_SEARCH]
    nav = [PREV, NEXT] if page > 1 else [NEXT]
    parts = [*_header(instruction), BACK_TO_SEARCH, f"Page {page} (Total results: {total})", *nav]
    for p in products:
        parts += [p.asin, p.title, p.price_tag]
    return Page(_join(parts), (*buttons, *nav, *(p.asin for p in products)))


def item_page(instruction: str, product: Product) -> Page:
    """A product with its option values, price, rating and buttons (no selection shown,
    as in WebShop's simple text mode)."""
    parts = [*_header(instruction), BACK_TO_SEARCH, PREV]
    values: list[str] = []
    for name, option_values in product.options.items():
        parts.append(name)
        parts += option_values
        values += option_values
    parts += [
        product.title,
        f"Price: {product.price_tag}",
        f"Rating: {product.rating}",
        *SUB_PAGES,
        BUY_NOW,
    ]
    return Page(_join(parts), (BACK_TO_SEARCH, PREV, *values, *SUB_PAGES, BUY_NOW))


def sub_page(instruction: str, product: Product, which: str) -> Page:
    """The Description, Features or Reviews of a product."""
    parts = [*_header(instruction), BACK_TO_SEARCH, PREV]
    if which == "Description":
        parts.append(product.description or "No Description")
    elif which == "Features":
        parts += list(product.bullets) or ["No Features"]
    else:
        if not product.reviews:
            parts.append("No reviews found")
        for review in product.reviews:
            score = review.get("score", review.get("stars", ""))
            body = review.get("body", review.get("review", ""))
            parts += [f'"{review.get("title", "")}"', str(score), str(body)]
    return Page(_join(parts), (BACK_TO_SEARCH, PREV))


def done_page(reward: float) -> Page:
    return Page(_join([DONE_HEADING, SCORE_LABEL, format_reward(reward)]))


def format_reward(reward: float) -> str:
    """The reward as the done page prints it (Python's ``str`` of the float)."""
    return str(reward)


def option_owner(product: Product, value: str) -> str | None:
    """Which option a clicked value sets (the last one listing it, as WebShop's form)."""
    owner = None
    for name, values in product.options.items():
        if value in values:
            owner = name
    return owner
