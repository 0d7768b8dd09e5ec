"""``wikipedia_search`` backends: context (BM25 over the task's paragraphs), corpus (bm25s
over an abstracts file, cached on disk) and live (MediaWiki API against a loopback server)."""

from __future__ import annotations

import asyncio
import json
import shutil
import sys
from pathlib import Path

import pytest

from trajkit.core.errors import DataError
from trajkit.schemas import Task
from trajkit.sources.base import LoadOptions
from trajkit.sources.hotpotqa import HotpotQASource
from trajkit.sources.hotpotqa import corpus as corpus_mod
from trajkit.sources.hotpotqa.bm25 import ParagraphIndex
from trajkit.sources.hotpotqa.live import LiveSearch
from trajkit.sources.hotpotqa.text import Hit, format_hits, split_sentences, summarize

FIX = Path(__file__).resolve().parents[1] / "fixtures" / "hotpotqa"
sys.path.insert(0, str(FIX))

from mediawiki_server import MediaWikiServer  # noqa: E402


def search(source: HotpotQASource, task: Task, *args: object, **kwargs: object) -> str:
    (tool,) = source.tools(task)
    return asyncio.run(tool.call(list(args), dict(kwargs)))


def sample_task(task_id: str) -> Task:
    return next(t for t in HotpotQASource().load(LoadOptions()) if t.task_id == task_id)


# --------------------------------------------------------------------------- formatting + context


def test_summaries_and_result_layout() -> None:
    sentences = ["One two three.", "Four five six.", "Seven eight nine."]
    assert summarize(sentences, 30) == "One two three. Four five six."
    assert summarize(["A very long opening sentence indeed."], 10) == "A very lo…"
    assert split_sentences("Dr. Who is old. It runs on BBC One! Since 1963?") == [
        "Dr.",
        "Who is old.",
        "It runs on BBC One!",
        "Since 1963?",
    ]
    text = format_hits("q", [Hit("A", ("a1.", "a2.")), Hit("B", ("b1.",))], 100)
    assert text == "Page: A\nSummary: a1. a2.\n\nPage: B\nSummary: b1."
    assert format_hits("zzz", [], 100).startswith("No Wikipedia page matched 'zzz'.")


def test_context_backend_ranks_titles_first_and_is_deterministic() -> None:
    task = sample_task("trajkit-sample-01-austen")
    src = HotpotQASource()
    first = search(src, task, "Jane Austen")
    assert first.startswith("Page: Jane Austen\nSummary: Jane Austen (16 December 1775")
    assert "Hampshire" in first and first.count("Page: ") == 3
    assert first == search(HotpotQASource(), task, "Jane Austen")
    # "Emma" is the exact title of "Emma (novel)" once the disambiguation is dropped.
    assert search(src, task, "Emma").startswith("Page: Emma (novel)")
    # accents fold both ways: the page says "Brontë"
    assert search(src, task, "charlotte bronte").startswith("Page: Charlotte Brontë")
    assert search(src, task, "quantum chromodynamics").startswith("No Wikipedia page matched")
    index = ParagraphIndex(task.metadata["context"])
    scores = index.scores("Austen")
    assert [i for i, s in enumerate(scores) if s > 0] == [0, 2, 3, 5, 6, 7]  # pages naming her


def test_top_k_and_summary_cap_options() -> None:
    task = sample_task("trajkit-sample-01-austen")
    src = HotpotQASource.from_options({"top_k": "1", "summary_chars": "80"})
    text = search(src, task, "Jane Austen")
    assert text.count("Page: ") == 1
    assert len(text.split("Summary: ")[1]) <= 80
    (tool,) = src.tools(task)
    assert tool.signature == "wikipedia_search(query: str) -> str" and "at most 1" in tool.doc


def test_teacher_mistakes_raise_readable_errors() -> None:
    task = sample_task("trajkit-sample-01-austen")
    src = HotpotQASource()
    with pytest.raises(TypeError, match="query must be a string, got int"):
        search(src, task, 42)
    with pytest.raises(ValueError, match="query is empty"):
        search(src, task, "   ")
    with pytest.raises(
        TypeError, match=r"^wikipedia_search\(\) got an unexpected keyword argument 'k'"
    ):
        search(src, task, "Jane Austen", k=1)
    assert search(src, task, "Jane Austen " * 200).startswith("Page: ")  # long queries are cut


