"""The ``tasks`` source's in-context demonstration (``--shots 1``): a short question written for
trajkit in the default prompt's words; the first cell subscripts what ``list.sort()`` returns."""

from __future__ import annotations

from trajkit.core.demonstration import Demonstration, DemoTurn
from trajkit.sources.tasks.prompt import default_prompt

DEMONSTRATION = Demonstration(
    task=default_prompt(
        "Which word of the sentence \"the quick brown fox jumps over the lazy dog\" comes last "
        "in alphabetical order?"
    ),
    turns=(
        DemoTurn.execute(
            "I'll sort the words and take the last one.",
            """
sentence = "the quick brown fox jumps over the lazy dog"
words = sentence.split().sort()
print(words[-1])
""",
            (
                'TypeError                                 Traceback (most recent call last)\n'
                'Cell In[1], line 3\n'
                '----> 3 print(words[-1])\n'
                "TypeError: 'NoneType' object is not subscriptable\n"
            ),
        ),
        DemoTurn.execute(
            "list.sort() sorts in place and returns None; sorted() returns the sorted list.",
            """
words = sorted(sentence.split())
print(words[-1], words)
""",
            "the ['brown', 'dog', 'fox', 'jumps', 'lazy', 'over', 'quick', 'the', 'the']\n",
        ),
        DemoTurn.answer("\"the\" comes last among the words.", "the"),
    ),
)
