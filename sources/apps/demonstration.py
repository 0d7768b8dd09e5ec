"""APPS's in-context demonstration (``--shots 1``): a standard-input problem written for trajkit,
not taken from APPS; the first cell reads past the end of the list, the second fixes the loop."""

from __future__ import annotations

from trajkit.core.demonstration import Demonstration, DemoTurn
from trajkit.sources.apps.prompt import STDIN_MODE, build_prompt

_QUESTION = """\
You are given a sequence of n integers. Find the length of the longest contiguous segment in \
which every element is strictly greater than the one before it.

Input
The first line contains n (1 <= n <= 10^5). The second line contains the n integers, each \
between -10^9 and 10^9.

Output
Print one integer: the length of the longest strictly increasing contiguous segment."""

_SOLVE = r'''
def solve(data):
    tokens = data.split()
    n, a = int(tokens[0]), list(map(int, tokens[1:]))
    best = run = 1
    for i in range(1, n):
        run = run + 1 if a[i] > a[i - 1] else 1
        best = max(best, run)
    return best
'''

_TRY = r'''
print(solve("5\n1 2 2 3 4\n"), solve("3\n5 4 3\n"))
'''

DEMONSTRATION = Demonstration(
    task=build_prompt(
        _QUESTION, "", STDIN_MODE, None, None, 4.0,
        examples=[("5\n1 2 2 3 4\n", "3\n"), ("3\n5 4 3\n", "1\n")],
    ),
    turns=(
        DemoTurn.execute(
            "I'll write the logic as a function of the input text and try it on both examples "
            "before writing the stdin program.",
            r'''
def solve(data):
    tokens = data.split()
    n, a = int(tokens[0]), list(map(int, tokens[1:]))
    best = run = 1
    for i in range(n):
        run = run + 1 if a[i + 1] > a[i] else 1
        best = max(best, run)
    return best
''' + _TRY,
            (
                'IndexError                                Traceback (most recent call last)\n'
                'Cell In[1], line 10\n'
                '----> 10 print(solve("5\\n1 2 2 3 4\\n"), solve("3\\n5 4 3\\n"))\n'
                'Cell In[1], line 6\n'
                '----> 6 run = run + 1 if a[i + 1] > a[i] else 1\n'
                'IndexError: list index out of range\n'
            ),
        ),
        DemoTurn.execute(
            "a[i + 1] runs past the end on the last element. I'll compare each element with the "
            "one before it instead.",
            _SOLVE + _TRY,
            '3 1\n',
        ),
        DemoTurn.answer(
            "Both examples give the expected output. The program reads all of standard input.",
            "\nimport sys\n" + _SOLVE + "\nprint(solve(sys.stdin.read()))\n",
        ),
    ),
)
