"""The response cache: hits cost nothing, failures are never stored, keys see every input."""

from __future__ import annotations

import sqlite3

import pytest

import trajkit.collect.teachers.cache as cache_module
from trajkit.collect.teachers.base import Completion, TeacherError
from trajkit.collect.teachers.cache import CachingTeacher, ResponseCache, request_key
from trajkit.core.errors import StorageError
from trajkit.schemas import Message, TeacherInfo, Usage


class CountingTeacher:
    def __init__(self, params: dict | None = None, fail: bool = False) -> None:
        self.calls = 0
        self.fail = fail
        self._info = TeacherInfo(provider="openai", model="m", params=params or {})

    @property
    def info(self) -> TeacherInfo:
        return self._info

    async def complete(self, messages, stop, *, task_id):
        self.calls += 1
        if self.fail:
            raise TeacherError("rate limited")
        return Completion(text=f"<solution>{len(messages)}</solution>", usage=Usage(input_tokens=10, output_tokens=3, calls=1))

    async def aclose(self) -> None:
        pass


MESSAGES = [Message(role="system", content="s"), Message(role="user", content="q")]


async def test_second_identical_request_is_a_free_hit(tmp_path):
    inner = CountingTeacher()
    teacher = CachingTeacher(inner, ResponseCache(tmp_path / "c.sqlite"))
    first = await teacher.complete(MESSAGES, ["</solution>"], task_id="t")
    second = await teacher.complete(MESSAGES, ["</solution>"], task_id="other-task")
    assert inner.calls == 1 and second.text == first.text
    assert second.usage.cached_calls == 1 and second.usage.input_tokens == 10
    assert first.usage.cached_calls == 0
    await teacher.aclose()


async def test_cache_survives_reopening(tmp_path):
    path = tmp_path / "c.sqlite"
    one = CachingTeacher(CountingTeacher(), ResponseCache(path))
    await one.complete(MESSAGES, [], task_id="t")
    await one.aclose()
    inner = CountingTeacher()
    two = CachingTeacher(inner, ResponseCache(path))
    await two.complete(MESSAGES, [], task_id="t")
    assert inner.calls == 0
    await two.aclose()


async def test_a_call_the_run_paid_for_and_lost_is_charged_when_replayed(tmp_path):
    """An audit's interrupted runs reported ~9% less than they paid: the turns of an episode
    lost to Ctrl-C or SIGKILL were paid, then replayed on resume from the cache as free. A
    hit on a row the same run paid for is charged now; another run's hit stays free."""
    path = tmp_path / "c.sqlite"
    killed = CachingTeacher(CountingTeacher(), ResponseCache(path), run="r")
    paid = await killed.complete(MESSAGES, [], task_id="t")  # its episode is never recorded
    await killed.aclose()
    resumed_inner = CountingTeacher()
    resumed = CachingTeacher(resumed_inner, ResponseCache(path), run="r")
    again = await resumed.complete(MESSAGES, [], task_id="t")
    assert resumed_inner.calls == 0 and again.text == paid.text
    assert again.usage.cached_calls == 0 and again.usage.input_tokens == 10  # charged once
    await resumed.aclose()
    other = CachingTeacher(CountingTeacher(), ResponseCache(path), run="another")
    assert (await other.complete(MESSAGES, [], task_id="t")).usage.cached_calls == 1
    await other.aclose()


async def test_one_process_charges_a_call_once_however_many_tasks_share_it(tmp_path):
    """Two tasks with the same prompt in one run: the second's hit on the row the first paid
    for was charged again (run.json over-reported); a lost episode's replay in a new process
    is still charged once."""
    path = tmp_path / "c.sqlite"
    inner = CountingTeacher()
    teacher = CachingTeacher(inner, ResponseCache(path), run="r")
    first = await teacher.complete(MESSAGES, [], task_id="a")
    twin = await teacher.complete(MESSAGES, [], task_id="b")
    assert inner.calls == 1 and first.usage.cached_calls == 0 and twin.usage.cached_calls == 1
    await teacher.aclose()
    resumed = CachingTeacher(CountingTeacher(), ResponseCache(path), run="r")
    lost = await resumed.complete(MESSAGES, [], task_id="a")  # charged to the replaying episode
    again = await resumed.complete(MESSAGES, [], task_id="b")
    assert (lost.usage.cached_calls, again.usage.cached_calls) == (0, 1)
    await resumed.aclose()


