"""WikiTableQuestions' in-context demonstration (``--shots 1``): a table and question invented for
trajkit (not from Wikipedia or the release); the first cell converts ``1,204`` with ``int``.

``setup`` loads the demonstration's table as ``df`` exactly as an episode's setup loads a
task's table, so the demonstration replays in a real sandbox to the observations it shows.
"""

from __future__ import annotations

from trajkit.core.demonstration import Demonstration, DemoTurn
from trajkit.schemas import Task
from trajkit.sources.wikitq.prompt import build_prompt
from trajkit.sources.wikitq.setup import setup_code
from trajkit.sources.wikitq.tables import Table

_PATH = "csv/demo-csv/bridges.csv"
_TABLE = Table(
    header=["Bridge", "Opened", "Length (m)"],
    rows=[
        ["Harwick Bridge", "1889", "1,204"],
        ["Old Mill Crossing", "1762", "310"],
        ["Saint Aude Viaduct", "1931", "2,045"],
        ["Ferrow Footbridge", "2004", "185"],
    ],
)
_QUESTION = "Which bridge is the longest?"
_PROMPT = build_prompt(_QUESTION, _PATH, len(_TABLE.rows), len(_TABLE.header))

DEMONSTRATION = Demonstration(
    task=_PROMPT,
    turns=(
        DemoTurn.execute(
            "I'll go through the bridges and keep the one with the greatest length.",
            """
longest = None
for name, length in zip(df["Bridge"], df["Length (m)"]):
    if longest is None or int(length) > longest[1]:
        longest = (name, int(length))
print(longest)
""",
            (
                'ValueError                                Traceback (most recent call last)\n'
                'Cell In[2], line 4\n'
                '----> 4 longest = (name, int(length))\n'
                "ValueError: invalid literal for int() with base 10: '1,204'\n"
            ),
        ),
        DemoTurn.execute(
            "The lengths are text with thousands separators. I'll drop the commas before "
            "converting.",
            """
lengths = df["Length (m)"].str.replace(",", "").astype(int)
print(df.loc[lengths.idxmax(), "Bridge"], lengths.max())
""",
            'Saint Aude Viaduct 2045\n',
        ),
        DemoTurn.answer("The Saint Aude Viaduct is the longest, at 2,045 m.", "Saint Aude Viaduct"),
    ),
    setup=setup_code(
        Task(
            source="wikitq", task_id="demonstration", prompt=_PROMPT, reference=[],
            metadata={"table": _TABLE.to_json(), "table_path": _PATH},
        )
    ),
)
