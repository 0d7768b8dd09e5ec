"""The loop in the ``tools`` action format: native calls in, one tool result per call out.

The teacher and sandbox are the in-memory fakes (the wire forms are tested against the real
SDKs in ``test_teacher_tool_calls.py``); what is checked here is what the loop does with a
turn's calls: run them in order, answer each, count the budget per turn, judge ``submit``,
treat a bad call as a failed action, and keep the conversation valid for both providers.
"""

from __future__ import annotations

import json
from typing import Any

from loop_fakes import TASK, FakeSandbox, FakeSource, FakeTeacher, play

from trajkit.collect.formats.base import Offer, make_offer
from trajkit.collect.formats.tools import ToolsFormat
from trajkit.collect.loop import LoopConfig
from trajkit.collect.teachers.base import Completion
from trajkit.collect.teachers.turn_text import MAX_CALLS_PER_TURN
from trajkit.core.self_correction import is_self_correcting_steps
from trajkit.core.tools import EndEpisode, Tool
from trajkit.schemas import ActionKind, ErrorKind, Termination, ToolCall, Usage, Verdict

TOOLS = LoopConfig(action_format="tools")


def turn(*calls: tuple[str, Any], text: str = "") -> Completion:
    """A native turn: ``(name, arguments)`` pairs, arguments a dict or the raw JSON text."""
    made = [
        ToolCall(id=f"call_{i}_{name}", name=name,
                 arguments=args if isinstance(args, str) else json.dumps(args))
        for i, (name, args) in enumerate(calls)
    ]
    return Completion(text=text, usage=Usage(input_tokens=10, output_tokens=5, calls=1),
                      tool_calls=made)


def check_native(messages: list[Any]) -> None:
    """Every call is answered by exactly one tool message, in order, before the next turn."""
    pending: list[str] = []
    for m in messages[2:]:
        if m.role == "assistant":
            assert not pending, f"unanswered calls {pending}"
            pending = [c.id for c in m.tool_calls]
        elif m.role == "tool":
            assert pending and m.tool_call_id == pending.pop(0)
        else:
            assert m.role == "user" and not pending


async def test_execute_fails_then_recovers_then_submits() -> None:
    turns = [
        turn(("execute_python", {"code": "print(6 * x)"}), text="Let me compute."),
        turn(("execute_python", {"code": "x = 7\nprint(6 * x)"})),
        turn(("submit", {"answer": "42"})),
    ]
    traj, teacher, sandbox = await play(turns, config=TOOLS)
    assert traj.termination is Termination.SOLVED and traj.success and traj.self_corrected
    assert traj.action_format == "tools"
    assert [t["name"] for t in traj.tools] == ["execute_python", "submit"]
    assert teacher.tools[0] == traj.tools and teacher.stops[0] == []
    assert sandbox.codes == ["print(6 * x)", "x = 7\nprint(6 * x)"]
    roles = [m.role for m in traj.messages]
    assert roles == ["system", "user", "assistant", "tool", "assistant", "tool", "assistant"]
    first, second = traj.messages[3], traj.messages[5]
    assert first.is_error and "NameError" in first.content and "4 steps left" in first.content
    assert not second.is_error and second.content.startswith("42\n")
    assert [s.action.kind for s in traj.steps] == [
        ActionKind.EXECUTE, ActionKind.EXECUTE, ActionKind.SOLUTION]
    assert traj.steps[0].observation and traj.steps[0].observation.error
    assert traj.answer == "42" and len(traj.steps[2].calls) == 1
    assert "<execute>" not in traj.messages[0].content and "submit(answer)" in traj.messages[0].content
    check_native(traj.messages)


async def test_parallel_calls_run_in_order_and_each_is_answered() -> None:
    turns = [
        turn(("execute_python", {"code": "a = 6"}), ("execute_python", {"code": "print(a * 7)"})),
        turn(("submit", {"answer": "42"})),
    ]
    traj, _, sandbox = await play(turns, config=TOOLS)
    assert traj.success and sandbox.codes == ["a = 6", "print(a * 7)"]
    tools = [m for m in traj.messages if m.role == "tool"]
    assert [m.tool_call_id for m in tools] == ["call_0_execute_python", "call_1_execute_python"]
    assert "steps left" not in tools[0].content and "steps left" in tools[1].content
    assert len(traj.steps) == 2 and len(traj.steps[0].calls) == 2  # one turn, two calls
    check_native(traj.messages)


