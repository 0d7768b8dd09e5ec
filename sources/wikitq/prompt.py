"""How a WikiTableQuestions question is phrased for the teacher (the first user message).

The table is not pasted into the prompt: the loop's episode setup has loaded it in the sandbox
as ``df`` (and written it to the path named here), so the teacher reads it with code, as
CodeAct's table tasks do. The answer format is spelled out because the metric compares sets
of values: several values go ``|``-separated (or as a Python list), a bare value otherwise.
"""

from __future__ import annotations

#: The DataFrame's name in the sandbox, fixed so prompts and demo recordings agree.
DATAFRAME = "df"

PROMPT_TEMPLATE = """\
Answer the question below about a table from Wikipedia.

The Python interpreter has already loaded the table as a pandas DataFrame named `{df}` \
({rows} rows, {cols} columns), read with `pd.read_csv("{path}")`; `pd` is pandas. Look at \
the table (e.g. `print({df}.head())`, `{df}.columns`) before relying on column names or \
cell formats.

Question: {question}

Give the final answer inside <solution></solution>: only the value, e.g. \
<solution>1969</solution>. If the answer is several values, separate them with `|`, e.g. \
<solution>Chile|Ecuador</solution>, or give a Python list of them (needed when a value itself \
holds `|`), e.g. <solution>["Chile", "Ecuador"]</solution>."""


def build_prompt(question: str, path: str, rows: int, cols: int) -> str:
    """The user message for ``question`` about the table at ``path``; stable text."""
    return PROMPT_TEMPLATE.format(
        df=DATAFRAME, rows=rows, cols=cols, path=path, question=" ".join(question.split())
    )
