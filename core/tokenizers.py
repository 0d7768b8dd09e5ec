"""Token counters, chosen by name: the ``tokens`` filter (the name goes into the manifest) and
``collect --estimate`` count with them.

``o200k_base`` (tiktoken; the GPT-4o family) is the default because it is what most teachers
bill and limit by. tiktoken downloads its BPE file on first use; on a machine without that
file (offline, or a cold cache) loading fails, and we say so in one line instead of silently
counting with something else: a different tokenizer would change which records a dataset
holds while its manifest still said ``o200k_base``. Offline alternatives are explicit names:

- any tiktoken encoding already cached (``TIKTOKEN_CACHE_DIR``), e.g. ``cl100k_base``;
- ``hf:PATH/tokenizer.json`` or ``hf:ORG/NAME`` (needs the ``tokenizers`` package);
- ``chars4`` (ceil(characters / 4), the usual rule of thumb) or ``whitespace`` (words).
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from pathlib import Path

from trajkit.core.errors import ParamError

DEFAULT_TOKENIZER = "o200k_base"
OFFLINE = ("chars4", "whitespace")

Counter = Callable[[str], int]


def _chars4(text: str) -> int:
    return (len(text) + 3) // 4


def _whitespace(text: str) -> int:
    return len(text.split())


def _one_line(exc: BaseException) -> str:
    text = " ".join(str(exc).split()) or type(exc).__name__
    return f"{type(exc).__name__}: {text if len(text) <= 100 else text[:99] + '…'}"


def _hint() -> str:
    return f"offline? fill TIKTOKEN_CACHE_DIR, or use hf:PATH/tokenizer.json, {' or '.join(OFFLINE)}"


def _tiktoken(name: str) -> Counter:
    try:
        import tiktoken
    except ImportError:
        raise ParamError("tokenizer", f"{name!r} needs the tiktoken package; {_hint()}") from None
    if name not in tiktoken.list_encoding_names():
        raise ParamError(
            "tokenizer",
            f"unknown tokenizer {name!r} (tiktoken encodings: "
            f"{', '.join(tiktoken.list_encoding_names())}; or hf:NAME, {', '.join(OFFLINE)})",
        )
    try:
        encoding = tiktoken.get_encoding(name)
    except Exception as exc:  # network errors, hash mismatches, cache permission errors
        raise ParamError("tokenizer", f"cannot load {name!r} ({_one_line(exc)}); {_hint()}") from None

    def count(text: str) -> int:
        return len(encoding.encode_ordinary(text))

    return count


def _huggingface(ref: str) -> Counter:
    try:
        from tokenizers import Tokenizer
    except ImportError:
        raise ParamError(
            "tokenizer", f"hf:{ref} needs the tokenizers package (pip install tokenizers)"
        ) from None
    try:
        tok = Tokenizer.from_file(ref) if Path(ref).is_file() else Tokenizer.from_pretrained(ref)
    except Exception as exc:
        raise ParamError("tokenizer", f"cannot load hf:{ref} ({_one_line(exc)}); {_hint()}") from None

    def count(text: str) -> int:
        return len(tok.encode(text, add_special_tokens=False).ids)

    return count


@functools.lru_cache(maxsize=8)
def load_tokenizer(name: str) -> Counter:
    """The counter called ``name``; ``ParamError("tokenizer", …)`` (one line) if unavailable."""
    if name == "chars4":
        return _chars4
    if name == "whitespace":
        return _whitespace
    if name.startswith("hf:"):
        ref = name[3:]
        if not ref:
            raise ParamError("tokenizer", "hf: needs a tokenizer.json path or a Hub name")
        return _huggingface(ref)
    return _tiktoken(name)
