"""Text handling shared by every search backend: tokens, title keys, summaries, result text.

All backends format hits the same way, so a dataset collected against the task's own context
paragraphs reads like one collected against a corpus or the live Wikipedia: the teacher learns
one tool, not three.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass

#: MediaWiki rejects longer ``srsearch`` values; every backend cuts queries here, alike.
MAX_QUERY_CHARS = 300

_TOKEN_RE = re.compile(r"\w+")
_PAREN_RE = re.compile(r"\s*\([^()]*\)\s*$")
_SENTENCE_END_RE = re.compile(r"(?<=[.!?])[\"')\]]*\s+(?=[\"'(\[]?[A-Z0-9])")

# Function words that carry no topic: dropping them keeps "the" from matching every page.
STOPWORDS = frozenset(
    """
    a an and are as at be been but by did do does for from had has have he her his how i if in
    into is it its of on or she so than that the their them then there these they this those to
    was were what when where which who whom whose why will with would you your
    """.split()
)


def fold(text: str) -> str:
    """Lower-case and strip accents, so "Beyonce" finds "Beyoncé" and "ZURICH" finds "Zürich"."""
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch)).lower()


def tokenize(text: str) -> list[str]:
    """Search tokens: folded words minus stopwords and stray single letters (the "s" of
    "King's"); single digits stay, since numbers are often what a question is about."""
    return [
        tok
        for tok in _TOKEN_RE.findall(fold(text))
        if tok not in STOPWORDS and (len(tok) > 1 or tok.isdigit())
    ]


def title_key(text: str) -> str:
    """Canonical form of a page title or query for exact-title matching."""
    return " ".join(_TOKEN_RE.findall(fold(text)))


def title_keys(title: str) -> list[str]:
    """Keys under which a page is found by exact title: the title, and the title without a
    trailing disambiguation such as "(novel)", so "Emma" finds "Emma (novel)"."""
    keys = [title_key(title)]
    bare = _PAREN_RE.sub("", title)
    if bare != title and title_key(bare):
        keys.append(title_key(bare))
    return [k for k in keys if k]


def clean_query(query: object) -> str:
    """Validate what the teacher passed; the errors are meant to be read by the teacher."""
    if not isinstance(query, str):
        raise TypeError(f"wikipedia_search(): query must be a string, got {type(query).__name__}")
    text = " ".join(query.split())
    if not text:
        raise ValueError("wikipedia_search(): query is empty; pass the words to look up")
    return text[:MAX_QUERY_CHARS]


def split_sentences(text: str) -> list[str]:
    """Rough sentence split for plain text (live extracts, corpus abstracts given as one
    string); HotpotQA paragraphs already come as sentence lists and skip this."""
    text = " ".join(text.split())
    return [s for s in _SENTENCE_END_RE.split(text) if s] if text else []


def summarize(sentences: Sequence[str], max_chars: int) -> str:
    """The opening sentences of a page, as many whole ones as fit in ``max_chars``.

    A first sentence longer than the cap is cut with an ellipsis rather than dropped, so a
    hit always says something.
    """
    out: list[str] = []
    used = 0
    for raw in sentences:
        sentence = " ".join(raw.split())
        if not sentence:
            continue
        extra = len(sentence) + (1 if out else 0)
        if used + extra > max_chars:
            if not out:
                out.append(sentence[: max(1, max_chars - 1)].rstrip() + "…")
            break
        out.append(sentence)
        used += extra
    return " ".join(out)


@dataclass(frozen=True)
class Hit:
    """One search result: a page title and its opening sentences."""

    title: str
    sentences: tuple[str, ...]


def format_hits(query: str, hits: Sequence[Hit], max_chars: int) -> str:
    """The text the teacher's code gets back from ``wikipedia_search``.

    One block per page, "Page:" and "Summary:" lines, blocks separated by a blank line (the
    shape CodeAct data was collected with), or a one-line note when nothing matched.
    """
    if not hits:
        return f"No Wikipedia page matched {query!r}. Try other words, or the exact name of a page."
    blocks = [f"Page: {h.title}\nSummary: {summarize(h.sentences, max_chars)}" for h in hits]
    return "\n\n".join(blocks)
