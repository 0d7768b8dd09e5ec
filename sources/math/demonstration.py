"""MATH's in-context demonstration (``--shots 1``): a problem written for trajkit, not taken from
MATH, solved with sympy; the first cell trips over ``sp.solve`` returning a list."""

from __future__ import annotations

from trajkit.core.demonstration import Demonstration, DemoTurn
from trajkit.sources.math.prompt import build_prompt

DEMONSTRATION = Demonstration(
    task=build_prompt(
        "The length of a rectangle is 3 more than twice its width, and its area is 65 square "
        "units. What is the perimeter of the rectangle?"
    ),
    turns=(
        DemoTurn.execute(
            "With width w the length is 2w + 3, so w(2w + 3) = 65. I'll solve it with sympy and "
            "add up the sides.",
            """
import sympy as sp

w = sp.symbols("w", positive=True)
width = sp.solve(w * (2 * w + 3) - 65, w)
length = 2 * width + 3
print(width, length, 2 * (width + length))
""",
            (
                'TypeError                                 Traceback (most recent call last)\n'
                'Cell In[1], line 5\n'
                '----> 5 length = 2 * width + 3\n'
                'TypeError: can only concatenate list (not "int") to list\n'
            ),
        ),
        DemoTurn.execute(
            "sp.solve returns a list of solutions; the positive width is its only element.",
            """
width = sp.solve(w * (2 * w + 3) - 65, w)[0]
length = 2 * width + 3
print(width, length, 2 * (width + length))
""",
            '5 13 36\n',
        ),
        DemoTurn.answer("The rectangle is 5 by 13, so its perimeter is 2(5 + 13) = 36.", "36"),
    ),
)
