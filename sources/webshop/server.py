"""The ``server`` backend: drive a real WebShop web server (``web_agent_site/app.py``) over HTTP.

The server keeps no navigation state: every page's URL carries it, so this client keeps the
state (keywords, page, ASIN, chosen options) and requests the URL a browser would:

* ``/{session}``: search page (session ``<prefix>fixed_<i>`` pins goal ``i``; the unique
  prefix keeps concurrent episodes on separate server sessions);
* ``/search_results/{session}/{keywords}/{page}`` (keywords as a Python list literal);
* ``/item_page/{session}/{asin}/{keywords}/{page}/{options}`` (options as a dict literal);
* ``/item_sub_page/{session}/{asin}/{keywords}/{page}/{Description|Features|Reviews}/{options}``;
* ``/done/{session}/{asin}/{options}``: the purchase, whose page shows the reward.

Pages are turned into WebShop's ``text`` observation (visible strings joined by ``[SEP]``),
and their buttons, product links and option radios into the clickables, as the text
environment does; so the teacher sees what the local backend shows.
"""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass, field
from html.parser import HTMLParser
from typing import Any
from urllib.parse import quote

from trajkit.core.errors import DataError
from trajkit.sources.webshop import pages
from trajkit.sources.webshop.engine import StepResult, invalid

try:  # the vendor SDKs install httpx under its new distribution name
    import httpx2 as httpx
except ImportError:  # pragma: no cover - depends on the installed SDK versions
    import httpx  # type: ignore[no-redef]

_SKIP = {"style", "script", "head", "title", "meta"}
_VOID = {"input", "br", "img", "link", "meta", "hr"}
_REWARD = re.compile(re.escape(pages.SCORE_LABEL) + r"\s*\[SEP\]\s*([-+0-9.eE]+)")


class ServerError(DataError):
    """The WebShop server did not answer a page (down, wrong URL, 5xx)."""


@dataclass
class ParsedPage:
    """Visible text (``[SEP]``-joined), clickables as shown, and which option each radio sets."""

    text: str
    clickables: list[str] = field(default_factory=list)
    radios: dict[str, str] = field(default_factory=dict)
    instruction: str = ""


class _PageParser(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.stack: list[tuple[str, bool, str]] = []  # (tag, hidden, classes)
        self.texts: list[str] = []
        self.clickables: list[str] = []
        self.radios: dict[str, str] = {}
        self._capture: list[str] | None = None
        self.instruction_parts: list[str] = []
        self._instruction_depth: int | None = None

    def _hidden(self) -> bool:
        return any(h for _, h, _ in self.stack)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: v or "" for k, v in attrs}
        hidden = (
            tag in _SKIP or "hidden" in a or "display:none" in a.get("style", "").replace(" ", "")
        )
        if tag == "input" and a.get("type") == "radio" and not self._hidden():
            self.clickables.append(a.get("value", ""))
            self.radios[a.get("value", "").lower()] = a.get("name", "").lower()
        if tag in _VOID:
            return
        classes = a.get("class", "")
        self.stack.append((tag, hidden, classes))
        if a.get("id") == "instruction-text":
            self._instruction_depth = len(self.stack)
        if not self._hidden() and (
            (tag == "button" and "btn" in classes.split()) or "product-link" in classes.split()
        ):
            self._capture = []

    def handle_endtag(self, tag: str) -> None:
        if tag in _VOID:
            return
        while self.stack:
            top, _, classes = self.stack.pop()
            if self._capture is not None and (top == "button" or "product-link" in classes.split()):
                self.clickables.append(" ".join("".join(self._capture).split()))
                self._capture = None
            if self._instruction_depth is not None and len(self.stack) < self._instruction_depth:
                self._instruction_depth = None
            if top == tag:
                break

    def handle_data(self, data: str) -> None:
        if self._hidden():
            return
        if self._capture is not None:
            self._capture.append(data)
        if data.strip():
            self.texts.append(data.strip())
            if self._instruction_depth is not None:
                self.instruction_parts.append(data.strip())


def parse_page(html: str) -> ParsedPage:
    """WebShop's text observation of ``html`` and its clickables."""
    parser = _PageParser()
    parser.feed(html)
    parser.close()
    parts = parser.instruction_parts
    if parts and parts[0].startswith("Instruction:"):
        parts = [parts[0][len("Instruction:") :], *parts[1:]]
    instruction = " ".join(" ".join(parts).split())
    return ParsedPage(
        text=pages.SEP.join(parser.texts),
        clickables=parser.clickables,
        radios=parser.radios,
        instruction=instruction,
    )


def reward_of(text: str) -> float:
    """The score printed on a done page."""
    m = _REWARD.search(text)
    if m is None:
        raise ServerError("the done page shows no score")
    return float(m.group(1))


