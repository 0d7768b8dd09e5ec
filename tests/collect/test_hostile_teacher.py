"""Hostile teacher answers, through the real SDKs over HTTP to the loopback server (issue 19).

Every body a broken or hostile server can send with status 200 (wrong JSON shapes, token
counts that are strings, negative or huge, ``null`` or non-JSON bodies, JSON nested past the
parser's recursion limit, lone surrogates escaped or as raw bytes) either becomes a turn made
of valid Unicode or ends the call as a ``TeacherError``, never another exception; in a real
run the episode ends as ``teacher_error`` and the run completes.
"""

from __future__ import annotations

import asyncio
import json
import sqlite3
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import pytest
from loopback_teacher import LoopbackServer
from loopback_wire import HOSTILE_KINDS, surrogate_policy
from math_tasks import answer_directly, task_number, write_problems
from support import require_isolation

from trajkit.collect.config import CollectConfig
from trajkit.collect.runner import collect
from trajkit.collect.teachers.anthropic_teacher import AnthropicTeacher
from trajkit.collect.teachers.base import Teacher, TeacherError
from trajkit.collect.teachers.openai_teacher import OpenAITeacher
from trajkit.collect.teachers.replay_teacher import ReplayTeacher
from trajkit.schemas import Message, Trajectory
from trajkit.schemas.text import REPLACEMENT
from trajkit.sources.base import LoadOptions

STOP = ["</execute>", "</solution>"]
PROVIDERS = ["openai", "anthropic"]
CONVO = [Message(role="system", content="You are a CodeAct agent."),
         Message(role="user", content="Please add two numbers.")]
#: Bodies that are a well-formed turn after all (the field is optional, or the fault is in the
#: other protocol's body); every other hostile kind must be refused as a ``TeacherError``.
_ACCEPTED = {
    ("openai", "raw_surrogates"), ("anthropic", "raw_surrogates"),
    ("anthropic", "anthropic_stop_sequence_unrequested"),
}


def _accepted(provider: str, kind: str) -> bool:
    other = "anthropic_" if provider == "openai" else "openai_"
    return (provider, kind) in _ACCEPTED or kind.startswith(other)


@pytest.fixture
async def make(loopback: LoopbackServer) -> AsyncIterator[Callable[..., Teacher]]:
    made: list[Teacher] = []

    def build(provider: str, **params: Any) -> Teacher:
        cls = OpenAITeacher if provider == "openai" else AnthropicTeacher
        teacher = cls("model-x", {"max_retries": 0, **params})
        made.append(teacher)
        return teacher

    yield build
    for t in made:
        await t.aclose()


@pytest.mark.parametrize("provider", PROVIDERS)
@pytest.mark.parametrize("kind", HOSTILE_KINDS)
async def test_a_hostile_body_is_a_teacher_error_or_a_valid_turn(
    loopback: LoopbackServer, make: Callable[..., Teacher], provider: str, kind: str
) -> None:
    loopback.set_policy(surrogate_policy())
    loopback.fail_next(1, 200, kind)
    teacher = make(provider)
    if _accepted(provider, kind):
        completion = await teacher.complete(CONVO, STOP, task_id="t")
        completion.text.encode()  # valid Unicode: no lone surrogate survived
        assert REPLACEMENT in completion.text and "<execute>" in completion.text
        assert "X" * 100 not in completion.text  # a stop sequence nobody asked for stays out
        assert completion.usage.input_tokens >= 0 and completion.usage.calls == 1
        return
    with pytest.raises(TeacherError) as caught:
        await teacher.complete(CONVO, STOP, task_id="t")
    assert type(caught.value) is TeacherError
    assert str(caught.value).startswith(f"{provider}:model-x: ")
    assert "\n" not in str(caught.value) and len(str(caught.value)) < 400


