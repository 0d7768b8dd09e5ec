"""A task: one benchmark problem, phrased for a teacher, with what its judge needs."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from trajkit.schemas.version import SCHEMA_VERSION


class Task(BaseModel):
    """One problem from a source.

    ``prompt`` is exactly the first user message the teacher sees; ``reference`` is whatever
    the source's judge compares against (a MATH boxed answer, APPS tests, ...), kept in the
    record so filters and re-judging never need the original dataset again.
    """

    model_config = ConfigDict(extra="forbid")

    schema_version: str = SCHEMA_VERSION
    source: str
    task_id: str
    prompt: str
    reference: Any = None
    metadata: dict[str, Any] = Field(default_factory=dict)
