"""``--mode batch``: provider batch APIs (real SDKs → real HTTP → the loopback server's batch
endpoints). Each turn of all live episodes is one batch; records equal sync mode's; cost is
halved; per-request errors map like the sync teachers'; expired requests are resubmitted;
a SIGKILLed run reattaches to the batch it already paid for.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
from loopback_teacher import LoopbackServer, ScriptedPolicy
from support import require_isolation

from trajkit.collect.config import CollectConfig
from trajkit.collect.teachers.base import ContextLimitError, TeacherError
from trajkit.collect.teachers.batch_teacher import BatchTeacher, batch_teacher
from trajkit.collect.teachers.cache import request_key
from trajkit.collect.teachers.provider import get_provider
from trajkit.core.errors import TeacherFatalError
from trajkit.schemas import Message, TeacherInfo

TRAJKIT = [sys.executable, "-m", "trajkit.cli"]
PROVIDERS = ["openai", "anthropic"]
MODELS = {"openai": "gpt-4o-mini", "anthropic": "claude-3-5-haiku-latest"}
STOP = ["</execute>", "</solution>"]
SCRIPTS = {
    "[A]": [
        "Try.\n<execute>print(ratio)</execute>",
        "Define it.\n<execute>ratio = 7 / 10\nprint(ratio)</execute>",
        "So <solution>0.7</solution>",
    ],
    "[B]": ["Easy: <solution>5</solution>"],
    "[C]": ["<execute>print(6 * 7)</execute>", "<solution>42</solution>"],
    "[D]": ["<solution>7</solution>", "<solution>6</solution>"],
}
PROBLEMS = [
    ("Compute $7/10$. [A]", "0.7"),
    ("What is $2+3$? [B]", "5"),
    ("What is $6 \\times 7$? [C]", "42"),
    ("What is $10-4$? [D]", "6"),
]
TURNS = sum(len(s) for s in SCRIPTS.values())


def write_problems(path: Path, problems: list[tuple[str, str]]) -> Path:
    with path.open("w") as fh:
        for i, (problem, answer) in enumerate(problems):
            fh.write(
                json.dumps(
                    {
                        "problem": problem,
                        "solution": f"$\\boxed{{{answer}}}$",
                        "level": "Level 1",
                        "type": "Prealgebra",
                        "unique_id": f"t/{i}",
                    }
                )
                + "\n"
            )
    return path


def collect(
    server: LoopbackServer, *args: str, timeout: float = 120
) -> subprocess.CompletedProcess:
    env = {**os.environ, **server.env()}
    return subprocess.run(
        [*TRAJKIT, "collect", "math", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def comparable(run_dir: Path) -> dict[str, Any]:
    """Each record without what differs between two runs (ids, timing, latencies)."""
    out = {}
    for line in (run_dir / "trajectories.jsonl").read_text().splitlines():
        r = json.loads(line)
        for step in r["steps"]:
            step.pop("teacher_latency_s")
            if step["observation"]:
                step["observation"].pop("duration_s")
        out[r["task_id"]] = {
            k: r[k]
            for k in (
                "messages",
                "steps",
                "success",
                "score",
                "answer",
                "self_corrected",
                "termination",
                "usage",
                "teacher",
            )
        }
    return out


def chat_calls(server: LoopbackServer) -> int:
    return sum(r.protocol in ("openai", "anthropic") for r in server.requests)


@pytest.mark.parametrize("provider", PROVIDERS)
def test_batch_run_equals_sync_run_at_half_the_cost(provider, loopback, tmp_path):
    require_isolation()
    loopback.set_policy(ScriptedPolicy(SCRIPTS))
    data = write_problems(tmp_path / "math.jsonl", PROBLEMS)
    common = [
        "--teacher",
        f"{provider}:{MODELS[provider]}",
        "--data",
        str(data),
        "--run",
        "r",
        "--exec-timeout",
        "2",
        "--concurrency",
        "8",
    ]
    sync = collect(loopback, *common, "--out", str(tmp_path / "sync"))
    assert sync.returncode == 0, sync.stderr
    assert chat_calls(loopback) == TURNS and not loopback.batch.batches
    loopback.reset()
    loopback.set_policy(ScriptedPolicy(SCRIPTS))

    batch = collect(
        loopback,
        *common,
        "--out",
        str(tmp_path / "batch"),
        "--mode",
        "batch",
        "--batch-poll",
        "0.02",
    )
    assert batch.returncode == 0, batch.stderr
    assert chat_calls(loopback) == 0  # no per-request calls at all
    sizes = [len(b.requests) for b in loopback.batch.batches]
    assert sizes == [4, 3, 1]  # one batch per turn: 4 episodes, then 3 still going, then 1
    assert len(loopback.batch.submitted) == TURNS
    sync_dir, batch_dir = tmp_path / "sync" / "runs" / "r", tmp_path / "batch" / "runs" / "r"
    assert comparable(batch_dir) == comparable(sync_dir)

    sync_run = json.loads((sync_dir / "run.json").read_text())
    batch_run = json.loads((batch_dir / "run.json").read_text())
    assert batch_run["status"] == "completed" and batch_run["config"]["mode"] == "batch"
    assert batch_run["usage"] == sync_run["usage"] and sync_run["cost_usd"] > 0
    assert batch_run["cost_usd"] == pytest.approx(sync_run["cost_usd"] / 2, abs=2e-6)
    assert json.loads((batch_dir / "batches.json").read_text())["batches"] == {}

    loopback.reset()  # a repeat is answered from the response cache: no batch at all
    again = collect(
        loopback,
        *common,
        "--out",
        str(tmp_path / "batch"),
        "--mode",
        "batch",
        "--run",
        "r2",
        "--batch-poll",
        "0.02",
    )
    assert again.returncode == 0, again.stderr
    assert not loopback.batch.batches and chat_calls(loopback) == 0


def test_an_episode_lost_after_its_batch_answered_is_charged_when_replayed(loopback, tmp_path):
    """``--no-cache``: answers land in the run's private results file. An episode lost after
    its batch was answered (its record never written) replays from that file on resume with
    no new batch, and its turns are charged once, as paid by this run; they came back free,
    so run.json's cost left out what the lost episode had paid for."""
    require_isolation()
    loopback.set_policy(ScriptedPolicy(SCRIPTS))
    data = write_problems(tmp_path / "math.jsonl", PROBLEMS)
    args = ["--teacher", "openai:gpt-4o-mini", "--data", str(data), "--run", "r", "--out",
            str(tmp_path / "out"), "--mode", "batch", "--batch-poll", "0.02", "--no-cache"]
    first = collect(loopback, *args)
    assert first.returncode == 0, first.stderr
    run_dir = tmp_path / "out" / "runs" / "r"
    full = json.loads((run_dir / "run.json").read_text())
    lines = (run_dir / "trajectories.jsonl").read_text().splitlines(keepends=True)
    lost = next(line for line in lines if json.loads(line)["task_id"] == "t/0")  # 3 turns
    (run_dir / "trajectories.jsonl").write_text("".join(x for x in lines if x != lost))
    batches = len(loopback.batch.batches)

    resumed = collect(loopback, *args)
    assert resumed.returncode == 0, resumed.stderr
    assert len(loopback.batch.batches) == batches  # answered from the results file
    replayed = next(json.loads(x) for x in (run_dir / "trajectories.jsonl").read_text().splitlines()
                    if json.loads(x)["task_id"] == "t/0")
    assert replayed["usage"]["calls"] == 3 and replayed["usage"]["cached_calls"] == 0
    run = json.loads((run_dir / "run.json").read_text())
    assert run["usage"]["cached_calls"] == 0 and run["usage"]["calls"] == TURNS
    assert run["cost_usd"] == pytest.approx(full["cost_usd"], abs=1e-9)


