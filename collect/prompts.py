"""The words of the CodeAct protocol: system prompt, tool listing, budget line, corrections.

They live in one place because they are part of the dataset: a trained model learns exactly
these phrasings, so changing them changes what the data teaches. The budget line keeps the
MINT wording so data stays comparable with CodeActInstruct.
"""

from __future__ import annotations

from collections.abc import Sequence

from trajkit.core.demonstration import Demonstration, enclose
from trajkit.core.tools import Tool

OBSERVATION_PREFIX = "Observation:"

#: Recorded as the observation of an accepted solution; never sent (the episode ends there).
CORRECT_ANSWER_TEXT = "Your answer is correct."

_SYSTEM = """\
You are a helpful assistant who solves tasks step by step with a Python interpreter.

In every turn, first think briefly about what to do next, then end the turn with exactly one \
of these two actions:

1. Run Python code by writing it between <execute> and </execute>. The code runs in a \
persistent interpreter, so variables, functions and imports stay defined from one turn to \
the next. Whatever the code prints, and the value of its last line when that line is a bare \
expression, comes back to you in the next message, which starts with "Observation:".
2. Give your final answer by writing it between <solution> and </solution>.

Use only one of the two tags per turn and stop writing right after its closing tag.

{budget}

{tools}"""

_BUDGET = (
    "Your budget: {max_turns} turns in total, and at most {max_solutions} proposed "
    "{solutions_word}. Each message from the environment tells you how much of both is left."
)

#: What the formats that answer by ``submit`` say about a task written for CodeAct: the built-in
#: sources' task texts (and many users') ask for the answer "inside <solution></solution>".
SOLUTION_AS_SUBMIT = (
    "Where the task asks for the answer inside <solution></solution>, give that answer to "
    "submit instead: the same text, without the tags."
)

_NO_TOOLS = "No extra tools are provided for this task: use plain Python."

_TOOLS_HEADER = "These functions are already defined in the interpreter; call them from your code:"

_CORRECTIVE = """\
I could not find an action in your last message ({reason}). End every turn with exactly one \
of these:

To run Python code:
<execute>
x = 6 * 7
print(x)
</execute>

To give your final answer:
<solution> 42 </solution>"""

_LAST_TURN = (
    "This is your last turn: give your final answer now, between <solution> and </solution>."
)


def format_tools(tools: Sequence[Tool]) -> str:
    """The tool section of the system prompt: signature and indented doc of each tool."""
    if not tools:
        return _NO_TOOLS
    lines = [_TOOLS_HEADER]
    for tool in tools:
        lines.append(f"- {tool.signature or tool.name + '(...)'}")
        for doc_line in tool.doc.strip().splitlines():
            lines.append(f"    {doc_line}".rstrip())
    return "\n".join(lines)


def system_prompt(
    tools: Sequence[Tool],
    max_turns: int,
    max_solutions: int,
    demonstration: Demonstration | None = None,
) -> str:
    """The first message of every episode: the protocol, the budget and the tools, then the
    in-context demonstration if there is one (``--shots 1``)."""
    prompt = _SYSTEM.format(
        budget=budget_text(max_turns, max_solutions), tools=format_tools(tools)
    )
    if demonstration is None:
        return prompt
    return prompt + demonstration_section(demonstration, max_turns, max_solutions)


def budget_text(max_turns: int, max_solutions: int) -> str:
    """The system prompt's budget sentence, shared by the formats whose turns are answered by
    one user message (code, json, text): the whole budget up front, counted down after."""
    return _BUDGET.format(
        max_turns=max_turns,
        max_solutions=max_solutions,
        solutions_word="solution" if max_solutions == 1 else "solutions",
    )


def demonstration_section(demo: Demonstration, max_turns: int, max_solutions: int) -> str:
    """The demonstration as the system prompt's last section, a transcript in MINT's layout
    (``Task:``, then ``Assistant:`` turns, each followed by the user message the loop would
    have sent: ``Observation:``, the text, the budget line) between the marker lines of
    ``trajkit.core.demonstration``.

    The budget counts down from the run's own, so the example reads exactly as the teacher's
    episode will; a run with fewer turns than the example has counts from the example's
    length instead, so the example never shows a budget below zero. The last turn's
    observation, when an environment ended the episode there, is shown without a budget:
    nothing followed it.
    """
    turns_left = max(max_turns, len(demo.turns))
    parts = [f"Task:\n{demo.task.strip()}"]
    last = len(demo.turns) - 1
    for k, turn in enumerate(demo.turns):
        parts.append(f"Assistant:\n{turn.assistant.strip()}")
        turns_left -= 1
        if turn.observation is None:
            continue
        if k == last:
            parts.append(f"{OBSERVATION_PREFIX}\n{turn.observation.rstrip()}")
        else:
            parts.append(feedback_message(turn.observation, turns_left, max_solutions))
    return enclose("\n\n".join(parts))


def budget_line(turns_left: int, solutions_left: int) -> str:
    """What is left of the budget; on the final turn, also urge an answer now.

    The teacher cannot plan its remaining turns unless it is told them every time.
    """
    line = (
        f"You have {turns_left} steps left and {solutions_left} chances to propose solution left."
    )
    if turns_left == 1:
        line += "\n" + _LAST_TURN
    return line


def feedback_message(text: str, turns_left: int, solutions_left: int) -> str:
    """The user message after a turn: ``Observation:``, the text, then the budget line.

    Trailing whitespace of the text is dropped so a final newline from ``print`` does not
    leave a blank line before the budget.
    """
    return f"{OBSERVATION_PREFIX}\n{text.rstrip()}\n{budget_line(turns_left, solutions_left)}"


def corrective_text(reason: str) -> str:
    """What a turn without a usable action gets back: the two tags, each with an example."""
    return _CORRECTIVE.format(reason=reason)
