"""The teacher boundary: what a provider's decoded JSON must look like before it is a turn.

A provider, a proxy or an "OpenAI-compatible" server can answer 200 with any JSON at all:
``null``, a list, ``content`` that is a number, a ``message`` that is ``null``, token counts
that are strings, negative or 10^30, text holding lone surrogates (escaped, or as raw bytes
that a bytes-level ``json.loads`` turns into them). The SDKs build their response objects
without validating them, so such values used to travel on until something deeper (a ``.``
on ``None``, the cache's UTF-8 encode, the record serialiser) raised a traceback that ended
the run. The teachers read their answers only through these functions, from the plain JSON:
every field is type- and range-checked here, text is made valid Unicode here (``valid_text``:
each lone surrogate becomes U+FFFD, visibly), and anything out of shape raises
``ShapeError``, a ``TeacherError``: the episode ends as ``teacher_error``, as for any other
malformed body.
"""

from __future__ import annotations

import json
import re
from typing import Any

from trajkit.core.errors import TeacherError
from trajkit.schemas import ToolCall, Usage
from trajkit.schemas.text import valid_text
from trajkit.schemas.trajectory import CALL_ID_CHARS

#: More tokens than any model reads or writes in one call; a bigger count is garbage.
MAX_CALL_TOKENS = 100_000_000
#: Identifiers and reasons (``finish_reason``, ``id``) are short; longer ones are cut to this.
LABEL_CHARS = 200
#: Call ids each provider accepts back in the next request (Anthropic's documented pattern;
#: OpenAI echoes any printable id). Any other id is replaced (see ``call_id``).
OPENAI_CALL_ID = re.compile(r"[\x21-\x7e]+")
ANTHROPIC_CALL_ID = re.compile(r"[A-Za-z0-9_-]+")


class ShapeError(TeacherError):
    """A provider's answer is not shaped as its API documents; the message says where."""


