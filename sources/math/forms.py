"""How MATH writes answers, rewritten into what math-verify compares as values.

MATH answers carry typography that is not part of the value: money (``\\$18.90``), percent
(``7\\%``), degrees (``30^\\circ``), units (``5\\text{ cm}``), thousands separators
(``10,\\!000``). math-verify copes with some of it inside a box but not in a bare teacher
answer: ``\\$18.90`` is read as a math delimiter and parses to nothing, ``10\\,000`` parses as
``10*0`` (so it *equals* 0), ``30°`` and ``12.5\\%`` vs ``12.5`` fail. Both sides go through
the same rewriting here before math-verify sees them, so a form is judged the same whether it
is bare or boxed, in the reference or in the answer.

Each rule is anchored to the form MATH uses, so deliberately wrong answers stay wrong: a
thousands separator is only read as one when the whole answer is a single number with exact
3-digit groups (``(1, 000)`` and ``1, 200`` stay a tuple and a list), and a percent sign is
only dropped when the question is about percentages (``is_percent_question``); elsewhere
``7\\%`` means 7/100, as in mathematics. docs/fidelity/math.md has the table and the reasons.
Every rule is a plain regex pass (microseconds) and runs inside the judge worker.
"""

from __future__ import annotations

import re

# --------------------------------------------------------------------------- money

_MONEY = re.compile(r"\\text\s*\{\s*\\\$\s*\}|(?<!\\)\\\$|\\textdollar\b\s*")
_LONE_DOLLAR = re.compile(r"\$(?=\s*\d)")


def strip_money(text: str) -> str:
    """Drop dollar signs that mean money, not math mode: ``\\$``, ``\\text{\\$}``, and a single
    unpaired ``$`` before a number (``$18.90`` as a teacher types it)."""
    text = _MONEY.sub("", text)
    if text.count("$") == 1:
        text = _LONE_DOLLAR.sub("", text)
    return text


# --------------------------------------------------------------------------- percent

_PERCENT_WORD = re.compile(r"percent|per\s+cent", re.IGNORECASE)
_PERCENT_SIGN = re.compile(
    r"\\text\s*\{\s*(?:\\?%|percent(?:age)?)\s*\}|\\%|%|\s*\bpercent(?:age)?\b|\s*\bper\s+cent\b"
)


def is_percent_question(problem: str | None, reference: str) -> bool:
    """Whether answers to this problem are in percent units, so ``7\\%`` and ``7`` agree.

    True when the reference itself has a percent sign, or the question uses the *word*
    percent ("What percent of...", "Express your answer as a percent"); a bare ``\\%`` in the
    question usually sets up data ("after a 20\\% discount...") rather than asking for one.
    Without the question (``None``) we cannot tell and follow the reference normalisers,
    which all accept ``7\\%`` for ``7``.
    """
    if "%" in reference or problem is None:
        return True
    return bool(_PERCENT_WORD.search(problem))


def _percent(text: str, percent_question: bool) -> str:
    """In a percent question the number before ``%`` is the answer (``7\\%`` → ``7``);
    elsewhere ``7\\%`` is the value 7/100 (math-verify alone would call it 7 or 0.07
    depending on the number's type)."""
    text = _PERCENT_SIGN.sub(r"\\%", text)
    if percent_question:
        return text.replace("\\%", "")
    return text.replace("\\%", "\\cdot\\frac{1}{100}")


# --------------------------------------------------------------------------- degrees, units

_DEGREES = re.compile(r"\^\s*\{\s*\\circ\s*\}|\^\s*\\circ|°|\\degree\b|(?<=\d)\s*\\circ\b")
# Words after a number that change its value, so they are never units: a magnitude
# (``5 million`` is 5·10^6, read as such) and an operation or fraction word (``5 squared``,
# ``3 halves``, ``10 factorial``: left as written, so they never equal the bare number).
_MAGNITUDES = {
    "hundred": "10^{2}", "thousand": "10^{3}", "million": "10^{6}", "billion": "10^{9}",
    "trillion": "10^{12}", "dozen": "12",
}
_CHANGES_VALUE = (
    r"(?:hundred|thousand|million|billion|trillion|dozen)s?|squared|cubed|factorial|mod|modulo"
    r"|halves|thirds|quarters|fourths|fifths|sixths|sevenths|eighths|ninths|tenths"
    r"|hundredths|thousandths|millionths|power|powers|root|roots"
)
# A trailing unit written as text (``5\text{ cm}``, ``12\mbox{ inches}``, ``20\text{ cm}^2``)
# after something that ends like a value.
_TEXT_UNIT = re.compile(
    r"(?<=[\d}).])\s*\\(?:text|mbox|textnormal|textrm|mathrm)\s*\{"
    rf"\s*(?!(?:{_CHANGES_VALUE})\b)[A-Za-z][A-Za-z .]*\}}"
    r"(?:\s*\^\s*\{?\s*[23]\s*\}?)?\s*$"
)
# A plain number followed by one to three unit words (``1,000 dollars``, ``3 square units``).
# Words of one or two letters are variables (``5 x`` is 5x), except the common unit symbols;
# words that relate the number to something else ("5 and more") are not units.
_NOT_UNITS = (
    r"(?!(?:and|not|nor|but|plus|minus|times|over|than|less|more|fewer|are"
    rf"|{_CHANGES_VALUE})\b)"
)
_UNIT_WORD = rf"{_NOT_UNITS}(?:[A-Za-z]{{3,}}|cm|mm|km|ft|kg|mg|ml|oz|lb|hr|mi|yd)"
_NUMBER_WORDS = re.compile(
    rf"^(-?\d[\d,.]*|\\frac\{{\d+\}}\{{\d+\}})\s+{_UNIT_WORD}(?:\s+{_UNIT_WORD}){{0,2}}\.?$"
)


