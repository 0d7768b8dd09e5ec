"""The CodeAct paper's JSON baseline (``json``): one call per turn, written as a JSON object.

``Action: {"tool": "search", "args": ["Paris"]} End Action``: the object names the function
(``tool``) and its arguments (``args``), a list in the signature's order as the paper's
M3ToolEval prompt has it (github xingyaoww/code-act, ``scripts/eval/m3tooleval/tasks/base.py``,
``ActionMode.JSON_AS_ACTION``), or, beyond upstream, an object of named arguments. The
OpenAI spellings ``name``/``arguments`` are read too. What is shared with the ``text`` format
(the ``Action:`` block, the prompt, checking a call) and how we differ from upstream is in
``call_text``.
"""

from __future__ import annotations

import json
import re
from typing import Any

from trajkit.collect.formats.base import Call, Offer
from trajkit.collect.formats.call_text import WrittenCallFormat, bad_call, written_call
from trajkit.core.tool_arguments import refuse_constant

_NAME_KEYS = ("tool", "name")
_ARGS_KEYS = ("args", "arguments")
_EXAMPLE = 'Action: {"tool": "function_name", "args": ["first argument", 2]} End Action'
_GUESS = re.compile(r'"(?:tool|name)"\s*:\s*"([A-Za-z0-9_-]{1,64})"')


class _DuplicateKey(ValueError):
    def __init__(self, key: str) -> None:
        super().__init__(key)
        self.key = key


def _unique(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    """An object without repeated keys: ``json`` would keep the last silently, and the
    teacher would never learn which of its two values was used."""
    out: dict[str, Any] = {}
    for key, value in pairs:
        if key in out:
            raise _DuplicateKey(key)
        out[key] = value
    return out


class JsonFormat(WrittenCallFormat):
    """One function call per turn, written as a JSON object between ``Action:`` and ``End
    Action`` (the CodeAct paper's JSON baseline)."""

    name = "json"
    syntax = (
        'Write the call as a JSON object with two fields: "tool", the name of the function, '
        'and "args", its arguments: a list in the order of the function\'s parameters, or an '
        "object that maps parameter names to values."
    )
    example = _EXAMPLE
    submit_example = 'Action: {"tool": "submit", "args": ["42"]} End Action'

    def read(self, payload: str, offer: Offer, turn: int) -> Call:
        guess = _GUESS.search(payload)
        name = guess.group(1) if guess else ""
        try:
            value = json.loads(payload, object_pairs_hook=_unique,
                               parse_constant=refuse_constant)
        except _DuplicateKey as exc:
            return bad_call(name, payload, turn,
                            f"the call gives the key {exc.key[:60]!r} twice")
        except ValueError as exc:  # JSONDecodeError, and digits beyond int's limit
            reason = (str(exc).splitlines() or ["invalid JSON"])[0][:120]
            return bad_call(name, payload, turn,
                            f"the call is not valid JSON ({reason}); write it as: {_EXAMPLE}")
        if not isinstance(value, dict):
            return bad_call(name, payload, turn,
                            'the call must be a JSON object with "tool" and "args"; '
                            f"write it as: {_EXAMPLE}")
        extra = [k for k in value if k not in _NAME_KEYS + _ARGS_KEYS]
        names = [value[k] for k in _NAME_KEYS if k in value]
        given = [value[k] for k in _ARGS_KEYS if k in value]
        if extra:
            return bad_call(name, payload, turn, f"unexpected key {extra[0][:60]!r} in the call "
                            '(it takes "tool" and "args")')
        if len(names) != 1 or not isinstance(names[0], str) or not names[0].strip():
            return bad_call(name, payload, turn,
                            'the call must name its function once, as a string: "tool"')
        if len(given) > 1:
            return bad_call(names[0], payload, turn, 'the call gives its arguments twice: "args"')
        args = given[0] if given else None
        if args is None:
            return written_call(names[0], [], {}, offer, turn, payload)
        if isinstance(args, dict):
            return written_call(names[0], [], args, offer, turn, payload)
        positional = args if isinstance(args, list) else [args]  # one bare argument, as upstream
        return written_call(names[0], positional, {}, offer, turn, payload)
