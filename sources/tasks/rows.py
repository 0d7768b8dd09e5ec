"""One row → one Task: the field mapping, the checks that make bad data one line, the id.

The question field becomes the prompt (through the template), the answer field the task's
``reference`` (any JSON value: a number, a string, a list of tests), the id field (or a hash
of question and answer) the ``task_id``; every other field is kept in ``metadata``, so a
judge (multiple-choice options, a rubric's inputs) and a reader of the dataset find it.
"""

from __future__ import annotations

import datetime as dt
import decimal
import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from trajkit.core.errors import DataError


def plain(value: Any) -> Any:
    """``value`` as JSON data: Parquet and Hub rows may hold dates, decimals or bytes."""
    if value is None or isinstance(value, (str, bool, int, float)):
        return value
    if isinstance(value, Mapping):
        return {str(k): plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [plain(v) for v in value]
    if isinstance(value, (dt.date, dt.time)):
        return value.isoformat()
    if isinstance(value, decimal.Decimal):
        return str(value)
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    if hasattr(value, "tolist"):  # numpy arrays and scalars
        return plain(value.tolist())
    return str(value)


def is_empty(value: Any) -> bool:
    """A reference that cannot judge anything: null, blank text, an empty list or object."""
    if value is None:
        return True
    if isinstance(value, str):
        return not value.strip()
    if isinstance(value, (list, dict)):
        return not value
    return False


def content_id(prefix: str, question: str, answer: Any) -> str:
    """``prefix-<12 hex>``: the same question and answer give the same id in any file order,
    so a resumed run finds what it has done even after rows were added or reordered."""
    text = json.dumps([question, answer], ensure_ascii=False, sort_keys=True)
    # Lone surrogates (a JSON escape in a task file) are hashed as they are, never refused.
    digest = hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()
    return f"{prefix}-{digest[:12]}"


@dataclass(frozen=True)
class Mapped:
    """A checked row: the question text, the raw answer, the explicit id (if mapped), and the
    remaining fields."""

    question: str
    answer: Any
    task_id: str | None
    metadata: dict[str, Any]


def map_row(
    row: Any, where: str, question_field: str, answer_field: str, id_field: str | None
) -> Mapped:
    """Check ``row`` (read at ``where``) and split it by the mapping; one-line DataErrors."""
    if not isinstance(row, Mapping):
        raise DataError(f"{where}: expected an object of fields, got {type(row).__name__}")
    if question_field not in row:
        raise DataError(
            f"{where}: missing field {question_field!r} (the question; "
            "--source-opt question=FIELD names another)"
        )
    question = row[question_field]
    if not isinstance(question, str):
        raise DataError(f"{where}: field {question_field!r} must be text, got {_kind(question)}")
    if not question.strip():
        raise DataError(f"{where}: field {question_field!r} is empty")
    if answer_field not in row:
        raise DataError(
            f"{where}: missing field {answer_field!r} (the reference answer; "
            "--source-opt answer=FIELD names another)"
        )
    answer = plain(row[answer_field])
    if is_empty(answer):
        raise DataError(f"{where}: field {answer_field!r} is empty (every task needs an answer)")
    task_id = None
    if id_field is not None:
        if id_field not in row:
            raise DataError(f"{where}: missing field {id_field!r} (the task id)")
        raw_id = row[id_field]
        if isinstance(raw_id, bool) or not isinstance(raw_id, (str, int)) or not str(raw_id).strip():
            raise DataError(f"{where}: field {id_field!r} must be a non-empty string or integer")
        task_id = str(raw_id).strip()
    used = {question_field, answer_field, id_field}
    metadata = {str(k): plain(v) for k, v in row.items() if k not in used}
    return Mapped(question, answer, task_id, metadata)


def _kind(value: Any) -> str:
    return "null" if value is None else type(value).__name__


class IdKeeper:
    """Unique task ids: a repeated explicit id is a DataError naming both rows; a repeated
    content id (the same question and answer twice) gets ``-2``, ``-3``..."""

    def __init__(self) -> None:
        self._first: dict[str, str] = {}
        self._count: dict[str, int] = {}

    def explicit(self, task_id: str, where: str, field: str) -> str:
        first = self._first.setdefault(task_id, where)
        if first != where:
            raise DataError(f"{where}: field {field!r}: id {task_id!r} also used at {first}")
        return task_id

    def derived(self, task_id: str) -> str:
        count = self._count.get(task_id, 0) + 1
        self._count[task_id] = count
        return task_id if count == 1 else f"{task_id}-{count}"