# A number times a magnitude, then optional unit words: ``5 million``, ``2.5 billion
# dollars``, ``3\text{ million}`` (out of its ``\text{}`` first).
_MAGNITUDE_WORDS = re.compile(
    rf"^(-?\d[\d,.]*)\s+({'|'.join(_MAGNITUDES)})s?(?:\s+{_UNIT_WORD}){{0,2}}\.?$"
)


# ``5\text{ squared}``: out of its ``\text{}``, which math-verify would drop as a unit.
_TEXT_CHANGES_VALUE = re.compile(
    rf"\\(?:text|mbox|textnormal|textrm|mathrm)\s*\{{(\s*(?:{_CHANGES_VALUE})\b[A-Za-z .]*)\}}"
)


def _units(text: str) -> str:
    text = _DEGREES.sub("", text).strip()
    text = _TEXT_CHANGES_VALUE.sub(lambda m: " " + m.group(1).strip(), text)
    magnitude = _MAGNITUDE_WORDS.match(text)
    if magnitude:
        number = _thousands(magnitude.group(1))
        return f"{number}\\cdot {_MAGNITUDES[magnitude.group(2)]}"
    text = _TEXT_UNIT.sub("", text).strip()
    match = _NUMBER_WORDS.match(text)
    return match.group(1) if match else text


# --------------------------------------------------------------------------- numbers

# A whole answer that is one number with exact 3-digit groups: ``10,000``, ``1{,}000``,
# ``10\,000``, ``1 000 000``, ``1,234.5``. Written with a space after the comma it is a list.
_GROUPED = re.compile(
    r"^([-\u2212]?)(\d{1,3}(?:(?:,|\\,|\\;|\\ |~| )\d{3})+)(\.\d+)?$"
)
_GROUP_SEP = re.compile(r",|\\,|\\;|\\ |~| ")


def _thousands(text: str) -> str:
    match = _GROUPED.match(text)
    if match is None:
        return text
    sign, digits, decimals = match.groups()
    return f"{'-' if sign else ''}{_GROUP_SEP.sub('', digits)}{decimals or ''}"


# ``\text{A, C}`` / ``\text{(A), (C)}``: a multiple-choice answer naming several options.
_OPTION_LIST = re.compile(
    r"^\\text\s*\{\s*(\(?[A-Za-z]\)?(?:\s*(?:,|and)\s*\(?[A-Za-z]\)?)+)\s*\}$"
)
_OPTION = re.compile(r"\(?([A-Za-z])\)?")


def _option_list(text: str) -> str:
    match = _OPTION_LIST.match(text)
    if match is None:
        return text
    letters = _OPTION.findall(re.sub(r"\band\b", ",", match.group(1)))
    return ", ".join(letters)


# --------------------------------------------------------------------------- Python spellings

_PY_POWER = re.compile(r"\*\*")
_PY_INFINITY = re.compile(r"(?<![A-Za-z\\])(?:oo|inf|infinity)(?![A-Za-z])")
_PY_PI = re.compile(r"(?<![A-Za-z\\])pi(?![A-Za-z])")


def python_to_latex(text: str) -> str:
    """Teachers compute in Python, so answers come as ``x**2``, ``(-oo, 3]`` or ``4*pi``
    (sympy's own printing); math-verify reads ``oo`` and ``pi`` as products of letters."""
    text = _PY_POWER.sub("^", text)
    text = _PY_INFINITY.sub(r"\\infty", text)
    return _PY_PI.sub(r"\\pi ", text).strip()


# --------------------------------------------------------------------------- entry point


def normalise_answer(text: str, *, percent_question: bool) -> str:
    """One answer (reference or prediction, already out of its box and delimiters) with the
    typography MATH uses removed, ready to be parsed by math-verify."""
    text = strip_money(text).strip()
    text = text.replace("\\!", "").replace("{,}", ",")
    text = _percent(text, percent_question).strip()
    text = _units(text)
    text = _thousands(text)
    return _option_list(text)
