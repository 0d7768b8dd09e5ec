"""Anthropic Message Batches backend: ``requests: [{custom_id, params}]``, one batch per turn.

Start with ``messages.batches.create``, poll ``messages.batches.retrieve`` until
``processing_status`` is ``ended``, then stream ``messages.batches.results`` (the JSONL at
``results_url``). Request bodies, response parsing and error wording are the sync teacher's.
"""

from __future__ import annotations

from typing import Any

import anthropic

from trajkit.collect.teachers import shape
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
                read = self.item_outcome(item, stops)
                if read is not None:
                    outcomes[read[0]] = read[1]
        return outcomes

    def item_outcome(self, item: object, stops: dict[str, list[str]]) -> tuple[str, Outcome] | None:
        """``(custom_id, outcome)`` of one results line (an SDK object or plain JSON); never
        raises. A line without a custom id is skipped (its request counts as unanswered and
        goes out again); one whose answer is out of shape is that request's ``TeacherError``."""
        try:
            line = shape.plain(item)
        except TeacherError:
            return None
        if not isinstance(line, dict) or not isinstance(line.get("custom_id"), str):
            return None
        key = line["custom_id"]
        try:
            return key, self._outcome(line.get("result"), stops.get(key, []))
        except (TeacherError, ValueError, TypeError, AttributeError) as exc:
            return key, TeacherError(f"{self.name}: unreadable batch result: {one_line(exc)}")

    def _outcome(self, result: Any, stop: list[str]) -> Outcome:
        """One result line (plain JSON) → a completion, the sync teacher's error, or a retry."""
        result = shape.mapping(result, "result")
        kind = result.get("type")
        if kind == "succeeded":
            try:
                return self.teacher.to_completion(result.get("message"), 0.0, stop)
            except TeacherError as exc:
                return exc
        if kind in ("expired", "canceled"):
            return Retry(f"request {kind}")
        error = shape.mapping(shape.mapping(result.get("error"), "result.error").get("error"),
                              "result.error.error")
        status = STATUS_BY_TYPE.get(str(error.get("type")), 500)
        msg = one_line(error.get("message") or error.get("type") or "no message")
        if status == 429 or status >= 500:
            return Retry(f"{error.get('type')}: {msg}")
        return self.teacher.status_error(status, msg)
