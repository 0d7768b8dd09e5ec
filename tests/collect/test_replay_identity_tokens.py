"""The replay teacher's identity (file name + content hash, never a path: issue 13 item 6) and
its token counts (counted with the filters' tokenizer, marked as counted, still free and
uncached: issue 20)."""

from __future__ import annotations

import hashlib
import json
import shutil
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from support import require_isolation

import trajkit
from trajkit.collect.teachers import replay_teacher
from trajkit.collect.teachers.base import TeacherError
from trajkit.collect.teachers.provider import make_teacher, provider_for
from trajkit.collect.teachers.replay_teacher import TOKENS_COUNTED_WITH, ReplayTeacher
from trajkit.core import tokenizers
from trajkit.core.errors import ParamError
from trajkit.core.tokenizers import load_tokenizer, offline_tokenizer
from trajkit.dataset import summary
from trajkit.schemas import Message
from trajkit.sources.math import DEMO_REPLAY

STOP = ["</execute>", "</solution>"]
RECORDING = {"task_id": "a", "turns": ["<execute>print(1 + 1)</execute> and more", "<solution>2</solution>"]}


def write(path: Path, rows: list[object]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return path


def convo(*assistant: str) -> list[Message]:
    msgs = [Message(role="system", content="You are a CodeAct agent."),
            Message(role="user", content="Add one and one.")]
    for text in assistant:
        msgs += [Message(role="assistant", content=text), Message(role="user", content="Observation: 2")]
    return msgs


@pytest.fixture
def fresh_choice() -> Iterator[None]:
    """The per-process tokenizer choice, made again for this test (and after it)."""
    offline_tokenizer.cache_clear()
    yield
    offline_tokenizer.cache_clear()


# ------------------------------------------------------------------------------- identity


def test_a_replay_teacher_is_named_by_file_and_content_hash_not_by_path(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    home = tmp_path / "collector-home-Kw9q"
    here = write(home / "recordings" / "x_replay.jsonl", [RECORDING])
    digest = hashlib.sha256(here.read_bytes()).hexdigest()
    info = make_teacher(f"replay:{here}", {"temperature": 0}).info
    assert (info.provider, info.model) == ("replay", f"x_replay.jsonl@sha256:{digest[:12]}")
    assert "collector-home-Kw9q" not in info.model_dump_json()
    # The same bytes anywhere are the same teacher; different bytes under the same name are not.
    copy = tmp_path / "elsewhere" / "x_replay.jsonl"
    copy.parent.mkdir()
    shutil.copy(here, copy)
    assert ReplayTeacher(copy).info.model == info.model
    other = write(tmp_path / "other" / "x_replay.jsonl", [RECORDING, {"task_id": "b", "turns": ["t"]}])
    assert ReplayTeacher(other).info.model.startswith("x_replay.jsonl@sha256:")
    assert ReplayTeacher(other).info.model != info.model
    # A relative path as typed names the same teacher too.
    monkeypatch.chdir(home)
    assert make_teacher("replay:recordings/x_replay.jsonl", {}).info.model == info.model


async def test_replay_errors_recorded_as_details_do_not_name_the_path(tmp_path: Path) -> None:
    """A teacher error becomes a record's termination detail: it names the recording as the
    record does, not where it was on the collecting machine."""
    teacher = ReplayTeacher(write(tmp_path / "collector-home-Kw9q" / "r.jsonl", [RECORDING]))
    for messages, task in ((convo(), "zzz"), (convo("1", "2"), "a")):
        with pytest.raises(TeacherError) as err:
            await teacher.complete(messages, STOP, task_id=task)
        assert "collector-home-Kw9q" not in str(err.value) and teacher.name in str(err.value)


def test_a_file_changing_while_loaded_is_read_again(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The name's hash must be the hash of the turns that are replayed."""
    path = write(tmp_path / "r.jsonl", [RECORDING])
    real = replay_teacher.load_recordings
    calls = []

    def append_once(p: Path) -> dict[str, list[str]]:
        calls.append(p)
        if len(calls) == 1:  # another writer appends while we read
            with open(p, "a") as fh:
                fh.write(json.dumps({"task_id": "b", "turns": ["late"]}) + "\n")
        return real(p)

    monkeypatch.setattr(replay_teacher, "load_recordings", append_once)
    monkeypatch.setattr(replay_teacher, "_last_read", {})  # not parsed by an earlier test
    teacher = ReplayTeacher(path)
    assert len(calls) == 2 and teacher.task_ids == ["a", "b"]
    assert teacher.name.endswith(hashlib.sha256(path.read_bytes()).hexdigest()[:12])


def test_the_run_check_and_the_teacher_parse_a_recording_once_and_a_change_again(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``ReplayProvider.check_tasks`` (before the run) and the teacher share one parse of the
    same bytes; a file that changed since is parsed again, so its turns and hash agree."""
    path = write(tmp_path / "r.jsonl", [RECORDING])
    real, calls = replay_teacher.load_recordings, []
    monkeypatch.setattr(replay_teacher, "load_recordings", lambda p: calls.append(p) or real(p))
    monkeypatch.setattr(replay_teacher, "_last_read", {})
    provider, model = provider_for(f"replay:{path}")
    assert provider.check_tasks(model, ["a"]) is None
    assert ReplayTeacher(path).task_ids == ["a"] and len(calls) == 1
    write(path, [RECORDING, {"task_id": "b", "turns": ["late"]}])
    assert ReplayTeacher(path).task_ids == ["a", "b"] and len(calls) == 2


# --------------------------------------------------------------------------------- tokens


async def test_every_turn_counts_what_was_sent_and_what_was_replayed(tmp_path: Path) -> None:
    teacher = ReplayTeacher(write(tmp_path / "r.jsonl", [RECORDING]), {"temperature": 0}, tokenizer="chars4")
    count = load_tokenizer("chars4")
    first = await teacher.complete(convo(), STOP, task_id="a")
    assert first.text == "<execute>print(1 + 1)</execute>"  # cut at the stop, then counted
    sent = convo()
    assert (first.usage.input_tokens, first.usage.output_tokens, first.usage.calls) == (
        sum(count(m.content) for m in sent), count(first.text), 1)
    second_sent = convo(first.text)
    second = await teacher.complete(second_sent, STOP, task_id="a")
    assert second.usage.input_tokens == sum(count(m.content) for m in second_sent)
    assert second.usage.output_tokens == count("<solution>2</solution>") > 0
    assert second.usage.cached_calls == 0  # counted, not served from a cache
    info = teacher.info
    assert info.params == {"temperature": 0, TOKENS_COUNTED_WITH: "chars4"}


async def test_the_tokenizer_is_loaded_once_per_teacher_and_texts_counted_once(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    loads: list[str] = []
    counted: list[str] = []

    def fake_load(name: str) -> Callable[[str], int]:
        loads.append(name)

        def count(text: str) -> int:
            counted.append(text)
            return len(text)

        return count

    monkeypatch.setattr(replay_teacher, "load_tokenizer", fake_load)
    teacher = ReplayTeacher(write(tmp_path / "r.jsonl", [RECORDING]), tokenizer="whitespace")
    first = await teacher.complete(convo(), STOP, task_id="a")
    await teacher.complete(convo(first.text), STOP, task_id="a")
    assert loads == ["whitespace"]
    assert len(counted) == len(set(counted))  # the system prompt and the task: counted once


def test_o200k_base_counts_when_its_file_is_on_this_machine_else_chars4_without_a_download(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, fresh_choice: None
) -> None:
    import tiktoken.load

    def no_network(*args: object, **kwargs: object) -> bytes:
        raise AssertionError("a replay must never try to download a tokenizer")

    monkeypatch.setattr(tiktoken.load, "read_file", no_network)
    monkeypatch.setenv("TIKTOKEN_CACHE_DIR", str(tmp_path / "empty-cache"))
    assert offline_tokenizer()[0] == "chars4"
    recording = write(tmp_path / "r.jsonl", [RECORDING])
    assert ReplayTeacher(recording).info.params[TOKENS_COUNTED_WITH] == "chars4"

    # With the BPE file cached (as tiktoken names it), o200k_base is chosen.
    cache = tmp_path / "cache"
    cache.mkdir()
    url = "https://openaipublic.blob.core.windows.net/encodings/o200k_base.tiktoken"
    (cache / hashlib.sha1(url.encode()).hexdigest()).write_bytes(b"stand-in")
    monkeypatch.setenv("TIKTOKEN_CACHE_DIR", str(cache))
    loaded: list[str] = []

    def fake_load(name: str) -> Callable[[str], int]:
        loaded.append(name)
        return len

    monkeypatch.setattr(tokenizers, "load_tokenizer", fake_load)
    offline_tokenizer.cache_clear()
    assert offline_tokenizer()[0] == "o200k_base" and loaded == ["o200k_base"]
    assert ReplayTeacher(recording).info.params[TOKENS_COUNTED_WITH] == "o200k_base"

    # A cached file that does not load (damaged): chars4, said so.
    def damaged(name: str) -> Callable[[str], int]:
        if name == "o200k_base":
            raise ParamError("tokenizer", "cannot load 'o200k_base' (hash mismatch)")
        return load_tokenizer(name)

    monkeypatch.setattr(tokenizers, "load_tokenizer", damaged)
    offline_tokenizer.cache_clear()
    assert offline_tokenizer()[0] == "chars4"
    # An empty TIKTOKEN_CACHE_DIR disables tiktoken's cache: nothing is on this machine.
    monkeypatch.setenv("TIKTOKEN_CACHE_DIR", "")
    assert not tokenizers._tiktoken_cached("o200k_base")


def test_the_record_key_is_the_one_dataset_code_reads() -> None:
    assert summary.TOKENS_COUNTED_WITH == TOKENS_COUNTED_WITH


# ---------------------------------------------------------------------------- a whole run


def test_a_replay_run_reports_counted_tokens_free_and_uncached(tmp_path: Path) -> None:
    require_isolation()
    run = trajkit.collect("math", f"replay:{DEMO_REPLAY}", out=tmp_path, run="m", concurrency=4, limit=6)
    records = list(run.records())
    assert records and run.status == "completed"
    name = ReplayTeacher(DEMO_REPLAY).info.model
    for traj in records:
        assert traj.teacher.model == name and str(DEMO_REPLAY.parent) not in traj.model_dump_json()
        assert traj.teacher.params[TOKENS_COUNTED_WITH] == offline_tokenizer()[0]
        assert traj.usage.input_tokens > 0 and traj.usage.output_tokens > 0
        assert all(s.usage.input_tokens > 0 and s.usage.cached_calls == 0 for s in traj.steps)
    manifest = json.loads((run.path / "run.json").read_text())
    assert manifest["usage"]["input_tokens"] == sum(t.usage.input_tokens for t in records) > 0
    assert manifest["cost_usd"] == 0  # free: counted tokens are not a bill
    stats = trajkit.stats(run.path)
    assert (stats.tokens_in, stats.tokens_out) == (
        sum(t.usage.input_tokens for t in records), sum(t.usage.output_tokens for t in records))
    # --estimate calibrates on the run's own episodes, whose output tokens are now counted.
    est = trajkit.estimate("math", f"replay:{DEMO_REPLAY}", out=tmp_path, run="m")
    assert est.basis.startswith("averages of this run's") and est.pending == est.tasks - len(records)
    per_turn = sum(s.usage.output_tokens for t in records for s in t.steps) / sum(
        len(t.steps) for t in records)
    assert est.output_tokens == round(est.pending * est.turns * per_turn) > 0
