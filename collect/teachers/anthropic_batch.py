"""Anthropic Message Batches backend: ``requests: [{custom_id, params}]``, one batch per turn.

Start with ``messages.batches.create``, poll ``messages.batches.retrieve`` until
``processing_status`` is ``ended``, then stream ``messages.batches.results`` (the JSONL at
``results_url``). Request bodies, response parsing and error wording are the sync teacher's.
"""

from __future__ import annotations

from typing import Any

import anthropic

from trajkit.collect.teachers.anthropic_teacher import AnthropicTeacher
from trajkit.collect.teachers.base import TeacherError
from trajkit.collect.teachers.batch_common import (
    BatchStatus,
    Outcome,
    Retry,
    SdkBatchBackend,
)
from trajkit.collect.teachers.common import one_line

# An errored result carries the error's type, not its HTTP status; these are the statuses
# the Messages API answers each type with, so the sync teacher's mapping applies unchanged.
STATUS_BY_TYPE = {
    "invalid_request_error": 400,
    "authentication_error": 401,
    "billing_error": 402,
    "permission_error": 403,
    "not_found_error": 404,
    "request_too_large": 413,
    "rate_limit_error": 429,
    "api_error": 500,
    "timeout_error": 504,
    "overloaded_error": 529,
}


class AnthropicBatchBackend(SdkBatchBackend):
    """The Message Batches API behind ``teacher``'s client (same key and base URL)."""

    status_error = anthropic.APIStatusError
    sdk_error = anthropic.AnthropicError  # connection, timeout, no results_url yet
    teacher: AnthropicTeacher

    async def submit(self, requests: dict[str, dict[str, Any]]) -> str:
        """One Message Batch; ``custom_id`` is the request's cache key (64 hex characters)."""
        batch_requests: list[Any] = [
            {"custom_id": key, "params": body} for key, body in requests.items()
        ]
        with self._errors("submitting a batch"):
            batch = await self._client.messages.batches.create(requests=batch_requests)
        return batch.id

    async def poll(self, batch_id: str) -> BatchStatus:
        with self._errors("polling", batch_id):
            batch = await self._client.messages.batches.retrieve(batch_id)
        return BatchStatus(done=batch.processing_status == "ended")

    async def results(self, batch_id: str, stops: dict[str, list[str]]) -> dict[str, Outcome]:
        outcomes: dict[str, Outcome] = {}
        with self._errors("reading results", batch_id):
            async for item in await self._client.messages.batches.results(batch_id):
                outcomes[item.custom_id] = self._outcome(item.result)
        return outcomes

    def _outcome(self, result: Any) -> Outcome:
        """One result line → a completion, the sync teacher's error, or a retry."""
        if result.type == "succeeded":
            try:
                return self.teacher.to_completion(result.message, 0.0)
            except TeacherError as exc:
                return exc
        if result.type in ("expired", "canceled"):
            return Retry(f"request {result.type}")
        error = result.error.error
        status = STATUS_BY_TYPE.get(error.type, 500)
        msg = one_line(error.message)
        if status == 429 or status >= 500:
            return Retry(f"{error.type}: {msg}")
        return self.teacher.status_error(status, msg)
