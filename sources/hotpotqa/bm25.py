"""The ``context`` search backend: BM25 over one question's own ten paragraphs.

Ten short documents need no index library: this is plain Python, deterministic (ties go to
the earlier paragraph) and fast enough to rebuild for every task. It scores with the same
Lucene flavour of BM25 as the ``corpus`` backend (bm25s), so both rank alike.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Callable, Sequence

from trajkit.sources.hotpotqa.text import Hit, title_key, title_keys, tokenize

K1 = 1.5
B = 0.75


def idf(n_docs: int, doc_freq: int) -> float:
    """Lucene's BM25 idf: always positive, so a word in every paragraph still counts a bit."""
    return math.log(1.0 + (n_docs - doc_freq + 0.5) / (doc_freq + 0.5))


def exact_first(docs: Sequence[int], query: str, title_of: Callable[[int], str]) -> list[int]:
    """``docs`` (pages found under the query's title key) with the pages whose whole title is
    the query first, each group in its original order.

    A bare title ("Ed Wood") is also the key of its disambiguated pages ("Ed Wood (film)"),
    which may come earlier in the paragraphs or the corpus; without this the teacher asking
    for the person got the film first (in two of the first 30 HotpotQA dev questions).
    """
    if len(docs) < 2:
        return list(docs)
    key = title_key(query)
    return sorted(docs, key=lambda doc: title_key(title_of(doc)) != key)


class ParagraphIndex:
    """BM25 over a few pages held in memory; exact title matches rank first.

    Wikipedia's own search puts the page whose title is the query on top; HotpotQA teachers
    mostly search for names, so doing the same makes ``wikipedia_search("Jane Austen")``
    return the Jane Austen page even when another page mentions her more often. A page
    titled exactly as the query comes before one that only matches once its disambiguation
    is dropped: "Ed Wood" is the person, "Ed Wood (film)" the film about him.
    """

    def __init__(self, pages: Sequence[tuple[str, Sequence[str]]]) -> None:
        self.pages = [Hit(title, tuple(sentences)) for title, sentences in pages]
        self._tf = [
            Counter(tokenize(page.title + " " + " ".join(page.sentences))) for page in self.pages
        ]
        self._len = [sum(tf.values()) for tf in self._tf]
        self._avg_len = (sum(self._len) / len(self._len)) if self._len else 0.0
        self._df: Counter[str] = Counter()
        for tf in self._tf:
            self._df.update(tf.keys())
        self._by_title: dict[str, list[int]] = {}
        for i, page in enumerate(self.pages):
            for key in title_keys(page.title):
                self._by_title.setdefault(key, []).append(i)

    def scores(self, query: str) -> list[float]:
        """BM25 score of every page for ``query`` (0 for pages sharing no word with it)."""
        terms = list(dict.fromkeys(tokenize(query)))
        n = len(self.pages)
        out = [0.0] * n
        for term in terms:
            df = self._df.get(term, 0)
            if not df:
                continue
            weight = idf(n, df)
            for i, tf in enumerate(self._tf):
                freq = tf.get(term, 0)
                if freq:
                    norm = K1 * (1 - B + B * self._len[i] / (self._avg_len or 1.0))
                    out[i] += weight * freq * (K1 + 1) / (freq + norm)
        return out

    def search(self, query: str, k: int) -> list[Hit]:
        """The ``k`` best pages: exact title matches first, then by score; none if no page
        shares a word with the query."""
        found = self._by_title.get(title_key(query), [])
        exact = exact_first(found, query, lambda i: self.pages[i].title)
        scores = self.scores(query)
        ranked = sorted((i for i, s in enumerate(scores) if s > 0), key=lambda i: (-scores[i], i))
        order = list(dict.fromkeys([*exact, *ranked]))
        return [self.pages[i] for i in order[:k]]
