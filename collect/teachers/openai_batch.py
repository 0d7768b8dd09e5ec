"""OpenAI Batch API backend: a JSONL file of chat-completion requests, one batch per turn.

Upload with ``files.create(purpose="batch")``, start with ``batches.create`` on
``/v1/chat/completions``, poll ``batches.retrieve``, then read ``output_file_id`` (answered
lines) and ``error_file_id`` (failed, expired and cancelled lines) with ``files.content``.
The request bodies, response parsing and error wording are the sync teacher's.
"""

from __future__ import annotations

import json
from typing import Any

import openai

from trajkit.collect.teachers import shape
from trajkit.collect.teachers.base import TeacherError
from trajkit.collect.teachers.batch_common import (
    BatchStatus,
    Outcome,
    Retry,
    SdkBatchBackend,
)
from trajkit.collect.teachers.common import one_line
from trajkit.collect.teachers.openai_teacher import OpenAITeacher

ENDPOINT = "/v1/chat/completions"
_ENDED = frozenset({"completed", "expired", "cancelled"})
# Per-request error codes meaning "never run": resubmit rather than fail the episode.
_NOT_RUN = frozenset({"batch_expired", "batch_cancelled"})


class OpenAIBatchBackend(SdkBatchBackend):
    """The batch API of the server ``teacher`` talks to (same client, key and base URL)."""

    status_error = openai.APIStatusError
    sdk_error = openai.OpenAIError  # connection, timeout, unparsable response
    teacher: OpenAITeacher

    async def submit(self, requests: dict[str, dict[str, Any]]) -> str:
        """Upload the requests as one JSONL file and start a 24 h batch over it."""
        lines = "".join(
            json.dumps({"custom_id": key, "method": "POST", "url": ENDPOINT, "body": body}) + "\n"
            for key, body in requests.items()
        )
        with self._errors("submitting a batch"):
            upload = await self._client.files.create(
                file=("trajkit-batch.jsonl", lines.encode(), "application/jsonl"), purpose="batch"
            )
            batch = await self._client.batches.create(
                input_file_id=upload.id, endpoint=ENDPOINT, completion_window="24h"
            )
        return batch.id

    async def poll(self, batch_id: str) -> BatchStatus:
        with self._errors("polling", batch_id):
            batch = await self._client.batches.retrieve(batch_id)
        if batch.status == "failed":
            errors = batch.errors.data if batch.errors and batch.errors.data else []
            why = "; ".join(one_line(e.message or e.code or "") for e in errors[:3]) or "no reason"
            return BatchStatus(done=True, rejected=f"batch {batch_id} rejected: {why}")
        return BatchStatus(done=batch.status in _ENDED)

    async def results(self, batch_id: str, stops: dict[str, list[str]]) -> dict[str, Outcome]:
        with self._errors("reading results", batch_id):
            batch = await self._client.batches.retrieve(batch_id)
            texts = [
                (await self._client.files.content(file_id)).text
                for file_id in (batch.output_file_id, batch.error_file_id)
                if file_id
            ]
        outcomes: dict[str, Outcome] = {}
        for text in texts:
            for line in text.splitlines():
                read = self.line_outcome(line, stops)
                if read is not None:
                    outcomes[read[0]] = read[1]
        return outcomes

    def line_outcome(self, line: str, stops: dict[str, list[str]]) -> tuple[str, Outcome] | None:
        """``(custom_id, outcome)`` of one output/error-file line; never raises.

        A line that is not a JSON object is skipped (its request counts as unanswered and
        goes out again); one whose answer is out of shape is that request's ``TeacherError``.
        """
        if not line.strip():
            return None
        try:
            record = json.loads(line)
        except (ValueError, RecursionError):
            return None
        if not isinstance(record, dict):
            return None
        key = str(record.get("custom_id"))
        try:
            return key, self._outcome(record, stops.get(key, []))
        except (TeacherError, ValueError, TypeError) as exc:
            return key, TeacherError(f"{self.name}: unreadable batch result: {one_line(exc)}")

    def _outcome(self, record: dict[str, Any], stop: list[str]) -> Outcome:
        """One output/error-file line → a completion, the sync teacher's error, or a retry."""
        response = record.get("response") or None
        if response is not None:
            response = shape.mapping(response, "response")
            status = int(response.get("status_code") or 0)
            body = response.get("body") or {}
            if status == 200:
                try:
                    return self.teacher.to_completion(body, stop, 0.0)
                except TeacherError as exc:
                    return TeacherError(f"{self.name}: unreadable batch result: {one_line(exc)}")
            body = shape.mapping(body, "response.body")
            found = body.get("error")
            error: dict[str, Any] = found if isinstance(found, dict) else {}
            msg = one_line(error.get("message") or f"HTTP {status}")
            if status == 429 or status >= 500:
                return Retry(f"HTTP {status}: {msg}")
            return self.teacher.status_error(status, msg, error.get("code"))
        error = shape.mapping(record.get("error") or {}, "error")
        code = str(error.get("code") or "")
        msg = one_line(error.get("message") or code or "no response")
        if code in _NOT_RUN:
            return Retry(f"{code}: {msg}")
        return TeacherError(f"{self.name}: batch request failed ({code or 'error'}): {msg}")

