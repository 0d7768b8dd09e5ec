"""thefuzz 0.19.0's ``fuzz.token_set_ratio``: the fuzzy score in WebShop's reward.

WebShop's ``engine/goal.py`` matches attributes and options with ``fuzz.token_set_ratio(...)
> 85`` and pins ``thefuzz==0.19.0`` in ``requirements.txt``, without the ``speedup`` extra
(python-Levenshtein); so the reward as installed by WebShop's own setup scores with thefuzz's
pure-Python path, ``difflib.SequenceMatcher``. That is not the Levenshtein-based ratio that
thefuzz >= 0.20 and rapidfuzz compute: difflib keeps the longest common block first and can
miss a longer common subsequence ("free fragrance" vs "free frgace": 80, where rapidfuzz says
88), and 0.19.0 keeps "_" as a word character. A score on either side of 85 flips a match, so
this module follows 0.19.0 step by step (``thefuzz/utils.py``, ``string_processing.py`` and
``fuzz.py``: ``full_process``, ``_token_set``, ``ratio``) with the same standard library
scorer, rather than approximating it with a faster library.
"""

from __future__ import annotations

import re
from difflib import SequenceMatcher

#: ``utils.asciionly``: code points 128-255 are deleted ("ascii dammit"), nothing else.
_LATIN1 = dict.fromkeys(range(128, 256))
#: ``StringProcessor.regex``: each non-word character becomes one space ("_" is a word char).
_NON_WORD = re.compile(r"(?ui)\W")


def full_process(text: str) -> str:
    """``utils.full_process(text, force_ascii=True)``: ASCII-only, non-word characters to
    spaces, lower-cased, stripped."""
    return _NON_WORD.sub(" ", text.translate(_LATIN1)).lower().strip()


def ratio(a: str, b: str) -> int:
    """``fuzz.ratio`` of 0.19.0 on already-processed text: 100 when equal, 0 when either is
    empty, else ``round(100 * SequenceMatcher(None, a, b).ratio())``."""
    if a == b:
        return 100
    if not a or not b:
        return 0
    return round(100 * SequenceMatcher(None, a, b).ratio())


def token_set_ratio(a: str, b: str) -> int:
    """``fuzz.token_set_ratio(a, b)``: the best of three ratios between the sorted shared
    tokens and each side's "shared + own tokens" string (0 if a side has no token)."""
    p1, p2 = full_process(a), full_process(b)
    if not p1 or not p2:
        return 0
    tokens1, tokens2 = set(p1.split()), set(p2.split())
    shared = " ".join(sorted(tokens1 & tokens2))
    combined_1to2 = f"{shared} {' '.join(sorted(tokens1 - tokens2))}".strip()
    combined_2to1 = f"{shared} {' '.join(sorted(tokens2 - tokens1))}".strip()
    return max(
        ratio(shared, combined_1to2),
        ratio(shared, combined_2to1),
        ratio(combined_1to2, combined_2to1),
    )
