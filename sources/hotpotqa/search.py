"""``wikipedia_search`` as a host-side tool, backed by the engine the options chose.

The tool looks the same to the teacher whatever answers it (same signature, doc and result
layout), so data from the offline ``context`` backend and from live Wikipedia mix freely.
Corpus indexes and the live client are made once per source, i.e. once per run, and shared
by every episode; a context index is made per task from the task's own paragraphs.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from typing import Any

from trajkit.core.errors import DataError
from trajkit.core.tools import Tool
from trajkit.schemas import Task
from trajkit.sources.hotpotqa.bm25 import ParagraphIndex
from trajkit.sources.hotpotqa.options import HotpotQAOptions
from trajkit.sources.hotpotqa.text import Hit, clean_query, format_hits

TOOL_NAME = "wikipedia_search"
TOOL_SIGNATURE = "wikipedia_search(query: str) -> str"
TOOL_DOC = """\
Search Wikipedia and return the best-matching pages (at most {k}), each as its title and the
opening sentences of the article. Search for one thing at a time, usually the name of a
person, place, work or event; if nothing matches, the result says so."""


def context_pages(task: Task) -> list[tuple[str, Sequence[str]]]:
    """The ``(title, sentences)`` paragraphs stored with a task (see ``records.py``)."""
    context = task.metadata.get("context")
    if not isinstance(context, list):
        raise DataError(f"task {task.task_id}: no context paragraphs to search (search=context)")
    return [(str(title), [str(s) for s in sentences]) for title, sentences in context]


class SearchService:
    """Owns the run-wide search engine and hands out one ``wikipedia_search`` per task."""

    def __init__(self, options: HotpotQAOptions) -> None:
        self.options = options
        self._corpus: Any = None
        self._live: Any = None

    def prepare(self) -> None:
        """Open (or build) the corpus index, or set up the live client, before episodes start:
        indexing inside a tool call would blow the sandbox's per-cell time limit."""
        opts = self.options
        if opts.search == "corpus" and self._corpus is None:
            from trajkit.sources.hotpotqa.corpus import CorpusIndex

            assert opts.corpus is not None
            self._corpus = CorpusIndex.open(opts.corpus, opts.cache)
        elif opts.search == "live" and self._live is None:
            from trajkit.sources.hotpotqa.live import LiveSearch

            self._live = LiveSearch(
                api=opts.api,
                cache_dir=opts.cache,
                rate=opts.rate,
                user_agent=opts.user_agent,
                timeout_s=opts.timeout,
            )

    def tool(self, task: Task) -> Tool:
        """The task's ``wikipedia_search``; its result is what the teacher's code receives."""
        opts = self.options
        k, cap = opts.top_k, opts.summary_chars
        self.prepare()
        if opts.search == "context":
            pages = context_pages(task)
            holder: list[ParagraphIndex] = []

            async def find(query: str) -> list[Hit] | str:
                if not holder:
                    holder.append(ParagraphIndex(pages))
                return holder[0].search(query, k)

        elif opts.search == "corpus":
            corpus = self._corpus

            async def find(query: str) -> list[Hit] | str:
                return await asyncio.to_thread(corpus.search, query, k)

        else:
            live = self._live

            async def find(query: str) -> list[Hit] | str:
                return await live.search(query, k)

        async def wikipedia_search(query: str) -> str:
            text = clean_query(query)
            hits = await find(text)
            return hits if isinstance(hits, str) else format_hits(text, hits, cap)

        # Argument errors then read "wikipedia_search() got an unexpected keyword ...".
        wikipedia_search.__qualname__ = TOOL_NAME
        return Tool(
            name=TOOL_NAME, fn=wikipedia_search, signature=TOOL_SIGNATURE, doc=TOOL_DOC.format(k=k)
        )

    async def aclose(self) -> None:
        """Close the live client and cache; corpus indexes stay open for the process."""
        if self._live is not None:
            await self._live.aclose()
            self._live = None
