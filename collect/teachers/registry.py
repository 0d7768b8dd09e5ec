"""``--teacher PROVIDER:MODEL`` → a ``Teacher``.

Provider modules are imported lazily so ``replay:`` never loads an SDK, and a missing SDK
only matters to the provider that needs it.
"""

from __future__ import annotations

from typing import Any

from trajkit.collect.teachers.base import Teacher
from trajkit.collect.teachers.rate_control import StatusHook
from trajkit.schemas.errors import ConfigError

PROVIDERS = ("openai", "anthropic", "replay")
_USAGE = "expected openai:MODEL, anthropic:MODEL or replay:PATH"


def parse_spec(spec: str) -> tuple[str, str]:
    """Split ``PROVIDER:MODEL`` at the first colon (a replay path may contain more)."""
    provider, sep, model = spec.strip().partition(":")
    provider = provider.strip().lower()
    model = model.strip()
    if not sep or not provider or not model:
        raise ConfigError(f"--teacher {spec!r}: malformed, {_USAGE}")
    if provider not in PROVIDERS:
        raise ConfigError(f"--teacher {spec!r}: unknown provider {provider!r}, {_USAGE}")
    return provider, model


def make_teacher(
    spec: str,
    params: dict[str, Any] | None = None,
    on_status: StatusHook | None = None,
    client_shards: int = 1,
) -> Teacher:
    """Build the teacher named by ``spec`` with sampling/client ``params``.

    Raises ``ConfigError`` for a bad spec, ``TeacherFatalError`` for a missing key and
    ``DataError`` for an unreadable replay file, all before any episode starts.
    ``on_status`` sees the status of every HTTP response (adaptive concurrency);
    ``client_shards`` HTTP clients share the episodes (``common.client_shards``).
    """
    provider, model = parse_spec(spec)
    params = dict(params or {})
    if provider == "openai":
        from trajkit.collect.teachers.openai_teacher import OpenAITeacher

        return OpenAITeacher(model, params, on_status=on_status, client_shards=client_shards)
    if provider == "anthropic":
        from trajkit.collect.teachers.anthropic_teacher import AnthropicTeacher

        return AnthropicTeacher(model, params, on_status=on_status, client_shards=client_shards)
    from trajkit.collect.teachers.replay_teacher import ReplayTeacher

    return ReplayTeacher(model, params)
