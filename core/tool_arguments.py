"""The arguments of a function call a teacher made, checked against the function's schema.

A tool call's arguments are the teacher's, hence hostile: invalid JSON, the wrong types,
unknown keys, nesting a thousand deep, ``NaN``. ``check_arguments`` turns any of them into a
one-line result the teacher can read and fix (a failed action, never a crash), using the very
schema the teacher was offered (``core.tool_schema``), and ``split_arguments`` maps the
checked keyword form back onto the Python function's positional parameters.
"""

from __future__ import annotations

import inspect
import json
import math
from collections.abc import Mapping
from typing import Any

from trajkit.core.tool_schema import JSONSchema
from trajkit.core.tools import Tool

MAX_ARGUMENT_CHARS = 100_000  # one call's JSON; far above any real call, far below harm
MAX_DEPTH = 64  # nesting the validator follows before it calls the value unreasonable
_SHOWN = 60  # characters of a teacher-chosen name echoed in an error line


def refuse_constant(name: str) -> Any:
    """``json.loads``' ``parse_constant``: ``NaN`` and the infinities are not JSON, and no
    tool means them, so a teacher's arguments holding one are refused, not passed on."""
    raise ValueError(f"{name} is not JSON")


def check_arguments(schema: JSONSchema, arguments: str | Mapping[str, Any]) -> dict[str, Any] | str:
    """The keyword arguments a tool call carries (``arguments`` as OpenAI sends them, a JSON
    string, or as Anthropic does, an object), or a one-line error to show the teacher as
    the call's result. Never raises: the arguments are the teacher's, hence hostile."""
    name = str(schema.get("name", "tool"))[:_SHOWN]
    try:
        value: Any = arguments
        if isinstance(arguments, str):
            if len(arguments) > MAX_ARGUMENT_CHARS:
                return (
                    f"{name}(): arguments too long ({len(arguments):,} characters; "
                    f"at most {MAX_ARGUMENT_CHARS:,})"
                )
            if not arguments.strip():
                value = {}  # some servers send "" for a call without arguments
            else:
                try:
                    value = json.loads(arguments, parse_constant=refuse_constant)
                except ValueError as exc:
                    reason = str(exc).splitlines()[0][:120] if str(exc) else "invalid JSON"
                    return f"{name}(): arguments are not valid JSON ({reason})"
        elif isinstance(arguments, Mapping):
            value = dict(arguments)
            size = len(json.dumps(value, default=str))
            if size > MAX_ARGUMENT_CHARS:
                return (
                    f"{name}(): arguments too long ({size:,} characters; "
                    f"at most {MAX_ARGUMENT_CHARS:,})"
                )
        if not isinstance(value, dict):
            return f"{name}(): arguments must be a JSON object, got {_json_kind(value)}"
        params = schema.get("parameters") or {"type": "object"}
        checked, error = _validate(value, params, "", 0)
        if error is not None:
            return f"{name}(): {error}"
        assert isinstance(checked, dict)
        return checked
    except RecursionError:
        return f"{name}(): arguments nested too deeply"
    except Exception as exc:  # a last guard: a hostile value must not end the run
        return f"{name}(): arguments rejected ({type(exc).__name__})"