def test_batch_price_is_half_the_list_price_and_replay_is_refused(tmp_path):
    sync = CollectConfig(source="math", teacher="openai:gpt-4o-mini", run="x")
    batch = CollectConfig(
        source="math",
        teacher="openai:gpt-4o-mini",
        run="x",
        mode="batch",
        prices={"gpt-4o-mini": (1.0, 4.0)},
    )
    # (input, output, cache read, cache write): every rate halves, cached ones included; the
    # override's cache prices keep the table's ratios for gpt-4o-mini (read at half).
    assert sync.teacher_price() == (0.15, 0.60, 0.075, 0.15)
    assert batch.teacher_price() == (0.5, 2.0, 0.25, 0.5)
    proc = subprocess.run(
        [
            *TRAJKIT,
            "collect",
            "math",
            "--teacher",
            "replay:x.jsonl",
            "--mode",
            "batch",
            "--out",
            str(tmp_path),
        ],
        capture_output=True,
        text=True,
    )
    assert proc.returncode == 2
    assert proc.stderr.count("\n") == 1 and "--mode" in proc.stderr and "batch" in proc.stderr
    assert not (tmp_path / "runs").exists()


def test_switching_mode_on_resume_is_refused(loopback, tmp_path):
    loopback.set_policy(ScriptedPolicy(SCRIPTS))
    data = write_problems(tmp_path / "math.jsonl", PROBLEMS[1:2])
    args = [
        "--teacher",
        "openai:gpt-4o-mini",
        "--data",
        str(data),
        "--run",
        "r",
        "--out",
        str(tmp_path),
        "--no-isolation",
    ]
    assert collect(loopback, *args).returncode == 0
    proc = collect(loopback, *args, "--mode", "batch")
    assert proc.returncode == 2 and "mode 'sync', not 'batch'" in proc.stderr


