"""A response cache in front of any teacher: never pay twice for the same request.

Every request/response is stored in SQLite, keyed by a hash of provider, model, messages,
stop sequences and sampling params (and, for native tool calling, the tools offered and the
messages' tool fields: added to the key only when present, so a plain request's key is what
it always was and existing caches stay valid). A resumed run (its in-flight episodes were lost) or a
repeated run replays stored turns instead of calling the API again, which also makes
temperature-0 collections exactly reproducible. Only successful completions are stored.

What a run spent stays counted: each row names the run that paid for it (``paid_by``). A hit
on a row the same run paid for is a call that run made, then lost with an interrupted
episode; it is charged to the episode that uses it (not marked ``cached_calls``), so
``run.json``'s cost and ``--max-cost`` see every call a run paid for, once. Once: a teacher
remembers the keys it has charged, so a second hit in the same process (two tasks with the
same prompt) is free. A hit on another run's row (a repeated run) is free, as it always was.

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
from typing import Any

from pydantic import TypeAdapter, ValidationError

from trajkit.collect.teachers.base import Completion, Teacher, tools_kwarg
from trajkit.collect.teachers.sample import current_sample
from trajkit.core.errors import StorageError
from trajkit.schemas import Message, TeacherInfo, ToolCall, Usage
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
#: Added after the first release, by ``ALTER TABLE`` on open, so files written before them
#: stay readable and writable: a turn's native tool calls (a JSON list; NULL: none) and the
#: run that paid for the row (NULL: unknown, an older file).
TOOL_CALLS_COLUMN = "tool_calls"
PAID_BY_COLUMN = "paid_by"
ADDED_COLUMNS = (TOOL_CALLS_COLUMN, PAID_BY_COLUMN)
_CALLS = TypeAdapter(list[ToolCall])


def _message_key(m: Message) -> list[Any]:
    """A message in the key: ``[role, content]`` as always, plus its tool fields only when
    it has any (an old plain key is unchanged)."""
    extra: dict[str, Any] = {}
    if m.tool_calls:
        extra["tool_calls"] = [[c.id, c.name, c.arguments] for c in m.tool_calls]
    if m.tool_call_id is not None:
        extra["tool_call_id"] = m.tool_call_id
    if m.is_error:
        extra["is_error"] = True
    return [m.role, m.content, extra] if extra else [m.role, m.content]


def request_key(
    info: TeacherInfo,
    messages: list[Message],
    stop: list[str],
    sample: int | None = None,
    tools: list[dict[str, Any]] | None = None,
) -> tuple[str, str]:
    """(hash, canonical request JSON) for one call; any change to what is sent changes it.

    ``sample`` (default: the calling episode's attempt, ``teachers.sample``) tells apart
    independent attempts at the same conversation; attempt 1 adds nothing to the key.
    ``tools`` (the function schemas offered) add to it only when offered.
    """
    sample = current_sample() if sample is None else sample
    fields: dict[str, object] = {
        "provider": info.provider,
        "model": info.model,
        "params": info.params,
        "stop": stop,
        "messages": [_message_key(m) for m in messages],
    }
    if sample != 1:
        fields["sample"] = sample
    if tools:
        fields["tools"] = tools
    request = json.dumps(
        fields,
        sort_keys=True,
        ensure_ascii=False,
        separators=(",", ":"),
    )
    # ``surrogatepass``: the same bytes as UTF-8 for valid text, and a key (not a crash) for a
    # conversation that slipped a lone surrogate past every boundary.
    return hashlib.sha256(request.encode("utf-8", "surrogatepass")).hexdigest(), request


def _open_error(path: Path, reason: str) -> StorageError:
    """The one-line error for a cache file that cannot be opened (the run stops before any
    call is paid for; nothing is written to the file)."""
    if any(word in reason.lower() for word in ("not a database", "malformed", "corrupt")):
        hint = "remove the file (it only saves repeated calls) or use --no-cache"
    else:
        hint = "free space or use --no-cache"
    return StorageError(f"{path}: cannot open the response cache ({reason}); {hint}")


class ResponseCache:
    """One SQLite file shared by runs (WAL, so concurrent collectors can read while one writes)."""

    def __init__(self, path: Path) -> None:
        """Open (or create) the file; one the disk or its content refuses is a
        ``StorageError`` naming it (disk full, read-only, not a database), never a traceback."""
        self.path = path
        self._lock = threading.Lock()
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise _open_error(path, exc.strerror or str(exc)) from None
        try:
            self._db = sqlite3.connect(path, check_same_thread=False, timeout=30)
        except sqlite3.Error as exc:
            raise _open_error(path, str(exc)) from None
        try:
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA synchronous=NORMAL")
            self._db.execute(SCHEMA)
            self._add_columns()
            self._db.commit()
        except sqlite3.Error as exc:
            self._db.close()
            raise _open_error(path, str(exc)) from None

    def _add_columns(self) -> None:
        """Migrate a file from before ``ADDED_COLUMNS`` (another process may race us)."""
        columns = {row[1] for row in self._db.execute("PRAGMA table_info(responses)")}
        for name in ADDED_COLUMNS:
            if name in columns:
                continue
            try:
                self._db.execute(f"ALTER TABLE responses ADD COLUMN {name} TEXT")
            except sqlite3.OperationalError as exc:  # added meanwhile by another collector
                if "duplicate column" not in str(exc).lower():
                    raise

    def get(self, key: str, run: str | None = None) -> Completion | None:
        """The stored answer, or None (also for a row that cannot be read back: a miss).
        Marked ``cached_calls`` (free) unless ``run`` is the run that paid for it."""
        try:
            with self._lock:
                row = self._db.execute(
                    "SELECT text, usage, stop_reason, tool_calls, paid_by FROM responses "
                    "WHERE key = ?",
                    (key,),
                ).fetchone()
            if row is None:
                return None
            text, stop_reason, stored_calls = row[0], row[2], row[3]
            if not isinstance(text, str) or not isinstance(stop_reason, (str, type(None))):
                raise ValueError("a stored field is not text")
            usage = Usage.model_validate_json(row[1])
            if run is None or row[4] != run:
                usage = usage.model_copy(update={"cached_calls": 1})
            calls = [] if stored_calls is None else _CALLS.validate_json(stored_calls)
        except (sqlite3.Error, ValueError, TypeError, ValidationError) as exc:
            log.warning("response cache %s: unreadable entry %s… (%s); asking the teacher",
                        self.path, key[:12], exc)
            return None
        return Completion(
            text=text, usage=usage, stop_reason=stop_reason, raw={"cached": True},
            tool_calls=calls,
        )

    def put(
        self, key: str, info: TeacherInfo, request: str, completion: Completion,
        run: str | None = None,
    ) -> None:
        """Store one answer (``run``: the run that paid for it); a failure to store costs only
        a future cache hit, never the turn."""
        try:
            with self._lock:
                calls = completion.tool_calls
                self._db.execute(
                    "INSERT OR REPLACE INTO responses (key, provider, model, request, text, "
                    "usage, stop_reason, tool_calls, paid_by) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    (
                        key, info.provider, info.model, request, completion.text,
                        completion.usage.model_dump_json(), completion.stop_reason,
                        _CALLS.dump_json(calls).decode() if calls else None, run,
                    ),
                )
                self._db.commit()
        except (sqlite3.Error, ValueError, TypeError, AttributeError) as exc:
            log.warning("response cache %s: cannot store %s… (%s)", self.path, key[:12], exc)

    def close(self) -> None:
        with self._lock:
            self._db.close()


def _short(key: str) -> int:
    """A request key's first 64 bits (keys are sha256 hex digests)."""
    return int(key[:16], 16)


class CachingTeacher:
    """Wraps a teacher; cache hits cost nothing and are marked ``cached_calls=1``, except
    hits on what ``run`` itself paid for (see the module's docstring)."""

    def __init__(self, inner: Teacher, cache: ResponseCache, run: str | None = None) -> None:
        self.inner = inner
        self.cache = cache
        self.run = run
        self.hits = 0
        self.misses = 0
        # Keys whose call an episode of this process paid, as their first 64 bits: one entry
        # per call of a long run, so ints (a third of a 64-hex-digit str), colliding ~never.
        self._charged: set[int] = set()

    @property
    def info(self) -> TeacherInfo:
        return self.inner.info

    async def complete(
        self,
        messages: list[Message],
        stop: list[str],
        *,
        task_id: str,
        tools: list[dict[str, Any]] | None = None,
    ) -> Completion:
        key, request = request_key(self.info, messages, stop, tools=tools)
        hit = self.cache.get(key, self.run)
        if hit is not None:
            self.hits += 1
            if not hit.usage.cached_calls:  # this run paid for it: charged to one episode
                if _short(key) in self._charged:
                    usage = hit.usage.model_copy(update={"cached_calls": 1})
                    return dataclasses.replace(hit, usage=usage)
                self._charged.add(_short(key))
            return hit
        self.misses += 1
        completion = await self.inner.complete(messages, stop, task_id=task_id, **tools_kwarg(tools))
        if isinstance(completion, Completion) and isinstance(completion.text, str):
            # Stored and returned as valid Unicode, so a hit is the same turn as the miss.
            completion = dataclasses.replace(completion, text=valid_text(completion.text))
            self.cache.put(key, self.info, request, completion, self.run)
            self._charged.add(_short(key))
        return completion  # anything else is the loop's to refuse, uncached

    async def aclose(self) -> None:
        await self.inner.aclose()
        self.cache.close()


def with_cache(teacher: Teacher, path: Path, run: str | None = None) -> CachingTeacher:
    """``teacher`` behind a response cache at ``path`` (callers skip providers that are not
    ``cacheable``, such as replays); ``run``: the run whose calls it pays for."""
    return CachingTeacher(teacher, ResponseCache(path), run)
