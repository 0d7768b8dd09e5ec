"""HotpotQA's in-context demonstration (``--shots 1``): a two-hop question written for trajkit
(not from HotpotQA), answered with ``wikipedia_search``; the first cell assumes a phrase the
summary does not hold. The search results are in the tool's own layout ("Page:"/"Summary:"
blocks), their sentences written for trajkit."""

from __future__ import annotations

from trajkit.core.demonstration import Demonstration, DemoTurn, ToolReply
from trajkit.sources.hotpotqa.prompt import build_prompt
from trajkit.sources.hotpotqa.search import TOOL_NAME

_BELL = (
    "Page: Alexander Graham Bell\n"
    "Summary: Alexander Graham Bell (1847-1922) was a Scottish-born inventor and teacher of the "
    "deaf, credited with patenting the first practical telephone. Bell was born on 3 March 1847 "
    "in Edinburgh, Scotland, and later lived in Canada and the United States.\n\n"
    "Page: Bell Telephone Company\n"
    "Summary: The Bell Telephone Company was founded in Boston in 1877 to exploit Bell's "
    "telephone patents."
)
_EDINBURGH = (
    "Page: Edinburgh\n"
    "Summary: Edinburgh is the capital city of Scotland, on the southern shore of the Firth of "
    "Forth. Its main river, the Water of Leith, flows through the city to the port of Leith.\n\n"
    "Page: Water of Leith\n"
    "Summary: The Water of Leith is the chief river of Edinburgh, rising in the Pentland Hills "
    "and reaching the Firth of Forth at Leith."
)

DEMONSTRATION = Demonstration(
    task=build_prompt(
        "Which river flows through the city where the inventor Alexander Graham Bell was born?"
    ),
    turns=(
        DemoTurn.execute(
            "First I need Bell's birthplace. I'll search for him and take the words after "
            "'born in'.",
            f"""
result = {TOOL_NAME}("Alexander Graham Bell")
birthplace = result.split("born in ")[1].split(",")[0]
print(birthplace)
""",
            (
                'IndexError                                Traceback (most recent call last)\n'
                'Cell In[1], line 2\n'
                '----> 2 birthplace = result.split("born in ")[1].split(",")[0]\n'
                'IndexError: list index out of range\n'
            ),
        ),
        DemoTurn.execute(
            "The summary does not say 'born in' literally. I'll read it whole.",
            "print(result)",
            (
                'Page: Alexander Graham Bell\n'
                'Summary: Alexander Graham Bell (1847-1922) was a Scottish-born inventor and '
                'teacher of the deaf, credited with patenting the first practical telephone. '
                'Bell was born on 3 March 1847 in Edinburgh, Scotland, and later lived in Canada '
                'and the United States.\n'
                '\n'
                'Page: Bell Telephone Company\n'
                'Summary: The Bell Telephone Company was founded in Boston in 1877 to exploit '
                "Bell's telephone patents.\n"
            ),
        ),
        DemoTurn.execute(
            "Bell was born in Edinburgh. Now the river that flows through Edinburgh.",
            f'print({TOOL_NAME}("Edinburgh"))',
            (
                'Page: Edinburgh\n'
                'Summary: Edinburgh is the capital city of Scotland, on the southern shore of '
                'the Firth of Forth. Its main river, the Water of Leith, flows through the city '
                'to the port of Leith.\n'
                '\n'
                'Page: Water of Leith\n'
                'Summary: The Water of Leith is the chief river of Edinburgh, rising in the '
                'Pentland Hills and reaching the Firth of Forth at Leith.\n'
            ),
        ),
        DemoTurn.answer("The Water of Leith flows through Edinburgh.", "Water of Leith"),
    ),
    tool_replies=(ToolReply(TOOL_NAME, _BELL), ToolReply(TOOL_NAME, _EDINBURGH)),
)
