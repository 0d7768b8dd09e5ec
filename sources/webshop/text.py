"""Small text helpers shared by the reward, the search index and the catalogue.

Kept apart so that each of those modules does one job and they agree on how text is folded.
"""

from __future__ import annotations

import re

from rapidfuzz import utils as fuzz_utils

#: Colour words, sorted: ``normalize_color`` returns the first one found inside a value, as
#: WebShop's normaliser does ("black forest" -> "black", "violet lavender" -> "lavender").
COLOR_WORDS = tuple(
    sorted(
        """
        alabaster apricot aqua ash azure beige black blue blush bronze brown burgundy camel
        camo caramel champagne charcoal chocolate coffee copper coral cream denim fuchsia gold
        granite graphite gray green grey indigo ivory khaki lavender lemon lilac lime magenta
        maroon mauve mint mocha multicolor mustard navy nude olive orange peach pewter pink plum
        purple red rose rust sage sand silver slate tan taupe teal turquoise violet walnut wheat
        white wine yellow
        """.split()
    )
)

_WORD = re.compile(r"[a-z0-9]+")
_LATIN1 = dict.fromkeys(range(128, 256))

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


def normalize_color(value: str) -> str:
    """The first colour word (in sorted order) inside ``value``, else ``value`` unchanged."""
    for color in COLOR_WORDS:
        if color in value:
            return color
    return value


def fuzz_process(text: str) -> str:
    """thefuzz's ``full_process(force_ascii=True)``: drop the Latin-1 range (code points
    128-255, exactly what its "ascii only" step removes), turn everything but letters and
    digits into spaces, lower-case, trim."""
    return fuzz_utils.default_process(text.translate(_LATIN1))


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
