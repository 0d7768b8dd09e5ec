"""``BatchTeacher``: the ``Teacher`` that gathers concurrent turns into provider batches.

Why and how are in ``batch_common``'s docstring; this module is the bookkeeping: which
requests wait for the next batch, which are in flight in which batch, which answers arrived
for nobody yet (a reattached batch), and when to flush.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import json
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from trajkit.collect.teachers.base import Completion, Teacher, TeacherError
from trajkit.collect.teachers.batch_common import (
    BACKOFF,
    DEFAULT_POLL_S,
    DEFAULT_WINDOW_S,
    MAX_ATTEMPTS,
    MAX_BATCH_BYTES,
    MAX_BATCH_REQUESTS,
    POLL_FAILURES,
    STATE_FILE,
    BatchBackend,
    BatchGone,
    BatchState,
    Outcome,
    Retry,
)
from trajkit.collect.teachers.cache import ResponseCache, request_key
from trajkit.collect.teachers.common import one_line
from trajkit.collect.teachers.provider import TeacherProvider
from trajkit.core.errors import TeacherFatalError
from trajkit.schemas import Message, TeacherInfo


@dataclass
class _Request:
    key: str
    stop: list[str]
    body: dict[str, Any] | None = None  # unknown for a reattached batch until an episode asks
    request: str | None = None
    waiters: list[asyncio.Future[Completion]] = field(default_factory=list)
    attempts: int = 0


class BatchTeacher:
    """A ``Teacher`` that gathers concurrent turns into provider batches (see module doc)."""

    def __init__(
        self,
        backend: BatchBackend,
        *,
        state_path: Path,
        results: ResponseCache,
        poll_s: float = DEFAULT_POLL_S,
        window_s: float = DEFAULT_WINDOW_S,
        max_attempts: int = MAX_ATTEMPTS,
        run: str | None = None,
    ) -> None:
        """``results`` stores every answered request (the run's response cache, or a private
        one under ``--no-cache``) as paid by ``run``, whose batches they came from, so an
        answer its lost episode never used is charged when a resumed episode does (the
        cache's ``paid_by``); ``poll_s`` is the first poll interval (backoff up to 10×)."""
        self.backend = backend
        self.results = results
        self.run = run
        self.poll_s = poll_s
        self.window_s = window_s
        self.max_attempts = max_attempts
        self.poll_failures = POLL_FAILURES
        self.max_batch_bytes = MAX_BATCH_BYTES
        self.state = BatchState(state_path, backend.name)
        self.submitted: list[str] = []  # batch ids submitted by this process
        self._pending: dict[str, _Request] = {}
        self._inflight: dict[str, _Request] = {}
        # Answers nobody in this process asked for yet (a reattached batch's): handed out,
        # and counted as paid, when an episode asks; the batch stays in the state file until.
        self._unclaimed: dict[str, tuple[str, Completion]] = {}
        self._open: dict[str, set[str]] = {}  # batch id → its unclaimed keys
        self._live = 0
        self._waiting = 0
        self._window: asyncio.TimerHandle | None = None
        self._check: asyncio.Handle | None = None
        self._tasks: set[asyncio.Task[None]] = set()
        self._started = False

    @property
    def info(self) -> TeacherInfo:
        """The sync teacher's: same records, same cache keys as ``--mode sync``."""
        return self.backend.info

    @contextlib.asynccontextmanager
    async def episode(self) -> AsyncIterator[None]:
        """Declare one live episode: a batch goes out once every live episode is waiting."""
        self._start()
        self._live += 1
        try:
            yield
        finally:
            self._live -= 1
            self._maybe_flush()

    async def complete(
        self,
        messages: list[Message],
        stop: list[str],
        *,
        task_id: str,
        tools: list[dict[str, Any]] | None = None,
    ) -> Completion:
        """Park this turn until its batch is answered; raises what the sync teacher would.
        Offered ``tools`` go into the request body; the answer carries the turn's calls."""
        self._start()
        key, request = request_key(self.info, messages, stop, tools=tools)
        if key in self._unclaimed:
            batch_id, completion = self._unclaimed.pop(key)
            self.results.put(key, self.info, request, completion, self.run)
            self._claimed(batch_id, key)
            return completion
        stored = self.results.get(key, self.run)
        if stored is not None:
            return stored
        req = self._inflight.get(key) or self._pending.get(key)
        shared = req is not None and bool(req.waiters)
        if req is None:
            req = self._pending[key] = _Request(key, list(stop))
        if req.body is None:
            req.body, req.request = self.backend.request_body(messages, stop, tools), request
        fut: asyncio.Future[Completion] = asyncio.get_running_loop().create_future()
        req.waiters.append(fut)
        self._waiting += 1
        started = time.perf_counter()
        try:
            self._maybe_flush()
            completion = await fut
        finally:
            self._waiting -= 1
            if not fut.done() or fut.cancelled():
                with contextlib.suppress(ValueError):
                    req.waiters.remove(fut)
                if not req.waiters and self._pending.get(key) is req:
                    del self._pending[key]
        usage = completion.usage
        if shared:  # the same request from two episodes is paid once
            usage = usage.model_copy(update={"cached_calls": 1})
        return dataclasses.replace(completion, usage=usage, latency_s=time.perf_counter() - started)

    # -- flushing
    def _maybe_flush(self) -> None:
        """Decide on the next loop tick: episodes started (or a worker's next episode) in the
        same tick are live by then, so they are not left out of this turn's batch."""
        if self._check is None:
            self._check = asyncio.get_running_loop().call_soon(self._check_flush)

    def _check_flush(self) -> None:
        self._check = None
        if not self._pending:
            return
        if self._live and self._waiting >= self._live:
            self._flush()
        elif self._window is None:
            self._window = asyncio.get_running_loop().call_later(self.window_s, self._flush)

    def _flush(self) -> None:
        if self._window is not None:
            self._window.cancel()
            self._window = None
        batch = {k: r for k, r in self._pending.items() if r.waiters and r.body is not None}
        self._pending = {}
        if not batch:
            return
        chunk: dict[str, _Request] = {}
        size = 0
        for req in batch.values():
            req.attempts += 1
            self._inflight[req.key] = req
            body_size = len(json.dumps(req.body))
            if chunk and (
                size + body_size > self.max_batch_bytes or len(chunk) >= MAX_BATCH_REQUESTS
            ):
                self._spawn(self._submit_and_follow(chunk))
                chunk, size = {}, 0
            chunk[req.key] = req
            size += body_size
        self._spawn(self._submit_and_follow(chunk))

    def _spawn(self, coro: Any) -> None:
        task = asyncio.get_running_loop().create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    def _start(self) -> None:
        """Reattach to the batches a previous process submitted (once, inside the loop)."""
        if self._started:
            return
        self._started = True
        for batch_id, entry in self.state.batches.items():
            stops = entry.get("requests") or {}
            for key, stop in stops.items():
                self._inflight.setdefault(key, _Request(key, list(stop), attempts=1))
            self._spawn(self._follow(batch_id, list(stops)))

    async def _submit_and_follow(self, batch: dict[str, _Request]) -> None:
        try:
            batch_id = await self.backend.submit({k: r.body or {} for k, r in batch.items()})
        except Exception as exc:
            for key in batch:
                self._settle(self._inflight.pop(key), exc)
            return
        self.state.add(batch_id, {k: r.stop for k, r in batch.items()})
        self.submitted.append(batch_id)
        await self._follow(batch_id, list(batch))

    # -- following one batch
    async def _follow(self, batch_id: str, keys: list[str]) -> None:
        interval, failures = self.poll_s, 0
        while True:
            await asyncio.sleep(interval)
            interval = min(interval * BACKOFF, self.poll_s * 10)
            try:
                status = await self.backend.poll(batch_id)
                if status.done and status.rejected is None:
                    stops = {k: r.stop for k in keys if (r := self._inflight.get(k))}
                    outcomes = await self.backend.results(batch_id, stops)
                    break
            except BatchGone as exc:  # e.g. a state file from another account or base URL
                self._deliver(batch_id, keys, {k: Retry(str(exc)) for k in keys})
                return
            except TeacherFatalError as exc:
                self._fail(keys, exc)
                return
            except TeacherError as exc:
                failures += 1
                if failures >= self.poll_failures:  # the id stays in the state file: a later
                    # resume still collects (and caches) what this batch answers
                    self._fail(keys, TeacherError(f"{exc} ({failures} polls failed in a row)"))
                    return
                continue
            except Exception as exc:  # e.g. a results file the SDK cannot even decode: end
                # these requests' episodes as teacher errors rather than leave them waiting
                self._fail(keys, TeacherError(
                    f"{self.backend.name}: reading batch {batch_id}: "
                    f"{type(exc).__name__}: {one_line(exc)}"
                ))
                return
            failures = 0
            if status.rejected is not None:
                self.state.remove(batch_id)
                self._fail(keys, TeacherFatalError(f"{self.backend.name}: {status.rejected}"))
                return
        self._deliver(batch_id, keys, outcomes)

    def _deliver(self, batch_id: str, keys: list[str], outcomes: dict[str, Outcome]) -> None:
        for key in keys:
            req = self._inflight.pop(key, None)
            if req is None:
                continue
            outcome = outcomes.get(key, Retry("not in the batch results"))
            if isinstance(outcome, Completion) and not req.waiters:
                self._unclaimed[key] = (batch_id, outcome)
                self._open.setdefault(batch_id, set()).add(key)
            elif isinstance(outcome, Completion):
                self.results.put(key, self.info, req.request or "{}", outcome, self.run)
                self._settle(req, outcome)
            elif isinstance(outcome, Retry):
                if req.waiters and req.body is not None and req.attempts < self.max_attempts:
                    self._pending[key] = req  # goes out with the next batch
                else:
                    self._settle(
                        req,
                        TeacherError(
                            f"{self.backend.name}: {outcome.reason} "
                            f"(batch {batch_id}, submitted {req.attempts} time(s))"
                        ),
                    )
            else:
                self._settle(req, outcome)
        if not self._open.get(batch_id):
            self.state.remove(batch_id)
        self._maybe_flush()

    def _claimed(self, batch_id: str, key: str) -> None:
        keys = self._open.get(batch_id, set())
        keys.discard(key)
        if not keys:
            self._open.pop(batch_id, None)
            self.state.remove(batch_id)

    def _fail(self, keys: list[str], exc: Exception) -> None:
        for key in keys:
            req = self._inflight.pop(key, None)
            if req is not None:
                self._settle(req, exc)

    @staticmethod
    def _settle(req: _Request, outcome: Completion | Exception) -> None:
        for fut in req.waiters:
            if fut.done():
                continue
            if isinstance(outcome, Exception):
                fut.set_exception(outcome)
            else:
                fut.set_result(outcome)
        req.waiters.clear()

    async def aclose(self) -> None:
        """Stop polling (batches in flight stay in the state file for a resume)."""
        for handle in (self._window, self._check):
            if handle is not None:
                handle.cancel()
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        for key, (batch_id, completion) in list(self._unclaimed.items()):
            note = json.dumps({"batch": batch_id, "custom_id": key})
            self.results.put(key, self.info, note, completion, self.run)
            self._claimed(batch_id, key)
        self._unclaimed.clear()
        await self.backend.aclose()
        self.results.close()


def batch_teacher(
    teacher: Teacher,
    provider: TeacherProvider,
    *,
    run_dir: Path,
    results_path: Path,
    poll_s: float = DEFAULT_POLL_S,
    window_s: float = DEFAULT_WINDOW_S,
    run: str | None = None,
) -> BatchTeacher:
    """Put ``teacher``'s provider batch API behind the ``Teacher`` protocol for one run.

    ``results_path`` is the response cache answered requests land in, paid by ``run``; batch
    ids go to ``run_dir/batches.json``. Raises ``ConfigError`` for a provider without a batch
    API.
    """
    return BatchTeacher(
        provider.batch_backend(teacher),
        state_path=run_dir / STATE_FILE,
        results=ResponseCache(results_path),
        poll_s=poll_s,
        window_s=window_s,
        run=run,
    )
