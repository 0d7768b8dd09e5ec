"""Token counters, chosen by name: the ``tokens`` filter (the name goes into the manifest) and
``collect --estimate`` count with them.

``o200k_base`` (tiktoken; the GPT-4o family) is the default because it is what most teachers
bill and limit by. tiktoken downloads its BPE file on first use; on a machine without that
file (offline, or a cold cache) loading fails, and we say so in one line instead of silently
counting with something else: a different tokenizer would change which records a dataset
holds while its manifest still said ``o200k_base``. Offline alternatives are explicit names:

- any tiktoken encoding already cached (``TIKTOKEN_CACHE_DIR``), e.g. ``cl100k_base``;
- ``hf:PATH/tokenizer.json`` or ``hf:ORG/NAME`` (needs the ``tokenizers`` package; a file is
  recorded as ``hf:tokenizer.json@sha256:HEX``, see ``recorded_name``);
- ``chars4`` (ceil(characters / 4), the usual rule of thumb) or ``whitespace`` (words).
"""

from __future__ import annotations

import functools
import hashlib
import os
import tempfile
from collections.abc import Callable
from pathlib import Path

from trajkit.core.errors import ParamError
from trajkit.core.reference_files import pin_file, split_pin

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
        file, digest = split_pin(ref)
        if digest is not None:  # a file as a manifest records it: found by its content
            return _huggingface(str(pin_file("tokenizer", file, digest).path))
        return _huggingface(ref)
    return _tiktoken(name)


def recorded_name(name: str) -> str:
    """``name`` as a manifest records it: an ``hf:`` tokenizer *file* by its name and sha256
    (``hf:tokenizer.json@sha256:…``, kept in the reference store, ``core.reference_files``),
    never by the building machine's path; every other name as it is."""
    if not name.startswith("hf:") or split_pin(name[3:])[1] is not None:
        return name
    ref = Path(name[3:]).expanduser()
    if not ref.is_file():
        return name  # a Hub name
    return f"hf:{pin_file('tokenizer', ref).pin}"


#: The offline counter used when ``o200k_base`` is not on this machine.
FALLBACK_TOKENIZER = "chars4"

#: Where tiktoken's public encodings are fetched from; tiktoken caches each file under the
#: sha1 of this URL (``tiktoken.load.read_file_cached``).
_TIKTOKEN_URLS = {
    "o200k_base": "https://openaipublic.blob.core.windows.net/encodings/o200k_base.tiktoken",
}


def _tiktoken_cached(name: str) -> bool:
    """Whether tiktoken would load ``name`` from its cache, i.e. without the network.

    Mirrors tiktoken's own lookup (``TIKTOKEN_CACHE_DIR``, then ``DATA_GYM_CACHE_DIR``, then
    ``$TMPDIR/data-gym-cache``; an empty value disables the cache). If tiktoken ever changes
    it, this says "not cached" and callers count with ``chars4`` and say so.
    """
    url = _TIKTOKEN_URLS.get(name)
    if url is None:
        return False
    for var in ("TIKTOKEN_CACHE_DIR", "DATA_GYM_CACHE_DIR"):
        if var in os.environ:
            cache_dir = os.environ[var]
            break
    else:
        cache_dir = os.path.join(tempfile.gettempdir(), "data-gym-cache")
    if not cache_dir:
        return False
    return os.path.isfile(os.path.join(cache_dir, hashlib.sha1(url.encode()).hexdigest()))


@functools.lru_cache(maxsize=1)
def offline_tokenizer() -> tuple[str, Callable[[str], int]]:
    """``(name, counter)``: ``o200k_base`` when its BPE file is cached here, else ``chars4``.

    Decided once per process (every replay teacher of a run, and ``collect --estimate``, count
    alike) and never by trying a download: an offline machine must not wait on the network.
    """
    if _tiktoken_cached(DEFAULT_TOKENIZER):
        try:
            return DEFAULT_TOKENIZER, load_tokenizer(DEFAULT_TOKENIZER)
        except ParamError:  # a damaged cache file, a missing tiktoken
            pass
    return FALLBACK_TOKENIZER, load_tokenizer(FALLBACK_TOKENIZER)