def kind_of(value: object) -> str:
    """How an unexpected value is named in an error: its JSON type, and a short sample."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return f"a boolean ({str(value).lower()})"
    if isinstance(value, (int, float)):
        sample = repr(value)
        return f"a number ({sample if len(sample) <= 24 else sample[:21] + '...'})"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, (list, tuple)):
        return "a list"
    if isinstance(value, dict):
        return "an object"
    return type(value).__name__


def mapping(value: object, where: str) -> dict[str, Any]:
    """``value`` if it is a JSON object, else ``ShapeError`` naming ``where``."""
    if not isinstance(value, dict):
        raise ShapeError(f"{where} is {kind_of(value)}, expected an object")
    return value


def text(value: object, where: str, *, null_ok: bool = False) -> str:
    """A text field as valid Unicode; ``null`` is ``""`` only where the API allows it."""
    if value is None and null_ok:
        return ""
    if not isinstance(value, str):
        raise ShapeError(f"{where} is {kind_of(value)}, expected a string")
    return valid_text(value)


def label(value: object, where: str) -> str | None:
    """A short optional string (a finish reason, an id): valid Unicode, at most ``LABEL_CHARS``."""
    if value is None:
        return None
    if not isinstance(value, str):
        raise ShapeError(f"{where} is {kind_of(value)}, expected a string")
    return valid_text(value[:LABEL_CHARS])


def tokens(value: object, where: str) -> int:
    """A token count: a real integer in ``[0, MAX_CALL_TOKENS]``; ``null``/absent is 0."""
    if value is None:
        return 0
    if isinstance(value, bool) or not isinstance(value, int):
        raise ShapeError(f"{where} is {kind_of(value)}, expected a whole number")
    if not 0 <= value <= MAX_CALL_TOKENS:
        raise ShapeError(f"{where} is {kind_of(value)}, expected 0 to {MAX_CALL_TOKENS:,}")
    return value


def anthropic_usage(value: object) -> Usage:
    """One Messages API call's ``Usage``.

    The API always sends usage: an absent one is out of shape (the call was paid for and
    nothing could say how much, so ``--max-cost`` would not see it). Its ``input_tokens``
    leaves out what the prompt cache wrote (``cache_creation_input_tokens``) and read
    (``cache_read_input_tokens``); the three add up to the call's whole input.
    """
    if value is None:
        raise ShapeError("usage is null or missing, expected token counts")
    counters = mapping(value, "usage")
    uncached = tokens(counters.get("input_tokens"), "usage.input_tokens")
    written = tokens(counters.get("cache_creation_input_tokens"), "usage.cache_creation_input_tokens")
    read = tokens(counters.get("cache_read_input_tokens"), "usage.cache_read_input_tokens")
    return Usage(
        input_tokens=uncached + written + read,
        output_tokens=tokens(counters.get("output_tokens"), "usage.output_tokens"),
        calls=1,
        cache_read_tokens=read,
        cache_write_tokens=written,
    )


def openai_usage(value: object) -> Usage:
    """One chat completion's ``Usage``.

    Compatible servers may omit usage: then the call counts with zero tokens. A usage that
    is present must be well formed. ``prompt_tokens_details.cached_tokens`` (automatic
    prompt caching) is a part of ``prompt_tokens``, so it can never exceed it.
    """
    if value is None:
        return Usage(calls=1)
    counters = mapping(value, "usage")
    prompt = tokens(counters.get("prompt_tokens"), "usage.prompt_tokens")
    read = 0
    details = counters.get("prompt_tokens_details")
    if details is not None:
        where = "usage.prompt_tokens_details"
        read = tokens(mapping(details, where).get("cached_tokens"), f"{where}.cached_tokens")
        if read > prompt:
            raise ShapeError(
                f"{where}.cached_tokens is {read:,}, more than usage.prompt_tokens ({prompt:,})"
            )
    return Usage(
        input_tokens=prompt,
        output_tokens=tokens(counters.get("completion_tokens"), "usage.completion_tokens"),
        calls=1,
        cache_read_tokens=read,
    )


def plain(obj: object) -> object:
    """An SDK response object (built without validation) back as plain JSON-like data.

    Batch results arrive as SDK objects; reading them as data means one set of checks for
    live and batch answers alike. Values of the wrong type are kept as they came.
    """
    dump = getattr(obj, "model_dump", None)
    if dump is None:
        return obj
    try:
        return dump(by_alias=True, exclude_unset=True, warnings=False)
    except Exception as exc:  # a value pydantic cannot even walk
        raise ShapeError(f"unreadable response object: {type(exc).__name__}: {exc}") from None


# ----------------------------------------------------------------------------- tool calls
def call_id(value: object, index: int, pattern: re.Pattern[str], seen: set[str]) -> str:
    """The id of a turn's ``index``-th call, as the next request must echo it back.

    The id only pairs a call with its result, so a missing, non-string, unsendable (not
    ``pattern``) or repeated one is no reason to lose the turn: it is replaced by
    ``call_{index}`` (made unique within the turn), which pairs them just as well. A long
    id is cut to the record's ``CALL_ID_CHARS``.
    """
    if isinstance(value, str) and pattern.fullmatch(value[:CALL_ID_CHARS]):
        found = value[:CALL_ID_CHARS]
        if found not in seen:
            seen.add(found)
            return found
    made, n = f"call_{index}", 1
    while made in seen:
        made, n = f"call_{index}_{n}", n + 1
    seen.add(made)
    return made


def call_name(value: object, where: str) -> str:
    """A called function's name, kept as made (an unknown one is the loop's to answer); a
    name longer than ``LABEL_CHARS`` (both APIs allow 64) is cut, and so stays unknown."""
    if not isinstance(value, str):
        raise ShapeError(f"{where} is {kind_of(value)}, expected a string")
    return valid_text(value[:LABEL_CHARS])


def call_arguments(value: object, where: str) -> str:
    """A call's arguments as JSON text: a string verbatim (it may not even be JSON: the loop
    answers that as a failed call), an object dumped. Absent or ``null`` is ``"{}"`` (some
    compatible servers leave it out for a function without parameters)."""
    if value is None:
        return "{}"
    if isinstance(value, str):
        return valid_text(value)
    if isinstance(value, dict):
        try:
            return valid_text(json.dumps(value, ensure_ascii=False))
        except (ValueError, TypeError, RecursionError) as exc:
            raise ShapeError(f"{where} cannot be written as JSON: {exc}") from None
    raise ShapeError(f"{where} is {kind_of(value)}, expected a JSON string or an object")


def openai_tool_calls(value: object, where: str) -> list[ToolCall]:
    """A chat completion message's ``tool_calls`` (``null``/absent: none), in order."""
    if value is None:
        return []
    if not isinstance(value, list):
        raise ShapeError(f"{where} is {kind_of(value)}, expected a list")
    seen: set[str] = set()
    calls = []
    for i, entry in enumerate(value):
        entry = mapping(entry, f"{where}[{i}]")
        function = mapping(entry.get("function"), f"{where}[{i}].function")
        calls.append(ToolCall(
            id=call_id(entry.get("id"), i, OPENAI_CALL_ID, seen),
            name=call_name(function.get("name"), f"{where}[{i}].function.name"),
            arguments=call_arguments(function.get("arguments"), f"{where}[{i}].function.arguments"),
        ))
    return calls


def anthropic_tool_use(block: dict[str, Any], index: int, where: str, seen: set[str]) -> ToolCall:
    """One ``tool_use`` content block as the turn's ``index``-th call; its ``input`` must be
    an object (the API's own contract), dumped to the record's JSON text."""
    arguments = block.get("input")
    if not isinstance(arguments, dict):
        raise ShapeError(f"{where}.input is {kind_of(arguments)}, expected an object")
    return ToolCall(
        id=call_id(block.get("id"), index, ANTHROPIC_CALL_ID, seen),
        name=call_name(block.get("name"), f"{where}.name"),
        arguments=call_arguments(arguments, f"{where}.input"),
    )
