"""Check chat fine-tuning files before anyone pays to upload them (or trains on them).

:func:`openai_example_problems` encodes what OpenAI's chat fine-tuning accepts, plus the
shape trajkit promises for agent data: a JSON object with ``messages`` (and, for function
calling, ``tools`` and ``parallel_tool_calls``); each message a ``role`` of
system/user/assistant/tool with non-empty string ``content``; a system message only first;
after it user and assistant strictly alternating, starting with user and ending with
assistant; ``weight`` (0 or 1) only on assistant messages, and at least one assistant message
left to train on.

Function calling (OpenAI publishes no complete list of its file checks, so these are the
documented shapes, held strictly): ``tools`` entries are ``{"type": "function", "function":
{name, description?, parameters?}}`` with distinct names; an assistant message's
``tool_calls`` each have an ``id``, ``type: "function"`` and a ``function`` with a ``name``
and ``arguments`` as a string, and its content may then be null; each call must name an
offered function with arguments that parse as a JSON object, unless the message has
``weight: 0`` (a malformed call kept as context, never trained on). After an assistant
message with calls come exactly ``tool`` messages, each answering one of its calls by
``tool_call_id``, until all are answered (the last message's calls need no answer); then the
assistant speaks again.

:func:`sharegpt_example_problems` checks LLaMA-Factory's ShareGPT layout: ``conversations``
of ``{"from", "value"}`` strings, an optional leading ``system``, then human/observation at
the odd positions and gpt/function_call at the even ones (counting from 1), ending on an
even one; an observation only right after a function_call; a function_call value a JSON
``{"name", "arguments": {...}}`` or a non-empty list of them; and with function calls a
``tools`` string holding a JSON list of function schemas. The exporter's tests run every
exported line through these.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

from trajkit.dataset.export_chat import arguments_object

OPENAI_EXAMPLE_KEYS = {"messages", "tools", "parallel_tool_calls"}
OPENAI_MESSAGE_KEYS = {"role", "content", "weight", "name", "tool_calls", "tool_call_id"}
OPENAI_ROLES = ("system", "user", "assistant", "tool")
SHAREGPT_KEYS = {"id", "conversations", "tools", "system"}
SHAREGPT_ODD = ("human", "observation")  # 1st, 3rd, … turn after the system prompt
SHAREGPT_EVEN = ("gpt", "function_call")


def _tool_names(tools: Any, problems: list[str]) -> set[str]:
    """The function names an OpenAI ``tools`` list offers; its shape problems go to ``problems``."""
    if not isinstance(tools, list) or not tools:
        problems.append("tools: must be a non-empty list")
        return set()
    names: set[str] = set()
    for i, entry in enumerate(tools):
        where = f"tools[{i}]"
        fn = entry.get("function") if isinstance(entry, dict) else None
        if not isinstance(entry, dict) or entry.get("type") != "function" or not isinstance(fn, dict):
            problems.append(f'{where}: must be {{"type": "function", "function": {{...}}}}')
            continue
        name = fn.get("name")
        if not isinstance(name, str) or not name:
            problems.append(f"{where}: function.name must be a non-empty string")
        elif name in names:
            problems.append(f"{where}: function {name!r} is listed twice")
        else:
            names.add(name)
        if "parameters" in fn and not isinstance(fn["parameters"], dict):
            problems.append(f"{where}: function.parameters must be a JSON Schema object")
        if "description" in fn and not isinstance(fn["description"], str):
            problems.append(f"{where}: function.description must be a string")
    return names


def _call_ids(msg: dict[str, Any], where: str, offered: set[str] | None, problems: list[str]) -> list[str]:
    """The ids of an assistant message's ``tool_calls``; problems of each call to ``problems``.

    ``offered`` is ``None`` when the example lists no tools (reported once, by the caller)."""
    calls = msg["tool_calls"]
    if not isinstance(calls, list) or not calls:
        problems.append(f"{where}: tool_calls must be a non-empty list")
        return []
    trained = msg.get("weight", 1) != 0
    ids: list[str] = []
    for k, call in enumerate(calls):
        at = f"{where}.tool_calls[{k}]"
        fn = call.get("function") if isinstance(call, dict) else None
        if not isinstance(call, dict) or call.get("type") != "function" or not isinstance(fn, dict):
            problems.append(f'{at}: must be {{"id", "type": "function", "function": {{...}}}}')
            continue
        if not isinstance(call.get("id"), str) or not call["id"]:
            problems.append(f"{at}: id must be a non-empty string")
        elif call["id"] in ids:
            problems.append(f"{at}: id {call['id']!r} is used twice in one message")
        else:
            ids.append(call["id"])
        name, arguments = fn.get("name"), fn.get("arguments")
        if not isinstance(name, str) or not name:
            problems.append(f"{at}: function.name must be a non-empty string")
        elif trained and offered is not None and name not in offered:
            problems.append(f"{at}: calls {name!r}, which tools does not offer (weight it 0)")
        if not isinstance(arguments, str):
            problems.append(f"{at}: function.arguments must be a string (JSON text)")
        elif trained and arguments_object(arguments) is None:
            problems.append(f"{at}: function.arguments is not a JSON object (weight it 0)")
    return ids


def _order_problems(messages: list[Any], roles: list[str]) -> list[str]:
    """Role order after the system message, and every call answered (module docstring)."""
    start = 1 if roles[0] == "system" else 0
    expected, pending = "user", set()
    for i in range(start, len(messages)):
        msg, role = messages[i], roles[i]
        if role == "tool":
            call_id = msg.get("tool_call_id")
            if call_id not in pending:
                return [f"messages[{i}]: role 'tool' answers no pending call of the assistant "
                        f"message before it (tool_call_id {call_id!r})"]
            pending.discard(call_id)
            continue
        if pending:
            return [f"messages[{i}]: call(s) {', '.join(sorted(pending))} of the assistant "
                    "message before it have no tool message"]
        if role not in ("user", "assistant"):
            continue  # an unknown role or a late system message: reported elsewhere
        if role != expected:
            return [f"messages must alternate user/assistant after the system message "
                    f"(message {i} is {role}, expected {expected})"]
        calls = msg.get("tool_calls") if role == "assistant" else None
        if calls and isinstance(calls, list):
            pending = {c["id"] for c in calls if isinstance(c, dict) and isinstance(c.get("id"), str)}
        expected = "user" if role == "assistant" and not calls else "assistant"
    return []


def _message_problems(msg: dict[str, Any], where: str, offered: set[str] | None) -> list[str]:
    problems = [f"{where}: unknown key {k!r}" for k in sorted(set(msg) - OPENAI_MESSAGE_KEYS)]
    role = msg.get("role")
    if role not in OPENAI_ROLES:
        problems.append(f"{where}: role {role!r} is not one of {', '.join(OPENAI_ROLES)}")
    content = msg.get("content")
    calls = "tool_calls" in msg
    if not (calls and content is None) and (not isinstance(content, str) or not content.strip()):
        what = "a string or null" if calls else "a non-empty string"
        problems.append(f"{where}: content must be {what}")
    if calls:
        if role != "assistant":
            problems.append(f"{where}: tool_calls are only allowed on assistant messages")
        else:
            _call_ids(msg, where, offered, problems)
    if ("tool_call_id" in msg) != (role == "tool"):
        problems.append(f"{where}: tool_call_id belongs on (every) tool message only")
    if "weight" in msg:
        weight = msg["weight"]
        if role != "assistant":
            problems.append(f"{where}: weight is only allowed on assistant messages")
        if isinstance(weight, bool) or weight not in (0, 1):
            problems.append(f"{where}: weight must be 0 or 1")
    return problems


def openai_example_problems(example: Any) -> list[str]:
    """What is wrong with one fine-tuning example (empty list = valid)."""
    if not isinstance(example, dict):
        return ["example is not a JSON object"]
    problems = [f"unknown key {k!r}" for k in sorted(set(example) - OPENAI_EXAMPLE_KEYS)]
    messages = example.get("messages")
    if not isinstance(messages, list) or not messages:
        return [*problems, "messages: missing or empty"]
    offered = _tool_names(example["tools"], problems) if "tools" in example else None
    if "parallel_tool_calls" in example and not isinstance(example["parallel_tool_calls"], bool):
        problems.append("parallel_tool_calls must be true or false")
    roles: list[str] = []
    for i, msg in enumerate(messages):
        if not isinstance(msg, dict):
            problems.append(f"messages[{i}]: not an object")
            roles.append("?")
            continue
        roles.append(msg["role"] if isinstance(msg.get("role"), str) else "?")
        problems += _message_problems(msg, f"messages[{i}]", offered)
    if offered is None and any(isinstance(m, dict) and "tool_calls" in m for m in messages):
        problems.append("tool_calls without tools: the example must list the functions offered")
    if "system" in roles[1:]:
        problems.append("a system message may only come first")
    problems += _order_problems(messages, roles)
    if roles[-1] != "assistant":
        problems.append("the last message must be from the assistant")
    assistants = [m for m in messages if isinstance(m, dict) and m.get("role") == "assistant"]
    if not assistants:
        problems.append("no assistant message")
    elif not any(m.get("weight", 1) == 1 for m in assistants):
        problems.append("every assistant message has weight 0: nothing to train on")
    return problems


def _function_call_problems(value: str, where: str, offered: set[str] | None) -> list[str]:
    try:
        parsed = json.loads(value)
    except (ValueError, RecursionError):
        return [f"{where}: function_call value is not JSON"]
    calls = parsed if isinstance(parsed, list) else [parsed]
    if not calls:
        return [f"{where}: function_call value is an empty list"]
    problems = []
    for call in calls:
        if not isinstance(call, dict) or not isinstance(call.get("name"), str) \
                or not isinstance(call.get("arguments"), dict):
            problems.append(f'{where}: each call must be {{"name": str, "arguments": {{...}}}}')
        elif offered is not None and call["name"] not in offered:
            problems.append(f"{where}: calls {call['name']!r}, which tools does not offer")
    return problems


def _sharegpt_tools(example: dict[str, Any], problems: list[str]) -> set[str] | None:
    """Names in the row's ``tools`` string (``None``: no tools); shape problems to ``problems``."""
    if "tools" not in example:
        return None
    try:
        tools = json.loads(example["tools"]) if isinstance(example["tools"], str) else None
    except (ValueError, RecursionError):
        tools = None
    if not isinstance(tools, list) or not all(isinstance(t, dict) for t in tools):
        problems.append("tools: must be a string holding a JSON list of function schemas")
        return set()
    fns = [t.get("function", t) if t.get("type") == "function" else t for t in tools]
    names = {f.get("name") for f in fns if isinstance(f, dict)}
    if not all(isinstance(n, str) and n for n in names) or len(names) < len(fns):
        problems.append("tools: every function needs a distinct non-empty name")
    return {n for n in names if isinstance(n, str)}


