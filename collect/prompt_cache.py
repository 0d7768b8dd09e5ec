"""How providers' prompt caches bill a CodeAct episode, for ``--estimate`` before any call.

Every turn resends the whole conversation, which is the previous turn's request plus two
messages. What the providers document (and the loopback teacher emulates):

- Anthropic caches only at the request's breakpoints (``cache_control``; trajkit marks the
  system prompt and the last message, see ``teachers.anthropic_teacher``), only prefixes of at
  least the model's minimum length (``anthropic_min_tokens``), written at 1.25x the input
  price and read back at 0.1x while fresh (five minutes, refreshed by each read). So turn t
  reads turn t-1's request and writes what is new; a first turn reads the system prompt
  another episode wrote.
- OpenAI caches every prompt of at least 1024 tokens automatically, with no surcharge, and
  reports the longest previously seen prefix it served, in 128-token steps from 1024.

``episode_split`` applies these rules to an episode whose requests grow turn by turn; the
estimate uses it until the run's own records say what the cache really did.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

#: OpenAI: the shortest prompt cached, and the steps in which a cached prefix grows.
OPENAI_MIN_TOKENS = 1024
OPENAI_STEP_TOKENS = 128

#: Anthropic: model prefix → shortest cacheable prefix in tokens (longest prefix wins);
#: models not listed: ``ANTHROPIC_DEFAULT_MIN``.
ANTHROPIC_MIN_TOKENS = {
    "claude-3-haiku": 2048,
    "claude-3-5-haiku": 2048,
    "claude-haiku-4-5": 4096,
    "claude-opus-4-5": 4096,
    "claude-opus-4-6": 4096,
}
ANTHROPIC_DEFAULT_MIN = 1024


def anthropic_min_tokens(model: str) -> int:
    """The shortest prefix Anthropic caches for ``model`` (1024 for Sonnet and most Opus)."""
    matches = [prefix for prefix in ANTHROPIC_MIN_TOKENS if model.startswith(prefix)]
    return ANTHROPIC_MIN_TOKENS[max(matches, key=len)] if matches else ANTHROPIC_DEFAULT_MIN


def openai_cached(prefix: float) -> float:
    """Tokens OpenAI reports cached when ``prefix`` tokens were seen before."""
    if prefix < OPENAI_MIN_TOKENS:
        return 0.0
    steps = math.floor((prefix - OPENAI_MIN_TOKENS) / OPENAI_STEP_TOKENS)
    return float(OPENAI_MIN_TOKENS + steps * OPENAI_STEP_TOKENS)


@dataclass(frozen=True)
class CacheSplit:
    """Input tokens by how they are billed."""

    uncached: float = 0.0
    read: float = 0.0
    write: float = 0.0

    @property
    def total(self) -> float:
        return self.uncached + self.read + self.write


def caching(provider: str, breakpoints: bool) -> str | None:
    """Which rule a teacher's calls follow: ``anthropic`` (breakpoints asked for),
    ``openai`` (automatic), or ``None`` (nothing cached)."""
    if provider == "anthropic":
        return "anthropic" if breakpoints else None
    return "openai" if provider == "openai" else None


def episode_split(
    turns: float, prompt: float, growth: float, system: float, rule: str | None, model: str
) -> CacheSplit:
    """Input of one episode of ``turns`` turns (a fraction weighs its last turn) whose first
    request is ``prompt`` tokens, ``system`` of them the system prompt shared by every
    episode, each later request ``growth`` tokens longer."""
    split = CacheSplit()
    whole = math.ceil(turns)
    for t in range(whole):
        weight = min(1.0, turns - t)
        size = prompt + t * growth
        previous = system if t == 0 else prompt + (t - 1) * growth
        read = write = 0.0
        if rule == "anthropic":
            least = anthropic_min_tokens(model)
            read = previous if previous >= least else system if system >= least else 0.0
            write = size - read if size >= least else 0.0
        elif rule == "openai":
            read = min(openai_cached(previous), size)
        split = CacheSplit(
            split.uncached + weight * (size - read - write),
            split.read + weight * read,
            split.write + weight * write,
        )
    return split


def shares(splits: Sequence[CacheSplit]) -> tuple[float, float]:
    """(read, write) as shares of all the input in ``splits``."""
    total = sum(s.total for s in splits)
    if total <= 0:
        return 0.0, 0.0
    return sum(s.read for s in splits) / total, sum(s.write for s in splits) / total