@pytest.mark.parametrize("provider", PROVIDERS)
async def test_escaped_surrogates_become_replacement_characters(
    loopback: LoopbackServer, make: Callable[..., Teacher], provider: str
) -> None:
    loopback.set_policy(surrogate_policy())
    completion = await make(provider).complete(CONVO, STOP, task_id="t")
    r = REPLACEMENT
    assert completion.text == f"Let me look {r} first.\n<execute>print('a{r}b')</execute>"


# ----------------------------------------------------------------------------- real runs
def _config(
    tmp_path: Path, provider: str, *, run: str = "r", tasks: int = 3, **extra: Any
) -> CollectConfig:
    params = {"temperature": 0.0, "max_tokens": 4096, "max_retries": 0}
    return CollectConfig(
        source="math", teacher=f"{provider}:loop-model", teacher_params=params,
        load=LoadOptions(data=str(write_problems(tmp_path / "p.jsonl", tasks))),
        out=tmp_path / "out", run=run, concurrency=1, **{"cache": False, **extra},
    )


def _records(config: CollectConfig) -> list[Trajectory]:
    path = config.run_dir / "trajectories.jsonl"
    lines = path.read_bytes().decode("utf-8").splitlines()  # strict UTF-8: no surrogate bytes
    return sorted((Trajectory.model_validate_json(line) for line in lines), key=lambda r: r.task_id)


def surrogate_then_answer(messages: list[dict]) -> str:
    """Task i: a turn with lone surrogates in prose and code, then the right answer."""
    if sum(m["role"] == "assistant" for m in messages) == 0:
        return surrogate_policy()(messages)
    return f"Done \udbff. <solution>{task_number(messages) + 1}</solution>"


@pytest.mark.parametrize("provider", PROVIDERS)
@pytest.mark.parametrize("raw", [False, True], ids=["json-escaped", "raw-bytes"])
async def test_surrogates_are_recorded_cached_and_replayed_as_valid_text(
    tmp_path: Path, loopback: LoopbackServer, provider: str, raw: bool
) -> None:
    """Before: the cache's UTF-8 encode (or the next request, or the record) raised and the
    run died. Now each lone surrogate is U+FFFD everywhere, and a repeat is answered from the
    response cache with identical conversations (the keys are deterministic)."""
    require_isolation()
    loopback.set_policy(surrogate_then_answer)
    if raw:
        loopback.fail_next(6, 200, "raw_surrogates")
    config = _config(tmp_path, provider, cache=True)
    result = await collect(config)
    records = _records(config)
    assert result.manifest.status == "completed" and result.exit_code == 0
    assert [r.termination.value for r in records] == ["solved"] * 3
    first = records[0]
    assert REPLACEMENT in first.steps[0].assistant and REPLACEMENT in first.steps[1].assistant
    assert first.steps[0].action.content == f"print('a{REPLACEMENT}b')"
    assert first.steps[0].observation is not None
    assert first.steps[0].observation.text.strip() == f"a{REPLACEMENT}b"  # ran as sanitised
    rows = sqlite3.connect(config.cache_path).execute("SELECT count(*) FROM responses").fetchone()
    assert rows == (6,)

    calls = loopback.request_count
    again = await collect(config.model_copy(update={"run": "r2"}))
    assert again.manifest.status == "completed" and loopback.request_count == calls
    replayed = _records(config.model_copy(update={"run": "r2"}))
    assert [r.messages for r in replayed] == [r.messages for r in records]
    assert all(r.usage.cached_calls == 2 for r in replayed)


