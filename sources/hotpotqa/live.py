"""The ``live`` search backend: the MediaWiki API over HTTP, rate-limited and cached on disk.

One search is two GET requests (``list=search`` for the top titles, then the plain-text intro
extracts of those titles in one call). Wikimedia asks API clients to identify themselves, to
send requests one at a time and not too fast, so requests are serial, spaced by a shared rate
limit, and carry a User-Agent naming trajkit. Answers are stored in SQLite keyed by API URL,
query and hit count: a re-run (or a replay) sees exactly what the first run saw, offline.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import logging
import sqlite3
import threading
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from trajkit.core.errors import TrajkitError
from trajkit.schemas.version import toolkit_version
from trajkit.sources.hotpotqa.options import DEFAULT_API
from trajkit.sources.hotpotqa.text import Hit, split_sentences

try:  # the vendor SDKs install httpx under its new distribution name
    import httpx2 as httpx
except ImportError:  # pragma: no cover - depends on the SDK versions installed
    import httpx  # type: ignore[no-redef]

logger = logging.getLogger(__name__)

RETRIES = 3
MAX_RETRY_AFTER_S = 30.0


def default_user_agent() -> str:
    """Who is calling, as Wikimedia's User-Agent policy asks (tool name, version, purpose)."""
    return (
        f"trajkit/{toolkit_version()} (CodeAct dataset builder; HotpotQA wikipedia_search tool)"
        f" {httpx.__name__}/{httpx.__version__}"
    )


