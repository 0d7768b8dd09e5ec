"""What tokens cost: a table of list prices per model, overridable per run.

Prices are USD per million tokens, the providers' published list prices when this table was
written: plain input, output, and input the provider's prompt cache served (a cache read) or
stored (a cache write). They change, so ``--price MODEL=IN,OUT[,CACHE_READ[,CACHE_WRITE]]``
(or the job file) overrides any entry and prices models the table does not know. Cache prices
left out are derived: for a model the table knows, at the table's own ratio to its input
price; otherwise by the provider's rule, Anthropic's (a read costs 0.1x the input price, a
five-minute cache write 1.25x) for ``anthropic:`` teachers and ``claude`` models, and the
plain input price for any other (no discount assumed: OpenAI's cached-input discount differs
from model to model, so only a price given says what it is).

A call is priced in parts (``cost_parts``): its uncached input, cache reads and cache writes
at their own prices, its output at the output price. Calls answered from the response cache
cost nothing. A judge that pays for its verdict (an LLM judge) writes what it paid on the
verdict, priced at its own model's price; the episode's cost includes it. Everything here is
a pure function of (usage, price), so each record is priced at its own teacher's price.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Annotated, NamedTuple

from pydantic import AfterValidator

from trajkit.core.errors import ConfigError
from trajkit.core.lent_model import verdict_cost
from trajkit.schemas import Trajectory, Usage

#: Anthropic's prompt-cache prices as multiples of the model's input price: reading a cached
#: prefix, and writing one to the five-minute cache (the only one trajkit asks for).
ANTHROPIC_READ = 0.1
ANTHROPIC_WRITE = 1.25


class Price(NamedTuple):
    """USD per million tokens. ``cache_read``/``cache_write``: input tokens the provider's
    prompt cache served or stored (OpenAI stores at no surcharge: its write price is the
    input price). A tuple, so ``price[0]``/``price[1]`` still read input and output."""

    input: float
    output: float
    cache_read: float
    cache_write: float

    def scaled(self, factor: float) -> Price:
        return Price(*(_tidy(value * factor) for value in self))


def _tidy(usd: float) -> float:
    """A derived price without float noise (0.3, not 0.30000000000000004)."""
    return round(usd, 12)


def _anthropic(inp: float, out: float) -> Price:
    return Price(inp, out, _tidy(inp * ANTHROPIC_READ), _tidy(inp * ANTHROPIC_WRITE))


#: model prefix → list price. Longest prefix wins. OpenAI: the published cached-input price;
#: Anthropic: the 0.1x / 1.25x rule.
LIST_PRICES: dict[str, Price] = {
    "gpt-4o-mini": Price(0.15, 0.60, 0.075, 0.15),
    "gpt-4o": Price(2.50, 10.00, 1.25, 2.50),
    "gpt-4.1-nano": Price(0.10, 0.40, 0.025, 0.10),
    "gpt-4.1-mini": Price(0.40, 1.60, 0.10, 0.40),
    "gpt-4.1": Price(2.00, 8.00, 0.50, 2.00),
    "o3-mini": Price(1.10, 4.40, 0.55, 1.10),
    "o4-mini": Price(1.10, 4.40, 0.275, 1.10),
    "o3": Price(2.00, 8.00, 0.50, 2.00),
    "claude-3-5-haiku": _anthropic(0.80, 4.00),
    "claude-3-5-sonnet": _anthropic(3.00, 15.00),
    "claude-3-7-sonnet": _anthropic(3.00, 15.00),
    "claude-sonnet-4": _anthropic(3.00, 15.00),
    "claude-opus-4": _anthropic(15.00, 75.00),
    "claude-opus-4-5": _anthropic(5.00, 25.00),
    "claude-haiku-4": _anthropic(1.00, 5.00),
}


#: What the providers' batch APIs (OpenAI Batch, Anthropic Message Batches) charge, as a
#: fraction of the list price; ``--mode batch`` runs are priced with it. Both apply it to
#: every rate, cache reads and writes included (Anthropic: the cache multipliers stack with
#: the batch discount; OpenAI: batch prices are half of each listed rate).
BATCH_FACTOR = 0.5


def _valid_entry(entry: tuple[float, ...]) -> tuple[float, ...]:
    if not 2 <= len(entry) <= 4:
        raise ValueError("expected IN,OUT[,CACHE_READ[,CACHE_WRITE]]: 2 to 4 prices")
    if any(not math.isfinite(p) or p < 0 for p in entry):
        raise ValueError("prices must be finite numbers >= 0")
    return entry


#: One ``--price`` entry as a run records it: (in, out[, cache read[, cache write]]), USD per
#: million tokens. Runs recorded before cache prices existed hold (in, out).
PriceEntry = Annotated[tuple[float, ...], AfterValidator(_valid_entry)]


def is_anthropic(model: str, provider: str | None = None) -> bool:
    """Whether Anthropic's cache-price rule applies: an ``anthropic:`` teacher, or (provider
    unknown) a ``claude`` model."""
    return provider == "anthropic" if provider else model.startswith("claude")


def as_price(entry: Price | Sequence[float], *, anthropic: bool = False,
             like: Price | None = None) -> Price:
    """A full ``Price`` from 2 to 4 numbers; missing cache prices as the module doc says:
    ``like``'s ratios (the table's entry for the model), else the provider's rule."""
    if isinstance(entry, Price):
        return entry
    values = [float(v) for v in entry]
    inp, out = values[0], values[1]
    if like is not None and like.input > 0:
        read = _tidy(inp * like.cache_read / like.input)
        write = _tidy(inp * like.cache_write / like.input)
    elif anthropic:
        read, write = _tidy(inp * ANTHROPIC_READ), _tidy(inp * ANTHROPIC_WRITE)
    else:
        read = write = inp
    if len(values) > 2:
        read = values[2]
    if len(values) > 3:
        write = values[3]
    return Price(inp, out, read, write)