@pytest.mark.parametrize(
    ("provider", "kind"),
    [
        ("openai", "body_null"), ("openai", "deep_nesting"), ("openai", "usage_negative"),
        ("openai", "openai_content_list"), ("openai", "openai_message_null"),
        ("openai", "openai_choices_dict"), ("openai", "body_html"),
        ("anthropic", "body_list"), ("anthropic", "usage_string"),
        ("anthropic", "anthropic_content_null"), ("anthropic", "anthropic_text_null"),
        ("anthropic", "anthropic_usage_missing"),
    ],
)
async def test_a_hostile_body_ends_one_episode_as_teacher_error(
    tmp_path: Path, loopback: LoopbackServer, provider: str, kind: str
) -> None:
    require_isolation()
    loopback.set_policy(answer_directly)
    loopback.fail_next(1, 200, kind)
    config = _config(tmp_path, provider)
    result = await collect(config)
    records = _records(config)
    manifest = json.loads((config.run_dir / "run.json").read_text())
    assert manifest["status"] == "completed" and result.exit_code == 1
    assert records[0].termination.value == "teacher_error"
    assert "malformed response" in records[0].termination_detail
    assert all(r.success for r in records[1:])
    usage = manifest["usage"]
    assert all(isinstance(v, int) and 0 <= v < 10**6 for v in usage.values())  # no -5, no 10^30


async def test_replay_recordings_with_lone_surrogates_are_valid_text(tmp_path: Path) -> None:
    path = tmp_path / "rec.jsonl"
    path.write_text(json.dumps({"task_id": "t", "turns": ["<solution>\ud800</solution>"]}) + "\n")
    completion = await ReplayTeacher(path).complete(CONVO, STOP, task_id="t")
    assert completion.text == f"<solution>{REPLACEMENT}</solution>"


@pytest.mark.parametrize("provider", PROVIDERS)
async def test_batch_answers_with_surrogates_complete_instead_of_hanging(
    tmp_path: Path, loopback: LoopbackServer, provider: str
) -> None:
    """Before: storing a batch answer holding a lone surrogate raised inside the task that
    follows the batch, so its episodes waited forever. Now the run completes."""
    require_isolation()
    loopback.set_policy(surrogate_then_answer)
    config = _config(tmp_path, provider, mode="batch", batch_poll_s=0.02)
    result = await asyncio.wait_for(collect(config), 120)
    records = _records(config)
    assert result.manifest.status == "completed"
    assert [r.termination.value for r in records] == ["solved"] * 3
    assert REPLACEMENT in records[0].steps[0].assistant


@pytest.mark.parametrize(
    ("provider", "line"),
    [
        ("openai", {"custom_id": "k", "response": {"status_code": 200, "body": {"choices": 7}}}),
        ("openai", {"custom_id": "k", "response": "oops"}),
        ("openai", {"custom_id": "k", "response": {"status_code": "x", "body": {}}}),
        ("openai", {"custom_id": "k", "response": {"status_code": 400, "body": {"error": 3}}}),
        ("anthropic", {"custom_id": "k", "result": {"type": "succeeded", "message": None}}),
        ("anthropic", {"custom_id": "k", "result": {"type": "errored", "error": [1]}}),
        ("anthropic", {"custom_id": "k", "result": "oops"}),
        ("anthropic", {"custom_id": "k", "result": {"type": "succeeded", "message": {
            "content": [{"type": "text", "text": "hi"}], "usage": {"input_tokens": -1}}}}),
    ],
)
async def test_a_hostile_batch_result_line_is_that_request_s_teacher_error(
    loopback: LoopbackServer, make: Callable[..., Teacher], provider: str, line: dict
) -> None:
    """Batch result lines go through the same checks as live answers, one line at a time."""
    from trajkit.collect.teachers.anthropic_batch import AnthropicBatchBackend
    from trajkit.collect.teachers.openai_batch import OpenAIBatchBackend

    teacher = make(provider)
    if provider == "openai":
        read = OpenAIBatchBackend(teacher).line_outcome(json.dumps(line), {"k": STOP})
    else:
        read = AnthropicBatchBackend(teacher).item_outcome(line, {"k": STOP})
    assert read is not None and read[0] == "k" and type(read[1]) is TeacherError


