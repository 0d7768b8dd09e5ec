"""The HotpotQA source (Yang et al., 2018): multi-hop questions answered with a Wikipedia tool.

Load the original JSON/JSONL release, the Hub's ``hotpot_qa`` rows, or the bundled sample;
give the teacher's code ``wikipedia_search(query)``, answered on the host by BM25 over the
question's own paragraphs (``search=context``, default), over a Wikipedia abstracts file
(``search=corpus``), or by the live MediaWiki API (``search=live``); judge ``<solution>`` with
the official EM/F1.

``--source-opt`` keys: ``search``, ``corpus``, ``cache``, ``api``, ``rate``, ``user_agent``,
``timeout``, ``top_k``, ``summary_chars``, ``success`` (see ``HotpotQAOptions``).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from trajkit.core.demonstration import Demonstration
from trajkit.core.tools import Tool
from trajkit.schemas import Task, Verdict
from trajkit.sources.base import LoadOptions, SourceRuntime
from trajkit.sources.hotpotqa.demonstration import DEMONSTRATION
from trajkit.sources.hotpotqa.judge import exact_match, f1_score, judge_answer, normalize_answer
from trajkit.sources.hotpotqa.load import DEMO_REPLAY, SAMPLE_PATH, LoadReport, load_tasks
from trajkit.sources.hotpotqa.options import HotpotQAOptions, SuccessRule
from trajkit.sources.hotpotqa.prompt import build_prompt
from trajkit.sources.hotpotqa.report import HotpotQAReport
from trajkit.sources.hotpotqa.search import TOOL_NAME, SearchService

__all__ = [
    "DEMO_REPLAY",
    "SAMPLE_PATH",
    "TOOL_NAME",
    "HotpotQAOptions",
    "HotpotQASource",
    "LoadReport",
    "SuccessRule",
    "build_prompt",
    "exact_match",
    "f1_score",
    "judge_answer",
    "normalize_answer",
]


class HotpotQASource(HotpotQAReport):
    """HotpotQA as a trajkit ``Source``, with one ``wikipedia_search`` tool per task."""

    name = "hotpotqa"
    options_model = HotpotQAOptions
    demo_replay = DEMO_REPLAY
    typical_episode = (3.5, 180.0, 300.0)  # turns, output and observation tokens per turn

    def demonstration(self) -> Demonstration:
        """The in-context example episode (``--shots 1``): ``demonstration.py``."""
        return DEMONSTRATION

    def __init__(self, options: HotpotQAOptions | None = None) -> None:
        self.options = options or HotpotQAOptions()
        self.search = SearchService(self.options)
        self.last_report: LoadReport | None = None

    @classmethod
    def from_options(cls, raw: Mapping[str, str]) -> HotpotQASource:
        """Build from ``--source-opt KEY=VALUE`` pairs; bad ones are one-line ConfigErrors."""
        return cls(HotpotQAOptions.parse(raw))

    def load(self, options: LoadOptions) -> list[Task]:
        """Tasks from ``options.data`` (original ``.json`` list or ``.jsonl``), ``options.hf``
        (``datasets.load_dataset(hf, hf_config or "distractor", split=split or "train")``,
        or a local data folder / ``save_to_disk`` directory) or, with neither, the bundled
        sample; then ``levels`` (easy/medium/hard), ``types`` (comparison/bridge) and seeded
        ``limit`` sampling. Items without an answer are skipped, counted in ``last_report``.
        """
        tasks, self.last_report = load_tasks(options)
        return tasks

    def attach(self, runtime: SourceRuntime) -> None:
        """Open the corpus index or live client once, before the first episode (the runtime
        itself is not needed: searching runs no teacher code)."""
        self.search.prepare()

    def tools(self, task: Task) -> Sequence[Tool]:
        """``wikipedia_search(query: str) -> str`` for this task."""
        return [self.search.tool(task)]

    async def judge(self, task: Task, answer: str) -> Verdict:
        """Official EM/F1 against ``task.reference``; success per the ``success`` option."""
        return judge_answer(str(task.reference), answer, self.options.success)

    async def aclose(self) -> None:
        """Close the live search client and its cache (called by the runner after the run)."""
        await self.search.aclose()
