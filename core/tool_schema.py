"""Function schemas for native tool calling, generated from a source's tools.

The ``tools`` action format offers a teacher each host tool as a provider function, so the
schema must be derived from the very function the sandbox calls (its signature and doc), not
written by hand beside it: a hand-written schema drifts, and the teacher is then told one
thing and refused for another. The same schema checks the arguments a teacher sends back
(``check_arguments``), so a malformed call becomes a one-line tool result the teacher can
fix — a failed action, never a crash.

Mapping rules (JSON Schema 2020-12, the dialect Anthropic's ``input_schema`` names and a
subset OpenAI's ``parameters`` accepts): ``str``/``int``/``float``/``bool``/``None`` to
their JSON types; ``list``/``tuple``/``set`` and ``Sequence`` to arrays (with ``items`` when
the element type is one); ``dict``/``Mapping`` to objects; ``X | None``/``Optional``/
``Union`` to ``anyOf`` (a union of plain scalars to a ``type`` list); ``Literal`` and
``Enum`` to ``enum``; an unannotated parameter, ``Any`` or a type with no JSON form to no
constraint at all (``{}``), so the schema never refuses what the function would take.
Parameters without a default are ``required``; a JSON-representable default is recorded.
``*args`` becomes an optional array property under its own name (``split_arguments`` spreads
it back); ``**kwargs`` opens ``additionalProperties`` (typed by its annotation), otherwise
unknown keys are refused. A function whose signature cannot be read accepts any object.
The arguments a teacher sends are checked against these schemas by ``core.tool_arguments``.
"""

from __future__ import annotations

import collections.abc
import enum
import inspect
import json
import re
import types
import typing
from collections.abc import Mapping, Sequence
from typing import Any

from trajkit.core.tools import Tool

JSONSchema = dict[str, Any]

# Both providers name functions with ^[a-zA-Z0-9_-]{1,64}$; a tool outside it cannot be
# offered natively at all, so it is refused when the schema is built, not at the API.
NAME_PATTERN = re.compile(r"^[a-zA-Z0-9_-]{1,64}$")
_SHOWN = 60  # characters of a teacher-chosen name echoed in an error line

EXECUTE_PYTHON: JSONSchema = {
    "name": "execute_python",
    "description": (
        "Run Python code in this task's sandbox and return what it prints, plus the value of "
        "a final bare expression, or the error traceback. State persists between calls: "
        "variables, imports and functions defined earlier stay available. The task's tools "
        "are also callable as Python functions here. Print what you need to see."
    ),
    "parameters": {
        "type": "object",
        "properties": {
            "code": {"type": "string", "description": "The Python source to run."},
        },
        "required": ["code"],
        "additionalProperties": False,
    },
}

SUBMIT: JSONSchema = {
    "name": "submit",
    "description": (
        "Give your final answer and end the task. Call it once, when you are confident; "
        "the answer is judged as given and nothing runs after it."
    ),
    "parameters": {
        "type": "object",
        "properties": {
            "answer": {
                "type": "string",
                "description": "The final answer alone, in the form the task asks for.",
            },
        },
        "required": ["answer"],
        "additionalProperties": False,
    },
}

BUILTIN_NAMES = (EXECUTE_PYTHON["name"], SUBMIT["name"])

# ----------------------------------------------------------------------------- type hints

_SCALARS: dict[Any, str] = {
    str: "string",
    int: "integer",
    float: "number",
    bool: "boolean",
    type(None): "null",
    None: "null",
}
_NAMED_SCALARS = {"str": str, "int": int, "float": float, "bool": bool, "None": None}
_ARRAYS = (
    list,
    tuple,
    set,
    frozenset,
    collections.abc.Sequence,
    collections.abc.Iterable,
    collections.abc.Collection,
    collections.abc.Set,
    collections.abc.MutableSequence,
)
_OBJECTS = (dict, collections.abc.Mapping, collections.abc.MutableMapping)


