"""The ALFWorld task prompt, worded as CodeAct's: the instruction, then the opening observation.

The tool list is repeated here (the system prompt lists them too) because ALFWorld is the one
source whose only way to act is through them: a teacher that answers in prose learns nothing.
"""

from __future__ import annotations

INSTRUCTION = "Interact with a household to solve a task."

_TOOLS = """\
Act by calling these functions in your code; each performs one action and returns what you \
observe as a str (an impossible action returns "Nothing happens."):
goto(recep), take_from(obj, recep), put(obj, recep), open_receptacle(recep), \
close_receptacle(recep), toggle(obj_or_recep), clean(obj, recep), heat(obj, recep), \
cool(obj, recep), use(obj), look().
Name things exactly as the observations do, e.g. "apple 1", "countertop 2". The episode ends \
by itself as soon as the task is done."""


def build_prompt(observation: str) -> str:
    """``observation`` is the game's opening text without the TextWorld banner."""
    return f"{INSTRUCTION}\n{observation.strip()}\n\n{_TOOLS}"
