"""``valid-format``: keep only conversations a trainer can use as CodeAct demonstrations.

The training target is the raw assistant text, so this re-parses every assistant turn with the
collector's own parser (``trajkit.core.actions.parse_action``) instead of trusting the stored
``steps``: a record whose turns no longer parse (hand-edited, produced by another tool, or by an
older parser) would teach a format the loop rejects.

Rules, each with its own drop reason:

- ``bad_preamble``: the conversation starts with a system message, then the task (user);
- ``roles_not_alternating``: after that, assistant and user strictly alternate, beginning
  with the assistant (``no_assistant_turn`` if it never speaks);
- ``invalid_action``: every assistant turn is an ``<execute>`` or a ``<solution>``;
- ``last_turn_not_final``: the last assistant turn is a solution or the winning action (the
  step the judge accepted), so the demonstration ends where the task was done;
- ``ends_with_user``: nothing follows the last assistant turn (a trailing observation would
  be trained on as if the model should stop after reading it).

Records of the other action formats (``tools``, ``json``, ``text``; see
``trajkit.collect.formats``) are checked by the same rules in their own form. Native tool
calls (``tools``) are structure, not text: after an assistant turn that called functions come
exactly its results, one ``tool`` message per call naming it, in order (else
``calls_not_answered``); a turn without a call is answered by a user message and is an
``invalid_action``. Calls written as text (``json``/``text``) alternate with user messages like
code. Which turns asked for nothing usable, and which one answered, is read from the record's
``steps`` there: parsing them again needs the format's own parser, which lives above the
filters, in the collection layer.
"""

from __future__ import annotations

from typing import Any

from trajkit.core.actions import parse_action
from trajkit.core.self_correction import success_step_position
from trajkit.filters.base import KEEP, Decision, Drop
from trajkit.schemas import ActionKind, Message, Trajectory


class ValidFormatFilter:
    """Drops trajectories breaking the CodeAct conversation format (see module docstring)."""

    name = "valid-format"

    @property
    def params(self) -> dict[str, Any]:
        return {}

    def decide(self, traj: Trajectory) -> Decision:
        msgs = traj.messages
        if len(msgs) < 2 or msgs[0].role != "system" or msgs[1].role != "user":
            return Drop("bad_preamble")
        rest = msgs[2:]
        if not rest:
            return Drop("no_assistant_turn")
        if traj.action_format != "code":
            return self._decide_calls(traj, rest)
        for i, msg in enumerate(rest):
            if msg.role != ("assistant" if i % 2 == 0 else "user"):
                return Drop("roles_not_alternating")
        if rest[-1].role != "assistant":
            return Drop("ends_with_user")
        turns = rest[0::2]
        kinds = [parse_action(m.content).kind for m in turns]
        if ActionKind.INVALID in kinds:
            return Drop("invalid_action")
        if kinds[-1] is not ActionKind.SOLUTION and not self._won_last(traj, len(turns)):
            return Drop("last_turn_not_final")
        return KEEP

    def _decide_calls(self, traj: Trajectory, rest: list[Message]) -> Decision:
        """The rules for the formats that call functions (see the module docstring)."""
        turns = 0
        i = 0
        while i < len(rest):
            msg = rest[i]
            if msg.role != "assistant":
                return Drop("roles_not_alternating")
            turns += 1
            ids = [call.id for call in msg.tool_calls]
            i += 1
            if not ids:  # a turn written as text (json, text), or a native turn with no call
                if traj.action_format == "tools":
                    return Drop("invalid_action")
                if i < len(rest) and rest[i].role != "user":
                    return Drop("roles_not_alternating")
                i += 1  # past its answer (or past the end: the loop stops)
                continue
            answers = [m.tool_call_id for m in rest[i : i + len(ids)] if m.role == "tool"]
            if i < len(rest) and answers != ids:
                return Drop("calls_not_answered")
            i += len(ids)
        if rest[-1].role != "assistant":
            return Drop("ends_with_user")
        if len(traj.steps) != turns:
            return Drop("invalid_action")  # steps that do not describe these turns
        kinds = [step.action.kind for step in traj.steps]
        if ActionKind.INVALID in kinds:
            return Drop("invalid_action")
        if kinds[-1] is not ActionKind.SOLUTION and not self._won_last(traj, turns):
            return Drop("last_turn_not_final")
        return KEEP

    @staticmethod
    def _won_last(traj: Trajectory, n_turns: int) -> bool:
        """The last turn is the step the judge accepted (a source judging executed code)."""
        pos = success_step_position(traj.steps, traj.success)
        if pos is None or pos != n_turns - 1:
            return False
        verdict = traj.steps[pos].verdict
        return verdict is not None and verdict.success
