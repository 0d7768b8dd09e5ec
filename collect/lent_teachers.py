"""Models the collector lends a run's plugins (an LLM judge's grader): ``SourceRuntime.make_teacher``.

A lent model is built like the run's teacher — the provider from the plugin registry, the
run's client options (``timeout``, ``max_retries``), the shared response cache at
``OUT/cache/responses.sqlite`` — but always at temperature 0, in sync mode (never batched),
and priced at its *own* model's list price or ``--price`` entry. Each reply carries its cost
(0 for a cache hit), which the judge writes on its verdict (``core.lent_model``), so the
run's cost, ``--max-cost`` and a resume count it from the records alone.

A grader without a known price cannot be budgeted: under ``--max-cost`` that is a one-line
``ConfigError`` before the run starts, as for the teacher; without a budget its calls are
left out of the run's cost, and a warning says so.
"""

from __future__ import annotations

import logging
import sqlite3
from pathlib import Path
from typing import Any

from trajkit.collect.config import CollectConfig
from trajkit.collect.pricing import Price, price_for, usage_cost
from trajkit.collect.teachers.base import Teacher, tools_kwarg
from trajkit.collect.teachers.cache import with_cache
from trajkit.collect.teachers.common import CLIENT_OPTION_KEYS, client_shards
from trajkit.collect.teachers.provider import get_provider
from trajkit.core.errors import ConfigError
from trajkit.core.lent_model import LentModel, ModelLender, ModelReply
from trajkit.schemas import Message

log = logging.getLogger(__name__)

#: Sampling of every lent model: a judgement should not depend on the draw (and a cached
#: one is then exactly the judgement a new call would give).
LENT_PARAMS: dict[str, Any] = {"temperature": 0.0}


class LentTeacher:
    """A teacher as a :class:`~trajkit.core.lent_model.LentModel`: replies priced per call."""

    def __init__(self, name: str, teacher: Teacher, price: Price | None) -> None:
        self._name = name
        self.teacher = teacher
        self.price = price

    @property
    def name(self) -> str:
        return self._name

    async def complete(
        self,
        messages: list[Message],
        stop: list[str],
        *,
        task_id: str,
        tools: list[dict[str, Any]] | None = None,
    ) -> ModelReply:
        """The teacher's reply, priced; ``tools`` reaches the teacher only when given (a
        ``ModelReply`` carries text only: a grader that offers functions reads none back)."""
        completion = await self.teacher.complete(
            messages, stop, task_id=task_id, **tools_kwarg(tools)
        )
        usage = completion.usage
        if usage.cached_calls:
            cost: float | None = 0.0
        else:
            cost = None if self.price is None else usage_cost(usage, self.price)
        return ModelReply(text=completion.text, usage=usage, cost_usd=cost)

    async def aclose(self) -> None:
        await self.teacher.aclose()


def teacher_lender(config: CollectConfig) -> ModelLender:
    """The ``make_teacher`` hook of a run described by ``config``."""

    def make_teacher(spec: str, *, flag: str) -> LentModel:
        provider_name, sep, model = (part.strip() for part in spec.strip().partition(":"))
        if not sep or not provider_name or not model:
            raise ConfigError(f"{flag}={spec}: malformed, expected PROVIDER:MODEL")
        provider = get_provider(provider_name.lower(), flag=f"{flag}={spec}")
        price = (
            Price(0.0, 0.0, 0.0, 0.0) if provider.free
            else price_for(model, config.prices, provider=provider.name)
        )
        if price is None and config.max_cost is not None:
            raise ConfigError(
                f"--max-cost: no list price known for {flag}={spec}; give one with "
                f"--price {model}=IN,OUT (USD per million tokens)"
            )
        if price is None:
            log.warning(
                "warning: no list price known for %s=%s; its calls are not counted in the "
                "run's cost (give one with --price %s=IN,OUT)", flag, spec, model,
            )
        client = {k: v for k, v in config.teacher_params.items() if k in CLIENT_OPTION_KEYS}
        teacher = provider.make(
            model, {**LENT_PARAMS, **client}, client_shards=client_shards(config.concurrency),
            **provider.cache_options(config.prompt_cache),
        )
        if config.cache and provider.cacheable:
            teacher = _cached(teacher, config.cache_path)
        shown = Path(model).name if provider.model_is_path else model
        return LentTeacher(f"{provider_name.lower()}:{shown}", teacher, price)

    return make_teacher


def _cached(teacher: Teacher, path: Path) -> Teacher:
    """``teacher`` behind the response cache at ``path``, or uncached (saying why) where this
    machine cannot hold it (a Ray worker on another machine): the cache only saves money."""
    try:
        return with_cache(teacher, path)
    except (OSError, sqlite3.Error) as exc:
        log.warning("warning: response cache %s unavailable (%s); the grader runs uncached",
                    path, exc)
        return teacher
