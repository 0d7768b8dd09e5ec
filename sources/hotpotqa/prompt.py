"""How a HotpotQA question is phrased for the teacher (the first user message).

The loop's system prompt explains ``<execute>``/``<solution>`` and lists the tool; this text
adds what HotpotQA needs: look facts up with ``wikipedia_search`` instead of recalling them,
and answer with a short span, because the metric compares words with the gold answer and a
full sentence loses precision (and exact match) for every extra word.
"""

from __future__ import annotations

PROMPT_TEMPLATE = """\
Answer the question below. It usually needs facts from two different Wikipedia articles, so \
look them up instead of answering from memory.

The Python interpreter already defines `wikipedia_search(query: str) -> str`. It returns the \
titles and opening sentences of the Wikipedia pages that best match `query`; print the result \
to read it, e.g. `print(wikipedia_search("Marie Curie"))`. You may search as often as you \
need.

Question: {question}

Give the final answer inside <solution></solution> as a short span, not a sentence: only the \
name, date, number or phrase that answers the question, or yes/no for a yes-or-no question, \
e.g. <solution>Lisbon</solution>."""


def build_prompt(question: str) -> str:
    """Return the user message for ``question``; stable text, since it is stored in each Task."""
    return PROMPT_TEMPLATE.format(question=question.strip())
