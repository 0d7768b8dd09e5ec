"""The CodeAct paper's baselines, ``json`` and ``text``: one call per turn, written in the text.

Parsing is checked directly (good calls, answers, bad calls, turns without a call, hostile
text that must never raise), then whole episodes run through the loop with the real OpenAI
and Anthropic SDKs against the loopback server, whose stop-sequence handling differs (OpenAI
drops ``End Action``; Anthropic reports it and the teacher puts it back).
"""

from __future__ import annotations

import json
import random
from typing import Any

import pytest
from loop_fakes import TASK, FakeSandbox, FakeSource
from loopback_teacher import LoopbackServer, ScriptedPolicy

from trajkit.collect.formats.base import ActionFormat, Call, Offer, Result, action_format
from trajkit.collect.formats.json_calls import JsonFormat
from trajkit.collect.formats.text_calls import TextFormat
from trajkit.collect.loop import LoopConfig, run_episode
from trajkit.collect.teachers.anthropic_teacher import AnthropicTeacher
from trajkit.collect.teachers.openai_teacher import OpenAITeacher
from trajkit.core import registry
from trajkit.core.tool_schema import tool_schemas
from trajkit.core.tools import Tool
from trajkit.schemas import ActionKind, ErrorKind, Observation, Step, Termination, ToolCall

JSON, TEXT = JsonFormat(), TextFormat()
BOTH = pytest.mark.parametrize("fmt", [JSON, TEXT], ids=["json", "text"])


def search(query: str, limit: int = 5) -> str:
    """Search the encyclopedia.

    Args:
        query: the words to look for
        limit: how many pages at most
    """
    return f"{limit} pages about {query}"


def add(*numbers: float) -> float:
    """Add numbers."""
    return sum(numbers)


def multiply(a: int, b: int) -> int:
    """Multiply two integers."""
    return a * b


TOOLS = (Tool.from_function(search), Tool.from_function(add), Tool.from_function(multiply))
OFFER = Offer(tools=TOOLS, python=False, schemas=tuple(tool_schemas(TOOLS, python=False)))


def one(fmt: ActionFormat, text: str, turn: int = 0) -> Call:
    calls = fmt.parse(text, [], OFFER, turn)
    assert len(calls) == 1
    return calls[0]


# ----------------------------------------------------------------------------- the protocol


@BOTH
def test_the_prompt_lists_every_function_with_its_parameters_and_the_budget(fmt: Any) -> None:
    prompt = fmt.system_prompt(OFFER, 7, 2, None)
    for needle in ("[1] search: Search the encyclopedia.",
                   "Signature: search(query: string, limit: integer = 5)",
                   "- query: the words to look for", "- limit: how many pages at most",
                   "Signature: add(numbers: array of number (optional))",
                   "Signature: multiply(a: integer, b: integer)",
                   "[4] submit:", "Signature: submit(answer: string)",
                   "Action:", "End Action", "Observation:",
                   "Your budget: 7 turns in total, and at most 2 proposed solutions."):
        assert needle in prompt, needle
    assert "<execute>" not in prompt and "execute_python" not in prompt
    assert fmt.stop == ("End Action",) and not fmt.native and fmt.functions
    assert not fmt.demonstrations and not fmt.offers_python(TOOLS, True)
    assert isinstance(fmt, ActionFormat)


def test_each_format_words_its_own_call_syntax() -> None:
    json_prompt, text_prompt = (f.system_prompt(OFFER, 5, 1, None) for f in (JSON, TEXT))
    assert 'Action: {"tool": "submit", "args": ["42"]} End Action' in json_prompt
    assert '"args"' not in text_prompt and "Action: submit, 42 End Action" in text_prompt
    for fmt in (JSON, TEXT):
        corrective = fmt.corrective("no 'Action: ... End Action' call")
        assert fmt.example in corrective and fmt.submit_example in corrective


