"""A response cache in front of any teacher: never pay twice for the same request.

Every request/response is stored in SQLite, keyed by a hash of provider, model, messages,
stop sequences and sampling params. A resumed run (its in-flight episodes were lost) or a
repeated run replays stored turns instead of calling the API again, which also makes
temperature-0 collections exactly reproducible. Only successful completions are stored.

The cache only ever saves money, so it never ends an episode: a row it cannot read (a
locked or damaged file, a stored usage that does not parse) is a miss, and a row it cannot
write is skipped with a warning.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import logging
import sqlite3
import threading
from pathlib import Path

from trajkit.collect.teachers.base import Completion, Teacher
from trajkit.collect.teachers.sample import current_sample
from trajkit.schemas import Message, TeacherInfo, Usage
from trajkit.schemas.text import valid_text

log = logging.getLogger(__name__)

SCHEMA = """
CREATE TABLE IF NOT EXISTS responses (
    key TEXT PRIMARY KEY,
    provider TEXT NOT NULL,
    model TEXT NOT NULL,
    request TEXT NOT NULL,
    text TEXT NOT NULL,
    usage TEXT NOT NULL,
    stop_reason TEXT,
    created_at TEXT NOT NULL DEFAULT CURRENT_TIMESTAMP
)
"""


def request_key(
    info: TeacherInfo, messages: list[Message], stop: list[str], sample: int | None = None
) -> tuple[str, str]:
    """(hash, canonical request JSON) for one call; any change to what is sent changes it.

    ``sample`` (default: the calling episode's attempt, ``teachers.sample``) tells apart
    independent attempts at the same conversation; attempt 1 adds nothing to the key.
    """
    sample = current_sample() if sample is None else sample
    fields: dict[str, object] = {
        "provider": info.provider,
        "model": info.model,
        "params": info.params,
        "stop": stop,
        "messages": [[m.role, m.content] for m in messages],
    }
    if sample != 1:
        fields["sample"] = sample
    request = json.dumps(
        fields,
        sort_keys=True,
        ensure_ascii=False,
        separators=(",", ":"),
    )
    # ``surrogatepass``: the same bytes as UTF-8 for valid text, and a key (not a crash) for a
    # conversation that slipped a lone surrogate past every boundary.
    return hashlib.sha256(request.encode("utf-8", "surrogatepass")).hexdigest(), request


class ResponseCache:
    """One SQLite file shared by runs (WAL, so concurrent collectors can read while one writes)."""

    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        self._lock = threading.Lock()
        self._db = sqlite3.connect(path, check_same_thread=False, timeout=30)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=NORMAL")
        self._db.execute(SCHEMA)
        self._db.commit()

    def get(self, key: str) -> Completion | None:
        """The stored answer, or None (also for a row that cannot be read back: a miss)."""
        try:
            with self._lock:
                row = self._db.execute(
                    "SELECT text, usage, stop_reason FROM responses WHERE key = ?", (key,)
                ).fetchone()
            if row is None:
                return None
            text, stop_reason = row[0], row[2]
            if not isinstance(text, str) or not isinstance(stop_reason, (str, type(None))):
                raise ValueError("a stored field is not text")
            usage = Usage.model_validate_json(row[1]).model_copy(update={"cached_calls": 1})
        except (sqlite3.Error, ValueError, TypeError) as exc:
            log.warning("response cache %s: unreadable entry %s… (%s); asking the teacher",
                        self.path, key[:12], exc)
            return None
        return Completion(text=text, usage=usage, stop_reason=stop_reason, raw={"cached": True})

    def put(self, key: str, info: TeacherInfo, request: str, completion: Completion) -> None:
        """Store one answer; a failure to store costs only a future cache hit, never the turn."""
        try:
            with self._lock:
                self._db.execute(
                    "INSERT OR REPLACE INTO responses (key, provider, model, request, text, "
                    "usage, stop_reason) VALUES (?, ?, ?, ?, ?, ?, ?)",
                    (
                        key, info.provider, info.model, request, completion.text,
                        completion.usage.model_dump_json(), completion.stop_reason,
                    ),
                )
                self._db.commit()
        except (sqlite3.Error, ValueError, TypeError, AttributeError) as exc:
            log.warning("response cache %s: cannot store %s… (%s)", self.path, key[:12], exc)

    def close(self) -> None:
        with self._lock:
            self._db.close()


class CachingTeacher:
    """Wraps a teacher; cache hits cost nothing and are marked ``cached_calls=1``."""

    def __init__(self, inner: Teacher, cache: ResponseCache) -> None:
        self.inner = inner
        self.cache = cache
        self.hits = 0
        self.misses = 0

    @property
    def info(self) -> TeacherInfo:
        return self.inner.info

    async def complete(
        self, messages: list[Message], stop: list[str], *, task_id: str
    ) -> Completion:
        key, request = request_key(self.info, messages, stop)
        hit = self.cache.get(key)
        if hit is not None:
            self.hits += 1
            return hit
        self.misses += 1
        completion = await self.inner.complete(messages, stop, task_id=task_id)
        if isinstance(completion, Completion) and isinstance(completion.text, str):
            # Stored and returned as valid Unicode, so a hit is the same turn as the miss.
            completion = dataclasses.replace(completion, text=valid_text(completion.text))
            self.cache.put(key, self.info, request, completion)
        return completion  # anything else is the loop's to refuse, uncached

    async def aclose(self) -> None:
        await self.inner.aclose()
        self.cache.close()


def with_cache(teacher: Teacher, path: Path) -> CachingTeacher:
    """``teacher`` behind a response cache at ``path`` (callers skip providers that are not
    ``cacheable``, such as replays)."""
    return CachingTeacher(teacher, ResponseCache(path))
