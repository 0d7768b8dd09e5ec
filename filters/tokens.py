"""``tokens``: keep trajectories whose token count lies in ``[min_tokens, max_tokens]``.

The count is the sum over every message's content (system prompt, task, turns and
observations): what a trainer feeds the model, without any chat-template overhead, which
depends on the model being trained and not on the data. The in-context demonstration at the
end of the system prompt (``--shots 1``) is not counted: it is not the episode's own, it is
the same in every record of a source, and exports leave it out by default. The tokenizer name is a param, so it
is recorded in the manifest and changes the dataset fingerprint.
"""

from __future__ import annotations

from typing import Any

from trajkit.core.demonstration import without_demonstration
from trajkit.core.tokenizers import DEFAULT_TOKENIZER, load_tokenizer, recorded_name
from trajkit.filters.base import KEEP, Decision, Drop, ParamError
from trajkit.schemas import Trajectory


def _bound(param: str, value: Any) -> int | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise ParamError(param, f"must be a whole number >= 0, got {value!r}")
    return value


class TokensFilter:
    """Drops ``too_few_tokens`` / ``too_many_tokens``; loads its tokenizer when built, so a
    missing tokenizer fails the command before any data is read."""

    name = "tokens"

    def __init__(
        self,
        min_tokens: int | None = None,
        max_tokens: int | None = None,
        tokenizer: str = DEFAULT_TOKENIZER,
    ) -> None:
        self.min_tokens = _bound("min_tokens", min_tokens)
        self.max_tokens = _bound("max_tokens", max_tokens)
        if self.min_tokens is not None and self.max_tokens is not None and self.min_tokens > self.max_tokens:
            raise ParamError("max_tokens", f"{self.max_tokens} is below min_tokens {self.min_tokens}")
        if not isinstance(tokenizer, str) or not tokenizer:
            raise ParamError("tokenizer", f"must be a tokenizer name, got {tokenizer!r}")
        self._count = load_tokenizer(tokenizer)
        self.tokenizer = recorded_name(tokenizer)  # a tokenizer file by name and hash

    @property
    def params(self) -> dict[str, Any]:
        bounds = {"min_tokens": self.min_tokens, "max_tokens": self.max_tokens}
        return {**{k: v for k, v in bounds.items() if v is not None}, "tokenizer": self.tokenizer}

    def count(self, traj: Trajectory) -> int:
        """Tokens over all message contents, the in-context demonstration left out."""
        return sum(self._count(m.content) for m in without_demonstration(traj.messages))

    def decide(self, traj: Trajectory) -> Decision:
        n = self.count(traj)
        if self.min_tokens is not None and n < self.min_tokens:
            return Drop("too_few_tokens")
        if self.max_tokens is not None and n > self.max_tokens:
            return Drop("too_many_tokens")
        return KEEP
