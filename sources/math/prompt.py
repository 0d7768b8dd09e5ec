"""How a MATH problem is phrased for the teacher (the first user message).

The CodeAct protocol itself (``<execute>``/``<solution>``, observations) is explained by the
loop's system prompt; this text only adds what is specific to MATH: answer exactly, and put
just the final answer in the solution tag, because the judge parses that text as math.
"""

from __future__ import annotations

PROMPT_TEMPLATE = """\
Solve the following math problem. You may run Python (sympy and numpy are available) to \
compute or check your work.

Problem:
{problem}

When you are confident, reply with only the final answer inside <solution></solution>, \
e.g. <solution>\\frac{{7}}{{10}}</solution>. Give an exact, simplified answer (fractions, \
radicals, pi) unless the problem asks for a decimal; use interval notation or an ordered \
tuple when the problem asks for one."""


def build_prompt(problem: str) -> str:
    """Return the user message for ``problem``; stable text, since it is stored in each Task."""
    return PROMPT_TEMPLATE.format(problem=problem.strip())
