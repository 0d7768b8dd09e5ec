"""Exports of records collected with native function calling (``--action-format tools``):
every format keeps (or knowingly refuses) the calls, the validators accept what is exported
and reject broken variants, and code-format rows stay exactly what they were."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq
import pytest
from factories import SEARCH_SCHEMA, make_tools_trajectory, make_trajectory, write_run

from trajkit.dataset.export_chat import SHAREGPT_RESULT_SEPARATOR, Unexportable, conversation
from trajkit.dataset.export_hf import HF_SCHEMA, HF_TOOLS_SCHEMA
from trajkit.dataset.export_validate import (
    openai_example_problems,
    sharegpt_example_problems,
    validate_openai_jsonl,
    validate_sharegpt_jsonl,
)
from trajkit.dataset.export_version import export_version
from trajkit.dataset.version import build_version
from trajkit.filters.presets import build_chain
from trajkit.schemas import Message, Trajectory

ROLES = ["system", "user", "assistant", "tool", "assistant", "tool", "tool", "assistant", "tool",
         "assistant", "user", "assistant"]


def code_records() -> list[Trajectory]:
    return [make_trajectory("c1", ["exception", "solve"]), make_trajectory("c2", ["ok", "wrong"], success=False)]


def version_of(tmp_path: Path, name: str, records: list[Trajectory]) -> Path:
    run = write_run(tmp_path / "runs" / name, records)
    return build_version([run], name, tmp_path / "out", build_chain(["all"])).path


@pytest.fixture
def mixed(tmp_path: Path) -> Path:
    """Code records, the tools episode with a malformed call, and one without."""
    records = [*code_records(), make_tools_trajectory("t-bad"), make_tools_trajectory("t-ok", malformed=False)]
    return version_of(tmp_path, "mixed", records)


def lines(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


def assistants(example: dict[str, Any]) -> list[dict[str, Any]]:
    return [m for m in example["messages"] if m["role"] == "assistant"]


def test_openai_lines_carry_tools_calls_and_results(mixed: Path, tmp_path: Path) -> None:
    res = export_version(mixed, "openai", tmp_path / "ft.jsonl")
    assert (res.rows, res.skipped) == (4, {})
    assert validate_openai_jsonl(tmp_path / "ft.jsonl") == []
    code, _, bad, good = lines(tmp_path / "ft.jsonl")
    assert set(code) == {"messages"} and set(bad) == {"messages", "tools"}
    assert [t["function"]["name"] for t in bad["tools"]] == ["search", "execute_python", "submit"]
    assert {t["type"] for t in bad["tools"]} == {"function"}
    assert bad["tools"][0]["function"]["parameters"]["required"] == ["query"]
    assert [m["role"] for m in bad["messages"]] == ROLES
    turn = bad["messages"]
    # Parallel calls: one assistant message, no text (null), each call answered in order.
    assert turn[4]["content"] is None
    assert [c["id"] for c in turn[4]["tool_calls"]] == ["call_1a", "call_1b"]
    assert turn[4]["tool_calls"][0] == {"id": "call_1a", "type": "function", "function": {
        "name": "execute_python", "arguments": '{"code": "print(6 * 7)"}'}}
    assert [(m["tool_call_id"], m["content"][:2]) for m in turn[5:7]] == [("call_1a", "42"), ("call_1b", "Fo")]
    assert "is_error" not in json.dumps(bad)  # the failure is in the result's text
    # The malformed call is kept as the teacher made it, but never trained on.
    assert turn[7]["tool_calls"][0]["function"]["arguments"] == '{"code": "print(1'
    assert [m.get("weight") for m in assistants(bad)] == [None, None, 0, None, None]
    assert turn[9] == {"role": "assistant", "content": "I think the answer is 42."}
    assert turn[-1]["tool_calls"][0]["function"] == {"name": "submit", "arguments": '{"answer": "42"}'}
    assert "weight" not in json.dumps(good)  # nothing malformed: nothing weighted


def test_mask_failed_weights_tool_turns(mixed: Path, tmp_path: Path) -> None:
    export_version(mixed, "openai", tmp_path / "m.jsonl", mask_failed=True)
    assert validate_openai_jsonl(tmp_path / "m.jsonl") == []
    *_, bad, good = lines(tmp_path / "m.jsonl")
    # search ok, parallel ok, failed call, no call, accepted submit.
    assert [m["weight"] for m in assistants(bad)] == [1, 1, 0, 0, 1]
    assert [m["weight"] for m in assistants(good)] == [1, 1, 0, 0, 1]


def test_code_rows_are_unchanged_by_tools_records(mixed: Path, tmp_path: Path) -> None:
    only_code = version_of(tmp_path, "code", code_records())
    for fmt, kw in (("openai", {}), ("openai", {"mask_failed": True}), ("sharegpt", {}), ("codeact", {})):
        export_version(only_code, fmt, tmp_path / "a.jsonl", force=True, **kw)
        export_version(mixed, fmt, tmp_path / "b.jsonl", force=True, **kw)
        before = (tmp_path / "a.jsonl").read_bytes().splitlines()
        assert (tmp_path / "b.jsonl").read_bytes().splitlines()[:2] == before, fmt


def test_sharegpt_uses_llama_factory_function_calling(mixed: Path, tmp_path: Path) -> None:
    res = export_version(mixed, "sharegpt", tmp_path / "s.jsonl")
    assert (res.rows, res.skipped) == (3, {"malformed_call": 1})  # no weights to mask it with
    assert validate_sharegpt_jsonl(tmp_path / "s.jsonl") == []
    row = lines(tmp_path / "s.jsonl")[2]
    assert row["id"] == "run-1/t-ok"
    assert json.loads(row["tools"]) == make_tools_trajectory().tools
    froms = [c["from"] for c in row["conversations"]]
    assert froms == ["system", "human", "function_call", "observation", "function_call", "observation",
                     "function_call", "observation", "gpt", "human", "function_call"]
    values = [c["value"] for c in row["conversations"]]
    assert json.loads(values[2]) == {"name": "search", "arguments": {"query": "answer"}}
    assert json.loads(values[4]) == [{"name": "execute_python", "arguments": {"code": "print(6 * 7)"}},
                                     {"name": "search", "arguments": {"query": "forty-two"}}]
    assert values[5].split(SHAREGPT_RESULT_SEPARATOR) == ["42", "Forty-two is a number.\nYou have 3 steps "
                                                          "left and 2 chances to propose solution left."]
    assert json.loads(values[-1]) == {"name": "submit", "arguments": {"answer": "42"}}


def test_codeact_skips_native_records(mixed: Path, tmp_path: Path) -> None:
    res = export_version(mixed, "codeact", tmp_path / "c.jsonl")
    assert (res.rows, res.skipped) == (2, {"native_tool_calls": 2})


def test_hf_tool_fields_and_tools_column(mixed: Path, tmp_path: Path) -> None:
    res = export_version(mixed, "hf", tmp_path / "hf")
    table = pq.read_table(tmp_path / "hf" / res.files[-1])
    assert table.schema == HF_TOOLS_SCHEMA
    assert HF_TOOLS_SCHEMA.names[:-1] == HF_SCHEMA.names
    rows = table.to_pylist()
    assert [r["tools"] is None for r in rows] == [True, True, False, False]
    assert [s["name"] for s in json.loads(rows[2]["tools"])] == ["search", "execute_python", "submit"]
    msgs = rows[2]["messages"]
    assert [m["role"] for m in msgs] == ROLES
    assert msgs[0] == {"role": "system", "content": msgs[0]["content"], "tool_calls": [],
                       "tool_call_id": None, "is_error": False}
    assert [c["id"] for c in msgs[4]["tool_calls"]] == ["call_1a", "call_1b"]
    assert msgs[7]["tool_calls"][0]["arguments"] == '{"code": "print(1'
    assert (msgs[8]["tool_call_id"], msgs[8]["is_error"]) == ("call_2", True)
    assert rows[0]["messages"][2]["tool_calls"] == []  # a code row in the same shard
    card = (tmp_path / "hf" / "README.md").read_text(encoding="utf-8")
    assert "2 of the 4 rows were collected with function calling" in card
    assert "| `tools` | the functions the teacher was offered" in card


def test_hf_code_only_keeps_its_schema(tmp_path: Path) -> None:
    res = export_version(version_of(tmp_path, "code", code_records()), "hf", tmp_path / "hf")
    assert pq.read_schema(tmp_path / "hf" / res.files[-1]) == HF_SCHEMA
    card = (tmp_path / "hf" / "README.md").read_text(encoding="utf-8")
    assert "function calling" not in card and "`tools`" not in card


def without(traj: Trajectory, index: int) -> Trajectory:
    return traj.model_copy(update={"messages": traj.messages[:index] + traj.messages[index + 1:]})


def test_conversation_refuses_broken_call_order(tmp_path: Path) -> None:
    traj = make_tools_trajectory()
    with pytest.raises(Unexportable, match="unanswered_tool_call"):
        conversation(without(traj, 5))  # call_1a never answered
    stray = traj.model_copy(deep=True)
    stray.messages[3] = Message(role="tool", content="x", tool_call_id="call_9")
    with pytest.raises(Unexportable, match="unknown_tool_call_id"):
        conversation(stray)
    twice = traj.model_copy(deep=True)
    twice.messages[6] = twice.messages[5]
    with pytest.raises(Unexportable, match="unknown_tool_call_id"):
        conversation(twice)
    # Out of budget right after results: they are dropped and the line ends on the calls.
    ended = traj.model_copy(update={"messages": traj.messages[:9]})
    assert [t.role for t in conversation(ended)][-2:] == ["tool", "assistant"]
    schemaless = make_tools_trajectory("t-none", tools=[])
    nameless = make_tools_trajectory("t-nameless", tools=[{"description": "no name"}])
    unanswered = without(traj, 5).model_copy(update={"id": "x"})
    v = version_of(tmp_path, "mixed", [schemaless, nameless, unanswered, ended])
    res = export_version(v, "openai", tmp_path / "o.jsonl")
    assert res.rows == 1
    assert res.skipped == {"bad_tool_schema": 1, "no_tool_schemas": 1, "unanswered_tool_call": 1}
    assert validate_openai_jsonl(tmp_path / "o.jsonl") == []


def good_openai() -> dict[str, Any]:
    from trajkit.dataset.export_chat import offered_functions, openai_row

    traj = make_tools_trajectory()
    return openai_row(conversation(traj), tools=offered_functions(traj))


def broken(change: Any) -> dict[str, Any]:
    example = copy.deepcopy(good_openai())
    change(example)
    return example


def _set(path: tuple[Any, ...], value: Any) -> Any:
    def change(example: dict[str, Any]) -> None:
        node = example
        for key in path[:-1]:
            node = node[key]
        node[path[-1]] = value
    return change


@pytest.mark.parametrize(
    ("change", "problem"),
    [
        (lambda e: e["messages"].pop(5), "call(s) call_1a of the assistant message before it have no tool"),
        (_set(("messages", 3, "tool_call_id"), "call_zz"), "role 'tool' answers no pending call"),
        (_set(("tools", 0), {"function": {"name": "search"}}), 'tools[0]: must be {"type": "function"'),
        (_set(("tools", 1, "function", "name"), "search"), "listed twice"),
        (_set(("tools",), []), "tools: must be a non-empty list"),
        (lambda e: e.pop("tools"), "tool_calls without tools"),
        (lambda e: e["messages"][7].pop("weight"), "function.arguments is not a JSON object"),
        (_set(("messages", 2, "tool_calls", 0, "function", "name"), "browse"), "which tools does not offer"),
        (_set(("messages", 2, "tool_calls", 0, "function", "arguments"), {"query": "x"}), "must be a string"),
        (_set(("messages", 2, "tool_calls", 0, "type"), "code"), '"type": "function"'),
        (_set(("messages", 4, "tool_calls", 1, "id"), "call_1a"), "is used twice"),
        (_set(("messages", 9, "content"), None), "content must be a non-empty string"),
        (lambda e: e["messages"][3].pop("tool_call_id"), "tool_call_id belongs on"),
        (_set(("messages", 3, "tool_calls"), []), "only allowed on assistant"),
        (lambda e: e["messages"].insert(4, {"role": "user", "content": "hi"}), "must alternate"),
        (_set(("parallel_tool_calls",), "yes"), "parallel_tool_calls must be true or false"),
    ],
)
def test_openai_validator_rejects_broken_tool_examples(change: Any, problem: str) -> None:
    assert openai_example_problems(good_openai()) == []
    problems = openai_example_problems(broken(change))
    assert any(problem in p for p in problems), problems


def good_sharegpt() -> dict[str, Any]:
    from trajkit.dataset.export_chat import sharegpt_row

    traj = make_tools_trajectory(malformed=False)
    return sharegpt_row(traj, conversation(traj))


@pytest.mark.parametrize(
    ("change", "problem"),
    [
        (lambda e: e["conversations"].pop(3), "where LLaMA-Factory takes human or observation"),
        (_set(("conversations", 9, "from"), "observation"), "an observation must follow a function_call"),
        (_set(("conversations", 2, "value"), "search(answer)"), "function_call value is not JSON"),
        (_set(("conversations", 2, "value"), '{"name": "search", "arguments": "{}"}'), "each call must be"),
        (_set(("conversations", 2, "value"), '{"name": "browse", "arguments": {}}'), "does not offer"),
        (lambda e: e["conversations"].pop(), "must end on a gpt or function_call"),
        (lambda e: e.pop("tools"), "a function_call needs the row's tools"),
        (_set(("tools",), "search"), "tools: must be a string holding a JSON list"),
        (_set(("conversations", 8, "value"), " "), "value must be a non-empty string"),
    ],
)
def test_sharegpt_validator_rejects_broken_rows(change: Any, problem: str) -> None:
    assert sharegpt_example_problems(good_sharegpt()) == []
    example = copy.deepcopy(good_sharegpt())
    change(example)
    problems = sharegpt_example_problems(example)
    assert any(problem in p for p in problems), problems


def test_text_formats_keep_text_turns_and_list_their_tools_in_hf(tmp_path: Path) -> None:
    """``json``/``text`` records are plain conversations (calls written as text): no native
    fields in the chat files, but the hf ``tools`` column says what they were offered."""
    record = make_trajectory("j1", ["ok", "solve"], action_format="json", tools=[SEARCH_SCHEMA])
    v = version_of(tmp_path, "json", [record])
    export_version(v, "openai", tmp_path / "o.jsonl")
    export_version(v, "sharegpt", tmp_path / "s.jsonl")
    assert export_version(v, "codeact", tmp_path / "c.jsonl").rows == 1
    assert set(lines(tmp_path / "o.jsonl")[0]) == {"messages"}
    assert set(lines(tmp_path / "s.jsonl")[0]) == {"id", "conversations"}
    assert validate_sharegpt_jsonl(tmp_path / "s.jsonl") == []
    res = export_version(v, "hf", tmp_path / "hf")
    row = pq.read_table(tmp_path / "hf" / res.files[-1]).to_pylist()[0]
    assert json.loads(row["tools"]) == [SEARCH_SCHEMA]
    assert all(m["tool_calls"] == [] for m in row["messages"])
