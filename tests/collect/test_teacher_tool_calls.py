"""Native tool calls through the teachers: real SDKs → real HTTP → the loopback server, which
encodes calls as each provider documents and refuses tool conversations the provider would."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import pytest
from loopback_teacher import LoopbackServer, Reply
from loopback_tools import TOOL_HOSTILE_KINDS

from trajkit.collect.teachers.anthropic_teacher import (
    AnthropicTeacher,
    to_anthropic_messages,
    with_breakpoint,
)
from trajkit.collect.teachers.base import Completion, Teacher, TeacherError
from trajkit.collect.teachers.batch_teacher import batch_teacher
from trajkit.collect.teachers.cache import SCHEMA, CachingTeacher, ResponseCache, request_key
from trajkit.collect.teachers.openai_teacher import OpenAITeacher
from trajkit.collect.teachers.provider import TeacherProvider, get_provider
from trajkit.collect.teachers.rate_control import AdaptiveLimit, AdaptiveTeacher
from trajkit.collect.teachers.replay_teacher import ReplayTeacher
from trajkit.core.errors import DataError
from trajkit.core.tool_schema import EXECUTE_PYTHON, SUBMIT, anthropic_tools, openai_tools
from trajkit.schemas import Message, TeacherInfo, ToolCall, Usage
from trajkit.schemas.trajectory import CALL_ID_CHARS

PROVIDERS = ["openai", "anthropic"]
LOOKUP = {
    "name": "lookup",
    "description": "Look a word up.",
    "parameters": {"type": "object", "properties": {"q": {"type": "string"}}, "required": ["q"]},
}
SCHEMAS = [EXECUTE_PYTHON, LOOKUP, SUBMIT]
TASK = [
    Message(role="system", content="You solve tasks by calling functions."),
    Message(role="user", content="What is 6 * 7?"),
]
TWO_CALLS = Reply("Let me check.", [("execute_python", {"code": "print(6 * 7)"}), ("lookup", {"q": "é"})])


@pytest.fixture
async def make(loopback: LoopbackServer) -> AsyncIterator[Callable[..., Any]]:
    made: list[Teacher] = []

    def build(provider: str, **params: Any) -> Any:
        teacher = (OpenAITeacher if provider == "openai" else AnthropicTeacher)("model-x", params)
        made.append(teacher)
        return teacher

    yield build
    for teacher in made:
        await teacher.aclose()


def answered(turn: Completion, *results: str, errors: tuple[int, ...] = ()) -> list[Message]:
    """The conversation after ``turn``: its assistant message, then one result per call."""
    msgs = [*TASK, Message(role="assistant", content=turn.text, tool_calls=turn.tool_calls)]
    for k, (call, text) in enumerate(zip(turn.tool_calls, results, strict=False)):
        msgs.append(Message(role="tool", content=text, tool_call_id=call.id, is_error=k in errors))
    return msgs


# ----------------------------------------------------------------------------- reading calls
@pytest.mark.parametrize("provider", PROVIDERS)
async def test_tools_go_out_in_wire_form_and_parallel_calls_come_back_in_order(loopback, make, provider):
    loopback.set_policy(lambda msgs: TWO_CALLS)
    turn = await make(provider).complete(TASK, [], task_id="t", tools=SCHEMAS)
    body = loopback.last_request.body
    assert body["tools"] == (openai_tools if provider == "openai" else anthropic_tools)(SCHEMAS)
    assert turn.text == "Let me check."
    assert [c.name for c in turn.tool_calls] == ["execute_python", "lookup"]
    assert [json.loads(c.arguments) for c in turn.tool_calls] == [{"code": "print(6 * 7)"}, {"q": "é"}]
    prefix, reason = ("call_", "tool_calls") if provider == "openai" else ("toolu_", "tool_use")
    assert all(c.id.startswith(prefix) for c in turn.tool_calls) and turn.stop_reason == reason
    assert len({c.id for c in turn.tool_calls}) == 2


async def test_openai_brings_malformed_arguments_back_verbatim(loopback, make):
    loopback.set_policy(lambda msgs: Reply("", [("submit", '{"answer": 42')]))
    turn = await make("openai").complete(TASK, [], task_id="t", tools=SCHEMAS)
    assert turn.text == "" and turn.tool_calls[0].arguments == '{"answer": 42'
    assert loopback.last_request.status == 200


async def test_anthropic_wire_cannot_carry_malformed_arguments(loopback, make):
    loopback.set_policy(lambda msgs: Reply("", [("submit", '{"answer": 42')]))
    with pytest.raises(TeacherError, match="policy error"):
        await make("anthropic").complete(TASK, [], task_id="t", tools=SCHEMAS)


@pytest.mark.parametrize("provider", PROVIDERS)
async def test_an_unknown_function_comes_back_as_named(loopback, make, provider):
    loopback.set_policy(lambda msgs: Reply("", [("no_such_tool", {"x": 1})]))
    turn = await make(provider).complete(TASK, [], task_id="t", tools=SCHEMAS)
    assert [(c.name, json.loads(c.arguments)) for c in turn.tool_calls] == [("no_such_tool", {"x": 1})]


@pytest.mark.parametrize("provider", PROVIDERS)
async def test_a_stop_sequence_in_a_plain_turn_is_still_restored(loopback, make, provider):
    """Offering tools changes nothing for a turn without calls."""
    loopback.set_policy(lambda msgs: "<execute>1</execute> more")
    turn = await make(provider).complete(TASK, ["</execute>"], task_id="t", tools=SCHEMAS)
    assert turn.text == "<execute>1</execute>" and turn.tool_calls == []


# ----------------------------------------------------------------------------- round trips
@pytest.mark.parametrize("provider", PROVIDERS)
async def test_calls_and_results_sent_back_are_accepted(loopback, make, provider):
    teacher = make(provider)
    loopback.set_policy(lambda msgs: TWO_CALLS if msgs[-1]["role"] == "user" else Reply("", [("submit", {"answer": "42"})]))
    first = await teacher.complete(TASK, [], task_id="t", tools=SCHEMAS)
    convo = answered(first, "42", "no entry\nYou have 3 steps left.", errors=(1,))
    second = await teacher.complete(convo, [], task_id="t", tools=SCHEMAS)
    assert loopback.last_request.status == 200
    assert [c.name for c in second.tool_calls] == ["submit"]
    seen = loopback.last_request.messages  # the policy's (OpenAI-style) view of either wire
    assert [m["role"] for m in seen] == ["system", "user", "assistant", "tool", "tool"]
    assert [c["id"] for c in seen[2]["tool_calls"]] == [c.id for c in first.tool_calls]
    assert [m["tool_call_id"] for m in seen[3:]] == [c.id for c in first.tool_calls]
    wire = loopback.last_request.body["messages"]
    if provider == "openai":
        assert wire[2]["tool_calls"][1]["function"] == {"name": "lookup", "arguments": first.tool_calls[1].arguments}
        assert wire[3] == {"role": "tool", "tool_call_id": first.tool_calls[0].id, "content": "42"}
    else:
        results = wire[-1]["content"]
        assert [b["type"] for b in results] == ["tool_result", "tool_result"]
        assert "is_error" not in results[0] and results[1]["is_error"] is True
        assert results[-1]["cache_control"] == {"type": "ephemeral"}  # the breakpoint, on a block
        assert wire[1]["content"][0] == {"type": "text", "text": "Let me check."}


@pytest.mark.parametrize("provider", PROVIDERS)
async def test_a_missing_result_is_the_providers_400(loopback, make, provider):
    teacher = make(provider)
    loopback.set_policy(lambda msgs: TWO_CALLS)
    first = await teacher.complete(TASK, [], task_id="t", tools=SCHEMAS)
    with pytest.raises(TeacherError, match=r"bad request \(400\).*" + first.tool_calls[1].id):
        await teacher.complete(answered(first, "42"), [], task_id="t", tools=SCHEMAS)
    stray = [*answered(first, "42", "x"), Message(role="tool", content="?", tool_call_id="call_nobody")]
    with pytest.raises(TeacherError, match="bad request"):
        await teacher.complete(stray, [], task_id="t", tools=SCHEMAS)
    if provider == "anthropic":  # tool blocks in a request that offers no tools
        with pytest.raises(TeacherError, match="must define tools"):
            await teacher.complete(answered(first, "42", "x"), [], task_id="t")


def test_tool_results_and_a_following_user_message_are_one_anthropic_turn():
    call = ToolCall(id="toolu_1", name="lookup", arguments="not json")
    msgs = [
        *TASK,
        Message(role="assistant", content=" ", tool_calls=[call, call.model_copy(update={"id": "toolu_2"})]),
        Message(role="tool", content="a", tool_call_id="toolu_1"),
        Message(role="tool", content="", tool_call_id="toolu_2", is_error=True),
        Message(role="user", content="Call a function."),
    ]
    system, turns = to_anthropic_messages(msgs)
    assert system == TASK[0].content and len(turns) == 3
    assert turns[1]["content"] == [
        {"type": "tool_use", "id": "toolu_1", "name": "lookup", "input": {}},
        {"type": "tool_use", "id": "toolu_2", "name": "lookup", "input": {}},
    ]
    assert [b["type"] for b in turns[2]["content"]] == ["tool_result", "tool_result", "text"]
    assert turns[2]["content"][1] == {"type": "tool_result", "tool_use_id": "toolu_2", "content": "(empty)", "is_error": True}
    assert with_breakpoint(turns)[2]["content"][2]["cache_control"] == {"type": "ephemeral"}


# ----------------------------------------------------------------------------- hostile shapes
@pytest.mark.parametrize("kind", TOOL_HOSTILE_KINDS)
async def test_hostile_call_shapes_are_teacher_errors_or_sendable_calls(loopback, make, kind):
    provider = kind.partition("_")[0]
    loopback.set_policy(lambda msgs: Reply("", [("lookup", {"q": "a"})] * 4))
    loopback.fail_next(1, 200, kind)
    teacher = make(provider)
    if kind.endswith(("_object", "_garbage")):
        turn = await teacher.complete(TASK, [], task_id="t", tools=SCHEMAS)
        ids = [c.id for c in turn.tool_calls]
        assert len(set(ids)) == 4 and all(0 < len(i) <= CALL_ID_CHARS for i in ids)
        if kind == "openai_tool_arguments_object":
            assert turn.tool_calls[0].arguments == '{"a": 1}'
        loopback.set_policy(lambda msgs: "done")  # the ids made up go back and are accepted
        await teacher.complete(answered(turn, "1", "2", "3", "4"), [], task_id="t", tools=SCHEMAS)
        assert loopback.last_request.status == 200
    else:
        with pytest.raises(TeacherError, match="malformed response"):
            await teacher.complete(TASK, [], task_id="t", tools=SCHEMAS)


# ----------------------------------------------------------------------------- plain requests
PLAIN = [*TASK, Message(role="assistant", content="<execute>1</execute>"),
         Message(role="user", content="Observation: 1"), Message(role="user", content="more")]
#: Built by the teachers before native tool calls existed: plain bodies must stay these bytes.
PLAIN_OPENAI = ('{"temperature": 0.0, "stop": ["</execute>"], "model": "model-x", "messages": '
                '[{"role": "system", "content": "You solve tasks by calling functions."}, {"role": '
                '"user", "content": "What is 6 * 7?"}, {"role": "assistant", "content": '
                '"<execute>1</execute>"}, {"role": "user", "content": "Observation: 1"}, {"role": '
                '"user", "content": "more"}]}')
PLAIN_ANTHROPIC = ('{"temperature": 0.0, "model": "model-x", "max_tokens": 1024, "messages": [{"role": '
                   '"user", "content": "What is 6 * 7?"}, {"role": "assistant", "content": '
                   '"<execute>1</execute>"}, {"role": "user", "content": [{"type": "text", "text": '
                   '"Observation: 1\\n\\nmore", "cache_control": {"type": "ephemeral"}}]}], "system": '
                   '[{"type": "text", "text": "You solve tasks by calling functions.", "cache_control": '
                   '{"type": "ephemeral"}}], "stop_sequences": ["</execute>"]}')


@pytest.mark.parametrize("provider", PROVIDERS)
async def test_plain_requests_are_unchanged(loopback, make, provider):
    teacher = make(provider, temperature=0.0)
    expected = PLAIN_OPENAI if provider == "openai" else PLAIN_ANTHROPIC
    assert json.dumps(teacher.request_body(PLAIN, ["</execute>"])) == expected
    await teacher.complete(PLAIN, ["</execute>"], task_id="t")
    assert loopback.last_request.body == json.loads(expected)


# ----------------------------------------------------------------------------- the response cache
#: ``request_key`` of the plain request below, computed before tool calls were added to it.
PLAIN_KEY = "d9c3fbe16782e4b72e64c043666ff383ada8179ce512ef7f7adb127f5b32b2c0"


def test_plain_cache_keys_are_unchanged_and_tool_fields_count():
    info = TeacherInfo(provider="openai", model="gpt-x", params={"temperature": 0.0})
    msgs = [Message(role="system", content="sys"), Message(role="user", content="Task: 1+1"),
            Message(role="assistant", content="<execute>1+1</execute>"),
            Message(role="user", content="Observation: 2")]
    assert request_key(info, msgs, ["</execute>"], sample=1)[0] == PLAIN_KEY
    assert request_key(info, msgs, ["</execute>"], sample=1, tools=SCHEMAS)[0] != PLAIN_KEY
    call = ToolCall(id="c1", name="submit", arguments="{}")
    native = [*msgs[:2], Message(role="assistant", content="", tool_calls=[call]),
              Message(role="tool", content="ok", tool_call_id="c1")]
    keys = {request_key(info, m, [], sample=1)[0] for m in (
        native, [*native[:3], native[3].model_copy(update={"is_error": True})],
        [*native[:2], native[2].model_copy(update={"tool_calls": [call.model_copy(update={"arguments": "{ }"})]}), native[3]],
    )}
    assert len(keys) == 3


async def test_a_cache_hit_returns_the_same_calls(loopback, make, tmp_path):
    loopback.set_policy(lambda msgs: TWO_CALLS)
    teacher = CachingTeacher(make("openai"), ResponseCache(tmp_path / "c.sqlite"))
    first = await teacher.complete(TASK, [], task_id="t", tools=SCHEMAS)
    again = CachingTeacher(make("openai"), ResponseCache(tmp_path / "c.sqlite"))
    second = await again.complete(TASK, [], task_id="t", tools=SCHEMAS)
    assert second.tool_calls == first.tool_calls and second.usage.cached_calls == 1
    assert loopback.request_count == 1
    await again.complete(TASK, [], task_id="t")  # without tools: another request
    assert loopback.request_count == 2
    teacher.cache.close()
    again.cache.close()


def test_a_cache_file_from_before_tool_calls_stays_readable(tmp_path):
    path = tmp_path / "old.sqlite"
    db = sqlite3.connect(path)
    db.execute(SCHEMA)
    db.execute("INSERT INTO responses (key, provider, model, request, text, usage) VALUES "
               "('k', 'openai', 'm', '{}', 'old turn', ?)", (Usage(calls=1).model_dump_json(),))
    db.commit()
    db.close()
    cache = ResponseCache(path)
    old = cache.get("k")
    assert old is not None and old.text == "old turn" and old.tool_calls == []
    calls = [ToolCall(id="c", name="submit", arguments='{"answer": "1"}')]
    cache.put("n", TeacherInfo(provider="openai", model="m"), "{}",
              Completion(text="", usage=Usage(calls=1), tool_calls=calls))
    assert cache.get("n").tool_calls == calls  # type: ignore[union-attr]
    cache.close()
    assert ResponseCache(path).get("k") is not None  # reopening does not migrate twice


# ----------------------------------------------------------------------------- wrappers, batch, replay
class OldPluginTeacher:
    """A plugin teacher from before native tool calls: ``complete`` has no ``tools``."""

    info = TeacherInfo(provider="plugin", model="m")

    async def complete(self, messages, stop, *, task_id):
        return Completion(text="plain", usage=Usage(calls=1))

    async def aclose(self) -> None:
        pass


async def test_wrappers_pass_tools_only_when_given(loopback, make, tmp_path):
    old = AdaptiveTeacher(CachingTeacher(OldPluginTeacher(), ResponseCache(tmp_path / "a.sqlite")), AdaptiveLimit(2))
    assert (await old.complete(TASK, [], task_id="t")).text == "plain"
    loopback.set_policy(lambda msgs: TWO_CALLS)
    live = AdaptiveTeacher(CachingTeacher(make("anthropic"), ResponseCache(tmp_path / "b.sqlite")), AdaptiveLimit(2))
    assert len((await live.complete(TASK, [], task_id="t", tools=SCHEMAS)).tool_calls) == 2
    assert TeacherProvider.supports_tools is False
    assert all(get_provider(name).supports_tools for name in ("openai", "anthropic", "replay"))


@pytest.mark.parametrize("provider", PROVIDERS)
async def test_batch_mode_carries_tool_calls(loopback, tmp_path, provider):
    loopback.set_policy(lambda msgs: TWO_CALLS)
    provider_obj = get_provider(provider)
    teacher = batch_teacher(provider_obj.make("model-x", {}), provider_obj, run_dir=tmp_path / "run",
                            results_path=tmp_path / "cache.sqlite", poll_s=0.01, window_s=5.0)
    try:
        async with teacher.episode():
            turn = await teacher.complete(TASK, [], task_id="t", tools=SCHEMAS)
        async with teacher.episode():  # stored: answered from the results cache
            again = await teacher.complete(TASK, [], task_id="t", tools=SCHEMAS)
    finally:
        await teacher.aclose()
    assert [c.name for c in turn.tool_calls] == ["execute_python", "lookup"]
    assert again.tool_calls == turn.tool_calls and len(loopback.batch.batches) == 1
    body = loopback.batch.batches[0].requests[0][1]
    assert body["tools"] == (openai_tools if provider == "openai" else anthropic_tools)(SCHEMAS)


async def test_replay_plays_native_turns(tmp_path: Path):
    path = tmp_path / "r.jsonl"
    recorded = {"text": "Check.", "tool_calls": [{"name": "lookup", "arguments": {"q": "a"}},
                                                 {"id": "x9", "name": "submit", "arguments": "{bad"}]}
    record = {"task_id": "b", "messages": [
        {"role": "user", "content": "q"},
        {"role": "assistant", "content": "", "tool_calls": [{"id": "c1", "name": "submit", "arguments": "{}"}]},
    ]}
    path.write_text(json.dumps({"task_id": "a", "turns": [recorded, "plain"]}) + "\n" + json.dumps(record) + "\n")
    teacher = ReplayTeacher(path, tokenizer="chars4")
    turn = await teacher.complete(TASK, ["</execute>"], task_id="a", tools=SCHEMAS)
    assert turn.text == "Check." and turn.stop_reason == "tool_use"
    assert [(c.id, c.name, c.arguments) for c in turn.tool_calls] == [
        ("call_0_0", "lookup", '{"q": "a"}'), ("x9", "submit", "{bad")]
    later = await teacher.complete(answered(turn, "1", "2"), [], task_id="a")
    assert later.text == "plain" and later.tool_calls == []
    from_record = await teacher.complete(TASK, [], task_id="b")
    assert from_record.tool_calls == [ToolCall(id="c1", name="submit", arguments="{}")]
    path.write_text(json.dumps({"task_id": "a", "turns": [{"tool_calls": [{"arguments": "{}"}]}]}) + "\n")
    with pytest.raises(DataError, match=r"turns\[0\]\.tool_calls\[0\]"):
        ReplayTeacher(path)


@pytest.mark.parametrize("provider", PROVIDERS)
async def test_prompt_caching_reads_back_a_tool_conversation(loopback, make, provider):
    """The second turn repeats the first (its calls and results included): a cache read."""
    long_task = [Message(role="system", content="Rules. " * 800), TASK[1]]
    teacher = make(provider)
    loopback.set_policy(lambda msgs: TWO_CALLS if msgs[-1]["role"] == "user" else "done")
    first = await teacher.complete(long_task, [], task_id="t", tools=SCHEMAS)
    convo = [*long_task, *answered(first, "42", "x")[2:]]
    second = await teacher.complete(convo, [], task_id="t", tools=SCHEMAS)
    assert 0 < second.usage.cache_read_tokens < second.usage.input_tokens  # the results are new


BAD_OPENAI = {
    "result before its call": [{"role": "tool", "tool_call_id": "a", "content": "x"}],
    "a user turn before the result": [
        {"role": "assistant", "content": None, "tool_calls": [
            {"id": "a", "type": "function", "function": {"name": "f", "arguments": "{}"}}]},
        {"role": "user", "content": "hi"}, {"role": "tool", "tool_call_id": "a", "content": "x"}],
    "arguments not a string": [
        {"role": "assistant", "content": "", "tool_calls": [
            {"id": "a", "type": "function", "function": {"name": "f", "arguments": {}}}]},
        {"role": "tool", "tool_call_id": "a", "content": "x"}],
}
USE = {"role": "assistant", "content": [{"type": "tool_use", "id": "a", "name": "f", "input": {}}]}
RESULT = {"type": "tool_result", "tool_use_id": "a", "content": "x"}
BAD_ANTHROPIC = {
    "text before the result": [USE, {"role": "user", "content": [{"type": "text", "text": "hi"}, RESULT]}],
    "result a turn late": [USE, {"role": "user", "content": "hi"}, {"role": "assistant", "content": "ok"},
                           {"role": "user", "content": [RESULT]}],
    "unknown id": [USE, {"role": "user", "content": [RESULT, {**RESULT, "tool_use_id": "b"}]}],
    "empty text block": [{"role": "user", "content": [{"type": "text", "text": " "}]}],
}


@pytest.mark.parametrize(("protocol", "why"), [("openai", w) for w in BAD_OPENAI] + [("anthropic", w) for w in BAD_ANTHROPIC])
def test_the_server_refuses_what_the_provider_refuses(protocol, why):
    from loopback_tool_checks import tool_errors

    bad = (BAD_OPENAI if protocol == "openai" else BAD_ANTHROPIC)[why]
    tools = (openai_tools if protocol == "openai" else anthropic_tools)(SCHEMAS)
    head = [{"role": "user", "content": "task"}] if protocol == "anthropic" and bad[0]["role"] == "assistant" else []
    assert tool_errors(protocol, {"messages": [*head, *bad], "tools": tools}) is not None
    good = [{"role": "user", "content": "task"}, USE, {"role": "user", "content": [RESULT]}]
    assert tool_errors("anthropic", {"messages": good, "tools": anthropic_tools(SCHEMAS)}) is None
    assert tool_errors(protocol, {"messages": [{"role": "user", "content": "x"}], "tools": [{"name": "bad name"}]})