class ServerSession:
    """One episode on a WebShop server, pinned to goal ``goal_index``."""

    def __init__(self, client: httpx.AsyncClient, base_url: str, goal_index: int) -> None:
        self.client, self.base = client, base_url.rstrip("/")
        self.sid = f"trajkit{uuid.uuid4().hex[:12]}fixed_{goal_index}"
        self.kind = "start"
        self.keywords: list[str] = []
        self.page_no = 1
        self.asin: str | None = None
        self.options: dict[str, str] = {}
        self.current = ParsedPage("")
        self._instruction = ""

    @property
    def instruction(self) -> str:
        return self._instruction

    async def _get(self, path: str, kind: str) -> ParsedPage:
        url = self.base + path
        try:
            resp = await self.client.get(url)
        except httpx.HTTPError as exc:
            raise ServerError(
                f"WebShop server at {self.base}: {type(exc).__name__}: {exc}"
            ) from None
        if resp.status_code != 200:
            raise ServerError(f"WebShop server answered {resp.status_code} for {path}")
        page = parse_page(resp.text)
        self.kind, self.current = kind, page
        return page

    def _kw(self) -> str:
        return quote(str(self.keywords), safe="")

    def _opts(self) -> str:
        return quote(str(self.options), safe="")

    async def start(self) -> str:
        page = await self._get(f"/{self.sid}", "start")
        self._instruction = page.instruction
        return page.text

    async def search(self, query: str) -> StepResult:
        words = query.lower().replace("/", " ").split(" ")
        if self.kind == "done":
            raise invalid(f"search[{query}]", "the purchase is finished", self._as_page())
        if not "".join(words):
            raise invalid(f"search[{query}]", "the query is empty", self._as_page())
        self.keywords, self.asin, self.options = words, None, {}
        return await self._results(1)

    async def _results(self, page_no: int) -> StepResult:
        self.page_no = page_no
        page = await self._get(f"/search_results/{self.sid}/{self._kw()}/{page_no}", "results")
        return StepResult(page.text)

    async def _item(self) -> StepResult:
        path = f"/item_page/{self.sid}/{self.asin}/{self._kw()}/{self.page_no}/{self._opts()}"
        return StepResult((await self._get(path, "item")).text)

    async def click(self, target: str) -> StepResult:
        wanted = target.strip().lower()
        found = next((c for c in self.current.clickables if c.lower() == wanted), None)
        if found is None or self.kind == "done" or wanted == "search":
            raise invalid(f"click[{target}]", "no such button, link or option", self._as_page())
        if wanted == pages.BUY_NOW.lower():
            page = await self._get(f"/done/{self.sid}/{self.asin}/{self._opts()}", "done")
            reward = reward_of(page.text)
            text = pages.done_page(reward).text
            info: dict[str, Any] = {"asin": self.asin, "options": dict(self.options)}
            return StepResult(text, done=True, reward=reward, info=info)
        if wanted == pages.BACK_TO_SEARCH.lower():
            self.keywords, self.asin, self.options = [], None, {}
            return StepResult((await self._get(f"/{self.sid}", "start")).text)
        if wanted == pages.NEXT.lower() and self.kind == "results":
            return await self._results(self.page_no + 1)
        if wanted == pages.PREV.lower():
            if self.kind == "results":
                return await self._results(self.page_no - 1)
            if self.kind == "item":
                self.asin, self.options = None, {}
                return await self._results(self.page_no)
            return await self._item()
        sub = next((s for s in pages.SUB_PAGES if s.lower() == wanted), None)
        if sub is not None and self.kind == "item":
            path = (
                f"/item_sub_page/{self.sid}/{self.asin}/{self._kw()}/{self.page_no}/"
                f"{sub}/{self._opts()}"
            )
            return StepResult((await self._get(path, "sub")).text)
        if self.kind == "results":
            self.asin, self.options = found.upper(), {}
            return await self._item()
        if wanted in self.current.radios:
            self.options[self.current.radios[wanted]] = wanted
            return await self._item()
        raise invalid(f"click[{target}]", "this button does nothing here", self._as_page())

    def _as_page(self) -> pages.Page:
        return pages.Page(self.current.text, tuple(self.current.clickables))

    async def aclose(self) -> None:
        """The HTTP client is the source's, shared by every episode; nothing to close."""


def open_client(timeout: float) -> httpx.AsyncClient:
    """One client for all episodes of a run: connections to the server are reused."""
    return httpx.AsyncClient(timeout=timeout, follow_redirects=True)


def fetch_instructions(base_url: str, indices: list[int], timeout: float) -> list[str]:
    """The instruction of goal ``fixed_i`` for each index, read from its search page."""
    out = []
    with httpx.Client(timeout=timeout, follow_redirects=True) as client:
        for i in indices:
            url = f"{base_url.rstrip('/')}/trajkitload{uuid.uuid4().hex[:8]}fixed_{i}"
            try:
                resp = client.get(url)
            except httpx.HTTPError as exc:
                raise ServerError(
                    f"WebShop server at {base_url}: {type(exc).__name__}: {exc}"
                ) from None
            if resp.status_code != 200:
                raise ServerError(f"WebShop server answered {resp.status_code} for goal {i}")
            text = parse_page(resp.text).instruction
            if not text:
                raise ServerError(
                    f"WebShop server at {base_url}: no instruction on goal {i}'s page"
                )
            out.append(text)
    return out