@BOTH
def test_results_go_back_as_one_observation_with_the_mint_budget_line(fmt: Any) -> None:
    call = one(fmt, 'Action: {"tool": "add", "args": [1]} End Action')
    messages = fmt.result_messages([Result(call, Observation(text="1\n"))], 3, 1)
    assert [(m.role, m.content) for m in messages] == [
        ("user", "Observation:\n1\nYou have 3 steps left and 1 chances to propose solution left.")
    ]
    said = fmt.assistant_message("Thought: go.\nAction: x End Action", [call])
    assert said.role == "assistant" and not said.tool_calls


def test_both_formats_are_registered_by_name() -> None:
    assert {"code", "json", "text"} <= set(registry.names("action_format"))
    assert isinstance(action_format("json"), JsonFormat)
    assert isinstance(action_format("TEXT"), TextFormat)
    assert registry.REGISTRY.entry("action_format", "json").builtin


# ----------------------------------------------------------------------------- good calls


@pytest.mark.parametrize(("fmt", "text", "arguments"), [
    (JSON, 'Action: {"tool": "search", "args": ["Paris", 3]} End Action', {"query": "Paris", "limit": 3}),
    (JSON, 'Action: {"tool": "search", "args": {"query": "Paris"}} End Action', {"query": "Paris"}),
    (JSON, 'Action: {"name": "search", "arguments": {"query": "x"}} End Action', {"query": "x"}),
    (JSON, 'Action: {"tool": "search", "args": "Paris"} End Action', {"query": "Paris"}),
    (JSON, 'Action: {"tool": "add", "args": [1, 2.5, 3]} End Action', {"numbers": [1, 2.5, 3]}),
    (JSON, 'Action: {"tool": "multiply", "args": [6.0, 7]} End Action', {"a": 6, "b": 7}),
    (TEXT, "Action: search, Paris, 3 End Action", {"query": "Paris", "limit": 3}),
    (TEXT, "Action: search, 'Paris, France', 3 End Action", {"query": "Paris, France", "limit": 3}),
    (TEXT, "Action: search, limit=2, query=Rome End Action", {"limit": 2, "query": "Rome"}),
    (TEXT, 'Action: search(query="x", limit=2) End Action', {"query": "x", "limit": 2}),
    (TEXT, "Action: search, 02139 End Action", {"query": "02139"}),
    (TEXT, "Action: search, Alzheimer's disease End Action", {"query": "Alzheimer's disease"}),
    (TEXT, "Action: add, 1, 2.5, 3 End Action", {"numbers": [1, 2.5, 3]}),
    (TEXT, "Action: add End Action", {}),
], ids=lambda v: v if isinstance(v, str) else None)
def test_a_good_call_is_a_checked_tool_call(fmt: Any, text: str, arguments: dict) -> None:
    call = one(fmt, "Thought: I should look.\n" + text, turn=3)
    assert call.kind is ActionKind.TOOL and call.error is None
    assert call.arguments == arguments
    assert call.made is not None and call.made.id == "call_3_0"
    assert json.loads(call.made.arguments) == arguments  # as written: 6.0 stays 6.0 there
    assert call.content.startswith(f"{call.made.name}(") and call.content.endswith(")")


def test_a_text_function_takes_the_rest_when_commas_outnumber_its_parameters() -> None:
    def lookup(query: str) -> str:
        return query

    solo = (Tool.from_function(lookup),)
    offer = Offer(tools=solo, python=False, schemas=tuple(tool_schemas(solo, python=False)))
    call = TEXT.parse("Action: lookup, Paris,  France End Action", [], offer, 0)[0]
    assert call.error is None and call.arguments == {"query": "Paris,  France"}


