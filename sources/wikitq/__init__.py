"""The WikiTableQuestions source (Pasupat & Liang, 2015): questions about Wikipedia tables.

Load the original release (``--data ROOT --split training``, or one ``data/*.tsv``), the Hub
copy (``--hf Stanford/wikitablequestions``) or the bundled sample; each episode's sandbox
gets the question's table as a pandas DataFrame ``df`` (written to the path its prompt names,
via ``episode_setup``); ``<solution>`` is judged by the official evaluator's denotation match
(``judge.py``).

``--source-opt`` keys: ``max_table_kb`` (see ``WikiTQOptions``).
"""

from __future__ import annotations

from trajkit.core.demonstration import Demonstration
from trajkit.schemas import Task, Verdict
from trajkit.sources.base import BaseSource, LoadOptions
from trajkit.sources.wikitq.demonstration import DEMONSTRATION
from trajkit.sources.wikitq.judge import judge_denotation, normalize, split_answer, to_value
from trajkit.sources.wikitq.load import DEMO_REPLAY, SAMPLE_ROOT, load_tasks
from trajkit.sources.wikitq.options import WikiTQOptions
from trajkit.sources.wikitq.prompt import DATAFRAME, build_prompt
from trajkit.sources.wikitq.report import WikiTQReport
from trajkit.sources.wikitq.setup import setup_code

__all__ = [
    "DATAFRAME",
    "DEMO_REPLAY",
    "SAMPLE_ROOT",
    "WikiTQOptions",
    "WikiTQSource",
    "build_prompt",
    "judge_denotation",
    "normalize",
    "split_answer",
    "to_value",
]


class WikiTQSource(WikiTQReport, BaseSource):
    """WikiTableQuestions as a trajkit ``Source``: a table in the sandbox, a denotation judge."""

    name = "wikitq"
    options_model = WikiTQOptions
    demo_replay = DEMO_REPLAY
    typical_episode = (3.0, 150.0, 400.0)  # turns, output and observation tokens per turn

    def demonstration(self) -> Demonstration:
        """The in-context example episode (``--shots 1``): ``demonstration.py``."""
        return DEMONSTRATION

    def __init__(self, options: WikiTQOptions | None = None) -> None:
        super().__init__(options)
        self.options: WikiTQOptions

    def load(self, options: LoadOptions) -> list[Task]:
        """Tasks from ``options.data`` (a release root with ``--split``, default ``training``,
        or one ``data/*.tsv``), ``options.hf`` (split default ``train``) or the bundled sample;
        seeded ``limit`` sampling. Bad rows and missing tables are one-line ``DataError``s."""
        return load_tasks(options, self.options.max_table_chars)

    def episode_setup(self, task: Task) -> str:
        """Code that writes the task's table to its path in the sandbox and loads it as ``df``."""
        return setup_code(task)

    async def judge(self, task: Task, answer: str) -> Verdict:
        """The official denotation match against ``task.reference`` (see ``judge.py``)."""
        targets = task.reference if isinstance(task.reference, list) else [str(task.reference)]
        canon = task.metadata.get("target_canon")
        canons = [str(c) for c in canon] if isinstance(canon, list) else None
        return judge_denotation([str(t) for t in targets], canons, answer)
