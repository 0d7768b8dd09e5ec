"""A model the collector lends a plugin (an LLM judge) for the run: asked, cached and paid for
like the run's teacher, without the plugin ever importing the collector.

The collector builds a :class:`LentModel` from a ``PROVIDER:MODEL`` spec through the
``make_teacher`` hook of ``SourceRuntime`` (a :class:`ModelLender`): the provider from the
plugin registry, the run's response cache in front of it, the model's own list price (or the
run's ``--price``). Each reply says what it cost, so a judge can write that on its verdict.

What a judgement cost is recorded where every reader finds it again, on the record itself:
a verdict whose ``details`` hold ``cost_usd`` (a finite number >= 0, USD) adds it to the
episode's cost, so ``run.json``, ``--max-cost``, a resume and ``trajkit view`` all count it.
Any judge that pays for its decision may set it; :func:`verdict_cost` reads it defensively.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Protocol

from trajkit.schemas import Message, Usage, Verdict

#: The key of ``Verdict.details`` holding what reaching that verdict cost, in USD.
COST_KEY = "cost_usd"


@dataclass(frozen=True)
class ModelReply:
    """One answer of a lent model: its text, the provider's token usage, and what the call
    cost at the model's price (0 when served from the response cache; ``None`` when the
    model has no known price)."""

    text: str
    usage: Usage
    cost_usd: float | None


class LentModel(Protocol):
    """A model to ask: the collector's teacher machinery behind a plugin-sized interface."""

    @property
    def name(self) -> str:
        """How a record names the model: ``PROVIDER:MODEL`` as the user wrote it, never a
        path of this machine (a recording is named by its file name only)."""
        ...

    async def complete(
        self, messages: list[Message], stop: list[str], *, task_id: str
    ) -> ModelReply:
        """The model's answer to ``messages`` (system prompt first).

        Raises ``TeacherError`` when the call failed after the SDK's retries and
        ``TeacherFatalError`` when no call can succeed (a bad key, an unknown model).
        """
        ...

    async def aclose(self) -> None: ...


class ModelLender(Protocol):
    """``make_teacher(spec, flag=...)``: a :class:`LentModel` for ``spec``; one-line
    ``ConfigError``s name ``flag`` (a malformed spec, an unknown provider, no price under
    ``--max-cost``), ``TeacherFatalError`` a missing key, all before any episode starts."""

    def __call__(self, spec: str, *, flag: str) -> LentModel: ...


def verdict_cost(verdict: Verdict | None) -> float:
    """What reaching ``verdict`` cost (``details["cost_usd"]``), or 0 when it says nothing
    usable: details are free-form, so a bool, a string or a negative or non-finite number
    counts as nothing rather than breaking a run's accounting."""
    if verdict is None:
        return 0.0
    value = verdict.details.get(COST_KEY)
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return 0.0
    cost = float(value)
    return cost if math.isfinite(cost) and cost >= 0 else 0.0
