"""``--source-opt`` keys of the ``wikitq`` source."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field


class WikiTQOptions(BaseModel):
    """How big a table may get into a sandbox (and into every record of its questions)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    max_table_kb: int = Field(
        512,
        ge=1,
        le=100_000,
        description="Largest table, as CSV text in KB (1,000 chars); a bigger one stops the "
        "load with one line naming its file (a table is never truncated).",
    )

    @property
    def max_table_chars(self) -> int:
        return self.max_table_kb * 1000
