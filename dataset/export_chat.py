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
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from trajkit.core.demonstration import without_demonstration
from trajkit.core.errors import TrajkitError
from trajkit.core.self_correction import failed_action
from trajkit.schemas import ActionKind, Step, Trajectory

SHAREGPT_ROLES = {"system": "system", "user": "human", "assistant": "gpt"}


class Unexportable(TrajkitError):
    """The record cannot become a valid training conversation; ``reason`` is a short key."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True)
class Turn:
    """One message of the normalised conversation; ``failed`` only for assistant turns."""

    role: str
    content: str
    failed: bool = False


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


def conversation(traj: Trajectory, *, keep_demonstration: bool = False) -> list[Turn]:
    """The normalised conversation (see the module docstring), or :class:`Unexportable`."""
    flags = iter(_failed_flags(traj))
    messages = traj.messages if keep_demonstration else without_demonstration(traj.messages)
    turns = [
        Turn(m.role, m.content, next(flags) if m.role == "assistant" else False)
        for m in messages
    ]
    while turns and turns[-1].role == "user":
        turns.pop()
    if not any(t.role == "assistant" for t in turns):
        raise Unexportable("no_assistant_turn")
    if any(not t.content.strip() for t in turns):
        raise Unexportable("empty_message")
    body = turns[1:] if turns[0].role == "system" else turns
    for k, turn in enumerate(body):
        if turn.role != ("user" if k % 2 == 0 else "assistant"):
            raise Unexportable("roles_do_not_alternate")
    return turns


def openai_row(turns: list[Turn], *, weights: bool = False, mask_failed: bool = False) -> dict[str, Any]:
    """``{"messages": [...]}`` for OpenAI chat fine-tuning; ``weight`` on assistant turns if asked.

    Raises :class:`Unexportable` ("nothing_to_train") when masking leaves no assistant turn
    with weight 1: such an example teaches nothing.
    """
    messages: list[dict[str, Any]] = []
    for t in turns:
        msg: dict[str, Any] = {"role": t.role, "content": t.content}
        if t.role == "assistant" and (weights or mask_failed):
            msg["weight"] = 0 if (mask_failed and t.failed) else 1
        messages.append(msg)
    if (weights or mask_failed) and not any(m.get("weight") == 1 for m in messages):
        raise Unexportable("nothing_to_train")
    return {"messages": messages}


def sharegpt_row(traj: Trajectory, turns: list[Turn]) -> dict[str, Any]:
    """``{"id", "conversations": [{"from": system|human|gpt, "value"}]}``."""
    return {
        "id": traj.id,
        "conversations": [{"from": SHAREGPT_ROLES[t.role], "value": t.content} for t in turns],
    }


def codeact_row(traj: Trajectory, turns: list[Turn]) -> dict[str, Any]:
    """CodeActInstruct's row: ``{"id", "conversations": [{"role", "content"}]}``."""
    return {"id": traj.id, "conversations": [{"role": t.role, "content": t.content} for t in turns]}
