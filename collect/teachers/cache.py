"""A response cache in front of any teacher: never pay twice for the same request.

Every request/response is stored in SQLite, keyed by a hash of provider, model, messages,
stop sequences and sampling params. A resumed run (its in-flight episodes were lost) or a
repeated run replays stored turns instead of calling the API again, which also makes
temperature-0 collections exactly reproducible. Only successful completions are stored.
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
import threading
from pathlib import Path

from trajkit.collect.teachers.base import Completion, Teacher
from trajkit.schemas import Message, TeacherInfo, Usage

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


def request_key(info: TeacherInfo, messages: list[Message], stop: list[str]) -> tuple[str, str]:
    """(hash, canonical request JSON) for one call; any change to what is sent changes it."""
    request = json.dumps(
        {
            "provider": info.provider,
            "model": info.model,
            "params": info.params,
            "stop": stop,
            "messages": [[m.role, m.content] for m in messages],
        },
        sort_keys=True,
        ensure_ascii=False,
        separators=(",", ":"),
    )
    return hashlib.sha256(request.encode()).hexdigest(), request


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
        with self._lock:
            row = self._db.execute(
                "SELECT text, usage, stop_reason FROM responses WHERE key = ?", (key,)
            ).fetchone()
        if row is None:
            return None
        usage = Usage.model_validate_json(row[1])
        usage = usage.model_copy(update={"cached_calls": 1})
        return Completion(text=row[0], usage=usage, stop_reason=row[2], raw={"cached": True})

    def put(self, key: str, info: TeacherInfo, request: str, completion: Completion) -> None:
        with self._lock:
            self._db.execute(
                "INSERT OR REPLACE INTO responses (key, provider, model, request, text, usage, "
                "stop_reason) VALUES (?, ?, ?, ?, ?, ?, ?)",
                (
                    key, info.provider, info.model, request, completion.text,
                    completion.usage.model_dump_json(), completion.stop_reason,
                ),
            )
            self._db.commit()

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
        self.cache.put(key, self.info, request, completion)
        return completion

    async def aclose(self) -> None:
        await self.inner.aclose()
        self.cache.close()


def with_cache(teacher: Teacher, path: Path) -> CachingTeacher:
    """``teacher`` behind a response cache at ``path`` (callers skip providers that are not
    ``cacheable``, such as replays)."""
    return CachingTeacher(teacher, ResponseCache(path))