def type_schema(annotation: Any) -> JSONSchema:
    """The JSON Schema of values an annotation admits; ``{}`` where no JSON form exists."""
    if annotation is inspect.Parameter.empty or annotation is Any or annotation is object:
        return {}
    if isinstance(annotation, str):  # an annotation get_type_hints could not resolve
        annotation = _NAMED_SCALARS.get(annotation.strip(), inspect.Parameter.empty)
        return type_schema(annotation)
    if annotation in _SCALARS:
        return {"type": _SCALARS[annotation]}
    if isinstance(annotation, type) and issubclass(annotation, enum.Enum):
        values = [m.value for m in annotation]
        return {"enum": values} if _jsonable(values) else {}
    origin = typing.get_origin(annotation)
    args = typing.get_args(annotation)
    if origin is typing.Literal:
        values = list(args)
        if not _jsonable(values):
            return {}
        kinds = {_SCALARS.get(type(v)) for v in values}
        schema: JSONSchema = {"enum": values}
        if len(kinds) == 1 and None not in kinds:
            schema = {"type": kinds.pop(), "enum": values}
        return schema
    if origin is typing.Union or origin is types.UnionType:
        members = [type_schema(a) for a in args]
        if any(m == {} for m in members):
            return {}
        if all(set(m) == {"type"} and isinstance(m["type"], str) for m in members):
            return {"type": [m["type"] for m in members]}
        return {"anyOf": members}
    if origin is typing.Annotated:
        return type_schema(args[0])
    container = origin or annotation
    if container in _ARRAYS:
        schema = {"type": "array"}
        if origin is tuple and len(args) == 2 and args[1] is Ellipsis:
            args = args[:1]
        if len(args) == 1 and (item := type_schema(args[0])):
            schema["items"] = item
        elif origin is tuple and args and args != ((),):
            schema["minItems"] = schema["maxItems"] = len(args)
        return schema
    if container in _OBJECTS:
        schema = {"type": "object"}
        if len(args) == 2 and (value := type_schema(args[1])):
            schema["additionalProperties"] = value
        return schema
    return {}


def _jsonable(value: Any) -> bool:
    try:
        json.dumps(value, allow_nan=False)
    except (TypeError, ValueError):
        return False
    return True


def _hints(fn: Any) -> dict[str, Any]:
    """Resolved annotations; raw ones (strings under PEP 563) where resolving fails."""
    try:
        return typing.get_type_hints(fn, include_extras=True)
    except Exception:  # one unresolvable name (a class local to a test, say) spoils them all
        pass
    hints = dict(getattr(fn, "__annotations__", None) or {})
    namespace = dict(getattr(fn, "__globals__", None) or {})
    try:
        namespace.update(inspect.getclosurevars(fn).nonlocals)
    except (TypeError, ValueError):
        pass
    for name, hint in hints.items():
        if isinstance(hint, str):
            try:  # the tool's own source text, as get_type_hints itself would evaluate it
                hints[name] = eval(hint, namespace)
            except Exception:
                pass  # stays a string: type_schema reads the plain builtins' names
    return hints


# ----------------------------------------------------------------------------- docstrings

_SECTION = re.compile(r"^(Args|Arguments|Parameters|Params|Keyword Args|Keyword Arguments):\s*$")
_NUMPY_SECTION = re.compile(r"^(Parameters|Other Parameters)\s*$")
_GOOGLE_ITEM = re.compile(r"^\*{0,2}(\w+)\s*(\([^)]*\))?\s*:\s*(.*)$")
_NUMPY_ITEM = re.compile(r"^\*{0,2}(\w+)\s*(:.*)?$")


def describe(doc: str) -> tuple[str, dict[str, str]]:
    """The doc's first paragraph (lines joined) and per-parameter descriptions from a
    Google-style ``Args:`` or NumPy-style ``Parameters`` section, if it has one."""
    lines = inspect.cleandoc(doc or "").splitlines()
    first: list[str] = []
    for line in lines:
        if not line.strip():
            if first:
                break
            continue
        if _SECTION.match(line.strip()) or (first and _NUMPY_SECTION.match(line.strip())):
            break
        first.append(line.strip())
    return " ".join(first), _param_docs(lines)