async def test_malformed_arguments_and_unknown_function_are_failed_actions() -> None:
    turns = [
        turn(("execute_python", '{"code": "print(1)"'), ("browse", {"url": "x"})),
        turn(("submit", {"answer": "42"})),
    ]
    traj, _, sandbox = await play(turns, config=TOOLS)
    assert sandbox.codes == []  # neither ran
    bad_json, unknown = [m for m in traj.messages if m.role == "tool"]
    assert bad_json.is_error and "not valid JSON" in bad_json.content
    assert unknown.is_error and "no function named 'browse'" in unknown.content
    error = traj.steps[0].observation.error if traj.steps[0].observation else None
    assert error is not None and error.kind is ErrorKind.BAD_CALL
    assert traj.self_corrected and is_self_correcting_steps(traj.steps, True)
    assert traj.steps[0].calls[0].arguments == '{"code": "print(1)"'  # kept as it was sent


async def test_a_turn_without_a_call_gets_a_user_message() -> None:
    traj, _, _ = await play([turn(text="I think it is 42."), turn(("submit", {"answer": "42"}))],
                            config=TOOLS)
    assert [m.role for m in traj.messages[2:]] == ["assistant", "user", "assistant"]
    assert "no function call" in traj.messages[3].content and "submit" in traj.messages[3].content
    assert traj.steps[0].action.kind is ActionKind.INVALID and not traj.self_corrected


async def test_wrong_submit_is_a_tool_result_and_uses_a_proposal() -> None:
    config = LoopConfig(action_format="tools", max_solutions=2)
    traj, _, _ = await play(
        [turn(("submit", {"answer": "41"})), turn(("submit", {"answer": "40"}))], config=config
    )
    assert traj.termination is Termination.MAX_SOLUTIONS and not traj.success
    wrong = traj.messages[3]
    assert wrong.role == "tool" and wrong.content.startswith("Your answer is wrong.")
    assert not wrong.is_error  # a wrong answer is a verdict, not a failed call


async def test_source_tools_run_on_the_host_without_a_sandbox() -> None:
    seen: list[str] = []

    def search(query: str) -> str:
        """Search the corpus."""
        seen.append(query)
        if query == "boom":
            raise RuntimeError("index offline")
        return f"results for {query}"

    source = FakeSource(tools=[Tool.from_function(search)])
    turns = [turn(("search", {"query": "boom"})), turn(("search", {"query": "six"})),
             turn(("submit", {"answer": "42"}))]
    traj, teacher, sandbox = await play(turns, config=TOOLS, source=source)
    assert seen == ["boom", "six"] and traj.success and traj.self_corrected
    assert [t["name"] for t in teacher.tools[0] or []] == ["search", "submit"]  # no Python
    assert not sandbox.start_begun.is_set()  # nothing needed the sandbox
    failed, found = [m for m in traj.messages if m.role == "tool"]
    assert failed.is_error and "RuntimeError: index offline" in failed.content
    assert found.content.startswith("results for six")
    assert traj.steps[1].action.kind is ActionKind.TOOL
    assert traj.steps[1].action.content == 'search(query="six")'


async def test_budget_counts_turns_not_calls() -> None:
    config = LoopConfig(action_format="tools", max_turns=2)
    many = turn(*[("execute_python", {"code": f"v{i} = {i}"}) for i in range(4)])
    traj, _, sandbox = await play([many, many], config=config)
    assert traj.termination is Termination.MAX_TURNS and len(sandbox.codes) == 8
    assert traj.messages[-1].role == "assistant"  # nothing is sent after the last turn


async def test_a_hostile_flood_of_calls_is_cut() -> None:
    flood = turn(*[("execute_python", {"code": "pass"}) for _ in range(1000)])
    huge = turn(("execute_python", json.dumps({"code": "x" * 500_000})))
    config = LoopConfig(action_format="tools", max_turns=3)
    traj, _, sandbox = await play([flood, huge, turn(("submit", {"answer": "42"}))], config=config)
    assert len(traj.steps[0].calls) == MAX_CALLS_PER_TURN == len(sandbox.codes)
    assert len(traj.steps[1].calls[0].arguments) < 101_000  # capped: no longer valid JSON
    assert traj.steps[1].observation and traj.steps[1].observation.error
    assert traj.success


async def test_an_environment_ends_the_episode_from_a_direct_call() -> None:
    class Env:
        def __init__(self) -> None:
            self.outcome: Verdict | None = None

        def tools(self) -> list[Tool]:
            def buy(item: str) -> str:
                """Buy an item."""
                self.outcome = Verdict(success=item == "lamp", score=1.0)
                raise EndEpisode("Thank you for your purchase.")
            return [Tool.from_function(buy)]

        async def judge(self, answer: str) -> Verdict:
            return Verdict(success=False, score=0.0)

        async def aclose(self) -> None:
            pass

    from trajkit.collect.loop import run_episode

    env = Env()
    teacher = FakeTeacher([turn(("buy", {"item": "lamp"}), ("buy", {"item": "sofa"}))])
    traj = await run_episode(TASK, FakeSource(), teacher, FakeSandbox(), TOOLS, run="r",
                             sandbox_name="fake", env=env)  # type: ignore[arg-type]
    assert traj.termination is Termination.SOLVED and traj.success
    assert traj.steps[0].observation and "Thank you" in traj.steps[0].observation.text
    assert "sofa" not in str(traj.steps[0].observation)  # the second call never ran


