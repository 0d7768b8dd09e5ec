"""Generated trajectories with distinct text, for dedup and decontamination tests.

``factories.make_trajectory`` gives every episode the same assistant text, which would make
every record a near-duplicate of every other; these give each task its own words.
"""

from __future__ import annotations

import random
from collections.abc import Sequence

from factories import make_step, make_trajectory

from trajkit.schemas import Message, Step, Trajectory

VOCAB = (
    "alpha beta gamma delta sum product prime factor digit square root modulo array index "
    "count answer value table graph node edge path cost weight string token parse result"
).split()


def sentence(rng: random.Random, n: int) -> str:
    return " ".join(rng.choice(VOCAB) for _ in range(n))


def rewrite(traj: Trajectory, turn: int, new_text: str) -> Trajectory:
    """``traj`` with assistant turn ``turn`` (and its step) saying ``new_text``."""
    steps = list(traj.steps)
    steps[turn] = steps[turn].model_copy(update={"assistant": new_text})
    messages = list(traj.messages)
    seen = -1
    for i, m in enumerate(messages):
        if m.role == "assistant":
            seen += 1
            if seen == turn:
                messages[i] = Message(role="assistant", content=new_text)
    return traj.model_copy(update={"steps": steps, "messages": messages})


def episode(
    task_id: str,
    rng: random.Random,
    kinds: Sequence[str] = ("exception", "ok", "solve"),
    words: int = 60,
    **kw: object,
) -> Trajectory:
    """A trajectory whose every execute turn has its own code and ``words`` of prose."""
    steps: list[Step] = []
    for i, kind in enumerate(kinds):
        step = make_step(i, kind, content=f"v = {rng.randint(0, 10**6)}\nprint(v * {i})" if kind not in ("solve", "wrong") else None)
        if kind not in ("solve", "wrong", "invalid"):
            step = step.model_copy(update={"assistant": f"{sentence(rng, words)}\n<execute>\n{step.action.content}\n</execute>"})
        steps.append(step)
    return make_trajectory(task_id, steps, **kw)  # type: ignore[arg-type]


def near_copy(traj: Trajectory, new_id: str, rng: random.Random) -> Trajectory:
    """Same episode with two words of its first turn changed, under another id/run."""
    text = traj.messages[2].content.split(" ")
    for j in rng.sample(range(len(text) - 1), 2):
        text[j] = "zeta"
    copy = rewrite(traj, 0, " ".join(text))
    return copy.model_copy(update={"id": new_id, "run": new_id.split("/")[0]})