class RateLimiter:
    """At most ``rate`` request starts per second, shared by every episode of a process.

    Each caller reserves the next free slot under a lock and sleeps until it comes, so
    requests are spaced by ``1/rate`` however many episodes search at once. ``clock`` and
    ``sleep`` are injectable so tests can check the spacing without waiting for it.
    """

    def __init__(
        self,
        rate: float,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        self.interval = 1.0 / rate
        self._clock, self._sleep = clock, sleep
        self._next = float("-inf")
        self._lock = threading.Lock()
        self.starts: list[float] = []  # the slot of every request (for tests and stats)

    def reserve(self) -> float:
        """Claim the next slot; return how long to wait for it."""
        with self._lock:
            now = self._clock()
            slot = max(now, self._next)
            self._next = slot + self.interval
            self.starts.append(slot)
            return slot - now

    async def wait(self) -> None:
        delay = self.reserve()
        if delay > 0:
            await self._sleep(delay)


class SearchCache:
    """Query → hits in one SQLite file; safe across threads and concurrent processes."""

    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self._db = sqlite3.connect(path, check_same_thread=False, timeout=30)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("CREATE TABLE IF NOT EXISTS hits (key TEXT PRIMARY KEY, value TEXT)")
        self._db.commit()
        self._lock = threading.Lock()

    @staticmethod
    def key(api: str, query: str, k: int) -> str:
        return hashlib.sha256(json.dumps([api, query, k]).encode()).hexdigest()

    def get(self, key: str) -> list[Hit] | None:
        with self._lock:
            row = self._db.execute("SELECT value FROM hits WHERE key = ?", (key,)).fetchone()
        if row is None:
            return None
        return [Hit(title, tuple(sentences)) for title, sentences in json.loads(row[0])]

    def put(self, key: str, hits: list[Hit]) -> None:
        value = json.dumps([[h.title, list(h.sentences)] for h in hits], ensure_ascii=False)
        with self._lock:
            self._db.execute("INSERT OR REPLACE INTO hits VALUES (?, ?)", (key, value))
            self._db.commit()

    def close(self) -> None:
        with self._lock:
            self._db.close()


class SearchUnavailable(TrajkitError):
    """The API did not answer usefully after retries; the message says why in one line."""


class LiveSearch:
    """``wikipedia_search`` against a MediaWiki API; one instance per run."""

    def __init__(
        self,
        api: str = DEFAULT_API,
        cache_dir: str | Path = Path("~/.cache/trajkit/hotpotqa"),
        rate: float = 4.0,
        user_agent: str | None = None,
        timeout_s: float = 10.0,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        self.api = api
        self.user_agent = user_agent or default_user_agent()
        self.timeout_s = timeout_s
        self.limiter = RateLimiter(rate, clock, sleep)
        self._sleep = sleep
        self.cache = SearchCache(Path(cache_dir).expanduser() / "live.sqlite")
        self._client: Any = None
        self._client_loop: asyncio.AbstractEventLoop | None = None
        self._serial: asyncio.Lock | None = None
        self.requests = 0  # HTTP requests actually sent (cache hits send none)

    def _session(self) -> tuple[Any, asyncio.Lock]:
        """The HTTP client and the one-request-at-a-time lock, bound to the running loop."""
        loop = asyncio.get_running_loop()
        if self._client is None or self._client_loop is not loop:
            self._client = httpx.AsyncClient(
                headers={"User-Agent": self.user_agent}, timeout=self.timeout_s
            )
            self._client_loop, self._serial = loop, asyncio.Lock()
        assert self._serial is not None
        return self._client, self._serial

    async def _get(self, params: dict[str, Any]) -> dict[str, Any]:
        """One API call with ``format=json``; retries 429/5xx and network errors politely."""
        client, serial = self._session()
        query = {**params, "format": "json", "formatversion": "2", "utf8": "1"}
        problem = ""
        for attempt in range(RETRIES):
            async with serial:
                await self.limiter.wait()
                self.requests += 1
                try:
                    response = await client.get(self.api, params=query)
                except httpx.HTTPError as exc:
                    problem = f"{type(exc).__name__}: {exc}"
                    response = None
            if response is not None:
                if response.status_code == 200:
                    try:
                        data = response.json()
                    except ValueError:
                        raise SearchUnavailable(
                            "the API answered with something that is not JSON"
                        ) from None
                    if isinstance(data, dict) and "error" in data:
                        info = (
                            data["error"].get("info") if isinstance(data["error"], dict) else None
                        )
                        raise SearchUnavailable(
                            f"the API refused the query ({info or data['error']})"
                        )
                    return data if isinstance(data, dict) else {}
                problem = f"HTTP {response.status_code}"
                if response.status_code != 429 and response.status_code < 500:
                    break
                retry_after = response.headers.get("retry-after", "")
                if attempt + 1 < RETRIES and retry_after.isdigit():
                    await self._sleep(min(float(retry_after), MAX_RETRY_AFTER_S))
                    continue
            if attempt + 1 < RETRIES:
                await self._sleep(2.0**attempt)
        raise SearchUnavailable(f"the Wikipedia API did not answer ({problem})")

    async def _fetch(self, query: str, k: int) -> list[Hit]:
        data = await self._get(
            {
                "action": "query",
                "list": "search",
                "srsearch": query,
                "srlimit": str(k),
                "srprop": "",
            }
        )
        titles = [
            item["title"]
            for item in (data.get("query") or {}).get("search", [])
            if isinstance(item, dict) and isinstance(item.get("title"), str)
        ][:k]
        if not titles:
            return []
        data = await self._get(
            {
                "action": "query",
                "prop": "extracts",
                "exintro": "1",
                "explaintext": "1",
                "exlimit": str(len(titles)),
                "redirects": "1",
                "titles": "|".join(titles),
            }
        )
        extracts = {
            page.get("title"): page.get("extract") or ""
            for page in (data.get("query") or {}).get("pages", [])
            if isinstance(page, dict)
        }
        renamed: dict[str, str] = {
            str(r.get("from")): str(r.get("to"))
            for r in (data.get("query") or {}).get("redirects", [])
            if isinstance(r, dict)
        }
        hits = []
        for title in titles:
            final = renamed.get(title, title)
            hits.append(Hit(final, tuple(split_sentences(extracts.get(final, "")))))
        return hits

    async def search(self, query: str, k: int) -> list[Hit] | str:
        """Hits for ``query`` (cached), or a one-line note when the API is unavailable.

        An outage is returned as text, not raised: it is not the teacher's mistake, and an
        exception in its code would make the episode look like a self-correction.
        """
        key = SearchCache.key(self.api, query, k)
        cached = await asyncio.to_thread(self.cache.get, key)
        if cached is not None:
            return cached
        try:
            hits = await self._fetch(query, k)
        except SearchUnavailable as exc:
            logger.warning("hotpotqa: live search for %r failed: %s", query, exc)
            return f"Wikipedia search is unavailable right now: {exc}. Try again later."
        await asyncio.to_thread(self.cache.put, key, hits)
        return hits

    async def aclose(self) -> None:
        if self._client is not None:
            try:
                await self._client.aclose()
            except RuntimeError:  # its loop is already gone
                pass
            self._client = None
        self.cache.close()
