"""How a WebShop goal is phrased for the teacher (the first user message).

The loop's system prompt explains ``<execute>``/``<solution>`` and lists ``search``/``click``;
this text adds what WebShop needs: the instruction, that pages come back as text with
``[SEP]`` between their parts, and that the episode ends (and is scored) only by buying, since
a ``<solution>`` buys nothing. The instruction ends with the goal's price limit, as in WebShop.
"""

from __future__ import annotations

PROMPT_TEMPLATE = """\
You are shopping on WebShop, a simulated online store, for a customer who gave this \
instruction:

Instruction: {instruction}

The Python interpreter already defines two functions that act on the store and return the \
new page as text, with [SEP] between the parts of the page:
- `search(query: str) -> str` searches the store (from any page) and returns page 1 of the \
results: product IDs, titles and prices.
- `click(target: str) -> str` clicks something shown on the current page: a product ID, an \
option value such as a size or colour, 'Description', 'Features', 'Reviews', \
'Back to Search', '< Prev', 'Next >' or 'Buy Now'.

Print what they return to read the page, e.g. `print(search("red running shoes"))`. Open \
products to check them, choose every option the instruction asks for, then click \
'Buy Now': buying ends the task and the purchase is scored on how well the product, its \
options and its price match the instruction. There is nothing to answer in <solution>."""


def build_prompt(instruction: str) -> str:
    """Return the user message for ``instruction``; stable text, stored in each Task."""
    return PROMPT_TEMPLATE.format(instruction=instruction.strip())
