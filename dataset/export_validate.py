"""Check chat fine-tuning files before anyone pays to upload them.

:func:`openai_example_problems` encodes what OpenAI's chat fine-tuning accepts, plus the
shape trajkit promises for agent data: a JSON object with ``messages``; each message a
``role`` of system/user/assistant with non-empty string ``content``; a system message only
first; after it user and assistant strictly alternating, starting with user and ending with
assistant; ``weight`` (0 or 1) only on assistant messages, and at least one assistant message
left to train on. The exporter's tests run every exported line through it.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

OPENAI_MESSAGE_KEYS = {"role", "content", "weight", "name"}
OPENAI_ROLES = ("system", "user", "assistant")


def openai_example_problems(example: Any) -> list[str]:
    """What is wrong with one fine-tuning example (empty list = valid)."""
    if not isinstance(example, dict):
        return ["example is not a JSON object"]
    problems = [f"unknown key {k!r}" for k in sorted(example) if k != "messages"]
    messages = example.get("messages")
    if not isinstance(messages, list) or not messages:
        return [*problems, "messages: missing or empty"]
    roles: list[str] = []
    for i, msg in enumerate(messages):
        where = f"messages[{i}]"
        if not isinstance(msg, dict):
            problems.append(f"{where}: not an object")
            roles.append("?")
            continue
        problems += [f"{where}: unknown key {k!r}" for k in sorted(set(msg) - OPENAI_MESSAGE_KEYS)]
        role = msg.get("role")
        roles.append(role if isinstance(role, str) else "?")
        if role not in OPENAI_ROLES:
            problems.append(f"{where}: role {role!r} is not one of {', '.join(OPENAI_ROLES)}")
        content = msg.get("content")
        if not isinstance(content, str) or not content.strip():
            problems.append(f"{where}: content must be a non-empty string")
        if "weight" in msg:
            weight = msg["weight"]
            if role != "assistant":
                problems.append(f"{where}: weight is only allowed on assistant messages")
            if isinstance(weight, bool) or weight not in (0, 1):
                problems.append(f"{where}: weight must be 0 or 1")
    if "system" in roles[1:]:
        problems.append("a system message may only come first")
    body = roles[1:] if roles[0] == "system" else roles
    for k, role in enumerate(body):
        expected = "user" if k % 2 == 0 else "assistant"
        if role != expected and role in ("user", "assistant"):
            problems.append(f"messages must alternate user/assistant after the system message "
                            f"(message {k + len(roles) - len(body)} is {role}, expected {expected})")
            break
    if roles[-1] != "assistant":
        problems.append("the last message must be from the assistant")
    assistants = [m for m in messages if isinstance(m, dict) and m.get("role") == "assistant"]
    if not assistants:
        problems.append("no assistant message")
    elif any("weight" in m for m in assistants) and not any(m.get("weight", 1) == 1 for m in assistants):
        problems.append("every assistant message has weight 0: nothing to train on")
    return problems


def validate_openai_jsonl(path: Path) -> list[str]:
    """Problems in a fine-tuning JSONL file, each prefixed with ``line N``; empty = valid."""
    problems: list[str] = []
    count = 0
    with open(path, encoding="utf-8") as fh:
        for lineno, line in enumerate(fh, start=1):
            if not line.strip():
                problems.append(f"line {lineno}: blank line")
                continue
            try:
                example = json.loads(line)
            except ValueError as exc:
                problems.append(f"line {lineno}: not JSON ({exc})")
                continue
            count += 1
            problems += [f"line {lineno}: {p}" for p in openai_example_problems(example)]
    if count == 0:
        problems.append("no examples")
    return problems
