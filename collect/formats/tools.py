"""Native function calling (``tools``): the teacher calls functions through its provider's
tool-calling API instead of writing them in text.

It is offered each of the source's tools as a function (schemas generated from the tools
themselves, ``core.tool_schema``), ``execute_python(code)`` when the task runs code (the same
sandbox, the same persistent state as the code format), and ``submit(answer)``. Several
calls in one turn run in order and each is answered by its own tool-result message; the last
one also carries the budget line, so the conversation stays in the form providers and
trainers expect (a result answers every call; no extra user turn between results and the
next assistant turn).
"""

from __future__ import annotations

from collections.abc import Sequence

from trajkit.collect.formats.base import Call, Offer, Result
from trajkit.collect.formats.calls import checked_call
from trajkit.collect.formats.code import observation_messages
from trajkit.collect.prompts import (
    SOLUTION_AS_SUBMIT,
    budget_line,
    budget_text,
)
from trajkit.core.demonstration import Demonstration
from trajkit.core.tool_schema import EXECUTE_PYTHON, SUBMIT
from trajkit.core.tools import Tool
from trajkit.schemas import ActionKind, Message, ToolCall

_SYSTEM = """\
You are a helpful assistant who solves tasks step by step by calling the functions you are \
given.

In every turn, first think briefly about what to do next, then call one or more functions. \
{python}Each call's result comes back to you in the next message. When you are confident, \
call {submit} with your final answer. {answer_form}

{budget}"""

_PYTHON = (
    f"{EXECUTE_PYTHON['name']} runs Python code in a persistent interpreter: variables, "
    "functions and imports stay defined from one call to the next. "
)

_CORRECTIVE = (
    "I could not find a function call in your last message ({reason}). Call one of the "
    f"functions you were given; to give your final answer, call {SUBMIT['name']}."
)

#: ``Call.content`` of a turn without a call.
REASON_NO_CALL = "no function call"


class ToolsFormat:
    """Native function calling through the provider's API: the source's tools as functions,
    execute_python where the task runs code, submit for the answer."""

    name = "tools"
    native = True
    functions = True
    demonstrations = False
    stop: tuple[str, ...] = ()

    def offers_python(self, tools: Sequence[Tool], has_setup: bool) -> bool:
        """Python where the task is solved with code: a source without tools of its own
        (MATH, APPS), or one whose sandbox holds the task's data (WikiTQ's table)."""
        return not tools or has_setup

    def system_prompt(
        self, offer: Offer, max_turns: int, max_solutions: int, demonstration: Demonstration | None
    ) -> str:
        return _SYSTEM.format(
            python=_PYTHON if offer.python else "",
            submit=f"{SUBMIT['name']}(answer)",
            answer_form=SOLUTION_AS_SUBMIT,
            budget=budget_text(max_turns, max_solutions),
        )

    def cut(self, text: str) -> tuple[str, int]:
        return text, 0  # the calls are not in the text: nothing follows them there

    def parse(self, text: str, tool_calls: Sequence[ToolCall], offer: Offer, turn: int) -> list[Call]:
        if not tool_calls:
            return [Call(kind=ActionKind.INVALID, content=REASON_NO_CALL)]
        return [checked_call(made, made.arguments, offer) for made in tool_calls]

    def assistant_message(self, text: str, calls: Sequence[Call]) -> Message:
        made = [c.made for c in calls if c.made is not None]
        return Message(role="assistant", content=text, tool_calls=made)

    def result_messages(
        self, results: Sequence[Result], turns_left: int, solutions_left: int
    ) -> list[Message]:
        answered = [r for r in results if r.call.made is not None]
        if not answered:  # a turn without a call: a user message says how to act
            return observation_messages(results, turns_left, solutions_left)
        messages = []
        for k, result in enumerate(answered):
            assert result.call.made is not None
            text = result.observation.text.rstrip()
            if k == len(answered) - 1:
                text = f"{text}\n{budget_line(turns_left, solutions_left)}"
            messages.append(
                Message(
                    role="tool",
                    content=text,
                    tool_call_id=result.call.made.id,
                    is_error=result.observation.error is not None,
                )
            )
        return messages

    def corrective(self, reason: str) -> str:
        return _CORRECTIVE.format(reason=reason)
