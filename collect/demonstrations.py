"""Which demonstration an episode is shown (``--shots 1``): the source's own, else a generic one.

A source declares its own with ``demonstration()`` (see ``trajkit.sources.base``); every
built-in does, showing its task kind and its real tools. A source without one (a user's plugin
that declares none) gets :data:`GENERIC_DEMONSTRATION`, which shows only the protocol: plain
Python, a cell that raises, the cell that fixes it, the answer.
"""

from __future__ import annotations

from trajkit.collect.teachers.shape import kind_of
from trajkit.core.demonstration import Demonstration, DemoTurn

GENERIC_DEMONSTRATION = Demonstration(
    task=(
        "What is the sum of the decimal digits of 2 to the power 100?\n\n"
        "Give only the final answer inside <solution></solution>, e.g. <solution>42</solution>."
    ),
    turns=(
        DemoTurn(
            "I'll compute 2**100 and add up its digits.\n"
            "<execute>\nn = 2 ** 100\nprint(sum(n))\n</execute>",
            "TypeError                                 Traceback (most recent call last)\n"
            "Cell In[1], line 2\n"
            "----> 2 print(sum(n))\n"
            "TypeError: 'int' object is not iterable\n",
        ),
        DemoTurn(
            "An int is not iterable: I'll go through the digits of its decimal string instead.\n"
            "<execute>\nprint(n, sum(int(d) for d in str(n)))\n</execute>",
            "1267650600228229401496703205376 115\n",
        ),
        DemoTurn("The digits of 2**100 add up to 115.\n<solution>115</solution>"),
    ),
)


def demonstration_for(source: object) -> Demonstration:
    """The demonstration an episode of ``source`` is shown: its own, else the generic one.

    A source declares its own as a ``demonstration()`` method (or a ``demonstration``
    attribute); returning ``None`` means "none of my own". Anything else is the source's bug,
    raised as ``TypeError`` naming what came back.
    """
    own = getattr(source, "demonstration", None)
    demo = own() if callable(own) else own
    if demo is None:
        return GENERIC_DEMONSTRATION
    if not isinstance(demo, Demonstration):
        raise TypeError(f"the source's demonstration is {kind_of(demo)}, not a Demonstration")
    return demo