def test_offer_depends_on_tools_and_setup() -> None:
    fmt = ToolsFormat()
    tool = Tool.from_function(lambda query: query, name="search")
    assert make_offer(fmt, "s", [], False).python  # MATH, APPS: Python
    assert not make_offer(fmt, "s", [tool], False).python  # HotpotQA: its tools
    assert make_offer(fmt, "s", [tool], True).python  # a sandbox holding the task's data
    offer: Offer = make_offer(fmt, "s", [tool], True)
    assert [s["name"] for s in offer.schemas] == ["execute_python", "search", "submit"]


async def test_code_format_records_are_unchanged() -> None:
    traj, teacher, _ = await play(["<solution>42</solution>"])
    assert traj.action_format == "code" and traj.tools == [] and teacher.tools == [None]
    line = json.loads(traj.model_dump_json())
    assert "tools" not in line and "calls" not in line["steps"][0]
    assert all(set(m) == {"role", "content"} for m in line["messages"])



async def test_a_direct_tool_call_is_stopped_at_the_cell_time_limit() -> None:
    import asyncio

    async def slow(query: str) -> str:
        """Never answers in time."""
        await asyncio.sleep(30)
        return "late"

    def broken(query: str) -> str:
        """Times out on its own."""
        raise TimeoutError("upstream timed out")

    source = FakeSource(tools=[Tool.from_function(slow), Tool.from_function(broken)])
    config = LoopConfig(action_format="tools", exec_timeout=0.2)
    turns = [turn(("slow", {"query": "x"}), ("broken", {"query": "y"})),
             turn(("submit", {"answer": "42"}))]
    traj, _, _ = await play(turns, config=config, source=source)
    stopped, own = [m for m in traj.messages if m.role == "tool"]
    assert stopped.is_error and "did not return within 0.2 s" in stopped.content
    assert own.is_error and own.content.startswith("TimeoutError: upstream timed out")
    error = traj.steps[0].observation.error if traj.steps[0].observation else None
    assert error is not None and error.kind is ErrorKind.TIMEOUT and traj.success


async def test_a_plugin_format_that_finds_nothing_still_answers_the_turn() -> None:
    from trajkit.core import registry

    class Silent(ToolsFormat):
        name = "silent"

        def parse(self, *args: Any) -> list[Any]:
            return []

    registry.register("action_format", "silent", Silent(), replace=True)
    try:
        traj, _, _ = await play(["anything", "more"], config=LoopConfig(
            action_format="silent", max_turns=2))
    finally:
        registry.REGISTRY.unregister("action_format", "silent")
    assert traj.termination is Termination.MAX_TURNS and traj.action_format == "silent"
    assert traj.steps[0].action.kind is ActionKind.INVALID
    assert traj.messages[3].role == "user" and "no action" in traj.messages[3].content


async def test_a_turns_calls_share_the_turn_cap() -> None:
    config = LoopConfig(action_format="tools", teacher_turn_chars=10_000, max_turns=2)
    heavy = turn(*[("execute_python", {"code": "x = '" + "y" * 4_000 + "'"}) for _ in range(8)],
                 text="z" * 1_000)
    traj, _, sandbox = await play([heavy, turn(("submit", {"answer": "42"}))], config=config)
    first = traj.steps[0]
    kept = len(first.assistant) + sum(len(c.arguments) for c in first.calls)
    assert len(first.calls) == 8 and kept < 10_000 + 8 * 60  # the cap, plus each cut's marker
    assert len(sandbox.codes) == 2  # the two calls that fit whole ran; the cut ones are bad calls
    assert traj.success


async def test_a_tool_that_cannot_be_a_function_stops_the_run_with_one_line() -> None:
    import pytest

    from trajkit.core.errors import ConfigError

    tool = Tool(name="look around", fn=lambda: "", signature="look around()", doc="Look.")
    with pytest.raises(ConfigError, match=r"--action-format tools: source 'fake' cannot offer "
                                          r"its tools as functions: tool name 'look around'"):
        await play([turn(("submit", {"answer": "42"}))], config=TOOLS,
                   source=FakeSource(tools=[tool]))
