"""Prompt caching at the teacher boundary: real SDKs → real HTTP → the loopback server, which
bills caching as the providers document it (``tests/fixtures/loopback_cache.py``).

Token counts are the server's (``ceil(chars / 4)`` per text, plus 3 per message for Anthropic
and 4 for OpenAI), so every expected number below is worked out by hand in its comment.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import AsyncIterator, Callable
from typing import Any

import pytest
from loopback_teacher import LoopbackServer

from trajkit.collect.teachers.anthropic_teacher import AnthropicTeacher
from trajkit.collect.teachers.base import Teacher, TeacherError
from trajkit.collect.teachers.cache import request_key
from trajkit.collect.teachers.openai_teacher import OpenAITeacher
from trajkit.schemas import Message, Usage

STOP = ["</execute>", "</solution>"]
SYSTEM = "s" * 4400  # 1,100 tokens: above the 1,024-token minimum on its own
EPHEMERAL = {"type": "ephemeral"}


def convo(task: str = "u", *turns: str) -> list[Message]:
    """The long system prompt, a 100-token task, then (assistant, observation) pairs, each
    message 400 characters (100 tokens)."""
    msgs = [Message(role="system", content=SYSTEM), Message(role="user", content=task * 400)]
    for said in turns:
        msgs += [Message(role="assistant", content=said * 400),
                 Message(role="user", content="o" * 400)]
    return msgs


def split(usage: Usage) -> tuple[int, int, int]:
    return usage.uncached_input_tokens, usage.cache_write_tokens, usage.cache_read_tokens


@pytest.fixture
async def make(loopback: LoopbackServer) -> AsyncIterator[Callable[..., Teacher]]:
    made: list[Teacher] = []

    def build(provider: str, model: str = "claude-sonnet-4", **kwargs: Any) -> Teacher:
        if provider == "openai":
            teacher: Teacher = OpenAITeacher(model, {"max_retries": 0})
        else:
            teacher = AnthropicTeacher(model, {"max_retries": 0}, **kwargs)
        made.append(teacher)
        return teacher

    loopback.set_policy(lambda msgs: "ok")
    yield build
    for t in made:
        await t.aclose()


async def test_anthropic_marks_breakpoints_and_each_turn_reads_the_last(loopback, make) -> None:
    teacher = make("anthropic")
    first = await teacher.complete(convo(), STOP, task_id="t")
    body = loopback.last_request.body
    assert body["system"] == [{"type": "text", "text": SYSTEM, "cache_control": EPHEMERAL}]
    assert body["messages"] == [
        {"role": "user", "content": [{"type": "text", "text": "u" * 400, "cache_control": EPHEMERAL}]}
    ]
    # system 1,100 + 3 = 1,103 tokens, the task 103 more: both prefixes written, none read.
    assert first.usage.input_tokens == 1206 and split(first.usage) == (0, 1206, 0)

    second = await teacher.complete(convo("u", "a"), STOP, task_id="t")
    marked = [m for m in loopback.last_request.body["messages"] if isinstance(m["content"], list)]
    assert len(marked) == 1 and marked[0] is loopback.last_request.body["messages"][-1]
    # +103 assistant, +103 observation = 1,412: the previous request's 1,206 read back (found
    # two blocks before the new breakpoint), the 206 new tokens written.
    assert second.usage.input_tokens == 1412 and split(second.usage) == (0, 206, 1206)

    other = await teacher.complete(convo("v"), STOP, task_id="t2")
    # Another task: only the shared system prompt (1,103) is read, its own 103 written.
    assert split(other.usage) == (0, 103, 1103)


async def test_no_prompt_cache_sends_no_breakpoint_and_nothing_is_cached(loopback, make) -> None:
    teacher = make("anthropic", prompt_cache=False)
    for _ in range(2):
        c = await teacher.complete(convo(), STOP, task_id="t")
        assert split(c.usage) == (1206, 0, 0)
    body = loopback.last_request.body
    assert body["system"] == SYSTEM and body["messages"] == [{"role": "user", "content": "u" * 400}]
    assert "cache_control" not in json.dumps(body)


async def test_below_the_models_minimum_nothing_is_cached(loopback, make) -> None:
    haiku = make("anthropic", model="claude-3-5-haiku-latest")  # caches from 2,048 tokens
    for _ in range(2):
        assert split((await haiku.complete(convo(), STOP, task_id="t")).usage) == (1206, 0, 0)
    short = [Message(role="system", content="Be brief."), Message(role="user", content="Hi")]
    c = await make("anthropic").complete(short, STOP, task_id="t")
    assert split(c.usage) == (c.usage.input_tokens, 0, 0)
    loopback.prompt_cache.ttl_s = 0  # an expired cache is written again, never read
    sonnet = make("anthropic")
    for _ in range(2):
        assert split((await sonnet.complete(convo("w"), STOP, task_id="t")).usage) == (0, 1206, 0)


async def test_openai_reports_its_automatic_cache_and_we_record_it(loopback, make) -> None:
    teacher = make("openai", model="gpt-4o")
    # system 1,100 + 4, task 100 + 4 = 1,208 prompt tokens; nothing seen before
    first = await teacher.complete(convo(), STOP, task_id="t")
    assert (first.usage.input_tokens, first.usage.cache_read_tokens) == (1208, 0)
    # another task: the system message (1,104) was seen: 1,024 cached (steps of 128)
    other = await teacher.complete(convo("v"), STOP, task_id="t2")
    assert (other.usage.input_tokens, other.usage.cache_read_tokens) == (1208, 1024)
    # the first task's next turn: its 1,208-token prompt was seen: 1,024 + 128 cached
    second = await teacher.complete(convo("u", "a"), STOP, task_id="t")
    assert (second.usage.input_tokens, second.usage.cache_read_tokens) == (1416, 1152)
    assert second.usage.cache_write_tokens == 0 and second.usage.uncached_input_tokens == 264
    assert "cache_control" not in json.dumps(loopback.last_request.body)


@pytest.mark.parametrize(
    ("provider", "kind", "field"),
    [
        ("openai", "openai_cached_string", "usage.prompt_tokens_details.cached_tokens"),
        ("openai", "openai_cached_over_prompt", "usage.prompt_tokens_details.cached_tokens"),
        ("openai", "openai_details_list", "usage.prompt_tokens_details"),
        ("anthropic", "anthropic_cache_read_negative", "usage.cache_read_input_tokens"),
        ("anthropic", "anthropic_cache_write_huge", "usage.cache_creation_input_tokens"),
        ("anthropic", "anthropic_cache_write_float", "usage.cache_creation_input_tokens"),
    ],
)
async def test_malformed_cache_counts_are_a_teacher_error_naming_the_field(
    loopback, make, provider: str, kind: str, field: str
) -> None:
    loopback.fail_next(1, 200, kind)
    with pytest.raises(TeacherError) as caught:
        await make(provider).complete(convo(), STOP, task_id="t")
    message = str(caught.value)
    assert "malformed response" in message and field in message and "\n" not in message


def test_breakpoints_leave_the_response_cache_key_as_it_was() -> None:
    """Same conversation, same key, with or without breakpoints, and the key is what it was
    before prompt caching existed: a cache filled earlier still answers."""
    msgs = convo("u", "a")
    on = AnthropicTeacher("claude-sonnet-4", {"temperature": 0.0}, api_key="k")
    off = AnthropicTeacher("claude-sonnet-4", {"temperature": 0.0}, api_key="k",
                           prompt_cache=False)
    assert on.request_body(msgs, STOP) != off.request_body(msgs, STOP)
    before = json.dumps(
        {"provider": "anthropic", "model": "claude-sonnet-4", "params": {"temperature": 0.0},
         "stop": STOP, "messages": [[m.role, m.content] for m in msgs]},
        sort_keys=True, ensure_ascii=False, separators=(",", ":"),
    )
    expected = hashlib.sha256(before.encode()).hexdigest()
    assert request_key(on.info, msgs, STOP)[0] == request_key(off.info, msgs, STOP)[0] == expected
