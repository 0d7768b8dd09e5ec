"""Small text helpers for the catalogue (title nouns) and the search index (stemming).

Kept apart so that each of those modules does one job. The reward's own text handling (colour
words, fuzzy scores) follows WebShop's code and lives in ``normalize`` and ``fuzzy``.
"""

from __future__ import annotations

import re

_WORD = re.compile(r"[a-z0-9]+")

#: Words that are never the product-type nouns of a title (fallback for ``name_nouns``).
_NOT_NOUNS = frozenset(
    """
    a an and or for with without of the to in on by from at as is are be this that these those
    new set pack count piece pieces pcs pc inch inches oz ounce ounces fl lb lbs ml l cm mm
    x xl xxl xs s m large small medium mini big extra super ultra premium professional pro
    natural organic classic original best easy soft hard high low long short light heavy
    women womens woman men mens man unisex kids girls boys adult adults baby
    black white red blue green grey gray pink purple brown yellow orange silver gold beige navy
    """.split()
)


def name_nouns(name: str) -> tuple[str, ...]:
    """Fallback for the title nouns upstream takes from spaCy, used when the data carries no
    ``name_nouns``: lower-cased alphabetic words of at least three letters that are not
    function words, sizes, colours or common adjectives. It over-counts (adjectives and brand
    names slip through), so precomputed nouns give the faithful type reward."""
    words = _WORD.findall(name.lower())
    return tuple(w for w in words if w.isalpha() and len(w) >= 3 and w not in _NOT_NOUNS)


def light_stem(word: str) -> str:
    """A minimal English plural stemmer (Lucene's "minimal" flavour) so that ``shoes`` finds
    ``shoe``; WebShop's Lucene index used Porter stemming, which PyStemmer would need."""
    if len(word) > 4 and word.endswith("ies") and not word.endswith(("eies", "aies")):
        return word[:-3] + "y"
    if len(word) > 3 and word.endswith("es") and word[-3] in "sxz":
        return word[:-2]
    if len(word) > 3 and word.endswith("s") and not word.endswith(("ss", "us", "is")):
        return word[:-1]
    return word


def stem_words(words: list[str]) -> list[str]:
    """``light_stem`` over a list (the shape bm25s calls a stemmer with)."""
    return [light_stem(w) for w in words]
