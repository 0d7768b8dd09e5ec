"""Provider batch mode (``--mode batch``): each turn of all live episodes goes out as one batch.

Both providers answer batches at half the synchronous price, within hours instead of
seconds; a CodeAct collection is throughput-bound, not latency-bound, so that trade is worth
it for large runs. ``BatchTeacher`` (``batch_teacher.py``) keeps the ``Teacher`` protocol:
concurrent ``complete()`` calls are parked and flushed as one batch as soon as every live
episode is waiting (the runner declares episodes with ``episode()``), or after ``window_s``
for stragglers. Batches are polled with backoff; per-request errors become the sync
teachers' errors; expired or cancelled requests (and per-request 429/5xx) are resubmitted
with the next batch.

Nothing paid for is lost on a crash: batch ids are written to the run directory as soon as
a batch is accepted, a restarted run polls them instead of submitting again, and an id is
dropped only once every answer of its batch is stored in a response cache. This module holds
what the provider backends share (outcomes, the state file); ``batch_teacher.batch_teacher``
builds the teacher from the provider's ``batch_backend``.
"""

from __future__ import annotations

import contextlib
import json
import os
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from trajkit.collect.teachers.base import Completion, TeacherError
from trajkit.collect.teachers.common import one_line
from trajkit.schemas import Message, TeacherInfo

DEFAULT_POLL_S = 30.0
DEFAULT_WINDOW_S = 60.0
MAX_ATTEMPTS = 4  # submissions per request before an expiry or transient error is final
POLL_FAILURES = 8  # consecutive failed polls before waiting episodes give up (batch kept)
# Well under both providers' per-batch limits (OpenAI 200 MB / 50,000 requests, Anthropic
# 256 MB / 100,000): a bigger turn goes out as several batches.
MAX_BATCH_BYTES = 100_000_000
MAX_BATCH_REQUESTS = 50_000
BACKOFF = 1.5
STATE_FILE = "batches.json"


@dataclass
class Retry:
    """The provider did not answer this request (expired, cancelled, 429/5xx): submit again."""

    reason: str


Outcome = Completion | Exception | Retry


class BatchGone(TeacherError):
    """The provider does not know this batch (or its result file) any more: submit again."""


@dataclass
class BatchStatus:
    """One poll: ``done`` once the provider will change nothing more; ``rejected`` says why
    the whole batch failed (validation), which no resubmission can fix."""

    done: bool
    rejected: str | None = None


class BatchBackend(Protocol):
    """One provider's batch API, wrapped around that provider's sync teacher."""

    name: str

    @property
    def info(self) -> TeacherInfo: ...

    def request_body(
        self, messages: list[Message], stop: list[str], tools: list[dict[str, Any]] | None = None
    ) -> dict[str, Any]:
        """The sync teacher's request body (``tools``: the native functions offered)."""
        ...

    async def submit(self, requests: dict[str, dict[str, Any]]) -> str:
        """Submit ``custom_id → request body``; return the batch id."""
        ...

    async def poll(self, batch_id: str) -> BatchStatus: ...

    async def results(self, batch_id: str, stops: dict[str, list[str]]) -> dict[str, Outcome]:
        """``custom_id → outcome`` of an ended batch; ids it does not mention were not run."""
        ...

    async def aclose(self) -> None: ...


class SdkBatchBackend:
    """What both providers' batch backends share: their sync teacher's client, request body,
    identity and error wording. A subclass names its SDK's error classes and adds
    ``submit``/``poll``/``results``."""

    #: The SDK's HTTP-status error and its base error (connection, timeout, parse).
    status_error: type[Exception] = Exception
    sdk_error: type[Exception] = Exception

    def __init__(self, teacher: Any) -> None:
        self.teacher = teacher
        self.name: str = teacher.name
        self._client = teacher._client

    @property
    def info(self) -> TeacherInfo:
        return self.teacher.info

    def request_body(
        self, messages: list[Message], stop: list[str], tools: list[dict[str, Any]] | None = None
    ) -> dict[str, Any]:
        return self.teacher.request_body(messages, stop, tools)

    @contextlib.contextmanager
    def _errors(self, doing: str, batch_id: str | None = None) -> Iterator[None]:
        """SDK errors of the batch endpoints, worded like the sync teacher's."""
        try:
            yield
        except self.status_error as exc:
            if batch_id is not None and getattr(exc, "status_code", None) == 404:
                raise BatchGone(f"{self.name}: batch {batch_id} not found (404)") from exc
            raise self.teacher._translate(exc) from exc
        except self.sdk_error as exc:
            what = f"{doing} batch {batch_id}" if batch_id else doing
            raise TeacherError(f"{self.name}: {what}: {one_line(exc)}") from exc

    async def aclose(self) -> None:
        await self.teacher.aclose()


class BatchState:
    """``RUN/batches.json``: the batches in flight, so a restarted run reattaches to them."""

    def __init__(self, path: Path, teacher: str) -> None:
        self.path = path
        self.teacher = teacher
        self.batches: dict[str, dict[str, Any]] = {}
        if path.exists():
            try:
                data = json.loads(path.read_text())
            except ValueError:
                data = {}
            if data.get("teacher") == teacher:
                self.batches = dict(data.get("batches") or {})

    def add(self, batch_id: str, stops: dict[str, list[str]]) -> None:
        self.batches[batch_id] = {"submitted_at": time.time(), "requests": stops}
        self._write()

    def remove(self, batch_id: str) -> None:
        if self.batches.pop(batch_id, None) is not None:
            self._write()

    def _write(self) -> None:
        """Atomic replace, then fsync: a batch id must survive a SIGKILL right after submit."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.path.with_name(f".{self.path.name}.tmp")
        data = {"teacher": self.teacher, "batches": self.batches}
        with open(tmp, "w") as fh:
            fh.write(json.dumps(data, indent=1) + "\n")
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, self.path)


def live_episode(teacher: Any) -> contextlib.AbstractAsyncContextManager[Any]:
    """The batch teacher's ``episode()`` scope (found through cache wrappers), else a no-op."""
    while teacher is not None:
        episode = getattr(teacher, "episode", None)
        if episode is not None:
            return episode()
        teacher = getattr(teacher, "inner", None)
    return contextlib.nullcontext()
