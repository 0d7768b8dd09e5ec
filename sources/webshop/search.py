"""WebShop's search engine: BM25 over each product's title, description, first bullet and
options, 50 results, shown 10 to a page.

WebShop indexes the same text with Lucene (pyserini); bm25s scores with the same Lucene BM25
variant. Built once per catalogue and shared read-only by every episode: a search holds no
per-session state.
"""

from __future__ import annotations

from collections.abc import Sequence

from trajkit.sources.webshop.catalog import Product
from trajkit.sources.webshop.text import stem_words

SEARCH_RETURN_N = 50
PRODUCT_WINDOW = 10


class SearchIndex:
    """BM25 over a product list; ``search`` returns ASINs, best first, ties in file order."""

    def __init__(self, products: Sequence[Product]) -> None:
        import bm25s  # imported here: only a WebShop run pays for it

        self._bm25s = bm25s
        self.asins = [p.asin for p in products]
        corpus = [p.search_text() for p in products]
        tokens = bm25s.tokenize(corpus, stopwords="en", stemmer=stem_words, show_progress=False)
        self._retriever = bm25s.BM25()
        self._retriever.index(tokens, show_progress=False)
        self._vocab = tokens.vocab

    def search(self, query: str, k: int = SEARCH_RETURN_N) -> list[str]:
        """Up to ``k`` ASINs matching ``query`` (products sharing no word are left out)."""
        words = [
            w
            for w in self._bm25s.tokenize(
                [query], stopwords="en", stemmer=stem_words, return_ids=False, show_progress=False
            )[0]
            if w in self._vocab
        ]
        if not words or not self.asins:
            return []
        k = min(k, len(self.asins))
        docs, scores = self._retriever.retrieve([words], k=k, show_progress=False, n_threads=1)
        ranked = [(float(s), int(d)) for d, s in zip(docs[0], scores[0], strict=True) if s > 0]
        ranked.sort(key=lambda pair: (-pair[0], pair[1]))
        return [self.asins[d] for _, d in ranked]


def page_of(results: Sequence[str], page: int) -> list[str]:
    """The ASINs shown on 1-based ``page``."""
    return list(results[(page - 1) * PRODUCT_WINDOW : page * PRODUCT_WINDOW])
