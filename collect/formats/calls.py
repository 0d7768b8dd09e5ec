"""A function call as the loop runs it: checked against the schema it names, or a bad call.

Shared by every format that offers functions (native ``tools``, and the ``json``/``text``
calls parsed from text), so a call means the same whichever way it was written: the same
checks, the same one-line errors, the same ``submit``/``execute_python`` handling.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from trajkit.collect.formats.base import Call, Offer
from trajkit.core.actions import clean_code
from trajkit.core.tool_arguments import check_arguments
from trajkit.core.tool_schema import EXECUTE_PYTHON, SUBMIT
from trajkit.schemas import ActionKind, ToolCall

#: Characters of a teacher-chosen name echoed in an error line.
_SHOWN = 60


def render_call(name: str, arguments: str | Mapping[str, Any]) -> str:
    """``name(key=value, ...)`` with JSON values: how a call reads in ``Action.content``,
    reports and views. Arguments that are not an object are shown as they came."""
    if isinstance(arguments, Mapping):
        inner = ", ".join(f"{k}={json.dumps(v, ensure_ascii=False, default=repr)}"
                          for k, v in arguments.items())
    else:
        inner = arguments
    return f"{name}({inner})"


def checked_call(made: ToolCall, arguments: str | Mapping[str, Any], offer: Offer) -> Call:
    """The ``Call`` for ``made``: an answer (``submit``), code (``execute_python``), a tool
    call with checked keyword arguments, or a bad call carrying the error the teacher is
    shown. Never raises: the name and the arguments are the teacher's."""
    name = made.name
    schema = offer.schema(name)
    if schema is None:
        available = ", ".join(s["name"] for s in offer.schemas)
        return Call(
            kind=ActionKind.TOOL,
            content=render_call(name, arguments),
            made=made,
            error=f"there is no function named {name[:_SHOWN]!r} (available: {available})",
        )
    checked = check_arguments(schema, arguments)
    if isinstance(checked, str):
        return Call(kind=ActionKind.TOOL, content=render_call(name, arguments), made=made,
                    error=checked)
    if name == SUBMIT["name"]:
        answer = str(checked.get("answer", "")).strip()
        if not answer:
            return Call(kind=ActionKind.TOOL, content=render_call(name, checked), made=made,
                        error=f"{name}(): the answer is empty")
        return Call(kind=ActionKind.SOLUTION, content=answer, arguments=checked, made=made)
    if name == EXECUTE_PYTHON["name"] and offer.python:
        code = clean_code(str(checked.get("code", "")))
        if not code.strip():
            return Call(kind=ActionKind.TOOL, content=render_call(name, checked), made=made,
                        error=f"{name}(): the code is empty")
        return Call(kind=ActionKind.EXECUTE, content=code, arguments=checked, made=made)
    return Call(kind=ActionKind.TOOL, content=render_call(name, checked), arguments=checked,
                made=made)
