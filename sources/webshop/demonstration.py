"""WebShop's in-context demonstration (``--shots 1``): a goal and products invented for trajkit
(not from WebShop's data), bought with ``search`` and ``click``; the first cell reads a price
range as one number. Pages are in WebShop's text layout (``pages.py``); buying ends the
episode, so the last turn is that cell, not a ``<solution>``."""

from __future__ import annotations

from trajkit.core.demonstration import Demonstration, DemoTurn, ToolReply
from trajkit.sources.webshop.pages import SEP
from trajkit.sources.webshop.prompt import build_prompt

_INSTRUCTION = (
    "i need an insulated stainless steel water bottle in 750 ml, and price lower than 30.00 "
    "dollars"
)
_HEADER = ["Instruction:", _INSTRUCTION]
_BOTTLE = "Summit Peak Insulated Stainless Steel Water Bottle, Keeps Drinks Cold 24 Hours"
_RESULTS = SEP.join([
    *_HEADER, "Back to Search", "Page 1 (Total results: 3)", "Next >",
    "B0DEMO0001", _BOTTLE, "$18.99 to $24.99",
    "B0DEMO0002", "Trailhead Glass Water Bottle with Silicone Sleeve", "$12.50",
    "B0DEMO0003", "Arctic Vault Vacuum Flask, Double Wall Stainless Steel", "$34.00",
])
_ITEM = SEP.join([
    *_HEADER, "Back to Search", "< Prev", "size", "500 ml", "750 ml", "1 l", _BOTTLE,
    "Price: $18.99 to $24.99", "Rating: 4.5", "Description", "Features", "Reviews", "Buy Now",
])
_DONE = SEP.join(["Thank you for shopping with us!", "Your score (min 0.0, max 1.0)", "1.0"])

DEMONSTRATION = Demonstration(
    task=build_prompt(_INSTRUCTION),
    turns=(
        DemoTurn.execute(
            "I'll search, then list the results priced under $30.",
            """
page = search("insulated stainless steel water bottle 750 ml")
parts = page.split(" [SEP] ")
for i, part in enumerate(parts):
    if part.startswith("$") and float(part[1:]) < 30:
        print(parts[i - 2], "|", parts[i - 1], "|", part)
""",
            (
                'ValueError                                Traceback (most recent call last)\n'
                'Cell In[1], line 4\n'
                '----> 4 if part.startswith("$") and float(part[1:]) < 30:\n'
                "ValueError: could not convert string to float: '18.99 to $24.99'\n"
            ),
        ),
        DemoTurn.execute(
            "A price can be a range ('$18.99 to $24.99'); I'll compare its lowest price.",
            """
for i, part in enumerate(parts):
    if part.startswith("$") and float(part[1:].split(" to ")[0]) < 30:
        print(parts[i - 2], "|", parts[i - 1], "|", part)
""",
            (
                'B0DEMO0001 | Summit Peak Insulated Stainless Steel Water Bottle, Keeps Drinks '
                'Cold 24 Hours | $18.99 to $24.99\n'
                'B0DEMO0002 | Trailhead Glass Water Bottle with Silicone Sleeve | $12.50\n'
            ),
        ),
        DemoTurn.execute(
            "B0DEMO0001 is the insulated stainless steel bottle under $30. I'll open it, choose "
            "750 ml and buy it.",
            """
print(click("B0DEMO0001"))
click("750 ml")
print(click("Buy Now"))
""",
            (
                'Instruction: [SEP] i need an insulated stainless steel water bottle in 750 ml, '
                'and price lower than 30.00 dollars [SEP] Back to Search [SEP] < Prev [SEP] size '
                '[SEP] 500 ml [SEP] 750 ml [SEP] 1 l [SEP] Summit Peak Insulated Stainless Steel '
                'Water Bottle, Keeps Drinks Cold 24 Hours [SEP] Price: $18.99 to $24.99 [SEP] '
                'Rating: 4.5 [SEP] Description [SEP] Features [SEP] Reviews [SEP] Buy Now\n'
                'Thank you for shopping with us! [SEP] Your score (min 0.0, max 1.0) [SEP] 1.0\n'
            ),
        ),
    ),
    tool_replies=(
        ToolReply("search", _RESULTS),
        ToolReply("click", _ITEM),
        ToolReply("click", _ITEM),
        ToolReply("click", _DONE, ends_episode=True),
    ),
)
