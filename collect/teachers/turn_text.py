"""A teacher's turn as the loop keeps it: a checked ``Completion``, valid Unicode, bounded.

Every turn is stored three times in its record (the message, ``steps[].assistant`` and the
parsed action) and resent with every later request, so a 5 MB reply used to become a 15 MB
record. The loop caps what it keeps of each turn (``--teacher-turn-chars``) and of the whole
episode (``--teacher-record-chars``); the cut is marked in the text exactly as observations
mark theirs (``[... N characters truncated ...]``).

Where the cut goes matters: the action is what the turn is for, and the stop sequences end a
turn right after it, so the cut falls in the prose around the action block first, and only a
block too big on its own is cut inside (keeping both tags, so it still parses as the same kind
of action; cut code fails visibly when it runs). ``parse_action`` of the kept text finds the
same block the full text had. Cutting is a pure function of the text and the limits, so a
replayed or cached answer is cut the same way and cache keys stay deterministic.

``accept`` is also the boundary for teachers trajkit does not ship (plugins): whatever they
return must be a ``Completion`` with text and ``Usage``, or the turn is a ``TeacherError``.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable

from trajkit.collect.observation import bound_text, truncation_marker
from trajkit.collect.teachers.base import Completion, TeacherError
from trajkit.collect.teachers.shape import kind_of
from trajkit.core.actions import action_span, through_first_action
from trajkit.schemas import ToolCall, Usage
from trajkit.schemas.text import valid_text

DEFAULT_TURN_CHARS = 100_000
DEFAULT_RECORD_CHARS = 1_000_000
#: Smallest cap a user may set: room for a marker, both tags and some of the action.
MIN_TEXT_CHARS = 1_000
#: Function calls kept of one turn; a turn asking for more is cut to the first ones (each
#: kept call is run and answered, so a hostile thousand-call turn cannot flood an episode).
MAX_CALLS_PER_TURN = 32
#: Characters kept of a called function's name (provider names are at most 64).
MAX_NAME_CHARS = 200


def accept(
    completion: object,
    limit: int,
    cut: Callable[[str], tuple[str, int]] = through_first_action,
) -> tuple[Completion, int]:
    """``(completion with its text checked and cut, characters after its first action)``.

    The text is made valid Unicode, cut right after its first complete action by the action
    format's ``cut`` (as the stop sequence would have: the stored turn is what was said up to
    the action that runs), then capped at ``limit`` characters with a marker. Native function
    calls are checked too: at most ``MAX_CALLS_PER_TURN`` are kept, and their arguments share
    what the text left of ``limit``, in order (a cut leaves them invalid JSON, so the call is
    answered as a bad call): a turn's text and calls together stay within the cap.

    Raises ``TeacherError`` when ``completion`` is not a ``Completion`` holding a string, a
    ``Usage`` and a list of ``ToolCall``s (a plugin teacher's bug ends the episode as
    ``teacher_error``, not the run).
    """
    if not isinstance(completion, Completion):
        raise TeacherError(f"the teacher returned {kind_of(completion)}, not a Completion")
    if not isinstance(completion.text, str):
        raise TeacherError(f"the teacher's text is {kind_of(completion.text)}, not a string")
    if not isinstance(completion.usage, Usage):
        raise TeacherError(f"the teacher's usage is {kind_of(completion.usage)}, not a Usage")
    calls = completion.tool_calls
    if not isinstance(calls, list) or not all(isinstance(c, ToolCall) for c in calls):
        raise TeacherError(f"the teacher's tool calls are {kind_of(calls)}, not ToolCalls")
    text, after = cut(valid_text(completion.text))
    text, _ = cap_turn(text, limit)
    room, kept = max(limit - len(text), 0), []
    for call in calls[:MAX_CALLS_PER_TURN]:  # the calls share what the text left of the cap
        kept.append(_capped_call(call, room))
        room = max(room - len(kept[-1].arguments), 0)
    if kept != calls:
        completion = dataclasses.replace(completion, tool_calls=kept)
    latency = completion.latency_s
    if isinstance(latency, bool) or not isinstance(latency, (int, float)) or not (
        math.isfinite(latency) and latency >= 0
    ):
        latency = 0.0
    if text is completion.text and latency is completion.latency_s:
        return completion, after
    return dataclasses.replace(completion, text=text, latency_s=float(latency)), after


def _capped_call(call: ToolCall, limit: int) -> ToolCall:
    """``call`` as valid text, its name and arguments bounded (the same object if they are)."""
    name = valid_text(call.name)[:MAX_NAME_CHARS]
    arguments, _ = _bounded(valid_text(call.arguments), limit)
    call_id = valid_text(call.id)
    if name == call.name and arguments == call.arguments and call_id == call.id:
        return call
    return ToolCall(id=call_id, name=name, arguments=arguments)


def cap_turn(text: str, limit: int) -> tuple[str, int]:
    """``(text, cut)``: at most ``limit`` characters (markers included; just the marker if
    ``limit`` leaves no room for one), its action intact.

    The prose before and after the action block is cut first (head and tail kept, like an
    observation); a block that does not fit beside its prose's markers keeps its tags and
    loses the middle of its content. ``cut`` counts the characters dropped.
    """
    n = len(text)
    if n <= limit:
        return text, 0
    span = action_span(text)
    if span is None:
        return _bounded(text, limit)
    start, inner, inner_end, end = span
    before, after = text[:start], text[end:]
    mark = len(truncation_marker(n))
    floors = min(len(before), mark), min(len(after), mark)  # the least each side can shrink to
    room = limit - (end - start)
    if room >= sum(floors):  # the whole block fits: the prose shares what is left
        kept_after, cut_after = _bounded(after, min(len(after), room - floors[0]))
        kept_before, cut_before = _bounded(before, room - len(kept_after))
        return kept_before + text[start:end] + kept_after, cut_before + cut_after
    kept_before, cut_before = _bounded(before, floors[0])
    kept_after, cut_after = _bounded(after, floors[1])
    open_tag, close_tag = text[start:inner], text[inner_end:end]
    budget = limit - len(kept_before) - len(kept_after) - len(open_tag) - len(close_tag)
    if budget < mark + 2:  # not even room to show a cut block: an ordinary head-and-tail cut
        return _bounded(text, limit)
    kept_inner, cut_inner = bound_text(text[inner:inner_end], budget)
    kept = kept_before + open_tag + kept_inner + close_tag + kept_after
    return kept, cut_before + cut_inner + cut_after


def _bounded(text: str, limit: int) -> tuple[str, int]:
    """``bound_text`` that copes with little or no room: then only the marker is kept (a cut
    is always visible, even where the limit leaves no room for one)."""
    if len(text) <= limit:
        return text, 0
    marker = truncation_marker(len(text))
    if limit < len(marker) + 2:
        return marker, len(text)
    return bound_text(text, limit)