def _json_kind(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "integer"
    if isinstance(value, float):
        return "number" if math.isfinite(value) else "non-finite number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "array"
    if isinstance(value, dict):
        return "object"
    return type(value).__name__


def _fits(value: Any, kind: str) -> bool:
    if kind == "integer":
        return (isinstance(value, int) and not isinstance(value, bool)) or (
            isinstance(value, float) and math.isfinite(value) and value.is_integer()
        )
    if kind == "number":
        if isinstance(value, float):
            return math.isfinite(value)  # 1e400 parses to inf, which no tool means
        return isinstance(value, int) and not isinstance(value, bool)
    return _json_kind(value) == kind


def _where(path: str) -> str:
    return f"argument {path[:_SHOWN]!r}" if path else "arguments"


def _validate(value: Any, schema: Any, path: str, depth: int) -> tuple[Any, str | None]:
    """(value, None) — integral floats given for ``integer`` made ints — or (None, error),
    for the subset of JSON Schema ``parameters_schema`` generates."""
    if depth > MAX_DEPTH:
        return None, f"{_where(path)} nested too deeply"
    if schema is False:
        return None, f"{_where(path)} is not allowed"
    if not isinstance(schema, dict):
        return value, None
    if "anyOf" in schema:
        for option in schema["anyOf"]:
            checked, error = _validate(value, option, path, depth + 1)
            if error is None:
                return checked, None
        return None, f"{_where(path)} has the wrong type ({_json_kind(value)})"
    kinds = schema.get("type")
    if kinds is not None:
        allowed = [kinds] if isinstance(kinds, str) else list(kinds)
        match = next((k for k in allowed if _fits(value, k)), None)
        if match is None:
            wanted = " or ".join(allowed)
            return None, f"{_where(path)} must be {wanted}, got {_json_kind(value)}"
        if match == "integer" and isinstance(value, float):
            value = int(value)
    if "enum" in schema and not any(
        value == option and type(value) is type(option) for option in schema["enum"]
    ):
        shown = ", ".join(json.dumps(o) for o in schema["enum"])[:200]
        return None, f"{_where(path)} must be one of {shown}"
    if isinstance(value, list):
        if "minItems" in schema and len(value) < schema["minItems"]:
            return None, f"{_where(path)} needs at least {schema['minItems']} items"
        if "maxItems" in schema and len(value) > schema["maxItems"]:
            return None, f"{_where(path)} takes at most {schema['maxItems']} items"
        if "items" in schema:
            items = []
            for i, item in enumerate(value):
                checked, error = _validate(item, schema["items"], f"{path}[{i}]", depth + 1)
                if error is not None:
                    return None, error
                items.append(checked)
            value = items
    if isinstance(value, dict) and (
        "properties" in schema or "required" in schema or "additionalProperties" in schema
    ):
        properties = schema.get("properties", {})
        for key in schema.get("required", []):
            if key not in value:
                return None, f"missing required argument {key!r}"
        extra = schema.get("additionalProperties", True)
        out: dict[str, Any] = {}
        for key, item in value.items():
            sub = f"{path}.{key}" if path else key
            if key in properties:
                checked, error = _validate(item, properties[key], sub, depth + 1)
            elif extra is False:
                takes = (", ".join(properties) or "none")[:200]
                return None, f"unexpected argument {str(key)[:_SHOWN]!r} (takes: {takes})"
            else:
                checked, error = _validate(item, extra, sub, depth + 1)
            if error is not None:
                return None, error
            out[key] = checked
        value = out
    return value, None


def split_arguments(tool: Tool, kwargs: Mapping[str, Any]) -> tuple[list[Any], dict[str, Any]]:
    """``check_arguments``' keyword form as ``tool.call`` takes it: positional-only
    parameters, and with a ``*args`` array every positional before it (defaults filled in),
    moved into the positional list in order, then the array spread after them."""
    try:
        parameters = list(inspect.signature(tool.fn).parameters.values())
    except (TypeError, ValueError):
        return [], dict(kwargs)
    rest = dict(kwargs)
    args: list[Any] = []
    spread = any(p.kind is p.VAR_POSITIONAL and p.name in rest for p in parameters)
    for p in parameters:
        if p.kind is p.POSITIONAL_ONLY or (spread and p.kind is p.POSITIONAL_OR_KEYWORD):
            if p.name in rest:
                args.append(rest.pop(p.name))
            elif p.default is not p.empty:
                args.append(p.default)
            else:
                break  # cannot place later ones; the call itself names what is missing
        elif p.kind is p.VAR_POSITIONAL and p.name in rest:
            value = rest.pop(p.name)
            args.extend(value if isinstance(value, list) else [value])
    return args, rest
