"""HTTP client sharding: small connection pools at high concurrency, one pool per episode."""

from __future__ import annotations

import ssl

import pytest
from loopback_teacher import TrivialPolicy

from trajkit.collect.teachers.common import (
    CONNECTIONS_PER_CLIENT,
    client_shards,
    http_client_options,
    shard_for,
)
from trajkit.collect.teachers.provider import make_teacher
from trajkit.schemas import Message


def test_shard_count_follows_concurrency() -> None:
    assert client_shards(1) == 1 and client_shards(CONNECTIONS_PER_CLIENT) == 1
    assert client_shards(CONNECTIONS_PER_CLIENT + 1) == 2
    assert client_shards(256) == 256 // CONNECTIONS_PER_CLIENT


def test_an_episode_keeps_its_client_and_episodes_spread() -> None:
    ids = [f"task-{i}" for i in range(400)]
    assert all(shard_for(t, 8) == shard_for(t, 8) for t in ids)
    counts = [sum(shard_for(t, 8) == k for t in ids) for k in range(8)]
    assert min(counts) > 25  # roughly even (50 each)
    assert shard_for("anything", 1) == 0


@pytest.mark.parametrize("provider", ["openai", "anthropic"])
async def test_sharded_teachers_answer_over_every_client(loopback, provider: str) -> None:
    loopback.set_policy(TrivialPolicy(0))
    teacher = make_teacher(f"{provider}:m", {"max_tokens": 64}, client_shards=4)
    try:
        assert len(teacher._clients) == 4  # type: ignore[attr-defined]
        # One TLS context for every shard (each costs ~20 ms of CPU to build).
        contexts = {id(_tls_context(c)) for c in teacher._clients}  # type: ignore[attr-defined]
        assert len(contexts) == 1
        msgs = [Message(role="system", content="s"), Message(role="user", content="q")]
        for i in range(12):
            done = await teacher.complete(msgs, ["</execute>"], task_id=f"t{i}")
            assert done.text == "<solution>2</solution>"
        used = {shard_for(f"t{i}", 4) for i in range(12)}
        assert len(used) > 1 and loopback.request_count == 12
    finally:
        await teacher.aclose()


def _tls_context(client: object) -> ssl.SSLContext:
    pool = client._client._transport._pool  # type: ignore[attr-defined]
    assert isinstance(pool._ssl_context, ssl.SSLContext)
    return pool._ssl_context


def test_one_client_needs_no_shared_options() -> None:
    import openai

    assert http_client_options(openai.DefaultAsyncHttpxClient, 1) == {}
    shared = http_client_options(openai.DefaultAsyncHttpxClient, 2)
    assert isinstance(shared["verify"], ssl.SSLContext)