# --------------------------------------------------------------------------- corpus


@pytest.fixture
def fresh_indexes():
    corpus_mod.forget_open_indexes()
    yield
    corpus_mod.forget_open_indexes()


def test_corpus_index_is_built_once_then_reused(tmp_path: Path, fresh_indexes, monkeypatch) -> None:
    corpus = tmp_path / "corpus.jsonl"
    shutil.copy(FIX / "corpus.jsonl", corpus)
    cache = tmp_path / "cache"
    index = corpus_mod.CorpusIndex.open(corpus, cache)
    assert index.built and index.size == 8
    assert index.search("Harbour Orchestra", 3)[0].title == "Harbour Orchestra"
    assert index.search("Zürich", 1)[0].title == "Zurich"  # exact title, accents folded
    assert index.search("qqqq unknownword", 3) == []
    assert index.search("orchestra", 10)[0].title in {"Orchestra", "Harbour Orchestra"}
    assert corpus_mod.CorpusIndex.open(corpus, cache) is index  # once per process

    corpus_mod.forget_open_indexes()

    def no_indexing(*args: object) -> int:
        raise AssertionError("re-indexed although the cache is valid")

    monkeypatch.setattr(corpus_mod, "build_index", no_indexing)
    again = corpus_mod.CorpusIndex.open(corpus, cache)
    assert not again.built and again.search("Tallinn", 1)[0].title == "Tallinn"
    moved = tmp_path / "moved.jsonl"
    shutil.copy(corpus, moved)  # same bytes elsewhere: one hash pass, no re-index
    assert not corpus_mod.CorpusIndex.open(moved, cache).built
    monkeypatch.undo()

    with corpus.open("a") as fh:
        fh.write(
            json.dumps({"title": "Weller Bridge", "text": "The Weller Bridge is long."}) + "\n"
        )
    changed = corpus_mod.CorpusIndex.open(corpus, cache)
    assert changed.built and changed.size == 9
    assert changed.search("Weller Bridge", 1)[0].title == "Weller Bridge"
    assert len(list((cache / "corpus").glob("*-v*"))) == 2


def test_corpus_backend_through_the_source(tmp_path: Path, fresh_indexes) -> None:
    src = HotpotQASource.from_options(
        {
            "search": "corpus",
            "corpus": str(FIX / "corpus.jsonl"),
            "cache": str(tmp_path),
            "top_k": "2",
        }
    )
    src.attach(None)  # type: ignore[arg-type]  # the runtime is not used
    task = Task(source="hotpotqa", task_id="t", prompt="p", reference="x")  # no context needed
    text = search(src, task, "Glass Harp Suite")
    assert text.startswith("Page: Glass Harp Suite\nSummary: The Glass Harp Suite is a work")
    assert text.count("Page: ") == 2
    assert search(src, task, "xyzzy").startswith("No Wikipedia page matched")


def test_bad_corpus_lines_name_file_and_line(tmp_path: Path, fresh_indexes) -> None:
    corpus = tmp_path / "bad.jsonl"
    corpus.write_text('{"title": "A", "text": "a."}\n{"text": "no title"}\n')
    with pytest.raises(DataError, match=r"bad\.jsonl:2: missing or empty 'title'"):
        corpus_mod.CorpusIndex.open(corpus, tmp_path / "cache")
    assert not list((tmp_path / "cache" / "corpus").glob("*-v*"))  # nothing half-built kept


# --------------------------------------------------------------------------- live

PAGES = {
    "Weller Bridge": "The Weller Bridge is 1,250 metres long. It crosses the Ostra estuary.",
    "Ostra Bridge": "The Ostra Bridge is 410 metres long.",
    "Ostra": "Ostra is a fictional town used in tests.",
}