def mode_price(price: Price | Sequence[float], mode: str) -> Price:
    """The price actually paid in ``mode``: list price for sync, discounted for batch."""
    return as_price(price).scaled(BATCH_FACTOR if mode == "batch" else 1.0)


def parse_price(text: str) -> tuple[str, tuple[float, ...]]:
    """``MODEL=IN,OUT[,CACHE_READ[,CACHE_WRITE]]`` (USD per million tokens) → (model, prices);
    errors name ``--price``."""
    model, sep, values = text.partition("=")
    parts = values.split(",")
    try:
        if not sep or not model.strip() or not 2 <= len(parts) <= 4:
            raise ValueError
        entry = _valid_entry(tuple(float(p) for p in parts))
    except ValueError:
        raise ConfigError(
            f"--price {text!r}: expected MODEL=IN,OUT[,CACHE_READ[,CACHE_WRITE]] in USD per "
            "million tokens"
        ) from None
    return model.strip(), entry


def _longest(model: str, table: Mapping[str, object]) -> str | None:
    if model in table:
        return model
    matches = [prefix for prefix in table if model.startswith(prefix)]
    return max(matches, key=len) if matches else None


def price_for(
    model: str,
    overrides: Mapping[str, Sequence[float]] | None = None,
    *,
    provider: str | None = None,
) -> Price | None:
    """The price of ``model``: an override first (its cache prices completed as the module
    doc says), then the longest matching table prefix; ``None`` if neither knows it."""
    listed = _longest(model, LIST_PRICES)
    known = LIST_PRICES[listed] if listed is not None else None
    chosen = _longest(model, overrides or {})
    if overrides and chosen is not None and (listed is None or len(chosen) >= len(listed)):
        return as_price(overrides[chosen], anthropic=is_anthropic(model, provider), like=known)
    return known


@dataclass(frozen=True)
class CostParts:
    """USD of a usage, by what was billed: uncached input, cache reads, cache writes, output
    (and, for an episode, what its judges paid). ``total`` is the bill."""

    uncached_input: float = 0.0
    cache_read: float = 0.0
    cache_write: float = 0.0
    output: float = 0.0
    judge: float = 0.0

    @property
    def input(self) -> float:
        return self.uncached_input + self.cache_read + self.cache_write

    @property
    def total(self) -> float:
        return self.input + self.output + self.judge

    def __add__(self, other: CostParts) -> CostParts:
        return CostParts(
            self.uncached_input + other.uncached_input, self.cache_read + other.cache_read,
            self.cache_write + other.cache_write, self.output + other.output,
            self.judge + other.judge,
        )


def cost_parts(usage: Usage, price: Price | Sequence[float]) -> CostParts:
    """USD of one call's (or a sum of calls') tokens, part by part."""
    p = as_price(price)
    return CostParts(
        uncached_input=usage.uncached_input_tokens * p.input / 1_000_000,
        cache_read=usage.cache_read_tokens * p.cache_read / 1_000_000,
        cache_write=usage.cache_write_tokens * p.cache_write / 1_000_000,
        output=usage.output_tokens * p.output / 1_000_000,
    )


def usage_cost(usage: Usage, price: Price | Sequence[float]) -> float:
    """USD for one call's (or a sum of calls') tokens."""
    return cost_parts(usage, price).total


def cache_savings(usage: Usage, price: Price | Sequence[float]) -> float:
    """USD the provider's prompt cache saved on ``usage``'s input: all of it at the input
    price, minus what it was billed (negative where writes cost more than reads saved)."""
    p = as_price(price)
    return usage.input_tokens * p.input / 1_000_000 - cost_parts(usage, p).input


def trajectory_cost_parts(traj: Trajectory, price: Price | Sequence[float]) -> CostParts:
    """What this episode actually cost, part by part: its steps' calls, minus those served
    from the response cache, plus what its judges paid to reach their verdicts (an LLM
    judge's grader calls, written on each verdict at the grader's own price:
    ``core.lent_model.verdict_cost``)."""
    parts = CostParts(judge=sum(verdict_cost(step.verdict) for step in traj.steps))
    for step in traj.steps:
        if not step.usage.cached_calls:
            parts = parts + cost_parts(step.usage, price)
    return parts


def trajectory_cost(traj: Trajectory, price: Price | Sequence[float]) -> float:
    """What this episode actually cost (``trajectory_cost_parts``'s total)."""
    return trajectory_cost_parts(traj, price).total
