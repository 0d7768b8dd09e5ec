"""A task: one benchmark problem, phrased for a teacher, with what its judge needs."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator

from trajkit.schemas.text import valid_text
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

    @field_validator("source", "task_id", "prompt")
    @classmethod
    def _valid_text(cls, value: str) -> str:
        """Task files are outside text: a lone surrogate in one (a JSON ``\\ud800`` escape)
        would make the first record holding it unwritable, so it becomes U+FFFD here, where
        every source's tasks pass."""
        return valid_text(value)
