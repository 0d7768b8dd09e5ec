"""One trajectory → one training row, in the chat layouts fine-tuning stacks read.

Every format starts from the same normalised conversation (:func:`conversation`): the exact
messages the teacher saw and wrote, system prompt first, then user (task), assistant, user
(observation), … ending with an assistant turn. Trailing user messages (an observation or
"Your answer is wrong." left when an episode ran out of turns) are dropped, because a training
example must end on what the model should learn to say. A record that cannot be made into such
a conversation (no assistant turn, an empty message, roles that do not alternate) raises
:class:`Unexportable` with a short reason that the exporter counts, instead of emitting a row a
trainer would reject or, worse, silently learn from.

The in-context demonstration the teacher was shown (``--shots 1``: the last section of the
system prompt, ``trajkit.core.demonstration``) is left out by default, cut exactly so the system
prompt reads byte for byte as a ``--shots 0`` run wrote it and every other message is unchanged:
it is an example written for the prompt, not the episode's own, and CodeActInstruct did not
train on its in-context example either. ``keep_demonstration`` keeps the system prompt whole.

Weights (OpenAI ``weight``, 0 or 1, on assistant messages only): with ``weights`` every
assistant turn gets 1; with ``mask_failed`` an assistant turn whose action *did not work* gets
0, so the model sees its failed attempts as context but is not trained to produce them. "Did
not work" = the code raised/timed out/crashed the worker (the self-correction rule's failed
action), the proposed answer was rejected, or the turn had no valid action. Observations are
user messages and are never trained on, whatever the flags.

Native function calling (``--action-format tools``) adds to that conversation what the
record holds: an assistant turn's ``tool_calls`` (its text may then be empty) and, after it,
one ``tool`` turn per call naming the call it answers; a turn without a call is answered by a
user message as in the code format. So the order is user, assistant, then after an assistant
turn with calls exactly its results (in any order) and the next assistant turn, otherwise a
user message. Results the episode ended on are dropped like a trailing user message (the line
then ends on the calls, as a final ``submit`` does); a result for no pending call or a call
left unanswered before the next turn makes the record unexportable.

The openai export lists the offered functions as the line's ``tools`` and gives a turn
holding a *malformed* call (arguments that are not a JSON object, or a function nobody
offered) ``weight: 0`` whatever the flags: the teacher read its error and recovered, which is
worth seeing as context, but a model must not learn to write such a call. ShareGPT
(LLaMA-Factory's function-calling layout) has no per-turn weight, so it skips such records
(``malformed_call``), and it has no place for the text said alongside calls (left out, as
LLaMA-Factory's own OpenAI-layout reader does). CodeActInstruct rows are text turns only and
skip native records (``native_tool_calls``).
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from trajkit.core.demonstration import without_demonstration
from trajkit.core.errors import TrajkitError
from trajkit.core.self_correction import failed_action
from trajkit.core.tool_schema import openai_tools
from trajkit.schemas import ActionKind, Message, Step, ToolCall, Trajectory

SHAREGPT_ROLES = {"system": "system", "user": "human", "assistant": "gpt"}
#: Between the results of one turn's parallel calls in a single ShareGPT observation: what
#: LLaMA-Factory itself puts there when it reads OpenAI-layout data, so both paths train alike.
SHAREGPT_RESULT_SEPARATOR = "\n</tool_response>\n<tool_response>\n"


class Unexportable(TrajkitError):
    """The record cannot become a valid training conversation; ``reason`` is a short key."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True)
class Turn:
    """One message of the normalised conversation; ``failed`` only for assistant turns.

    Native function calling adds an assistant turn's ``tool_calls`` and a ``tool`` turn's
    ``tool_call_id``/``is_error``; they stay empty for every other turn.
    """

    role: str
    content: str
    failed: bool = False
    tool_calls: tuple[ToolCall, ...] = ()
    tool_call_id: str | None = None
    is_error: bool = False


def step_failed(step: Step) -> bool:
    """The turn's action did not work: code error, rejected answer, or no valid action."""
    if failed_action(step):
        return True
    if step.verdict is not None and not step.verdict.success:
        return True
    return step.action.kind == ActionKind.INVALID


