"""What the two written-call formats (``json``, ``text``) share: the ``Action: ... End Action``
block a call is written in, the prompt's list of functions, and turning a call read from text
into a checked ``Call``.

Provenance: the CodeAct paper's baselines, as its own evaluation runs them (github
xingyaoww/code-act, ``scripts/eval/m3tooleval/tasks/base.py``: ``Task.get_prompt``,
``Task.parse_generation``, ``Task.execute_action``; ``scripts/eval/m3tooleval/main.py``:
``postprocess_fn``, ``run_task``). We mirror its facts, in our own words and code: the tools
are listed numbered, each with its description and signature; a turn may think first, then
writes one call that begins with ``Action:`` and ends with ``End Action``; only the first call
of a turn is made, and text after it is dropped (without ``End Action``, the call ends at a
line that starts the next step, as upstream trimmed); arguments are positional, in the
signature's order. Where we differ, it is so every format is judged alike: the answer is a
``submit`` call (upstream wrote ``Answer: ...``), a call may also name its arguments, a call
is checked against the function's schema before it runs (upstream let the tool raise), the
result comes back as ``Observation:`` plus the MINT budget line as in the code format
(upstream sent the bare result), and ``End Action`` is a stop sequence (upstream trimmed the
reply afterwards instead).
"""

from __future__ import annotations

import dataclasses
import inspect
import json
import math
import re
from collections.abc import Mapping, Sequence
from typing import Any

from trajkit.collect.formats.base import Call, Offer
from trajkit.collect.formats.calls import checked_call
from trajkit.collect.formats.code import TextTurns
from trajkit.collect.prompts import SOLUTION_AS_SUBMIT, budget_text
from trajkit.core.actions import clean_code
from trajkit.core.demonstration import Demonstration
from trajkit.core.tool_arguments import MAX_ARGUMENT_CHARS
from trajkit.core.tool_schema import SUBMIT, JSONSchema
from trajkit.core.tools import Tool
from trajkit.schemas import ActionKind, ToolCall
from trajkit.schemas.text import valid_text

ACTION_OPEN, ACTION_CLOSE = "Action:", "End Action"

#: ``Call.content`` of a turn without a usable call (an ``INVALID`` call).
REASON_NO_ACTION = "no 'Action: ... End Action' call"
REASON_EMPTY_ACTION = "an empty 'Action:' call"
REASON_ANSWER_LINE = "an 'Answer:' line instead of a submit call"

_SHOWN = 60  # characters of a teacher-chosen name echoed in an error line
_WRITTEN_CHARS = 2_000  # of a bad call's text kept as its content

# ``Action:`` as a word of its own (not ``Transaction:``); a block written without its
# ``End Action`` (the stop sequence was cut by the server) ends at a line that begins the
# next step (a second call, an answer, a thought, or the teacher imagining the result).
_OPEN = re.compile(r"(?<![A-Za-z0-9_])Action:")
_NEXT = re.compile(r"^[ \t*]*(?:Action|Answer|Thought|Observation):", re.MULTILINE)
_CLOSE = re.compile(r"(?<![A-Za-z0-9_])End[ \t]?Action", re.IGNORECASE)
_ANSWER = re.compile(r"(?<![A-Za-z0-9_])Answer:")


def action_block(text: str) -> tuple[int, int, int, bool] | None:
    """``(inner_start, inner_end, end, closed)`` of the first call in ``text``: ``end`` is
    where the kept turn ends (after ``End Action`` when ``closed``); None if there is none."""
    opened = _OPEN.search(text)
    if opened is None:
        return None
    inner = opened.end()
    close = _CLOSE.search(text, inner)
    nxt = _NEXT.search(text, inner, close.start() if close else len(text))
    if nxt is not None:
        return inner, nxt.start(), nxt.start(), False
    if close is not None:
        return inner, close.start(), close.end(), True
    return inner, len(text), len(text), False


def cut_after_action(text: str) -> tuple[str, int]:
    """The turn through its first call (as ``End Action``, the stop sequence, would have cut
    it, or before a second call, as upstream trimmed), and how many characters were dropped.
    A turn without a call, or whose only call runs to the end, is kept whole."""
    block = action_block(text)
    if block is None or block[2] >= len(text):
        return text, 0
    kept = text[: block[2]].rstrip() if not block[3] else text[: block[2]]
    return kept, len(text) - len(kept)


def action_payload(text: str) -> str | None:
    """The first call's text, without the Markdown a teacher wraps it in (bold markers, a
    fenced or inline code span); None when the turn writes no call."""
    block = action_block(text)
    if block is None:
        return None
    payload = text[block[0] : block[1]].strip().strip("*").strip()
    payload = clean_code(payload) if payload.startswith("```") else payload
    if len(payload) > 1 and payload[0] == payload[-1] == "`":
        payload = payload.strip("`").strip()
    return payload