async def test_a_file_from_before_paid_by_is_migrated(tmp_path):
    path = tmp_path / "old.sqlite"
    db = sqlite3.connect(path)
    db.execute(cache_module.SCHEMA)
    db.execute(
        "INSERT INTO responses (key, provider, model, request, text, usage) VALUES (?,?,?,?,?,?)",
        ("k", "openai", "m", "{}", "old", Usage(input_tokens=4).model_dump_json()),
    )
    db.commit()
    db.close()
    cache = ResponseCache(path)
    hit = cache.get("k", "r")
    assert hit is not None and hit.text == "old" and hit.usage.cached_calls == 1  # payer unknown
    cache.close()


async def test_failures_are_not_cached(tmp_path):
    cache = ResponseCache(tmp_path / "c.sqlite")
    failing = CachingTeacher(CountingTeacher(fail=True), cache)
    with pytest.raises(TeacherError):
        await failing.complete(MESSAGES, [], task_id="t")
    inner = CountingTeacher()
    await CachingTeacher(inner, cache).complete(MESSAGES, [], task_id="t")
    assert inner.calls == 1


def test_key_changes_with_every_input():
    info = TeacherInfo(provider="openai", model="m", params={"temperature": 0})
    base = request_key(info, MESSAGES, ["</execute>"])[0]
    assert request_key(info, MESSAGES, ["</execute>"])[0] == base
    assert request_key(info, MESSAGES, [])[0] != base
    assert request_key(info, [*MESSAGES, Message(role="assistant", content="x")], ["</execute>"])[0] != base
    other_params = info.model_copy(update={"params": {"temperature": 1}})
    assert request_key(other_params, MESSAGES, ["</execute>"])[0] != base
    other_model = info.model_copy(update={"model": "n"})
    assert request_key(other_model, MESSAGES, ["</execute>"])[0] != base


@pytest.mark.parametrize("content", [b"garbage\n" * 100, b"SQLite format 3\x00" + b"\xff" * 60])
def test_a_corrupt_cache_file_is_one_storage_error_naming_it(tmp_path, content):
    """Garbage, or a file cut inside its header: a StorageError naming the file and the way
    out (before the fix: sqlite3.DatabaseError's traceback); the file is left as it was."""
    path = tmp_path / "cache" / "responses.sqlite"
    path.parent.mkdir()
    path.write_bytes(content)
    with pytest.raises(StorageError) as err:
        ResponseCache(path)
    message = str(err.value)
    assert message.startswith(f"{path}: cannot open the response cache (")
    assert "--no-cache" in message and "remove the file" in message and "\n" not in message
    assert path.read_bytes() == content


def test_a_truncated_cache_file_is_a_storage_error(tmp_path):
    path = tmp_path / "c.sqlite"
    cache = ResponseCache(path)
    cache.put("k", TeacherInfo(provider="openai", model="m"), "{}",
              Completion(text="x", usage=Usage(calls=1)))
    cache.close()
    path.write_bytes(path.read_bytes()[:50])  # cut inside the header
    with pytest.raises(StorageError, match="response cache"):
        ResponseCache(path)


@pytest.mark.parametrize("reason", ["database or disk is full", "disk I/O error"])
def test_a_cache_the_disk_refuses_is_one_storage_error(tmp_path, monkeypatch, reason):
    """A nearly full disk fails the cache's first write (journal mode, table): StorageError
    naming the file, suggesting --no-cache (before the fix: sqlite3.OperationalError)."""

    class FullDisk(sqlite3.Connection):
        def execute(self, sql, *args):
            if "CREATE TABLE" in sql or "journal_mode" in sql:
                raise sqlite3.OperationalError(reason)
            return super().execute(sql, *args)

    connect = sqlite3.connect
    monkeypatch.setattr(cache_module.sqlite3, "connect",
                        lambda *a, **k: connect(*a, **k, factory=FullDisk))
    path = tmp_path / "c.sqlite"
    with pytest.raises(StorageError) as err:
        ResponseCache(path)
    assert str(err.value) == (
        f"{path}: cannot open the response cache ({reason}); free space or use --no-cache"
    )
