"""How an APPS problem is phrased for the teacher, and how its ``<solution>`` becomes a program.

The CodeAct protocol itself is explained by the loop's system prompt; this text adds what is
specific to APPS: the I/O mode (as the benchmark states it: a stdin/stdout program, or a
function called with the test inputs), the starter code, that the sandbox may be used to
test, and that the solution must be the complete program and nothing else, because the
judge runs exactly that text.
"""

from __future__ import annotations

import json
import re
import textwrap
from collections.abc import Sequence
from typing import Any

STDIN_MODE = "stdin"
CALL_MODE = "call"

_INTRO = "Solve the following programming problem in Python 3."

_STDIN_TEXT = """\
Write a program that reads from standard input and writes to standard output. It is run \
once per test case with the test's input on stdin, and what it prints is compared with the \
expected output."""

_CALL_TEXT = """\
Complete the provided starter code; your function will be called with the test inputs: \
for each test case the judge calls {call} with the test's arguments and compares the \
return value with the expected one."""

_TESTING = """\
You may test your code in the Python sandbox before answering, for example by calling your \
functions directly{stdin_hint}. The judge runs your program on hidden test cases, each \
limited to {timeout:g} seconds.

When you are confident, reply with the complete final program inside <solution></solution>: \
code only, no explanation (a Markdown code fence is allowed and is removed). It must be \
self-contained, with all its imports, because exactly that text is run."""

_STDIN_HINT = (
    ", or by running the program with "
    "subprocess.run([sys.executable, \"-c\", program], input=test_input, "
    "capture_output=True, text=True)"
)


def call_expression(fn_name: str, class_name: str | None) -> str:
    """How the judge calls the entry point, as shown to the teacher."""
    return f"{class_name}().{fn_name}(...)" if class_name else f"{fn_name}(...)"


def _format_example(mode: str, test_input: Any, expected: Any) -> str:
    if mode == STDIN_MODE:
        return f"Input:\n{str(test_input).rstrip()}\nExpected output:\n{str(expected).rstrip()}"
    return f"Arguments: {json.dumps(test_input)}\nExpected return value: {json.dumps(expected)}"


def build_prompt(
    question: str,
    starter_code: str,
    mode: str,
    fn_name: str | None,
    class_name: str | None,
    test_timeout: float,
    examples: Sequence[tuple[Any, Any]] = (),
) -> str:
    """The first user message; stable text, since it is stored in each Task."""
    parts = [_INTRO, f"Problem:\n{question.strip()}"]
    if mode == STDIN_MODE:
        parts.append(_STDIN_TEXT)
    else:
        parts.append(_CALL_TEXT.format(call=call_expression(fn_name or "", class_name)))
    if starter_code.strip():
        parts.append(f"Starter code:\n```python\n{starter_code.rstrip()}\n```")
    if examples:
        shown = "\n\n".join(_format_example(mode, i, o) for i, o in examples)
        parts.append(f"Example test cases (the hidden tests include these):\n{shown}")
    hint = _STDIN_HINT if mode == STDIN_MODE else ""
    parts.append(_TESTING.format(stdin_hint=hint, timeout=test_timeout))
    return "\n\n".join(parts)


_FENCE = re.compile(r"```[ \t]*([A-Za-z0-9_+.-]*)[^\n]*\n(.*?)(?:\n[ \t]*```|\Z)", re.S)


def extract_program(answer: str) -> str:
    """The program inside a ``<solution>``: the Python code fence if there is one (the first
    ``python``/``py`` block, else the first block), otherwise the whole text, dedented."""
    blocks = _FENCE.findall(answer)
    if blocks:
        python = [code for lang, code in blocks if lang.lower() in ("python", "python3", "py")]
        code = (python or [blocks[0][1]])[0]
    else:
        code = answer
    return textwrap.dedent(code).strip("\n") + "\n"
