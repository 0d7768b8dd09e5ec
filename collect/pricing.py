"""What tokens cost: a table of list prices per model, overridable per run.

Prices are USD per million tokens (input, output), the providers' published list prices
when this table was written; they change, so ``--price MODEL=IN,OUT`` (or the job file)
overrides any entry and prices models the table does not know. Calls answered from the
response cache cost nothing. A judge that pays for its verdict (an LLM judge) writes what it
paid on the verdict, priced at its own model's price; the episode's cost includes it.
"""

from __future__ import annotations

from collections.abc import Mapping

from trajkit.core.errors import ConfigError
from trajkit.core.lent_model import verdict_cost
from trajkit.schemas import Trajectory, Usage

#: model prefix → (USD per 1M input tokens, USD per 1M output tokens). Longest prefix wins.
LIST_PRICES: dict[str, tuple[float, float]] = {
    "gpt-4o-mini": (0.15, 0.60),
    "gpt-4o": (2.50, 10.00),
    "gpt-4.1-nano": (0.10, 0.40),
    "gpt-4.1-mini": (0.40, 1.60),
    "gpt-4.1": (2.00, 8.00),
    "o3-mini": (1.10, 4.40),
    "o4-mini": (1.10, 4.40),
    "o3": (2.00, 8.00),
    "claude-3-5-haiku": (0.80, 4.00),
    "claude-3-5-sonnet": (3.00, 15.00),
    "claude-3-7-sonnet": (3.00, 15.00),
    "claude-sonnet-4": (3.00, 15.00),
    "claude-opus-4": (15.00, 75.00),
    "claude-haiku-4": (1.00, 5.00),
}


#: What the providers' batch APIs (OpenAI Batch, Anthropic Message Batches) charge, as a
#: fraction of the list price; ``--mode batch`` runs are priced with it.
BATCH_FACTOR = 0.5


def mode_price(price: tuple[float, float], mode: str) -> tuple[float, float]:
    """The price actually paid in ``mode``: list price for sync, discounted for batch."""
    factor = BATCH_FACTOR if mode == "batch" else 1.0
    return (price[0] * factor, price[1] * factor)


def parse_price(text: str) -> tuple[str, tuple[float, float]]:
    """``MODEL=IN,OUT`` (USD per million tokens) → (model, (in, out)); errors name ``--price``."""
    model, sep, values = text.partition("=")
    parts = values.split(",")
    try:
        if not sep or not model.strip() or len(parts) != 2:
            raise ValueError
        price = (float(parts[0]), float(parts[1]))
        if min(price) < 0:
            raise ValueError
    except ValueError:
        raise ConfigError(f"--price {text!r}: expected MODEL=IN,OUT in USD per million tokens") from None
    return model.strip(), price


def price_for(model: str, overrides: Mapping[str, tuple[float, float]] | None = None) -> tuple[float, float] | None:
    """The price of ``model`` (an override first, then the longest matching table prefix)."""
    table = {**LIST_PRICES, **(overrides or {})}
    if model in table:
        return table[model]
    matches = [prefix for prefix in table if model.startswith(prefix)]
    return table[max(matches, key=len)] if matches else None


def usage_cost(usage: Usage, price: tuple[float, float]) -> float:
    """USD for one call's (or a sum of calls') tokens."""
    return (usage.input_tokens * price[0] + usage.output_tokens * price[1]) / 1_000_000


def trajectory_cost(traj: Trajectory, price: tuple[float, float]) -> float:
    """What this episode actually cost: its steps' calls, minus those served from the cache,
    plus what its judges paid to reach their verdicts (an LLM judge's grader calls, written on
    each verdict at the grader's own price: ``core.lent_model.verdict_cost``)."""
    teacher = sum(usage_cost(step.usage, price) for step in traj.steps if not step.usage.cached_calls)
    return teacher + sum(verdict_cost(step.verdict) for step in traj.steps)
