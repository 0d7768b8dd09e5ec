"""Teachers end to end: real SDK → real HTTP → loopback server, plus the replay teacher."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import openai
import pytest
from loopback_teacher import LoopbackServer, ScriptedPolicy

from trajkit.collect.teachers.anthropic_teacher import AnthropicTeacher
from trajkit.collect.teachers.base import ContextLimitError, Teacher, TeacherError
from trajkit.collect.teachers.common import cut_at_stop, restore_closing_tag
from trajkit.collect.teachers.openai_teacher import OpenAITeacher, _restore_stop
from trajkit.collect.teachers.provider import make_teacher
from trajkit.collect.teachers.replay_teacher import ReplayTeacher
from trajkit.core.errors import ConfigError, DataError, TeacherFatalError
from trajkit.schemas import Message

STOP = ["</execute>", "</solution>"]
PROVIDERS = ["openai", "anthropic"]
SCRIPT = {
    "add two": [
        "I will compute it.\n<execute>\nprint(1 + 1)\n</execute>\nObservation: (hallucinated)",
        "The answer is <solution>2</solution> and some trailing chatter",
    ]
}


def convo(*assistant: str, task: str = "Please add two numbers.") -> list[Message]:
    msgs = [
        Message(role="system", content="You are a CodeAct agent."),
        Message(role="user", content=task),
    ]
    for a in assistant:
        msgs += [
            Message(role="assistant", content=a),
            Message(role="user", content="Observation: 2"),
        ]
    return msgs


@pytest.fixture
async def make(loopback: LoopbackServer) -> AsyncIterator[Callable[..., Teacher]]:
    """Build live teachers against the loopback server; all are closed afterwards."""
    made: list[Teacher] = []

    def build(provider: str, model: str = "model-x", **params: Any) -> Teacher:
        cls = OpenAITeacher if provider == "openai" else AnthropicTeacher
        teacher = cls(model, params)
        made.append(teacher)
        return teacher

    yield build
    for t in made:
        await t.aclose()


@pytest.mark.parametrize("provider", PROVIDERS)
async def test_completion_restores_stop_and_records_usage(loopback, make, provider):
    loopback.set_policy(ScriptedPolicy(SCRIPT))
    teacher = make(provider, temperature=0.3, max_tokens=256)
    c = await teacher.complete(convo(), STOP, task_id="t1")
    assert c.text == "I will compute it.\n<execute>\nprint(1 + 1)\n</execute>"
    assert c.usage.calls == 1 and c.usage.input_tokens > 0 and c.usage.output_tokens > 0
    assert c.latency_s > 0
    c2 = await teacher.complete(convo(c.text), STOP, task_id="t1")
    assert c2.text == "The answer is <solution>2</solution>"
    body = loopback.last_request.body
    assert body["temperature"] == 0.3 and body["max_tokens"] == 256
    assert body.get("stop", body.get("stop_sequences")) == STOP
    assert teacher.info.provider == provider and teacher.info.model == "model-x"


@pytest.mark.parametrize("provider", PROVIDERS)
@pytest.mark.parametrize(
    ("said", "stop"),
    [
        ("Just thinking out loud.", STOP),
        ("<execute>print(1)</execute> and that is all.", ["</solution>"]),
        ("<execute>print(1)", ["Observation:"]),
    ],
)
async def test_natural_stop_gets_no_bogus_tag(loopback, make, provider, said, stop):
    loopback.set_policy(lambda msgs: said)
    c = await make(provider).complete(convo(), stop, task_id="t")
    assert c.text == said


@pytest.mark.parametrize("provider", PROVIDERS)
async def test_max_tokens_truncation_is_not_closed(loopback, make, provider):
    loopback.set_policy(lambda msgs: "<execute>\n" + "x = 1\n" * 200 + "</execute>")
    c = await make(provider, max_tokens=10).complete(convo(), STOP, task_id="t")
    assert c.stop_reason in ("length", "max_tokens")
    assert not c.text.endswith("</execute>")


async def test_anthropic_system_prompt_and_merged_turns(loopback, make):
    loopback.set_policy(lambda msgs: "ok")
    msgs = [*convo(), Message(role="user", content="One more thing.")]
    c = await make("anthropic", top_k=5, timeout=30, max_retries=1).complete(msgs, [], task_id="t")
    assert c.text == "ok" and c.stop_reason == "end_turn"
    body = loopback.last_request.body
    ephemeral = {"type": "ephemeral"}  # prompt caching's breakpoints (on by default)
    assert body["system"] == [
        {"type": "text", "text": "You are a CodeAct agent.", "cache_control": ephemeral}
    ]
    assert body["messages"] == [{"role": "user", "content": [
        {"type": "text", "text": "Please add two numbers.\n\nOne more thing.",
         "cache_control": ephemeral},
    ]}]
    assert body["max_tokens"] == 1024 and body["top_k"] == 5
    assert "timeout" not in body and "max_retries" not in body and "stop_sequences" not in body


async def test_openai_sends_system_message_and_extra_params(loopback, make):
    loopback.set_policy(lambda msgs: "ok")
    await make("openai", top_k=40, seed=7).complete(convo(), [], task_id="t")
    body = loopback.last_request.body
    assert body["messages"][0] == {"role": "system", "content": "You are a CodeAct agent."}
    assert body["top_k"] == 40 and body["seed"] == 7 and "stop" not in body


@pytest.mark.parametrize("provider", PROVIDERS)
async def test_retries_then_success(loopback, make, provider):
    loopback.set_policy(ScriptedPolicy(SCRIPT))
    loopback.fail_next(1, 0)  # dropped connection (SDK backoff: ~0.5 s, no retry-after)
    loopback.fail_next(2, 429)  # rate limited, with retry-after-ms: 1
    c = await make(provider).complete(convo(), STOP, task_id="t")
    assert c.text.endswith("</execute>")
    assert [r.status for r in loopback.requests] == [0, 429, 429, 200]


@pytest.mark.parametrize("provider", PROVIDERS)
async def test_persistent_500_is_teacher_error(loopback, make, provider):
    loopback.fail_next(50, 500)
    with pytest.raises(TeacherError) as ei:
        await make(provider, max_retries=3).complete(convo(), STOP, task_id="t")
    assert not isinstance(ei.value, TeacherFatalError)
    assert "500" in str(ei.value)
    assert len(loopback.requests) == 4


@pytest.mark.parametrize("provider", PROVIDERS)
async def test_timeout_is_teacher_error(loopback, make, provider):
    loopback.set_delay(1.0)
    with pytest.raises(TeacherError, match="timed out"):
        await make(provider, timeout=0.1, max_retries=0).complete(convo(), STOP, task_id="t")


@pytest.mark.parametrize("provider", PROVIDERS)
async def test_wrong_key_is_fatal_one_line(loopback, make, provider, monkeypatch):
    env = "OPENAI_API_KEY" if provider == "openai" else "ANTHROPIC_API_KEY"
    monkeypatch.setenv(env, "sk-wrong")
    with pytest.raises(TeacherFatalError) as ei:
        await make(provider).complete(convo(), STOP, task_id="t")
    msg = str(ei.value)
    assert "\n" not in msg and "401" in msg and env in msg
    assert msg.startswith(f"{provider}:model-x: authentication failed")
    assert len(loopback.requests) == 1  # never retried


@pytest.mark.parametrize("provider", PROVIDERS)
async def test_unknown_model_is_fatal(loopback, make, provider):
    loopback.models = {"model-x"}
    with pytest.raises(TeacherFatalError, match=r"model-nope: model not found \(404\)") as ei:
        await make(provider, model="model-nope").complete(convo(), STOP, task_id="t")
    assert "\n" not in str(ei.value)


@pytest.mark.parametrize("provider", PROVIDERS)
async def test_permission_denied_is_fatal(loopback, make, provider):
    loopback.fail_next(1, 403)
    with pytest.raises(TeacherFatalError, match=r"permission denied \(403\)"):
        await make(provider).complete(convo(), STOP, task_id="t")


async def test_openai_400_model_missing_is_fatal(loopback, make):
    """Some OpenAI-compatible proxies answer an unknown model with 400, not 404."""
    loopback.fail_next(1, 400, kind="model_not_found")
    with pytest.raises(TeacherFatalError, match=r"unknown model \(400\)"):
        await make("openai").complete(convo(), STOP, task_id="t")


@pytest.mark.parametrize("provider", PROVIDERS)
async def test_context_length_error(loopback, make, provider):
    loopback.fail_next(1, 400)  # the vendor's context-length error shape
    with pytest.raises(ContextLimitError):
        await make(provider).complete(convo(), STOP, task_id="t")


@pytest.mark.parametrize("provider", PROVIDERS)
async def test_other_bad_request_is_episode_error(loopback, make, provider):
    loopback.fail_next(1, 400, kind="bad_request")
    with pytest.raises(TeacherError) as ei:
        await make(provider).complete(convo(), STOP, task_id="t")
    assert type(ei.value) is TeacherError


async def test_policy_error_fails_fast(loopback, make):
    loopback.set_policy(ScriptedPolicy(SCRIPT))
    with pytest.raises(TeacherError, match="no script matches"):
        await make("openai").complete(convo(task="unscripted"), STOP, task_id="t")
    assert len(loopback.requests) == 1


@pytest.mark.parametrize(
    ("provider", "env"), [("openai", "OPENAI_API_KEY"), ("anthropic", "ANTHROPIC_API_KEY")]
)
def test_missing_key_is_fatal(monkeypatch, provider, env):
    monkeypatch.delenv(env, raising=False)
    monkeypatch.delenv("ANTHROPIC_AUTH_TOKEN", raising=False)
    with pytest.raises(TeacherFatalError, match=env):
        make_teacher(f"{provider}:m", {})


def test_restore_closing_tag_rules():
    assert restore_closing_tag("a <execute>\nx=1\n", STOP) == "a <execute>\nx=1\n</execute>"
    assert restore_closing_tag("<execute>x</execute> then <solution>3", STOP).endswith(
        "<solution>3</solution>"
    )
    assert restore_closing_tag("<execute>x</execute>", STOP) == "<execute>x</execute>"
    assert restore_closing_tag("<execute>x", ["Observation:"]) == "<execute>x"
    # The written-call formats' ``Action: ... End Action``: restored only while a call is open.
    end = ["End Action"]
    assert restore_closing_tag('Thought: t\nAction: {"tool": "a"}\n', end).endswith("\nEnd Action")
    assert restore_closing_tag("Action: a End Action, then prose", end).endswith("prose")
    assert restore_closing_tag("Transaction: none here", end) == "Transaction: none here"
    assert restore_closing_tag("no call at all", end) == "no call at all"
    # vLLM names the matched stop (or None for a natural end): trust it over the heuristic.
    assert _restore_stop("<execute>x", STOP, {"stop_reason": None}) == "<execute>x"
    assert (
        _restore_stop("<solution>2", STOP, {"stop_reason": "</solution>"})
        == "<solution>2</solution>"
    )


def test_cut_at_stop():
    assert cut_at_stop("a</execute>b</solution>", STOP) == ("a</execute>", "</execute>")
    assert cut_at_stop("plain", STOP) == ("plain", None)


def test_registry_specs(tmp_path: Path, loopback):
    assert make_teacher("openai:gpt-4o-mini", {"temperature": 0}).info.model == "gpt-4o-mini"
    assert make_teacher("anthropic:claude-x", {}).info.provider == "anthropic"
    replay = write_jsonl(tmp_path / "r.jsonl", [{"task_id": "a", "turns": ["x"]}])
    for spec in ("openai:m", "anthropic:m", f"replay:{replay}"):
        assert isinstance(make_teacher(spec, {}), Teacher)
    for bad in ("gpt-4o", "openai:", ":m", "mystery:model"):
        with pytest.raises(ConfigError, match="--teacher"):
            make_teacher(bad, {})


# ----------------------------------------------------------------------------- replay
def write_jsonl(path: Path, rows: list[Any]) -> Path:
    path.write_text("".join((r if isinstance(r, str) else json.dumps(r)) + "\n" for r in rows))
    return path


async def test_replay_both_formats(tmp_path: Path):
    traj = {
        "task_id": "a",
        "source": "math",
        "messages": [
            {"role": "system", "content": "sys"},
            {"role": "user", "content": "q"},
            {"role": "assistant", "content": "<execute>print(2)</execute>"},
            {"role": "user", "content": "Observation: 2"},
            {"role": "assistant", "content": "<solution>2</solution>"},
        ],
    }
    rec = {"task_id": "b", "note": "hand-written", "turns": ["<execute>x</execute>junk", "done"]}
    teacher = make_teacher(f"replay:{write_jsonl(tmp_path / 'r.jsonl', [traj, rec])}", {})
    assert isinstance(teacher, ReplayTeacher) and teacher.info.provider == "replay"
    c = await teacher.complete(convo(), STOP, task_id="a")
    assert c.text == "<execute>print(2)</execute>" and c.usage.calls == 1
    assert (
        await teacher.complete(convo(c.text), STOP, task_id="a")
    ).text == "<solution>2</solution>"
    b = await teacher.complete(convo(), STOP, task_id="b")
    assert (b.text, b.stop_reason) == ("<execute>x</execute>", "stop_sequence")
    with pytest.raises(TeacherError, match="2 turn"):
        await teacher.complete(convo("t1", "t2"), STOP, task_id="b")
    with pytest.raises(TeacherError, match="no recording"):
        await teacher.complete(convo(), STOP, task_id="zzz")
    await teacher.aclose()


@pytest.mark.parametrize(
    "bad", ["{not json", '["a list"]', '{"task_id": "x"}', '{"task_id": "x", "turns": [1]}']
)
def test_replay_bad_line_names_file_and_line(tmp_path: Path, bad: str):
    path = write_jsonl(tmp_path / "r.jsonl", [{"task_id": "ok", "turns": ["t"]}, bad, "{}"])
    with pytest.raises(DataError, match=r"r\.jsonl:2: "):
        ReplayTeacher(path)


def test_replay_missing_file(tmp_path: Path):
    with pytest.raises(DataError, match=r"nope\.jsonl"):
        make_teacher(f"replay:{tmp_path / 'nope.jsonl'}", {})


def test_standalone_server_process():
    """The benchmark mode: a separate process printing its port, answering real SDK calls."""
    script = Path(__file__).parents[1] / "fixtures" / "loopback_teacher.py"
    proc = subprocess.Popen(
        [sys.executable, str(script), "--port", "0", "--policy", "trivial", "--turns", "1"],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        port = int(proc.stdout.readline())
        client = openai.OpenAI(
            api_key="sk-loopback", base_url=f"http://127.0.0.1:{port}/v1", max_retries=0
        )
        msgs = [{"role": "user", "content": "q"}]
        first = client.chat.completions.create(model="m", messages=msgs, stop=["</execute>"])
        assert first.choices[0].message.content == "<execute>1+1"
        msgs += [{"role": "assistant", "content": "<execute>1+1</execute>"}]
        second = client.chat.completions.create(model="m", messages=msgs)
        assert second.choices[0].message.content == "<solution>2</solution>"
        client.close()
    finally:
        proc.terminate()
        proc.wait(10)


@pytest.mark.parametrize("text", ["", "\n\n", '{"task_id": "torn", "tur'])
def test_replay_with_no_recordings_is_refused(tmp_path: Path, text: str):
    """An empty recording (or only a torn last line) can answer nothing: refused at once."""
    path = tmp_path / "r.jsonl"
    path.write_text(text)
    with pytest.raises(DataError, match=r"r\.jsonl: no recordings"):
        ReplayTeacher(path)