@pytest.mark.parametrize(("fmt", "text", "answer"), [
    (JSON, 'Action: {"tool": "submit", "args": ["Paris"]} End Action', "Paris"),
    (JSON, 'Action: {"tool": "submit", "args": {"answer": " 42 "}} End Action', "42"),
    (JSON, 'Action: {"tool": "submit", "args": [42]} End Action', "42"),
    (JSON, 'Action: {"tool": "submit", "args": [2.5]}', "2.5"),
    (JSON, 'Action: {"tool": "submit", "args": ["Answer: 4"]}\nThought: x', "Answer: 4"),
    (TEXT, "Action: submit, Paris, France End Action", "Paris, France"),
    (TEXT, "Action: submit, 'a, b' End Action", "a, b"),
    (TEXT, "Action: submit, answer=7 End Action", "7"),
    (TEXT, "Action: submit(42) End Action", "42"),
    (TEXT, "Action: submit, [1, 2] End Action", "[1, 2]"),
])
def test_submit_is_the_answer(fmt: Any, text: str, answer: str) -> None:
    call = one(fmt, text, turn=1)
    assert call.kind is ActionKind.SOLUTION and call.content == answer and call.error is None
    assert call.made is not None and call.made.name == "submit" and call.made.id == "call_1_0"


# ----------------------------------------------------------------------------- bad calls


@pytest.mark.parametrize(("fmt", "text", "error"), [
    (JSON, 'Action: {"tool": "fly", "args": [1]} End Action', "no function named 'fly'"),
    (JSON, 'Action: {"tool": "execute_python", "args": ["1"]} End Action', "no function named"),
    (JSON, 'Action: {"tool": "search", "args": [1]} End Action', "'query' must be string"),
    (JSON, 'Action: {"tool": "multiply", "args": [6]} End Action', "missing required argument 'b'"),
    (JSON, 'Action: {"tool": "multiply", "args": [1, 2, 3]} End Action', "takes 2 positional"),
    (JSON, 'Action: {"tool": "search", "args": {"query": "x", "q": 1}} End Action', "unexpected argument 'q'"),
    (JSON, 'Action: {"tool": "search", "args": ["x",]} End Action', "not valid JSON"),
    (JSON, 'Action: {"tool": "search", "tool": "add"} End Action', "the key 'tool' twice"),
    (JSON, 'Action: {"tool": "search", "args": [], "why": 1} End Action', "unexpected key 'why'"),
    (JSON, 'Action: {"tool": "search", "args": [], "arguments": {}} End Action', "arguments twice"),
    (JSON, 'Action: {"args": ["x"]} End Action', "name its function"),
    (JSON, 'Action: ["search", "x"] End Action', "must be a JSON object"),
    (JSON, 'Action: {"tool": "search", "args": [NaN]} End Action', "not valid JSON"),
    (JSON, 'Action: {"tool": "search", "args": [1e999]} End Action', "non-finite"),
    (JSON, 'Action: {"tool": "submit", "args": [""]} End Action', "the answer is empty"),
    (TEXT, "Action: fly, 1 End Action", "no function named 'fly'"),
    (TEXT, "Action: search Paris End Action", "put a comma"),
    (TEXT, "Action: (search) End Action", "starts with the name"),
    (TEXT, "Action: multiply, 6, seven End Action", "'b' must be integer"),
    (TEXT, "Action: multiply, 1e999, 2 End Action", "non-finite"),
    (TEXT, "Action: multiply(a=1, a=2) End Action", "'a' is given twice"),
    (TEXT, "Action: multiply, 2, a=3 End Action", "'a' is given twice"),
    (TEXT, "Action: submit End Action", "the answer is empty"),
])
def test_a_bad_call_is_a_failed_action_with_one_line(fmt: Any, text: str, error: str) -> None:
    call = one(fmt, text, turn=2)
    assert call.kind is ActionKind.TOOL and call.error is not None, call
    assert error in call.error and "\n" not in call.error
    assert call.made is not None and call.made.id == "call_2_0" and call.content
    assert ErrorKind.BAD_CALL  # the loop records it as this kind


@BOTH
def test_a_turn_without_a_call_is_invalid_with_the_reason(fmt: Any) -> None:
    for text, reason in [("I think the answer is 42.", "no 'Action: ... End Action' call"),
                         ("Answer: 42", "an 'Answer:' line instead of a submit call"),
                         ("Action:   End Action", "an empty 'Action:' call"),
                         ("Transaction: none", "no 'Action: ... End Action' call")]:
        call = one(fmt, text)
        assert call == Call(kind=ActionKind.INVALID, content=reason)


