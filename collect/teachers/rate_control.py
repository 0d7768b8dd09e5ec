"""Adaptive concurrency: back off when the provider says 429, creep back up when it doesn't.

The SDKs retry a 429 on their own, so one rate-limited request never fails an episode; but a
run that keeps 256 requests in flight against a limit of 40 spends its time in retry
back-off and eventually fails episodes. ``AdaptiveLimit`` is additive-increase /
multiplicative-decrease on the number of teacher calls in flight, fed by every HTTP response
the SDK sees (retries included, through an httpx response hook). Only *sustained* limiting
counts: the limit halves when at least a quarter of the last ``window`` responses were 429s
(at most once per ``cooldown_s``, so one burst counts once), so the odd 429 that every busy
provider sends now and then does not starve the run; every ``limit`` consecutive successes
raise it by one, up to the configured concurrency.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

from trajkit.collect.teachers.base import Completion, RateLimitedError, Teacher, tools_kwarg
from trajkit.schemas import Message, TeacherInfo

StatusHook = Callable[[int], None]


class AdaptiveLimit:
    """AIMD limit on in-flight teacher calls; ``observe`` each HTTP status, ``slot()`` per call."""

    def __init__(
        self, maximum: int, *, minimum: int = 1, cooldown_s: float = 0.25, window: int = 20
    ) -> None:
        self.maximum = max(1, maximum)
        self.minimum = max(1, min(minimum, self.maximum))
        self.cooldown_s = cooldown_s
        self.limit = self.maximum
        self.lowest = self.maximum
        self.rate_limited = 0
        self._successes = 0
        self._recent: collections.deque[bool] = collections.deque(maxlen=window)
        self._sustained = max(1, window // 4)
        self._last_cut = float("-inf")
        self._in_flight = 0
        self._changed: asyncio.Condition | None = None

    def observe(self, status: int) -> None:
        """Feed one HTTP response status (called from the SDK's response hook)."""
        self._recent.append(status == 429)
        if status == 429:
            self.rate_limited += 1
            self._successes = 0
            now = time.monotonic()
            sustained = sum(self._recent) >= self._sustained
            if sustained and now - self._last_cut >= self.cooldown_s:
                self._last_cut = now
                self.limit = max(self.minimum, self.limit // 2)
                self.lowest = min(self.lowest, self.limit)
        elif status < 400:
            self._successes += 1
            if self._successes >= self.limit and self.limit < self.maximum:
                self._successes = 0
                self.limit += 1
                self._wake()

    def _wake(self) -> None:
        cond = self._changed
        if cond is not None:
            async def notify() -> None:
                async with cond:
                    cond.notify_all()

            with contextlib.suppress(RuntimeError):  # no running loop: nobody is waiting
                asyncio.get_running_loop().create_task(notify())

    @contextlib.asynccontextmanager
    async def slot(self) -> AsyncIterator[None]:
        """Hold one of ``limit`` in-flight places for the duration of a teacher call."""
        if self._changed is None:
            self._changed = asyncio.Condition()
        cond = self._changed
        async with cond:
            await cond.wait_for(lambda: self._in_flight < self.limit)
            self._in_flight += 1
        try:
            yield
        finally:
            async with cond:
                self._in_flight -= 1
                cond.notify_all()


def response_hook(observe: StatusHook) -> Callable[[Any], Awaitable[None]]:
    """An httpx ``response`` event hook that reports each status to ``observe``."""

    async def hook(response: Any) -> None:
        observe(response.status_code)

    return hook


class AdaptiveTeacher:
    """Wraps a teacher so its calls wait for a place under the adaptive limit.

    A call still rate limited after the SDK's retries was started before the limit came
    down (the SDK retries inside one call, where no gate can hold it back); it is tried
    again, a few times with back-off, under the lowered limit instead of failing its episode.
    """

    def __init__(
        self, inner: Teacher, limit: AdaptiveLimit, *, retries: int = 4, backoff_s: float = 0.5
    ) -> None:
        self.inner = inner
        self.limit = limit
        self.retries = retries
        self.backoff_s = backoff_s

    @property
    def info(self) -> TeacherInfo:
        return self.inner.info

    @property
    def name(self) -> str:
        return str(getattr(self.inner, "name", self.inner.info.provider))

    def __getattr__(self, attr: str) -> Any:  # request_body, cache_key, … of the inner teacher
        return getattr(self.inner, attr)

    async def complete(
        self,
        messages: list[Message],
        stop: list[str],
        *,
        task_id: str,
        tools: list[dict[str, Any]] | None = None,
    ) -> Completion:
        for attempt in range(self.retries + 1):
            async with self.limit.slot():
                try:
                    return await self.inner.complete(
                        messages, stop, task_id=task_id, **tools_kwarg(tools)
                    )
                except RateLimitedError:
                    if attempt == self.retries:
                        raise
            await asyncio.sleep(min(self.backoff_s * 2**attempt, 8.0))
        raise AssertionError("unreachable")

    async def aclose(self) -> None:
        await self.inner.aclose()
