"""A small Python syntax highlighter producing escaped HTML ``<span>``s.

The report must be self-contained and load nothing from the internet, and teacher code is
untrusted text, so this is one regex of our own rather than a library. The input is escaped
*before* tokenizing, so no character of it can reach the page as markup (a ``<script>`` in the
code is shown, never run), and "removing our spans and unescaping gives the input back" is a
checkable property.

Escaping first is safe for tokenizing: ``&``, ``<`` and ``>`` become ``&amp;``, ``&lt;`` and
``&gt;`` (quotes are kept), whose letters are no keyword or builtin, and no token can end
inside one (strings end at quotes, comments at newlines), so every entity stays whole. Only
tokens that get a class are matched; the text between them is copied as is, which keeps a
100k-trajectory report's build time dominated by reading, not highlighting.

It is a highlighter, not a parser: an unterminated string runs to the end of its line (or of
the cell, for triple quotes), which is what a reader expects from broken code anyway.
"""

from __future__ import annotations

import builtins
import html
import keyword
import re

KEYWORDS = (frozenset(keyword.kwlist) | frozenset(keyword.softkwlist)) - {"_"}
BUILTINS = frozenset(n for n in dir(builtins) if not n.startswith("_")) - KEYWORDS

_STRING = (
    r"(?:\b[rRbBuUfF]{1,2})?"
    r"(?:'''[\s\S]*?(?:'''|\Z)"
    r'|"""[\s\S]*?(?:"""|\Z)'
    r"|'(?:\\.|[^'\\\n])*'?"
    r'|"(?:\\.|[^"\\\n])*"?)'
)


def _words(names: frozenset[str]) -> str:
    return r"\b(?:" + "|".join(sorted(names, key=lambda n: (-len(n), n))) + r")\b"


_TOKEN = re.compile(
    "|".join(
        [
            r"(?P<c>#[^\n]*)",
            rf"(?P<s>{_STRING})",
            r"(?P<defkw>\b(?:def|class)\b)(?P<gap>[ \t]+)(?P<f>[^\W\d]\w*)",
            r"(?P<n>\b(?:0[xX][0-9a-fA-F_]+|0[bB][01_]+|0[oO][0-7_]+"
            r"|\d[\d_]*\.?[\d_]*(?:[eE][+-]?\d+)?[jJ]?)\b)",
            r"(?P<d>^[ \t]*@[\w.]+)",
            rf"(?P<k>{_words(KEYWORDS)})",
            rf"(?P<b>{_words(BUILTINS)})",
        ]
    ),
    re.MULTILINE,
)

#: CSS class → what it marks.
CLASSES = {
    "c": "comment",
    "s": "string",
    "n": "number",
    "d": "decorator",
    "k": "keyword",
    "b": "builtin",
    "f": "name being defined",
}


def _span(m: re.Match[str]) -> str:
    kind = m.lastgroup
    if kind == "f":
        return f'<span class="k">{m["defkw"]}</span>{m["gap"]}<span class="f">{m["f"]}</span>'
    return f'<span class="{kind}">{m.group()}</span>'


def highlight_python(code: str) -> str:
    """``code`` as HTML: escaped text with ``<span class="…">`` around tokens (see ``CLASSES``)."""
    return _TOKEN.sub(_span, html.escape(code, quote=False))
