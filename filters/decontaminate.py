"""``decontaminate``: drop trajectories sharing a long n-gram with an evaluation set.

A model trained on a benchmark's test problems (or on a teacher reciting them) scores on that
benchmark what it memorised. The usual test (GPT-3's, and most since) is a shared word
13-gram: long enough that ordinary phrasing ("let me compute the value of x") never matches,
short enough to catch a paraphrased preamble around a copied problem.

Text is normalised before matching: lowercased, every run of characters that are not letters
or digits is a word break. Both the task prompt and every assistant turn are checked (a
teacher may recite a test problem it remembers); n-grams never span two turns.

Reference files: ``.jsonl`` (one record per line), ``.json`` (a list of records, or an object
with a ``data`` list), anything else is plain text (the whole file is one document). A record
is a string, or an object whose ``field`` (default: the first of ``problem``, ``question``,
``prompt``, ``text`` it has) holds the text. The files' names and sha256 are the ``params`` (so
the dataset fingerprint follows the content: an edited reference set gives a new version), and
each file is kept in the reference store by its hash (``core.reference_files``), so a rebuild
from the manifest reads the very bytes it was built with, and one that cannot find them is
refused instead of producing different data.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

from trajkit.core.jsonl import parse_json
from trajkit.core.reference_files import pin_file
from trajkit.filters.base import KEEP, Decision, Drop, ParamError
from trajkit.schemas import Trajectory

DEFAULT_N = 13
AUTO_FIELDS = ("problem", "question", "prompt", "text")
_WORD = re.compile(r"[^\W_]+")


def words(text: str) -> list[str]:
    """Lowercased words, punctuation and underscores as breaks."""
    return _WORD.findall(text.lower())


def _text_of(record: Any, field: str | None, where: str) -> str:
    if isinstance(record, str):
        return record
    if not isinstance(record, dict):
        raise ParamError("paths", f"{where}: expected a string or an object, got {type(record).__name__}")
    keys = [field] if field else [k for k in AUTO_FIELDS if k in record]
    if not keys or keys[0] not in record:
        wanted = repr(field) if field else "/".join(AUTO_FIELDS)
        raise ParamError("field", f"{where}: no {wanted} key (set field to the key holding the text)")
    value = record[keys[0]]
    return value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)


def reference_texts(path: Path, field: str | None, name: str | None = None) -> Iterator[str]:
    """Every evaluation text in one reference file (format by extension, see module doc);
    errors name it ``name`` (default: its path)."""
    shown = name or str(path)
    suffix = path.suffix.lower()
    try:
        if suffix == ".jsonl":
            with open(path, encoding="utf-8") as fh:
                for lineno, line in enumerate(fh, 1):
                    if line.strip():
                        yield _text_of(parse_json(line), field, f"{shown}:{lineno}")
        elif suffix == ".json":
            data = parse_json(path.read_text(encoding="utf-8"))
            if isinstance(data, dict) and isinstance(data.get("data"), list):
                data = data["data"]
            if not isinstance(data, list):
                raise ParamError("paths", f"{shown}: expected a JSON list of records (or {{'data': [...]}})")
            for i, record in enumerate(data):
                yield _text_of(record, field, f"{shown}[{i}]")
        else:
            yield path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ParamError("paths", f"{shown}: cannot read ({type(exc).__name__}: {exc})") from None


class DecontaminateFilter:
    """Drops ``ngram:prompt:…`` / ``ngram:assistant:…`` naming the first shared n-gram.

    The reason carries the n-gram (so an audit can find the leaked item), which makes it the
    one unit whose reasons are not a fixed set: at most one per dropped record.
    """

    name = "decontaminate"

    def __init__(
        self,
        paths: Iterable[str],
        n: int = DEFAULT_N,
        field: str | None = None,
        sha256: Iterable[str] | None = None,
    ) -> None:
        if isinstance(paths, str):
            paths = [paths]
        if not isinstance(paths, (list, tuple)):
            raise ParamError("paths", f"expected a file path or a list of them, got {paths!r}")
        given = list(paths)
        if not given:
            raise ParamError("paths", "give at least one reference file")
        if isinstance(n, bool) or not isinstance(n, int) or n < 1:
            raise ParamError("n", f"must be a whole number >= 1, got {n!r}")
        if field is not None and (not isinstance(field, str) or not field):
            raise ParamError("field", f"must be a key name, got {field!r}")
        if isinstance(sha256, str):  # one digest for one path, as a user writes it
            sha256 = [sha256]
        if sha256 is not None and not isinstance(sha256, (list, tuple)):
            raise ParamError("sha256", f"expected a digest or a list of them, got {sha256!r}")
        pinned = None if sha256 is None else list(sha256)
        if pinned is not None and len(pinned) != len(given):
            raise ParamError("sha256", f"{len(pinned)} digests for {len(given)} paths")
        files = [
            pin_file("paths", p, None if pinned is None else pinned[i]) for i, p in enumerate(given)
        ]
        # Recorded by name and content, never by path: the manifest is published (see
        # core.reference_files); a rebuild finds the same bytes in the reference store.
        self.paths = [f.name for f in files]
        self.sha256 = [f.sha256 for f in files]
        self.n, self.field = n, field
        self._ngrams: set[tuple[str, ...]] = set()
        self._vocab: set[str] = set()
        for file in files:
            for text in reference_texts(file.path, field, file.name):
                ws = words(text)
                self._vocab.update(ws)
                self._ngrams.update(tuple(ws[i : i + n]) for i in range(len(ws) - n + 1))
        if not self._ngrams:
            raise ParamError("paths", f"no reference text has {n} words; nothing to match")

    @property
    def params(self) -> dict[str, Any]:
        params: dict[str, Any] = {"paths": list(self.paths), "sha256": list(self.sha256), "n": self.n}
        if self.field is not None:
            params["field"] = self.field
        return params

    def match(self, text: str) -> str | None:
        """The first reference n-gram in ``text`` (space-joined), or ``None``.

        Only windows made entirely of reference words can match, so a word outside the
        reference vocabulary resets the run; most windows are never looked up.
        """
        ws, n, vocab, ngrams = words(text), self.n, self._vocab, self._ngrams
        run = 0
        for i, w in enumerate(ws):
            if w not in vocab:
                run = 0
                continue
            run += 1
            if run >= n:
                gram = tuple(ws[i - n + 1 : i + 1])
                if gram in ngrams:
                    return " ".join(gram)
        return None

    def decide(self, traj: Trajectory) -> Decision:
        found = self.match(traj.task.prompt)
        if found is not None:
            return Drop(f"ngram:prompt:{found}")
        for msg in traj.messages:
            if msg.role == "assistant" and (found := self.match(msg.content)) is not None:
                return Drop(f"ngram:assistant:{found}")
        return KEEP