def sharegpt_example_problems(example: Any) -> list[str]:
    """What is wrong with one ShareGPT row for LLaMA-Factory (empty list = valid)."""
    if not isinstance(example, dict):
        return ["example is not a JSON object"]
    problems = [f"unknown key {k!r}" for k in sorted(set(example) - SHAREGPT_KEYS)]
    turns = example.get("conversations")
    if not isinstance(turns, list) or not turns:
        return [*problems, "conversations: missing or empty"]
    offered = _sharegpt_tools(example, problems)
    body_start = 1 if isinstance(turns[0], dict) and turns[0].get("from") == "system" else 0
    previous = None
    for i, turn in enumerate(turns):
        where = f"conversations[{i}]"
        if not isinstance(turn, dict) or set(turn) != {"from", "value"}:
            problems.append(f'{where}: must be {{"from", "value"}}')
            continue
        role, value = turn["from"], turn["value"]
        if not isinstance(value, str) or not value.strip():
            problems.append(f"{where}: value must be a non-empty string")
        if i >= body_start:
            allowed = SHAREGPT_ODD if (i - body_start) % 2 == 0 else SHAREGPT_EVEN
            if role not in allowed:
                problems.append(f"{where}: {role!r} where LLaMA-Factory takes {' or '.join(allowed)}")
            if role == "observation" and previous != "function_call":
                problems.append(f"{where}: an observation must follow a function_call")
            if role == "function_call" and isinstance(value, str):
                if offered is None:
                    problems.append(f"{where}: a function_call needs the row's tools")
                problems += _function_call_problems(value, where, offered)
        previous = role
    if (len(turns) - body_start) % 2 or len(turns) == body_start:
        problems.append("the conversation must end on a gpt or function_call turn")
    return problems


def _validate_jsonl(path: Path, check: Callable[[Any], list[str]]) -> list[str]:
    problems: list[str] = []
    count = 0
    with open(path, encoding="utf-8") as fh:
        for lineno, line in enumerate(fh, start=1):
            if not line.strip():
                problems.append(f"line {lineno}: blank line")
                continue
            try:
                example = json.loads(line)
            except (ValueError, RecursionError) as exc:
                problems.append(f"line {lineno}: not JSON ({exc})")
                continue
            count += 1
            problems += [f"line {lineno}: {p}" for p in check(example)]
    if count == 0:
        problems.append("no examples")
    return problems


def validate_openai_jsonl(path: Path) -> list[str]:
    """Problems in a fine-tuning JSONL file, each prefixed with ``line N``; empty = valid."""
    return _validate_jsonl(path, openai_example_problems)


def validate_sharegpt_jsonl(path: Path) -> list[str]:
    """Problems in a ShareGPT JSONL file, each prefixed with ``line N``; empty = valid."""
    return _validate_jsonl(path, sharegpt_example_problems)