def _failed_flags(traj: Trajectory) -> list[bool]:
    """``failed`` for each assistant message, in order, by pairing it with its step.

    Assistant message k is step k when their texts agree (the loop's invariant); otherwise the
    step with that exact text is used, and a message matching none counts as not failed.
    """
    by_text = {s.assistant: step_failed(s) for s in traj.steps}
    flags = []
    k = 0
    for msg in traj.messages:
        if msg.role != "assistant":
            continue
        if k < len(traj.steps) and traj.steps[k].assistant == msg.content:
            flags.append(step_failed(traj.steps[k]))
        else:
            flags.append(by_text.get(msg.content, False))
        k += 1
    return flags


def is_native(traj: Trajectory) -> bool:
    """The record was collected with native function calling: its format says so, or its
    conversation holds calls or results (a plugin's native format)."""
    return traj.action_format == "tools" or any(
        m.tool_calls or m.role == "tool" for m in traj.messages
    )


def arguments_object(arguments: str) -> dict[str, Any] | None:
    """A call's arguments as the JSON object they must be, or ``None`` (malformed: not JSON,
    not an object, or nested past what the parser follows)."""
    try:
        value = json.loads(arguments)
    except (ValueError, RecursionError):
        return None
    return value if isinstance(value, dict) else None


def _turn(msg: Message, flags: Iterator[bool]) -> Turn:
    if msg.role == "assistant":
        return Turn(msg.role, msg.content, next(flags), tuple(msg.tool_calls))
    return Turn(msg.role, msg.content, tool_call_id=msg.tool_call_id, is_error=msg.is_error)


def _check_calls(body: Sequence[Turn]) -> None:
    """The order of a conversation with function calls (module docstring), or Unexportable."""
    pending: set[str] = set()  # calls of the last assistant turn not answered yet
    expected = "user"
    for turn in body:
        if turn.role == "tool":
            if turn.tool_call_id not in pending:
                raise Unexportable("unknown_tool_call_id")
            pending.discard(turn.tool_call_id)
            continue
        if pending:
            raise Unexportable("unanswered_tool_call")
        if turn.role != expected:
            raise Unexportable("roles_do_not_alternate")
        if turn.tool_calls:
            ids = [c.id for c in turn.tool_calls]
            if not all(ids) or not all(c.name for c in turn.tool_calls) or len(set(ids)) < len(ids):
                raise Unexportable("bad_tool_call")
            pending = set(ids)
        expected = "user" if turn.role == "assistant" and not turn.tool_calls else "assistant"


def conversation(traj: Trajectory, *, keep_demonstration: bool = False) -> list[Turn]:
    """The normalised conversation (see the module docstring), or :class:`Unexportable`."""
    flags = iter(_failed_flags(traj))
    messages = traj.messages if keep_demonstration else without_demonstration(traj.messages)
    turns = [_turn(m, flags) for m in messages]
    while turns and turns[-1].role in ("user", "tool"):
        turns.pop()
    if not any(t.role == "assistant" for t in turns):
        raise Unexportable("no_assistant_turn")
    if any(not t.content.strip() and not t.tool_calls for t in turns):
        raise Unexportable("empty_message")
    body = turns[1:] if turns[0].role == "system" else turns
    if any(t.tool_calls or t.role == "tool" for t in body):
        _check_calls(body)
        return turns
    for k, turn in enumerate(body):
        if turn.role != ("user" if k % 2 == 0 else "assistant"):
            raise Unexportable("roles_do_not_alternate")
    return turns


def malformed(turn: Turn, offered: set[str]) -> bool:
    """An assistant turn holding a call that could not be made as written: arguments that are
    not a JSON object, or a function that was not offered (``offered``: the names)."""
    return any(c.name not in offered or arguments_object(c.arguments) is None for c in turn.tool_calls)


def offered_functions(traj: Trajectory) -> list[dict[str, Any]]:
    """The native record's offered schemas as ``{name, description, parameters}`` (a missing
    description or parameters filled in as "none"/"any object"). Unexportable when it kept
    none (``no_tool_schemas``: a line with calls but no definitions would teach calls of
    functions nobody described) or one without a usable name (``bad_tool_schema``)."""
    if not traj.tools:
        raise Unexportable("no_tool_schemas")
    schemas = []
    for s in traj.tools:
        name, description = s.get("name"), s.get("description", "")
        parameters = s.get("parameters", {"type": "object", "properties": {}})
        if not (isinstance(name, str) and name and isinstance(description, str)
                and isinstance(parameters, dict)):
            raise Unexportable("bad_tool_schema")
        schemas.append({"name": name, "description": description, "parameters": parameters})
    if len({s["name"] for s in schemas}) < len(schemas):
        raise Unexportable("bad_tool_schema")
    return schemas