def _param_docs(lines: list[str]) -> dict[str, str]:
    found: dict[str, str] = {}
    for i, line in enumerate(lines):
        stripped = line.strip()
        numpy = (
            _NUMPY_SECTION.match(stripped)
            and i + 1 < len(lines)
            and set(lines[i + 1].strip()) == {"-"}
        )
        if not (_SECTION.match(stripped) or numpy):
            continue
        base = len(line) - len(line.lstrip())
        start = i + 2 if numpy else i + 1
        item_indent: int | None = None
        current: str | None = None
        for body in lines[start:]:
            if not body.strip():
                continue
            indent = len(body) - len(body.lstrip())
            if indent < base or (indent == base and not numpy):
                break
            if numpy and indent == base and set(body.strip()) == {"-"}:
                break
            if item_indent is None:
                item_indent = indent
            if indent == item_indent:
                match = (_NUMPY_ITEM if numpy else _GOOGLE_ITEM).match(body.strip())
                if match is None:
                    if numpy:
                        break
                    current = None
                    continue
                current = match.group(1)
                found[current] = "" if numpy else match.group(3).strip()
            elif current is not None:
                found[current] = f"{found[current]} {body.strip()}".strip()
        if found:
            break
    return {k: v for k, v in found.items() if v}


# ----------------------------------------------------------------------------- schemas


def function_schema(tool: Tool) -> JSONSchema:
    """``{"name", "description", "parameters"}`` for ``tool``, from its function's signature
    and its doc (``tool.doc`` first: sources word it for the teacher; else the docstring).

    Raises ValueError for a name neither provider accepts.
    """
    if not NAME_PATTERN.match(tool.name):
        raise ValueError(
            f"tool name {tool.name[:_SHOWN]!r} cannot be a function name "
            "(letters, digits, _ and -, at most 64)"
        )
    fn_doc = inspect.getdoc(tool.fn) or ""
    description, _ = describe(tool.doc or fn_doc)
    _, param_docs = describe(fn_doc)
    param_docs = {**param_docs, **describe(tool.doc)[1]}
    return {
        "name": tool.name,
        "description": description or f"The {tool.name} tool.",
        "parameters": parameters_schema(tool.fn, param_docs),
    }


def parameters_schema(fn: Any, param_docs: Mapping[str, str] | None = None) -> JSONSchema:
    """The JSON Schema object of ``fn``'s keyword arguments (see the module doc)."""
    try:
        signature = inspect.signature(fn)
    except (TypeError, ValueError):  # builtins without a readable signature: take anything
        return {"type": "object"}
    hints = _hints(fn)
    docs = param_docs or {}
    properties: dict[str, JSONSchema] = {}
    required: list[str] = []
    extra: JSONSchema | bool = False
    for name, param in signature.parameters.items():
        annotation = hints.get(name, param.annotation)
        if param.kind is inspect.Parameter.VAR_KEYWORD:
            extra = type_schema(annotation) or True
            continue
        schema = dict(type_schema(annotation))
        if param.kind is inspect.Parameter.VAR_POSITIONAL:
            item = type_schema(annotation)
            schema = {"type": "array", **({"items": item} if item else {})}
        elif param.default is inspect.Parameter.empty:
            required.append(name)
        elif _jsonable(param.default):
            schema["default"] = json.loads(json.dumps(param.default))  # () → [], as sent
        if docs.get(name):
            schema["description"] = docs[name]
        properties[name] = schema
    result: JSONSchema = {"type": "object", "properties": properties}
    if required:
        result["required"] = required
    result["additionalProperties"] = extra
    return result


def tool_schemas(tools: Sequence[Tool], *, python: bool) -> list[JSONSchema]:
    """What a ``tools``-format episode offers: ``execute_python`` (when the task runs code),
    the source's tools, then ``submit``. Raises ValueError on a name clash, which would
    leave the teacher two functions under one name."""
    schemas = [EXECUTE_PYTHON] if python else []
    schemas += [function_schema(t) for t in tools]
    schemas.append(SUBMIT)
    seen: set[str] = set()
    for schema in schemas:
        if schema["name"] in seen:
            raise ValueError(f"two functions named {schema['name']!r}")
        seen.add(schema["name"])
    return schemas


def openai_tools(schemas: Sequence[JSONSchema]) -> list[dict[str, Any]]:
    """Chat Completions ``tools=``: ``{"type": "function", "function": {name, description,
    parameters}}`` each (non-strict: strict mode forbids defaults and optional keys)."""
    return [
        {
            "type": "function",
            "function": {
                "name": s["name"],
                "description": s["description"],
                "parameters": s["parameters"],
            },
        }
        for s in schemas
    ]


def anthropic_tools(schemas: Sequence[JSONSchema]) -> list[dict[str, Any]]:
    """Messages API ``tools=``: ``{name, description, input_schema}`` each."""
    return [
        {"name": s["name"], "description": s["description"], "input_schema": s["parameters"]}
        for s in schemas
    ]
