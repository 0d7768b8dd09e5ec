"""Which independent sample of a conversation an episode asks for (``--samples N``).

Two attempts at one task send the teacher the same first request; the response cache (and
the batch results store) must nevertheless give each attempt its own answer, or attempt 2
would replay attempt 1 for free and the extra samples would be worthless. The episode's
attempt number travels in a context variable, set once where the episode starts, so no
``Teacher`` implementation (a user's own included) has to carry it: only the layers keyed by
the request (``cache.request_key``) read it. Attempt 1 leaves every key as it was before
attempts existed, so earlier caches stay valid.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar

_SAMPLE: ContextVar[int] = ContextVar("trajkit_sample", default=1)


def current_sample() -> int:
    """The attempt number of the episode this coroutine belongs to (1 outside any)."""
    return _SAMPLE.get()


@contextmanager
def sampling(attempt: int) -> Iterator[None]:
    """Mark every teacher call made inside as belonging to attempt ``attempt``."""
    token = _SAMPLE.set(attempt)
    try:
        yield
    finally:
        _SAMPLE.reset(token)
