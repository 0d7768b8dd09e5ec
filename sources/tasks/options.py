"""``--source-opt`` keys of the ``tasks`` source, and how they are told apart from its judge's.

One flag carries both: the source's own keys (field mapping, template, judge, tools) and the
chosen judge's keys (``tol=0.01``, ``rubric=FILE``). The source takes its own and hands the
rest to the judge, so ``--source-opt judge=numeric --source-opt tol=0.01`` needs no prefix.
"""

from __future__ import annotations

from collections.abc import Mapping

from pydantic import BaseModel, ConfigDict, Field


class TasksOptions(BaseModel):
    """The ``tasks`` source's own ``--source-opt`` keys (the judge's are passed on)."""

    model_config = ConfigDict(extra="forbid")

    question: str = Field("question", min_length=1, description="field holding the question")
    answer: str = Field("answer", min_length=1, description="field holding the reference answer")
    id: str | None = Field(
        None, description="field holding the task id (default: a hash of question and answer)"
    )
    template: str | None = Field(
        None, description="prompt template file with {field} placeholders"
    )
    judge: str = Field("exact", min_length=1, description="judge spec: NAME, NAME:ARG or NAME>=ARG")
    tools: str | None = Field(
        None, description="host functions for the sandbox: module:function,..."
    )


def split_options(
    model: type[BaseModel], raw: Mapping[str, str]
) -> tuple[dict[str, str], dict[str, str]]:
    """``raw`` as ``(the source's own keys, everything else)``; the rest is the judge's."""
    own = {k: v for k, v in raw.items() if k in model.model_fields}
    rest = {k: v for k, v in raw.items() if k not in model.model_fields}
    return own, rest