# ----------------------------------------------------------------------------- one call a turn


def test_the_first_call_wins_and_the_turn_is_cut_after_it() -> None:
    text = ('Action: {"tool": "search", "args": ["a"]} End Action\nObservation: made up\n'
            'Action: {"tool": "submit", "args": ["b"]} End Action')
    assert one(JSON, text).arguments == {"query": "a"}
    kept, dropped = JSON.cut(text)
    assert kept == 'Action: {"tool": "search", "args": ["a"]} End Action'
    assert dropped == len(text) - len(kept)


def test_without_end_action_the_call_ends_where_the_next_begins() -> None:
    text = "Thought: t\nAction: search, a\nAction: submit, b"
    assert one(TEXT, text).arguments == {"query": "a"}
    assert TEXT.cut(text) == ("Thought: t\nAction: search, a", len("\nAction: submit, b"))
    hallucinated = "Action: search, a\nObservation: 3 pages"
    assert one(TEXT, hallucinated).arguments == {"query": "a"}
    assert TEXT.cut("Action: search, a") == ("Action: search, a", 0)  # the server cut the stop
    assert TEXT.cut("no call at all") == ("no call at all", 0)


@pytest.mark.parametrize(("fmt", "text"), [
    (JSON, 'Action:\n```json\n{"tool": "search", "args": ["a"]}\n```\nEnd Action'),
    (JSON, '**Action:** `{"tool": "search", "args": ["a"]}` **End Action**'),
    (JSON, 'Action: {"tool": "search", "args": ["a"]} end action'),
    (TEXT, "Action:\n```\nsearch, a\n```\nEnd Action"),
    (TEXT, "**Action:** search, a **End Action**"),
])
def test_markdown_around_the_call_is_ignored(fmt: Any, text: str) -> None:
    call = one(fmt, text)
    assert call.error is None and call.arguments == {"query": "a"}


# ----------------------------------------------------------------------------- hostile text


_PIECES = [
    "Action:", "End Action", "Answer:", "Observation:", "{", "}", "[", "]", "(", ")", '"', "'",
    ",", "=", ":", "\\", "`", "```", "**", "\n", " ", "tool", '"tool"', '"args"', "search",
    "submit", "add", "multiply", "fly", "1e999", "-0", "NaN", "Infinity", "null", "None",
    "True", "9" * 5000, "\ud800", "\udfff", "é", "\x00", "[[[[[[", "]]]]]", "{}", "[]",
    '{"tool": "search", "args": ', '"x"', "x=1", "query=", "*", "lambda: 0", "__import__('os')",
]


def _must_hold(fmt: Any, text: str, turn: int) -> None:
    calls = fmt.parse(text, [], OFFER, turn)
    assert len(calls) == 1
    call = calls[0]
    kept, dropped = fmt.cut(text)
    assert text.startswith(kept) and dropped == len(text) - len(kept)
    if call.made is not None:  # it goes into the record: it must serialise
        Step(index=0, assistant="x", action={"kind": call.kind, "content": call.content[:100]},
             calls=[call.made]).model_dump_json()
        json.dumps(call.arguments)
    if call.error is not None:
        assert "\n" not in call.error


@BOTH
def test_hostile_text_never_raises(fmt: Any) -> None:
    rng = random.Random(17)
    for turn in range(1500):
        text = "".join(rng.choice(_PIECES) for _ in range(rng.randint(1, 24)))
        if rng.random() < 0.7:
            text = "Action: " + text
        _must_hold(fmt, text, turn)