def _openai_message(t: Turn) -> dict[str, Any]:
    if t.role == "tool":
        return {"role": "tool", "tool_call_id": t.tool_call_id, "content": t.content}
    msg: dict[str, Any] = {"role": t.role, "content": t.content}
    if t.tool_calls:
        msg["content"] = t.content if t.content.strip() else None
        msg["tool_calls"] = [
            {"id": c.id, "type": "function", "function": {"name": c.name, "arguments": c.arguments}}
            for c in t.tool_calls
        ]
    return msg


def openai_row(
    turns: list[Turn],
    *,
    weights: bool = False,
    mask_failed: bool = False,
    tools: Sequence[dict[str, Any]] = (),
) -> dict[str, Any]:
    """``{"messages": [...]}`` for OpenAI chat fine-tuning; ``weight`` on assistant turns if asked.

    ``tools`` (a native record's offered schemas) adds the line's ``tools`` and gives every
    turn with a malformed call ``weight: 0`` whatever the flags (module docstring). Raises
    :class:`Unexportable` ("nothing_to_train") when no assistant turn is left with weight 1:
    such an example teaches nothing.
    """
    offered = {str(s["name"]) for s in tools}
    messages: list[dict[str, Any]] = []
    for t in turns:
        msg = _openai_message(t)
        if t.role == "assistant":
            if weights or mask_failed:
                msg["weight"] = 0 if (mask_failed and t.failed) else 1
            if t.tool_calls and malformed(t, offered):
                msg["weight"] = 0
        messages.append(msg)
    if not any(m.get("weight", 1) == 1 for m in messages if m["role"] == "assistant"):
        raise Unexportable("nothing_to_train")
    row: dict[str, Any] = {"messages": messages}
    if tools:
        row["tools"] = openai_tools(tools)
    return row


def _function_call(t: Turn) -> str:
    """LLaMA-Factory's ``function_call`` value: ``{"name", "arguments"}`` (arguments an
    object), or a list of them for parallel calls; ``t`` holds no malformed call."""
    calls = [{"name": c.name, "arguments": arguments_object(c.arguments)} for c in t.tool_calls]
    return json.dumps(calls[0] if len(calls) == 1 else calls, ensure_ascii=False)


def _sharegpt_native(turns: list[Turn], offered: set[str]) -> list[dict[str, str]]:
    """ShareGPT turns of a native record: function_call for a turn with calls (its text has no
    place in this layout and is left out, as LLaMA-Factory's own converter does), and one
    observation for all results of a turn, so human/observation and gpt/function_call keep
    alternating."""
    out: list[dict[str, str]] = []
    for t in turns:
        if t.role == "tool":
            if out[-1]["from"] == "observation":
                out[-1]["value"] += SHAREGPT_RESULT_SEPARATOR + t.content
            else:
                out.append({"from": "observation", "value": t.content})
        elif t.tool_calls:
            if malformed(t, offered):
                raise Unexportable("malformed_call")
            out.append({"from": "function_call", "value": _function_call(t)})
        else:
            out.append({"from": SHAREGPT_ROLES[t.role], "value": t.content})
    return out


def sharegpt_row(traj: Trajectory, turns: list[Turn]) -> dict[str, Any]:
    """``{"id", "conversations": [{"from": system|human|gpt, "value"}]}``; a native record adds
    ``function_call``/``observation`` turns and ``tools`` (its schemas as a JSON string)."""
    if not is_native(traj):
        return {
            "id": traj.id,
            "conversations": [{"from": SHAREGPT_ROLES[t.role], "value": t.content} for t in turns],
        }
    schemas = offered_functions(traj)
    offered = {str(s["name"]) for s in schemas}
    return {
        "id": traj.id,
        "conversations": _sharegpt_native(turns, offered),
        "tools": json.dumps(schemas, ensure_ascii=False),
    }


def codeact_row(traj: Trajectory, turns: list[Turn]) -> dict[str, Any]:
    """CodeActInstruct's row: ``{"id", "conversations": [{"role", "content"}]}``; a native
    record is Unexportable (``native_tool_calls``): the layout is text turns only."""
    if is_native(traj):
        raise Unexportable("native_tool_calls")
    return {"id": traj.id, "conversations": [{"role": t.role, "content": t.content} for t in turns]}
