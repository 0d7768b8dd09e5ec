"""The ``corpus`` search backend: bm25s over a user's Wikipedia abstracts file, cached on disk.

Indexing millions of abstracts takes minutes, so it happens once per file: the index lives in
``CACHE/corpus/<sha256>-v<N>/``, found again through a stamp keyed by the file's path, size
and mtime (a stat, not a re-hash, on every later run). Within a process the index is opened
once and shared by every episode. Page texts stay on disk (``docs.jsonl`` read by offset), so
memory holds only the BM25 matrix, the vocabulary and two arrays of title hashes.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import shutil
import tempfile
import threading
from array import array
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from trajkit.core.errors import DataError
from trajkit.core.jsonl import TornTail, iter_json_lines
from trajkit.sources.hotpotqa.bm25 import exact_first
from trajkit.sources.hotpotqa.text import Hit, split_sentences, title_key, title_keys, tokenize

logger = logging.getLogger(__name__)

#: Bump when tokenization or the cache layout changes: old indexes are then rebuilt.
INDEX_FORMAT = 1
#: Text kept per page: more than any summary cap (``summary_chars`` is at most 4000).
STORED_CHARS = 4000

_OPEN: dict[Path, CorpusIndex] = {}
_OPEN_LOCK = threading.Lock()


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def _title_hash(key: str) -> int:
    """64-bit stable hash of a title key (Python's ``hash`` changes between processes)."""
    return int.from_bytes(hashlib.blake2b(key.encode(), digest_size=8).digest(), "little")


def content_sha256(path: Path, cache_dir: Path) -> str:
    """The file's sha256, computed once per (path, size, mtime) and remembered in a stamp."""
    st = path.stat()
    ident = f"{path.resolve()}\0{st.st_size}\0{st.st_mtime_ns}"
    stamp = cache_dir / "stamps" / (hashlib.sha256(ident.encode()).hexdigest()[:32] + ".json")
    try:
        return str(json.loads(stamp.read_text())["sha256"])
    except (OSError, ValueError, KeyError, TypeError):
        pass
    sha = _sha256(path)
    stamp.parent.mkdir(parents=True, exist_ok=True)
    tmp = stamp.with_suffix(f".{os.getpid()}.tmp")
    tmp.write_text(json.dumps({"sha256": sha, "path": str(path.resolve()), "size": st.st_size}))
    os.replace(tmp, stamp)
    return sha


def _page_sentences(text: Any, where: str) -> list[str]:
    if isinstance(text, str):
        sentences = split_sentences(text)
    elif isinstance(text, list) and all(isinstance(s, str) for s in text):
        sentences = [" ".join(s.split()) for s in text if s.strip()]
    else:
        raise DataError(f"{where}: 'text' must be a string or a list of sentences")
    kept, used = [], 0
    for sentence in sentences:
        if used >= STORED_CHARS:
            break
        kept.append(sentence)
        used += len(sentence) + 1
    return kept


def read_corpus(path: Path) -> Iterator[tuple[str, list[str]]]:
    """``(title, sentences)`` per line of a ``{"title", "text"}`` JSONL file."""
    torn: list[TornTail] = []
    for lineno, obj in iter_json_lines(path, torn):
        where = f"{path}:{lineno}"
        if not isinstance(obj, dict):
            raise DataError(f"{where}: expected a JSON object with 'title' and 'text'")
        title = obj.get("title")
        if not isinstance(title, str) or not title.strip():
            raise DataError(f"{where}: missing or empty 'title'")
        yield title.strip(), _page_sentences(obj.get("text", ""), where)
    if torn:
        raise DataError(f"{path}:{torn[0].lineno}: not valid JSON (truncated last line)")


def build_index(corpus: Path, out: Path) -> int:
    """Tokenize and index ``corpus`` into the directory ``out``; return the page count."""
    import bm25s
    import numpy as np

    vocab: dict[str, int] = {}
    doc_ids: list[array] = []
    offsets = array("q", [0])
    keys: list[tuple[int, int]] = []
    with (out / "docs.jsonl").open("wb") as docs:
        for n, (title, sentences) in enumerate(read_corpus(corpus)):
            tokens = tokenize(title + " " + " ".join(sentences))
            doc_ids.append(array("i", (vocab.setdefault(t, len(vocab)) for t in tokens)))
            line = json.dumps([title, sentences], ensure_ascii=False).encode() + b"\n"
            docs.write(line)
            offsets.append(offsets[-1] + len(line))
            keys.extend((_title_hash(k), n) for k in title_keys(title))
    if not doc_ids:
        raise DataError(f"{corpus}: the corpus has no pages")
    retriever = bm25s.BM25()
    retriever.index((doc_ids, vocab), show_progress=False)
    retriever.save(str(out), show_progress=False)
    keys.sort()
    np.save(out / "offsets.npy", np.asarray(offsets, dtype=np.int64))
    np.save(out / "title_hashes.npy", np.asarray([h for h, _ in keys], dtype=np.uint64))
    np.save(out / "title_docs.npy", np.asarray([d for _, d in keys], dtype=np.int64))
    return len(doc_ids)


class CorpusIndex:
    """An opened index: BM25 scores from bm25s, exact title matches first (a page titled as
    the query before its disambiguated namesakes, as in the context backend), texts from
    disk."""

    def __init__(self, directory: Path, built: bool) -> None:
        import bm25s
        import numpy as np

        self.directory = directory
        self.built = built  # True when this process had to index the file (tests, logging)
        self._np = np
        self._retriever = bm25s.BM25.load(str(directory), mmap=True, show_progress=False)
        self._offsets = np.load(directory / "offsets.npy")
        self._title_hashes = np.load(directory / "title_hashes.npy")
        self._title_docs = np.load(directory / "title_docs.npy")
        self._fd = os.open(directory / "docs.jsonl", os.O_RDONLY)
        self.size = len(self._offsets) - 1

    @classmethod
    def open(cls, corpus: str | Path, cache_dir: str | Path) -> CorpusIndex:
        """The index of ``corpus``: this process's copy, the cached one, or a new build."""
        corpus = Path(corpus).expanduser()
        if not corpus.is_file():
            raise DataError(f"{corpus}: no such corpus file")
        root = Path(cache_dir).expanduser() / "corpus"
        directory = root / f"{content_sha256(corpus, root)}-v{INDEX_FORMAT}"
        with _OPEN_LOCK:
            index = _OPEN.get(directory)
            if index is None:
                built = False
                if not (directory / "meta.json").exists():
                    _build_into(corpus, directory)
                    built = True
                index = _OPEN[directory] = cls(directory, built)
            return index

    def _page(self, doc: int) -> Hit:
        start, end = int(self._offsets[doc]), int(self._offsets[doc + 1])
        title, sentences = json.loads(os.pread(self._fd, end - start, start))
        return Hit(title, tuple(sentences))

    def search(self, query: str, k: int) -> list[Hit]:
        """The ``k`` best pages for ``query``; ties go to the earlier page in the file."""
        np = self._np
        h = np.uint64(_title_hash(title_key(query)))
        lo = int(np.searchsorted(self._title_hashes, h, side="left"))
        hi = int(np.searchsorted(self._title_hashes, h, side="right"))
        exact = exact_first(
            [int(d) for d in self._title_docs[lo:hi]], query, lambda d: self._page(d).title
        )
        vocab = self._retriever.vocab_dict
        ids = list(dict.fromkeys(vocab[t] for t in tokenize(query) if t in vocab))
        ranked: list[int] = []
        if ids:
            scores = self._retriever.get_scores_from_ids(ids)
            candidates = np.flatnonzero(scores > 0)
            if len(candidates) > k:
                part = np.argpartition(-scores[candidates], k - 1)[:k]
                candidates = candidates[part]
            order = np.lexsort((candidates, -scores[candidates]))
            ranked = [int(d) for d in candidates[order]]
        docs = list(dict.fromkeys([*exact, *ranked]))[:k]
        return [self._page(d) for d in docs]

    def close(self) -> None:
        os.close(self._fd)


def _build_into(corpus: Path, directory: Path) -> None:
    """Build in a scratch directory, then rename: a crash or a concurrent builder never
    leaves a half-written index where ``open`` would trust it."""
    directory.parent.mkdir(parents=True, exist_ok=True)
    scratch = Path(tempfile.mkdtemp(prefix=".build-", dir=directory.parent))
    try:
        logger.warning("hotpotqa: indexing %s once (cached in %s)", corpus, directory)
        pages = build_index(corpus, scratch)
        (scratch / "meta.json").write_text(
            json.dumps({"corpus": str(corpus.resolve()), "pages": pages, "format": INDEX_FORMAT})
        )
        try:
            os.rename(scratch, directory)
        except OSError:
            if not (directory / "meta.json").exists():
                raise
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


def forget_open_indexes() -> None:
    """Drop this process's opened indexes (tests use it to prove the disk cache is reused)."""
    with _OPEN_LOCK:
        for index in _OPEN.values():
            index.close()
        _OPEN.clear()