@BOTH
def test_pathological_calls_never_raise(fmt: Any) -> None:
    for text in [
        "Action: " + "[" * 100_000 + " End Action",
        'Action: {"tool": "search", "args": ' + "[" * 50_000 + "]" * 50_000 + "} End Action",
        "Action: search, " + "(" * 100_000,
        "Action: search(" + "[" * 300 + "]" * 300 + ")",
        "Action: search, " + "'" * 10_001,
        "Action: search, " + "x, " * 60_000,
        "Action: " + "x" * 2_000_000 + " End Action",
        "Thought: " + "y" * 5_000_000 + "\nAction: search, a End Action",
        'Action: {"tool": "search", "args": ["\ud800\udfff\ud800"]} End Action',
        'Action: {"tool": "\ud800", "args": []} End Action',
        "Action: search, \ud800 End Action",
        "Action: multiply, " + "9" * 10_000 + ", 2 End Action",
        'Action: {"tool": "multiply", "args": [' + "9" * 10_000 + ", 2]} End Action",
        "Action: search, b'bytes', 1j End Action",
        "Action: search({1: 2}) End Action",
        "Action: search(*x, **y) End Action",
        "Action: search), print(1), (x End Action",
        "Action: " + "Action: " * 10_000,
    ]:
        _must_hold(fmt, text, 0)


def test_nothing_is_evaluated() -> None:
    call = one(TEXT, "Action: search, __import__('os').system('exit 3') End Action")
    assert call.arguments == {"query": "__import__('os').system('exit 3')"}
    call = one(TEXT, "Action: search(__import__('os')) End Action")
    assert call.error is None and call.arguments == {"query": "__import__('os')"}


# ----------------------------------------------------------------------------- whole episodes


def _script(fmt: str) -> list[str]:
    if fmt == "json":
        return ['Thought: multiply.\nAction: {"tool": "multiply", "args": [6]} End Action\n'
                "Observation: (made up)",
                'Action: {"tool": "multiply", "args": [6, 7]} End Action',
                'Thought: done.\nAction: {"tool": "submit", "args": ["42"]} End Action']
    return ["Thought: multiply.\nAction: multiply, 6 End Action\nObservation: (made up)",
            "Action: multiply, 6, 7 End Action",
            "Thought: done.\nAction: submit, 42 End Action"]


@pytest.mark.parametrize("provider", ["openai", "anthropic"])
@pytest.mark.parametrize("fmt", ["json", "text"])
async def test_an_episode_through_the_real_sdks(
    loopback: LoopbackServer, provider: str, fmt: str
) -> None:
    loopback.set_policy(ScriptedPolicy({TASK.prompt: _script(fmt)}))
    cls = OpenAITeacher if provider == "openai" else AnthropicTeacher
    teacher = cls("model-x", {"max_retries": 0})
    try:
        traj = await run_episode(
            TASK, FakeSource(tools=[TOOLS[2]]), teacher, FakeSandbox(),
            LoopConfig(action_format=fmt, max_turns=5), run="r1", sandbox_name="fake-sb",
        )
    finally:
        await teacher.aclose()
    assert traj.termination is Termination.SOLVED and traj.success and traj.answer == "42"
    assert traj.action_format == fmt and traj.self_corrected
    assert [s.action.kind for s in traj.steps] == [ActionKind.TOOL, ActionKind.TOOL,
                                                   ActionKind.SOLUTION]
    first, second, _ = traj.steps
    assert first.observation is not None and first.observation.error is not None
    assert first.observation.error.kind is ErrorKind.BAD_CALL
    assert "missing required argument 'b'" in first.observation.text
    assert "made up" not in first.assistant  # cut after the call, as the stop sequence does
    # Anthropic reports the stop sequence it matched; OpenAI's API drops it unsaid, and the
    # teacher infers it from the open ``Action:``: both record the turn as it was written.
    assert first.assistant.endswith(" End Action")
    assert second.observation is not None and second.observation.text.strip() == "42"
    assert second.calls == [ToolCall(id="call_1_0", name="multiply",
                                     arguments='{"a": 6, "b": 7}')]
    users = [m.content for m in traj.messages[2:] if m.role == "user"]
    assert users[1] == "Observation:\n42\nYou have 3 steps left and 2 chances to propose solution left."
    system = traj.messages[0].content
    assert "Signature: multiply(a: integer, b: integer)" in system and "<execute>" not in system
    body = loopback.last_request.body
    assert body.get("stop", body.get("stop_sequences")) == ["End Action"]
    assert "tools" not in body