# ----------------------------------------------------------------------------- in process
def make_batch(provider: str, tmp_path: Path, **knobs: Any) -> BatchTeacher:
    provider_obj = get_provider(provider)
    teacher = batch_teacher(
        provider_obj.make("model-x", {"max_tokens": 256}),
        provider_obj,
        run_dir=tmp_path / "run",
        results_path=tmp_path / "cache.sqlite",
        poll_s=0.01,
        window_s=knobs.pop("window_s", 5.0),
    )
    for name, value in knobs.items():
        setattr(teacher, name, value)
    return teacher


def convo(task: str) -> list[Message]:
    return [
        Message(role="system", content="You are a CodeAct agent."),
        Message(role="user", content=task),
    ]


async def turn(teacher: BatchTeacher, task: str) -> Any:
    """One episode's single turn, as the runner drives it: the result or the exception."""
    async with teacher.episode():
        try:
            return await teacher.complete(convo(task), STOP, task_id=task)
        except TeacherError as exc:
            return exc


@pytest.mark.parametrize("provider", PROVIDERS)
async def test_per_request_errors_map_like_the_sync_teachers(provider, loopback, tmp_path):
    loopback.set_policy(lambda msgs: "<execute>print(1)</execute> trailing")
    loopback.batch.fail_matching("[LONG]", 400, "context_length")
    loopback.batch.fail_matching("[BAD]", 400, "bad_request")
    loopback.batch.fail_matching("[BUSY]", 429 if provider == "openai" else 529)
    teacher = make_batch(provider, tmp_path)
    try:
        ok, long, bad, busy = await asyncio.gather(
            *(turn(teacher, f"task {t}") for t in ("[OK]", "[LONG]", "[BAD]", "[BUSY]"))
        )
    finally:
        await teacher.aclose()
    assert ok.text == "<execute>print(1)</execute>" and ok.usage.input_tokens > 0
    assert isinstance(long, ContextLimitError) and "context limit" in str(long)
    assert type(bad) is TeacherError and "bad request (400)" in str(bad)
    assert busy.text == ok.text  # a 429/overload is retried in the next batch
    assert [len(b.requests) for b in loopback.batch.batches] == [4, 1]
    assert chat_calls(loopback) == 0


@pytest.mark.parametrize("provider", PROVIDERS)
async def test_expired_requests_are_resubmitted_alone(provider, loopback, tmp_path):
    loopback.set_policy(lambda msgs: "<solution>1</solution>")
    loopback.batch.expire_next(answering=1)
    teacher = make_batch(provider, tmp_path)
    try:
        results = await asyncio.gather(*(turn(teacher, f"task {i}") for i in range(3)))
    finally:
        await teacher.aclose()
    assert [r.text for r in results] == ["<solution>1</solution>"] * 3
    first, second = loopback.batch.batches
    assert len(first.requests) == 3 and second.custom_ids == first.custom_ids[1:]

    loopback.batch.reset()  # expiring every time: the episode gets a TeacherError, not a hang
    for _ in range(2):
        loopback.batch.expire_next(answering=0)
    teacher = make_batch(provider, tmp_path, max_attempts=2)
    try:
        failed = await turn(teacher, "task never")
    finally:
        await teacher.aclose()
    assert type(failed) is TeacherError and "expired" in str(failed) and "2 time(s)" in str(failed)


async def test_a_straggler_does_not_hold_the_batch_past_the_window(loopback, tmp_path):
    loopback.set_policy(lambda msgs: "<solution>1</solution>")
    teacher = make_batch("openai", tmp_path, window_s=0.2)

    async def straggler() -> None:
        async with teacher.episode():
            await asyncio.sleep(1.0)  # e.g. a long sandbox cell: never asks in time

    try:
        started = time.monotonic()
        result, _ = await asyncio.gather(turn(teacher, "task quick"), straggler())
        assert result.text == "<solution>1</solution>"
        assert 0.2 <= time.monotonic() - started < 2
    finally:
        await teacher.aclose()
    assert [len(b.requests) for b in loopback.batch.batches] == [1]


async def test_an_auth_failure_on_submit_stops_the_run(loopback, tmp_path):
    teacher = make_batch("openai", tmp_path)
    loopback.api_key = "sk-rotated"  # every batch endpoint now answers 401
    try:
        with pytest.raises(TeacherFatalError, match="authentication failed"):
            async with teacher.episode():
                await teacher.complete(convo("t"), STOP, task_id="t")
    finally:
        await teacher.aclose()


@pytest.mark.parametrize("provider", PROVIDERS)
async def test_an_unknown_model_stops_the_run(provider, loopback, tmp_path):
    loopback.models = {"another-model"}  # OpenAI fails the batch; Anthropic each request
    teacher = make_batch(provider, tmp_path)
    try:
        with pytest.raises(TeacherFatalError, match="model-x"):
            async with teacher.episode():
                await teacher.complete(convo("t"), STOP, task_id="t")
    finally:
        await teacher.aclose()
    assert len(loopback.batch.batches) == 1