def no_action(text: str) -> Call:
    """The ``INVALID`` call of a turn without a usable call, with the reason."""
    if _ANSWER.search(text) and not _OPEN.search(text):
        return Call(kind=ActionKind.INVALID, content=REASON_ANSWER_LINE)
    return Call(kind=ActionKind.INVALID, content=REASON_NO_ACTION)


# ----------------------------------------------------------------------------- calls


def call_id(turn: int) -> str:
    """The id of a call parsed from text: one call per turn, so ``call_<turn>_0``."""
    return f"call_{turn}_0"


def bad_call(name: str, written: str, turn: int, error: str) -> Call:
    """A call that cannot be made (unreadable, or not a call of any function): a failed
    action whose result is ``error``; ``written`` is kept as the teacher wrote it."""
    written = valid_text(written)
    if len(written) > _WRITTEN_CHARS:
        written = written[:_WRITTEN_CHARS] + "…"
    made = ToolCall(id=call_id(turn), name=valid_text(name[:200]), arguments=written)
    return Call(kind=ActionKind.TOOL, content=written, made=made, error=valid_text(error))


def positional_names(schema: JSONSchema, tool: Tool | None) -> tuple[list[str], str | None]:
    """The parameters positional arguments fill, in order, and the ``*args`` parameter that
    takes the rest (None without one): from the tool's signature when it is readable, else
    the schema's order (``submit``, or a function without a signature)."""
    if tool is not None:
        try:
            params = list(inspect.signature(tool.fn).parameters.values())
        except (TypeError, ValueError):
            params = []
        if params:
            named = [p.name for p in params if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]
            rest = next((p.name for p in params if p.kind is p.VAR_POSITIONAL), None)
            return named, rest
    properties = (schema.get("parameters") or {}).get("properties") or {}
    return list(properties), None


def keyword_arguments(
    schema: JSONSchema, tool: Tool | None, args: Sequence[Any], kwargs: Mapping[str, Any]
) -> dict[str, Any] | str:
    """Positional ``args`` placed on their parameters' names, merged with ``kwargs``; or a
    one-line error (too many positional arguments, or one argument given twice)."""
    name = str(schema.get("name", "tool"))[:_SHOWN]
    named, rest = positional_names(schema, tool)
    out: dict[str, Any] = {}
    for i, value in enumerate(args):
        if i < len(named):
            out[named[i]] = value
        elif rest is not None:
            out.setdefault(rest, []).append(value)
        else:
            return (f"{name}(): takes {len(named)} positional argument"
                    f"{'' if len(named) == 1 else 's'} but {len(args)} were given")
    for key, value in kwargs.items():
        if key in out:
            return f"{name}(): argument {str(key)[:_SHOWN]!r} is given twice"
        out[key] = value
    return out


def _shown(value: Any) -> str:
    try:
        return json.dumps(value, ensure_ascii=False, default=repr)[:_WRITTEN_CHARS]
    except (ValueError, TypeError, RecursionError):
        return "?"


def written_call(
    name: str, args: Sequence[Any], kwargs: Mapping[str, Any], offer: Offer, turn: int, written: str
) -> Call:
    """The ``Call`` for a call read from text: arguments placed by name, then the checks every
    format shares (``calls.checked_call``). A number given as the answer is the answer's
    text: a written call has no way to say "this is a string" that a teacher reliably uses."""
    schema = offer.schema(name)
    if schema is None:  # checked_call names what is available
        inner = valid_text(", ".join([_shown(a) for a in args]
                                     + [f"{k}={_shown(v)}" for k, v in kwargs.items()]))
        made = ToolCall(id=call_id(turn), name=valid_text(name[:200]), arguments=inner)
        return checked_call(made, inner, offer)
    merged = keyword_arguments(schema, offer.tool(name), args, kwargs)
    if isinstance(merged, str):
        return bad_call(name, written, turn, merged)
    answer = merged.get("answer")
    if name == SUBMIT["name"] and isinstance(answer, int | float) and not isinstance(answer, bool):
        if not isinstance(answer, float) or math.isfinite(answer):
            merged["answer"] = json.dumps(answer)
    try:
        arguments = json.dumps(merged, default=repr)
    except (ValueError, TypeError, RecursionError):
        arguments = written
    made = ToolCall(id=call_id(turn), name=name, arguments=arguments)
    if len(arguments) > MAX_ARGUMENT_CHARS:
        call = checked_call(made, arguments, offer)  # refused as too long, in its words
    else:
        call = checked_call(made, merged, offer)
    # The record keeps ``content``: text a lone surrogate made unwritable would lose it.
    return dataclasses.replace(call, content=valid_text(call.content))


# ----------------------------------------------------------------------------- prompt