class FakeClock:
    """Time that moves only when the code under test sleeps."""

    def __init__(self) -> None:
        self.now = 0.0
        self.sleeps: list[float] = []

    def __call__(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


def live(
    server: MediaWikiServer, tmp_path: Path, clock: FakeClock | None = None, **kw: object
) -> LiveSearch:
    clock = clock or FakeClock()
    return LiveSearch(api=server.api, cache_dir=tmp_path, clock=clock, sleep=clock.sleep, **kw)  # type: ignore[arg-type]


def test_live_search_user_agent_and_cache(tmp_path: Path) -> None:
    with MediaWikiServer(PAGES, redirects={"Mt Weller": "Weller Bridge"}) as server:
        src = HotpotQASource.from_options(
            {"search": "live", "api": server.api, "cache": str(tmp_path), "rate": "100"}
        )
        task = Task(source="hotpotqa", task_id="t", prompt="p", reference="x")

        async def run() -> tuple[str, str]:
            (tool,) = src.tools(task)
            first = await tool.call(["Weller Bridge"], {})
            second = await tool.call(["Weller Bridge"], {})
            await src.aclose()
            return first, second

        first, second = asyncio.run(run())
        assert first == second
        assert first.startswith(
            "Page: Weller Bridge\nSummary: The Weller Bridge is 1,250 metres long."
        )
        assert len(server.requests) == 2  # search + extracts; the repeat came from the cache
        search_req, extract_req = server.requests
        assert (
            search_req.params["list"] == "search"
            and search_req.params["srsearch"] == "Weller Bridge"
        )
        assert extract_req.params["prop"] == "extracts" and extract_req.params["exintro"] == "1"
        assert extract_req.params["titles"].split("|")[0] == "Weller Bridge"
        assert all(r.headers["user-agent"].startswith("trajkit/") for r in server.requests)

        # A re-run (new process, same cache) is answered offline.
        rerun = live(server, tmp_path)
        assert asyncio.run(rerun.search("Weller Bridge", 3)) == asyncio.run(
            rerun.search("Weller Bridge", 3)
        )
        assert rerun.requests == 0 and len(server.requests) == 2
        # Redirects are followed; an empty result is cached like any other.
        fresh = live(server, tmp_path, user_agent="trajkit-test/1 (ops@example.org)")
        hits = asyncio.run(fresh.search("Mt Weller", 1))
        assert isinstance(hits, list) and hits[0].title == "Weller Bridge"
        assert server.requests[-1].headers["user-agent"] == "trajkit-test/1 (ops@example.org)"
        assert asyncio.run(fresh.search("nothing-matches", 3)) == []
        assert asyncio.run(fresh.search("nothing-matches", 3)) == [] and fresh.requests == 3


def test_live_rate_limit_spaces_requests_across_episodes(tmp_path: Path) -> None:
    clock = FakeClock()
    with MediaWikiServer(PAGES) as server:
        backend = live(server, tmp_path, clock, rate=2.0)

        async def episodes() -> list:
            return await asyncio.gather(
                *(backend.search(q, 2) for q in ["Weller", "Ostra", "Bridge"])
            )

        results = asyncio.run(episodes())
    assert all(isinstance(r, list) and r for r in results)
    starts = backend.limiter.starts
    assert len(starts) == backend.requests == len(server.requests) == 6
    assert starts == [0.0, 0.5, 1.0, 1.5, 2.0, 2.5]  # never more than 2 per (fake) second
    assert clock.now == 2.5


def test_live_retries_then_reports_outage_without_caching(tmp_path: Path) -> None:
    clock = FakeClock()
    with MediaWikiServer(PAGES) as server:
        backend = live(server, tmp_path, clock, rate=1000.0)
        server.fail_next(2, 503, retry_after="7")
        hits = asyncio.run(backend.search("Ostra Bridge", 1))
        assert isinstance(hits, list) and hits[0].title == "Ostra Bridge"
        assert clock.sleeps.count(7.0) == 2 and len(server.requests) == 4

        server.fail_next(3, 503)
        down = asyncio.run(backend.search("Ostra", 1))
        assert isinstance(down, str) and "unavailable" in down and "HTTP 503" in down
        assert asyncio.run(backend.search("Ostra", 1))[0].title == "Ostra"  # not cached
        server.fail_next(1, 403)
        before = len(server.requests)
        assert "HTTP 403" in asyncio.run(backend.search("Weller", 1))
        assert len(server.requests) == before + 1  # a client error is not retried
