"""The CodeAct paper's text baseline (``text``): one call per turn, written as plain text.

``Action: search, Paris End Action``: the function's name, then its arguments separated by
commas, as the paper's M3ToolEval prompt has it (github xingyaoww/code-act,
``scripts/eval/m3tooleval/tasks/base.py``, ``ActionMode.TEXT_AS_ACTION``, which splits on
commas and reads each piece as a number where it can, else as the bare text). We read the
same and more, never by running the teacher's text: quoted strings (which may hold commas),
lists, ``True``/``None`` and numbers as Python literals (``ast.literal_eval`` on a parsed
tree), ``name=value`` for a named argument, and ``name(arguments)`` call syntax. A piece
meant for a text parameter stays text (``02139`` is a zip code, not a number); the answer
of ``submit`` is the rest of the call as written, commas and all. Shared behaviour and how we
differ from upstream: ``call_text``.
"""

from __future__ import annotations

import ast
import re
from typing import Any

from trajkit.collect.formats.base import Call, Offer
from trajkit.collect.formats.call_text import (
    WrittenCallFormat,
    bad_call,
    positional_names,
    written_call,
)
from trajkit.core.tool_schema import SUBMIT, JSONSchema

_EXAMPLE = "Action: function_name, first argument, 2 End Action"
_NAME = re.compile(r"[A-Za-z0-9_-]{1,64}(?![A-Za-z0-9_-])")
_KEYWORD = re.compile(r"([A-Za-z_][A-Za-z0-9_]*)\s*=(?!=)\s*(.*)", re.DOTALL)
_OPENERS, _CLOSERS = "([{", ")]}"

Arguments = tuple[list[Any], dict[str, Any]]


def _jsonish(value: Any) -> Any:
    """A literal as JSON would carry it: tuples and sets become lists; bytes, complex
    numbers and non-text keys are refused (``ValueError``)."""
    if isinstance(value, tuple | list | set | frozenset):
        return [_jsonish(v) for v in value]
    if isinstance(value, dict):
        if not all(isinstance(k, str) for k in value):
            raise ValueError("object keys must be text")
        return {k: _jsonish(v) for k, v in value.items()}
    if value is None or isinstance(value, str | bool | int | float):
        return value
    raise ValueError(f"{type(value).__name__} is not a JSON value")


def _literal(node: ast.AST | str) -> Any:
    """A literal's value (``ValueError`` unless it is one); never evaluates anything else."""
    try:
        return _jsonish(ast.literal_eval(node))
    except (SyntaxError, TypeError, MemoryError, RecursionError) as exc:
        raise ValueError(str(exc)) from None


def _literal_call(inner: str) -> Arguments | str | None:
    """``inner`` read as the arguments of a Python call, every one a literal; None when it
    is not that (bare words), an error line when it names one argument twice."""
    try:
        tree = ast.parse(f"f({inner}\n)", mode="eval")
    except (SyntaxError, ValueError, MemoryError, RecursionError):
        return None
    call = tree.body
    if not (isinstance(call, ast.Call) and isinstance(call.func, ast.Name) and call.func.id == "f"):
        return None  # ``), g(`` closes our call early: not one argument list
    args: list[Any] = []
    kwargs: dict[str, Any] = {}
    try:
        for node in call.args:
            if isinstance(node, ast.Starred):
                return None
            args.append(_literal(node))
        for keyword in call.keywords:
            if keyword.arg is None:
                return None
            if keyword.arg in kwargs:
                return f"argument {keyword.arg[:60]!r} is given twice"
            kwargs[keyword.arg] = _literal(keyword.value)
    except ValueError:
        return None
    return args, kwargs


def split_spans(inner: str) -> list[tuple[int, int]]:
    """Where the pieces of ``inner`` are: split at the commas outside brackets and quoted
    strings, each span stripped; a trailing empty piece (a comma at the end) is dropped. A
    quote opens a string only where a value starts (``Alzheimer's`` is plain text)."""
    spans: list[tuple[int, int]] = []
    depth, quote, start, i = 0, "", 0, 0
    while i < len(inner):
        ch = inner[i]
        if quote:
            if ch == "\\":
                i += 1
            elif ch == quote:
                quote = ""
        elif ch in "'\"":
            before = inner[start:i].strip()
            if depth or not before or before.endswith("="):
                quote = ch
        elif ch in _OPENERS:
            depth += 1
        elif ch in _CLOSERS:
            depth = max(0, depth - 1)
        elif ch == "," and depth == 0:
            spans.append(_stripped(inner, start, i))
            start = i + 1
        i += 1
    spans.append(_stripped(inner, start, len(inner)))
    if len(spans) > 1 and spans[-1][0] == spans[-1][1]:
        spans.pop()
    return [] if spans[0][0] == spans[0][1] and len(spans) == 1 else spans