@pytest.mark.parametrize("provider", ["openai", "anthropic"])
async def test_a_recorded_batch_the_provider_does_not_know_is_submitted_again(
    provider, loopback, tmp_path
):
    loopback.set_policy(lambda msgs: "<solution>1</solution>")
    info = TeacherInfo(provider=provider, model="model-x", params={"max_tokens": 256})
    key = request_key(info, convo("t"), STOP)[0]  # what a previous process submitted
    state = {
        "teacher": f"{provider}:model-x",
        "batches": {"batch_gone": {"submitted_at": 0, "requests": {key: STOP}}},
    }
    (tmp_path / "run").mkdir()
    (tmp_path / "run" / "batches.json").write_text(json.dumps(state))
    teacher = make_batch(provider, tmp_path)
    try:
        assert (await turn(teacher, "t")).text == "<solution>1</solution>"
    finally:
        await teacher.aclose()
    assert loopback.batch.submitted == [key]
    assert json.loads((tmp_path / "run" / "batches.json").read_text())["batches"] == {}


async def test_polls_survive_transient_failures_and_give_up_on_an_outage(loopback, tmp_path):
    loopback.set_policy(lambda msgs: "<solution>1</solution>")
    loopback.batch.fail_polls(3)
    teacher = make_batch("openai", tmp_path, poll_failures=4)
    try:
        assert (await turn(teacher, "t1")).text == "<solution>1</solution>"
        loopback.batch.fail_polls(10)
        failed = await turn(teacher, "t2")
    finally:
        await teacher.aclose()
    assert type(failed) is TeacherError and "4 polls failed in a row" in str(failed)
    state = json.loads((tmp_path / "run" / "batches.json").read_text())
    assert list(state["batches"]) == [loopback.batch.batches[1].id]  # kept for a later resume


async def test_a_turn_too_big_for_one_batch_goes_out_as_several(loopback, tmp_path):
    loopback.set_policy(lambda msgs: "<solution>1</solution>")
    teacher = make_batch("anthropic", tmp_path)
    one = len(json.dumps(teacher.backend.request_body(convo("task 0"), STOP)))
    teacher.max_batch_bytes = 2 * one + 1  # room for two requests per batch
    try:
        results = await asyncio.gather(*(turn(teacher, f"task {i}") for i in range(5)))
    finally:
        await teacher.aclose()
    assert [r.text for r in results] == ["<solution>1</solution>"] * 5
    assert sorted(len(b.requests) for b in loopback.batch.batches) == [1, 2, 2]


# ----------------------------------------------------------------------------- restart
@pytest.mark.parametrize("provider", PROVIDERS)
def test_sigkill_with_a_batch_in_flight_reattaches_instead_of_paying_again(
    provider, loopback, tmp_path
):
    require_isolation()
    loopback.set_policy(ScriptedPolicy(SCRIPTS))
    loopback.batch.set_delay(2.0)
    data = write_problems(tmp_path / "math.jsonl", PROBLEMS)
    out = tmp_path / "out"
    args = [
        "collect",
        "math",
        "--teacher",
        f"{provider}:{MODELS[provider]}",
        "--data",
        str(data),
        "--out",
        str(out),
        "--run",
        "r",
        "--mode",
        "batch",
        "--batch-poll",
        "0.05",
    ]
    env = {**os.environ, **loopback.env()}
    proc = subprocess.Popen(
        [*TRAJKIT, *args],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        start_new_session=True,
    )
    state = out / "runs" / "r" / "batches.json"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if state.exists() and json.loads(state.read_text())["batches"]:
            break
        time.sleep(0.02)
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
    assert len(loopback.batch.batches) == 1 and loopback.batch.batches[0].results is None

    again = subprocess.run([*TRAJKIT, *args], env=env, capture_output=True, text=True, timeout=120)
    assert again.returncode == 0, again.stderr
    submitted = loopback.batch.submitted
    assert len(submitted) == len(set(submitted)) == TURNS  # each request paid for once
    assert [len(b.requests) for b in loopback.batch.batches] == [4, 3, 1]
    records = [
        json.loads(x) for x in (out / "runs" / "r" / "trajectories.jsonl").read_text().splitlines()
    ]
    assert sorted(r["task_id"] for r in records) == [f"t/{i}" for i in range(4)]
    run = json.loads((out / "runs" / "r" / "run.json").read_text())
    assert run["status"] == "completed" and run["usage"]["calls"] == TURNS
    assert run["usage"]["cached_calls"] == 0  # the reattached answers are counted as paid
    assert json.loads(state.read_text())["batches"] == {}
