"""Reference extraction: the final ``\\boxed{...}`` answer of a MATH worked solution.

MATH stores no separate answer field; by convention the answer is the last box in the
solution. Boxes nest braces (``\\boxed{\\frac{1}{2}}``), may contain escaped braces
(``\\boxed{\\{1,2\\}}``), and a few use the brace-less form ``\\boxed 5``, so a regex is not
enough: we scan.
"""

from __future__ import annotations

import re

# ``\boxed`` or ``\fbox`` not followed by another letter (so ``\boxedfoo`` is not a box).
_BOXED_RE = re.compile(r"\\boxed(?![A-Za-z])")
_FBOX_RE = re.compile(r"\\fbox(?![A-Za-z])")
_BARE_END = re.compile(r"[\s$]")


def last_boxed(text: str) -> str | None:
    """Return the content of the last ``\\boxed`` in ``text`` (the last ``\\fbox`` when
    there is none), or ``None``.

    The last box wins because worked solutions sometimes box intermediate results, and
    ``\\boxed`` before ``\\fbox`` because MATH's own grader looks for them in that order
    (``last_boxed_only_string``). A malformed last box (unbalanced braces, nothing after
    ``\\boxed``) gives ``None`` rather than silently falling back to an earlier box.
    """
    matches = list(_BOXED_RE.finditer(text)) or list(_FBOX_RE.finditer(text))
    if not matches:
        return None
    return _box_content(text, matches[-1].end())


def _box_content(text: str, pos: int) -> str | None:
    """Read the argument of a box command whose name ends just before ``pos``."""
    start = pos
    while pos < len(text) and text[pos] in " \t":
        pos += 1
    if pos >= len(text):
        return None
    if text[pos] == "{":
        return _braced(text, pos)
    if pos == start:
        # ``\boxedx`` is excluded by the regex; ``\boxed$`` or ``\boxed\n`` has no argument.
        return None
    # Brace-less form ``\boxed 5``: the argument runs to the next whitespace or ``$``.
    end_match = _BARE_END.search(text, pos)
    end = end_match.start() if end_match else len(text)
    content = text[pos:end].strip()
    return content or None


def _braced(text: str, open_pos: int) -> str | None:
    """Return what lies between the brace at ``open_pos`` and its match, else ``None``."""
    close = _closing_brace(text, open_pos)
    if close is None:
        return None
    return text[open_pos + 1 : close].strip() or None


_LEADING_BOX_RE = re.compile(r"\\(?:boxed|fbox)\s*(?=\{)")


def whole_box(text: str) -> str | None:
    """Content of ``text`` when all of it is one box (``\\boxed{\\$18.90}``), else ``None``.

    A teacher may box its ``<solution>`` as MATH boxes answers; unwrapping it lets the same
    form rules apply to a bare and a boxed answer. ``\\boxed{1} and \\boxed{2}`` is not one
    box, so it is left for math-verify's own multi-box extraction.
    """
    match = _LEADING_BOX_RE.match(text)
    if match is None:
        return None
    open_pos = match.end()
    if _closing_brace(text, open_pos) != len(text) - 1:
        return None
    return _braced(text, open_pos)


def _closing_brace(text: str, open_pos: int) -> int | None:
    """Index of the brace closing the one at ``open_pos`` (escaped braces skipped)."""
    depth = 0
    i = open_pos
    while i < len(text):
        ch = text[i]
        if ch == "\\":
            i += 2  # an escaped character (``\{``, ``\}``, ``\\``) never opens or closes
            continue
        if ch == "{":
            depth += 1
        elif ch == "}":
            depth -= 1
            if depth == 0:
                return i
        i += 1
    return None