def _stripped(text: str, start: int, end: int) -> tuple[int, int]:
    while start < end and text[start].isspace():
        start += 1
    while end > start and text[end - 1].isspace():
        end -= 1
    return start, end


def _is_text(schema: Any) -> bool:
    return isinstance(schema, dict) and (
        schema.get("type") == "string"
        or ("enum" in schema and all(isinstance(v, str) for v in schema["enum"]))
    )


def _piece_value(piece: str, param: Any) -> Any:
    """A piece as its parameter wants it: text for a text parameter (unquoted as written),
    else a literal where it reads as one, else the bare text (as upstream)."""
    try:
        value = _literal(piece)
    except ValueError:
        return piece
    if _is_text(param) and not isinstance(value, str):
        return piece
    return value


def _pieces_call(inner: str, schema: JSONSchema | None, offer: Offer, name: str) -> Arguments:
    """Arguments split at commas, each read for its parameter: how upstream read a text call.
    When there are more pieces than parameters and the last one takes text, it takes the
    rest as written: ``search, Paris, France`` searches for ``Paris, France``."""
    properties = ((schema or {}).get("parameters") or {}).get("properties") or {}
    order, rest = positional_names(schema, offer.tool(name)) if schema else ([], None)
    positional: list[tuple[int, int]] = []
    kwargs: dict[str, Any] = {}
    for first, last in split_spans(inner):
        piece = inner[first:last]
        named = _KEYWORD.fullmatch(piece)
        if named and named.group(1) in properties and named.group(1) not in kwargs:
            kwargs[named.group(1)] = _piece_value(named.group(2).strip(), properties[named.group(1)])
        else:
            positional.append((first, last))
    if (rest is None and order and len(positional) > len(order) and order[-1] not in kwargs
            and _is_text(properties.get(order[-1]))):
        tail = positional[len(order) - 1 :]
        positional[len(order) - 1 :] = [(tail[0][0], tail[-1][1])]
    args = [
        _piece_value(inner[first:last], properties.get(order[k]) if k < len(order) else None)
        for k, (first, last) in enumerate(positional)
    ]
    return args, kwargs


def _answer(inner: str) -> str:
    """``submit``'s answer: one quoted literal unquoted, else the text as written."""
    text = inner.strip()
    named = _KEYWORD.fullmatch(text)
    if named and named.group(1) == "answer":
        text = named.group(2).strip()
    try:
        value = _literal(text)
    except ValueError:
        return text
    return value if isinstance(value, str) else text


class TextFormat(WrittenCallFormat):
    """One function call per turn, written as plain text between ``Action:`` and ``End
    Action`` (the CodeAct paper's text baseline)."""

    name = "text"
    syntax = (
        "Write the name of the function, then its arguments in the order of its parameters, "
        "each after a comma. Write text as it is, or in quotes when it holds a comma; write "
        "numbers, lists, True, False and None as in Python; to give an argument by its "
        "parameter's name, write name=value."
    )
    example = _EXAMPLE
    submit_example = "Action: submit, 42 End Action"

    def read(self, payload: str, offer: Offer, turn: int) -> Call:
        head = _NAME.match(payload)
        if head is None:
            return bad_call("", payload, turn, "a call starts with the name of the function; "
                            f"write it as: {_EXAMPLE}")
        name, rest = head.group(), payload[head.end():].strip()
        read: Arguments | str | None = None
        if rest.startswith("(") and rest.endswith(")"):
            inner = rest[1:-1]  # call syntax: Python literals, strictly
            read = _literal_call(inner)
        elif rest.startswith(","):
            inner = rest[1:]  # upstream's syntax: pieces, each read for its parameter
        elif not rest:
            inner, read = "", ([], {})
        else:
            return bad_call(name, payload, turn, "put a comma between the function's name and "
                            f"each argument; write it as: {_EXAMPLE}")
        if isinstance(read, str):
            return bad_call(name, payload, turn, f"{name}(): {read}")
        if name == SUBMIT["name"] and (read is None or len(read[0]) + len(read[1]) != 1):
            read = [_answer(inner)], {}  # the answer as written, commas and all
        if read is None:
            read = _pieces_call(inner, offer.schema(name), offer, name)
        args, kwargs = read
        return written_call(name, args, kwargs, offer, turn, payload)
