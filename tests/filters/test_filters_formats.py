"""The filters on records of every action format, collected for real (loopback teacher).

A failed function call is a failed action, so the default chain (success + self-correction)
keeps a native episode that recovered from a malformed call exactly as it keeps a code
episode that recovered from an exception; ``valid-format`` checks each format in its own
form; ``dedup`` tells apart episodes that made different calls.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from tools_tour_policy import ToolsTourPolicy

import trajkit
from trajkit.core import registry
from trajkit.filters.base import KEEP, Drop
from trajkit.filters.paper import PaperHeuristicsFilter
from trajkit.filters.valid_format import ValidFormatFilter
from trajkit.schemas import Message
from trajkit.sources.base import LoadOptions


def _oracle() -> dict[str, str]:
    tasks = registry.instance("source", "hotpotqa").load(LoadOptions(limit=3))
    return {t.prompt: str(t.reference) for t in tasks}


def _json_policy(oracle: dict[str, str]) -> Any:
    """A bad call (a function nobody offered), a good search, then the answer."""

    def policy(messages: list[dict[str, Any]]) -> str:
        turn = sum(m["role"] == "assistant" for m in messages)
        if turn == 0:
            return 'Action: {"tool": "browse", "args": ["x"]} End Action'
        if turn == 1:
            return 'Action: {"tool": "wikipedia_search", "args": ["Pride and Prejudice"]} End Action'
        answer = json.dumps(oracle[messages[1]["content"]])
        return f'Action: {{"tool": "submit", "args": [{answer}]}} End Action'

    return policy


def test_default_chain_keeps_recovered_calls_in_every_format(loopback, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    oracle = _oracle()
    loopback.set_policy(ToolsTourPolicy(oracle))
    native = trajkit.collect("hotpotqa", "openai:m", out=tmp_path, run="tools", limit=3,
                             action_format="tools")
    loopback.set_policy(_json_policy(oracle))
    written = trajkit.collect("hotpotqa", "openai:m", out=tmp_path, run="json", limit=3,
                              action_format="json")
    for run in (native, written):
        records = list(run.records())
        assert len(records) == 3 and all(t.success and t.self_corrected for t in records)
        assert all(ValidFormatFilter().decide(t) == KEEP for t in records)
        assert all(PaperHeuristicsFilter().decide(t) == KEEP for t in records)

    version = trajkit.filter([native.path, written.path], dataset="mixed", out=tmp_path,
                             valid_format=True, dedup=["exact"])
    assert version.manifest.records == 6  # nothing dropped, nothing taken for a duplicate
    assert version.manifest.counts_by_action_format == {"json": 3, "tools": 3}
    assert all(check.ok for check in trajkit.verify(version.path))


def test_valid_format_refuses_broken_native_conversations(loopback, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    loopback.set_policy(ToolsTourPolicy(_oracle()))
    traj = next(iter(trajkit.collect("hotpotqa", "openai:m", out=tmp_path, run="t", limit=1,
                                     action_format="tools").records()))
    check = ValidFormatFilter()
    assert check.decide(traj) == KEEP
    first_result = next(i for i, m in enumerate(traj.messages) if m.role == "tool")
    unanswered = traj.model_copy(update={"messages": traj.messages[:first_result]
                                         + traj.messages[first_result + 1:]})
    assert check.decide(unanswered) == Drop("calls_not_answered")
    swapped = list(traj.messages)
    swapped[first_result], swapped[first_result + 1] = swapped[first_result + 1], swapped[first_result]
    assert check.decide(traj.model_copy(update={"messages": swapped})) == Drop("calls_not_answered")
    last_call = traj.messages[-1].tool_calls[-1].id  # the final submit: answered, then nothing
    result = Message(role="tool", content="Your answer is correct.", tool_call_id=last_call)
    trailing = traj.model_copy(update={"messages": [*traj.messages, result]})
    assert check.decide(trailing) == Drop("ends_with_user")
