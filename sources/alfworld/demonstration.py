"""ALFWorld's in-context demonstration (``--shots 1``): a household written for trajkit (not one
of ALFWorld's games), played with the household tools; the first cell calls ``take_from``
without its receptacle. The game's replies are in its own wording; the episode ends by itself
when the task is done, so the last turn is that cell, not a ``<solution>``."""

from __future__ import annotations

from trajkit.core.demonstration import Demonstration, DemoTurn, ToolReply
from trajkit.sources.alfworld.prompt import build_prompt

_OPENING = (
    "You are in the middle of a room. Looking quickly around you, you see a cabinet 1, a "
    "cabinet 2, a countertop 1, a drawer 1, a fridge 1, a sinkbasin 1, and a stoveburner 1.\n\n"
    "Your task is to: put a clean spatula in drawer."
)

DEMONSTRATION = Demonstration(
    task=build_prompt(_OPENING),
    turns=(
        DemoTurn.execute(
            "I need a spatula. I'll look on the countertop and in the first cabinet, and take "
            "it where I find it.",
            """
for place in ["countertop 1", "cabinet 1"]:
    seen = goto(place)
    print(place, "->", seen)
    if "spatula" in seen:
        print(take_from("spatula 1"))
        break
""",
            (
                'countertop 1 -> On the countertop 1, you see a bread 1, a spatula 1, and a '
                'tomato 1.\n'
                'RuntimeError                              Traceback (most recent call last)\n'
                'Cell In[1], line 5\n'
                '----> 5 print(take_from("spatula 1"))\n'
                'RuntimeError: take_from() failed: TypeError: take_from() missing 1 required '
                "positional argument: 'recep'\n"
            ),
        ),
        DemoTurn.execute(
            "take_from also needs the receptacle. The spatula is on countertop 1, where I am: "
            "I'll take it and clean it at the sink basin.",
            """
print(take_from("spatula 1", "countertop 1"))
print(goto("sinkbasin 1"))
print(clean("spatula 1", "sinkbasin 1"))
""",
            (
                'You pick up the spatula 1 from the countertop 1.\n'
                'On the sinkbasin 1, you see nothing.\n'
                'You clean the spatula 1 using the sinkbasin 1.\n'
            ),
        ),
        DemoTurn.execute(
            "The spatula is clean. Now I'll open the drawer and put it in.",
            """
print(goto("drawer 1"))
print(open_receptacle("drawer 1"))
print(put("spatula 1", "drawer 1"))
""",
            (
                'The drawer 1 is closed.\n'
                'You open the drawer 1. The drawer 1 is open. In it, you see nothing.\n'
                'You put the spatula 1 in/on the drawer 1.\n'
                'The task is complete.\n'
            ),
        ),
    ),
    tool_replies=(
        ToolReply("goto", "On the countertop 1, you see a bread 1, a spatula 1, and a tomato 1."),
        ToolReply("take_from", "You pick up the spatula 1 from the countertop 1."),
        ToolReply("goto", "On the sinkbasin 1, you see nothing."),
        ToolReply("clean", "You clean the spatula 1 using the sinkbasin 1."),
        ToolReply("goto", "The drawer 1 is closed."),
        ToolReply("open_receptacle", "You open the drawer 1. The drawer 1 is open. In it, you see nothing."),
        ToolReply(
            "put", "You put the spatula 1 in/on the drawer 1.\nThe task is complete.",
            ends_episode=True,
        ),
    ),
)