def type_text(schema: Any) -> str:
    """A parameter's JSON Schema as a short type: ``string``, ``integer | null``, ``array of
    number``, ``"a" | "b"``; ``any`` when it has no constraint."""
    if not isinstance(schema, dict):
        return "any"
    if "enum" in schema:
        return " | ".join(json.dumps(v, ensure_ascii=False) for v in schema["enum"])
    if "anyOf" in schema:
        return " | ".join(type_text(option) for option in schema["anyOf"])
    kinds = schema.get("type")
    if kinds is None:
        return "any"
    if isinstance(kinds, list):
        return " | ".join(str(k) for k in kinds)
    if kinds == "array" and "items" in schema:
        return f"array of {type_text(schema['items'])}"
    return str(kinds)


def signature_text(schema: JSONSchema) -> str:
    """``name(query: string, limit: integer = 5)``: a function as the prompt lists it."""
    params = schema.get("parameters") or {}
    required = set(params.get("required") or ())
    parts = []
    for pname, prop in (params.get("properties") or {}).items():
        part = f"{pname}: {type_text(prop)}"
        if isinstance(prop, dict) and "default" in prop:
            part += f" = {json.dumps(prop['default'], ensure_ascii=False)}"
        elif pname not in required:
            part += " (optional)"
        parts.append(part)
    if params.get("additionalProperties", True) is not False and "properties" in params:
        parts.append("**other_arguments")
    return f"{schema['name']}({', '.join(parts)})"


def functions_text(schemas: Sequence[JSONSchema]) -> str:
    """The numbered list of callable functions: description, signature, and the arguments'
    descriptions where the tool documents them."""
    lines = ["You can call these functions:"]
    for i, schema in enumerate(schemas, 1):
        lines.append(f"[{i}] {schema['name']}: {schema.get('description', '')}".rstrip())
        lines.append(f"    Signature: {signature_text(schema)}")
        properties = (schema.get("parameters") or {}).get("properties") or {}
        documented = [(k, p["description"]) for k, p in properties.items()
                      if isinstance(p, dict) and p.get("description")]
        for pname, doc in documented:
            lines.append(f"    - {pname}: {doc}")
    return "\n".join(lines)


_SYSTEM = """\
You are a helpful assistant who solves tasks step by step by calling functions.

In every turn, you may first think briefly about what to do next (for example, starting with \
"Thought:"); then call exactly one function. {syntax} Begin the call with "Action:", end it \
with "End Action", and stop writing there: only the first call of a turn is made. Its result \
comes back to you in the next message, which starts with "Observation:". For example:

{example}

When you know the final answer, call submit with it:

{submit}

{answer_form}

{budget}

{functions}"""


class WrittenCallFormat(TextTurns):
    """A format whose calls are written in the turn's text, one per turn; subclasses say how
    a call is written (``syntax``, the examples) and read (``read``)."""

    name = ""
    native = False
    functions = True
    demonstrations = False  # the sources' demonstrations are written in the code format
    stop: tuple[str, ...] = (ACTION_CLOSE,)
    syntax = ""
    example = ""
    submit_example = ""

    def offers_python(self, tools: Sequence[Tool], has_setup: bool) -> bool:
        return False  # the paper's baselines call the source's tools, nothing else

    def system_prompt(
        self, offer: Offer, max_turns: int, max_solutions: int, demonstration: Demonstration | None
    ) -> str:
        return _SYSTEM.format(
            syntax=self.syntax,
            example=self.example,
            submit=self.submit_example,
            answer_form=SOLUTION_AS_SUBMIT,
            budget=budget_text(max_turns, max_solutions),
            functions=functions_text(offer.schemas),
        )

    def cut(self, text: str) -> tuple[str, int]:
        return cut_after_action(text)

    def parse(self, text: str, tool_calls: Sequence[ToolCall], offer: Offer, turn: int) -> list[Call]:
        payload = action_payload(text)
        if payload is None:
            return [no_action(text)]
        if not payload:
            return [Call(kind=ActionKind.INVALID, content=REASON_EMPTY_ACTION)]
        if len(payload) > MAX_ARGUMENT_CHARS:
            return [bad_call("", payload, turn, f"the call is too long ({len(payload):,} "
                             f"characters; at most {MAX_ARGUMENT_CHARS:,})")]
        try:
            return [self.read(payload, offer, turn)]
        except (RecursionError, MemoryError):
            return [bad_call("", payload, turn, "the call is nested too deeply to read")]

    def read(self, payload: str, offer: Offer, turn: int) -> Call:
        """The call ``payload`` (a call's text, non-empty) writes."""
        raise NotImplementedError

    def corrective(self, reason: str) -> str:
        return (
            f"I could not find a function call in your last message ({reason}). End every "
            f"turn with exactly one call. {self.syntax} For example:\n\n{self.example}\n\n"
            f"To give your final answer:\n\n{self.submit_example}"
        )