@pytest.mark.parametrize("line", ["[" * 100_000, "[1, 2]", "null", "not json", ""])
async def test_an_unreadable_batch_line_is_skipped(
    loopback: LoopbackServer, make: Callable[..., Teacher], line: str
) -> None:
    from trajkit.collect.teachers.openai_batch import OpenAIBatchBackend

    assert OpenAIBatchBackend(make("openai")).line_outcome(line, {}) is None


@pytest.mark.parametrize("stored", ["negative", "garbage"])
async def test_a_cached_answer_with_bad_usage_never_reaches_run_json_nor_crashes(
    tmp_path: Path, loopback: LoopbackServer, stored: str
) -> None:
    """A response cache filled before the boundary existed may hold a hostile server's
    negative counts: they replay as 0 (free, and out of run.json). A row that cannot be read
    back at all is a miss: the teacher is asked again, the run does not crash."""
    require_isolation()
    loopback.set_policy(answer_directly)
    config = _config(tmp_path, "openai", cache=True)
    await collect(config)
    usage = {"input_tokens": -5, "output_tokens": -1, "calls": 1, "cached_calls": 0}
    db = sqlite3.connect(config.cache_path)
    db.execute("UPDATE responses SET usage = ?",
               (json.dumps(usage) if stored == "negative" else "not json",))
    db.commit()
    db.close()
    calls = loopback.request_count
    result = await collect(config.model_copy(update={"run": "r2"}))
    assert result.manifest.status == "completed"
    if stored == "negative":
        assert loopback.request_count == calls and result.manifest.usage.cached_calls == 3
        assert result.manifest.usage.input_tokens == result.manifest.usage.output_tokens == 0
    else:
        assert loopback.request_count == calls + 3 and result.manifest.usage.input_tokens > 0


async def test_a_run_holding_nonsense_counts_from_before_resumes_without_them(
    tmp_path: Path, loopback: LoopbackServer
) -> None:
    """A record written before the boundary existed may hold a hostile server's counts
    (-5000, 10^30). Its run still resumes (refusing the record would fail every resume),
    and the nonsense reaches neither run.json nor anything read from the record."""
    require_isolation()
    loopback.set_policy(answer_directly)
    config = _config(tmp_path, "openai")
    await collect(config)
    path = config.run_dir / "trajectories.jsonl"
    first, *rest = path.read_text().splitlines()
    old = json.loads(first)
    old["usage"].update(input_tokens=-5000, output_tokens=10**30)
    old["steps"][0]["usage"]["input_tokens"] = -5000
    path.write_text("\n".join([json.dumps(old), *rest]) + "\n")
    result = await collect(config)
    assert result.skipped == 3 and result.manifest.status == "completed"
    others = [Trajectory.model_validate_json(line).usage for line in rest]
    assert result.manifest.usage.input_tokens == sum(u.input_tokens for u in others)
    assert result.manifest.usage.output_tokens == sum(u.output_tokens for u in others)
    read = Trajectory.model_validate_json(json.dumps(old))
    assert read.usage.input_tokens == read.usage.output_tokens == 0
    assert read.steps[0].usage.input_tokens == 0


@pytest.mark.parametrize("provider", PROVIDERS)
async def test_a_hostile_error_message_becomes_a_short_valid_detail(
    tmp_path: Path, loopback: LoopbackServer, provider: str
) -> None:
    """A 400 whose message holds a lone surrogate and 100,000 characters: before, the
    surrogate in ``termination_detail`` made the record unwritable and stopped the run."""
    require_isolation()
    loopback.set_policy(answer_directly)
    loopback.fail_next(1, 400, "hostile_message")
    config = _config(tmp_path, provider)
    result = await collect(config)
    records = _records(config)
    assert result.manifest.status == "completed" and len(records) == 3
    detail = records[0].termination_detail
    assert records[0].termination.value == "teacher_error" and "bad request (400)" in detail
    assert f"Bad {REPLACEMENT} request" in detail and len(detail) < 400
