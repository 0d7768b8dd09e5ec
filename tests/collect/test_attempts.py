"""``--samples``, ``--until`` and ``--escalate``: several attempts per task, a ladder of teachers.

The plan is tested as a pure function first; then whole runs through the real OpenAI SDK
against the loopback server, whose ``YieldPolicy`` gives each episode its own draw (an error
to recover from or not, a right answer or not), as sampling at temperature > 0 does.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
from loopback_teacher import ScriptedPolicy
from support import require_isolation
from yield_policy import YieldPolicy, arithmetic_tasks

import trajkit
from trajkit.collect.attempts import AttemptPlan, EpisodeKey, Outcome
from trajkit.collect.episode_record import trajectory_id

TRAJKIT = [sys.executable, "-m", "trajkit.cli"]
WEAK, STRONG = "weak-model", "strong-model"
PRICES = {WEAK: (0.15, 0.60), STRONG: (2.50, 10.00)}


# ----------------------------------------------------------------------------- the plan
def out(stage: int, attempt: int, success: bool = False, corrected: bool = False) -> Outcome:
    return Outcome(EpisodeKey(stage, attempt), success, success and corrected)


def test_without_until_every_attempt_of_a_stage_is_owed_at_once() -> None:
    plan = AttemptPlan(stages=1, samples=3)
    assert plan.owed([]) == [EpisodeKey(0, 1), EpisodeKey(0, 2), EpisodeKey(0, 3)]
    assert plan.owed([out(0, 2)], in_flight=[EpisodeKey(0, 1)]) == [EpisodeKey(0, 3)]
    assert plan.owed([out(0, 1, True), out(0, 2), out(0, 3)]) == []


def test_until_owes_one_attempt_at_a_time_and_stops_at_the_condition() -> None:
    plan = AttemptPlan(stages=1, samples=4, until="self-corrected")
    assert plan.owed([]) == [EpisodeKey(0, 1)]
    assert plan.owed([], in_flight=[EpisodeKey(0, 1)]) == []
    assert plan.owed([out(0, 1, success=True)]) == [EpisodeKey(0, 2)]  # a success, not corrected
    assert plan.owed([out(0, 1), out(0, 2, True, True)]) == []
    assert AttemptPlan(samples=4, until="success").owed([out(0, 1, success=True)]) == []


def test_a_task_escalates_only_when_no_attempt_below_succeeded() -> None:
    plan = AttemptPlan(stages=3, samples=2)
    failed = [out(0, 1), out(0, 2)]
    assert plan.owed(failed) == [EpisodeKey(1, 1), EpisodeKey(1, 2)]
    assert plan.owed([out(0, 1), out(0, 2, success=True)]) == []
    assert plan.owed(failed, in_flight=[EpisodeKey(0, 2)]) == []  # wait for the whole stage
    assert plan.owed([*failed, out(1, 1), out(1, 2)]) == [EpisodeKey(2, 1), EpisodeKey(2, 2)]
    # a resume finds a higher stage's success recorded before its stage was complete: the
    # rest of that stage is still owed
    assert plan.owed([*failed, out(1, 2, success=True)]) == [EpisodeKey(1, 1)]
    # with --until self-corrected a plain success still keeps the task off the next teacher
    until = AttemptPlan(stages=2, samples=2, until="self-corrected")
    assert until.owed([out(0, 1, success=True), out(0, 2)]) == []


def test_a_lowered_sample_count_on_resume_never_owes_past_it() -> None:
    assert AttemptPlan(samples=2).owed([out(0, 1), out(0, 2), out(0, 3)]) == []


def test_a_tasks_first_episode_keeps_its_old_record_id() -> None:
    old = trajectory_id("r", "math", "t1")
    assert trajectory_id("r", "math", "t1", EpisodeKey(0, 1)) == old
    ids = {trajectory_id("r", "math", "t1", EpisodeKey(s, a)) for s in range(2) for a in (1, 2)}
    assert len(ids) == 4 and old in ids


def test_the_schedule_queues_what_each_task_is_owed_as_episodes_finish() -> None:
    from trajkit.collect.schedule import Schedule
    from trajkit.schemas import Task

    tasks = [Task(source="s", task_id=t, prompt=t) for t in ("a", "b")]
    recorded = {"a": [out(0, 1, success=True, corrected=True)]}  # a resume: a is done
    schedule = Schedule(AttemptPlan(stages=2, samples=2, until="self-corrected"), tasks, recorded)
    assert [(t.task_id, k) for t, k in schedule.ready] == [("b", EpisodeKey(0, 1))]
    assert schedule.settled_count() == 1
    task, key = schedule.next()
    failed = _traj_like(success=False)
    schedule.finished(task, key, failed)
    assert [(t.task_id, k) for t, k in schedule.ready] == [("b", EpisodeKey(0, 2))]
    schedule.finished(*schedule.next(), failed)
    assert [k for _, k in schedule.ready] == [EpisodeKey(1, 1)]  # escalated
    schedule.finished(*schedule.next(), _traj_like(success=True, corrected=True))
    assert not schedule.ready and not schedule.in_flight and schedule.settled_count() == 2


def _traj_like(success: bool, corrected: bool = False) -> Any:
    class Episode:
        pass

    episode = Episode()
    episode.success, episode.self_corrected = success, success and corrected  # type: ignore[attr-defined]
    return episode


# ----------------------------------------------------------------------------- runs
def tasks_file(tmp_path: Path, n: int, seed: int = 0) -> Path:
    path = tmp_path / "sums.jsonl"
    path.write_text("".join(json.dumps(row) + "\n" for row in arithmetic_tasks(n, seed)))
    return path


def options(tmp_path: Path, n: int, **extra: Any) -> dict[str, Any]:
    return {
        "data": str(tasks_file(tmp_path, n)), "out": tmp_path / "out", "run": "r",
        "source_opt": {"id": "id", "judge": "numeric"}, "max_turns": 4, "concurrency": 8,
        "temperature": 0.7, "price": {m: p for m, p in PRICES.items()}, **extra,
    }


def lines(run_dir: Path) -> list[dict[str, Any]]:
    text = (run_dir / "trajectories.jsonl").read_text()
    return [json.loads(line) for line in text.splitlines() if line.strip()]


def episode_keys(records: list[dict[str, Any]]) -> Counter[tuple[str, int, int]]:
    return Counter((r["task_id"], r["stage"], r["attempt"]) for r in records)


def test_samples_play_independent_attempts_each_once_and_the_cache_tells_them_apart(
    loopback, tmp_path: Path
) -> None:
    require_isolation()
    loopback.set_policy(YieldPolicy({WEAK: (0.5, 0.5)}))
    run = trajkit.collect("tasks", f"openai:{WEAK}", **options(tmp_path, 4, samples=3))
    records = list(run.records())
    assert run.status == "completed" and len(records) == 12
    assert sorted(Counter(r.task_id for r in records).values()) == [3, 3, 3, 3]
    assert {r.attempt for r in records} == {1, 2, 3} and {r.stage for r in records} == {0}
    assert len({r.id for r in records}) == 12
    # the attempts really are different samples: the draws written in their first cells differ
    draws = {(r.task_id, r.steps[0].assistant) for r in records}
    assert len(draws) == 12
    # each record carries what it cost, and run.json's figures are their sums
    manifest = run.manifest
    assert all(r.cost_usd is not None and r.cost_usd > 0 for r in records)
    assert manifest.cost_usd == pytest.approx(sum(r.cost_usd or 0 for r in records), abs=1e-6)
    yields = manifest.counts.by_teacher[f"openai:{WEAK}"]
    assert (yields.episodes, yields.tasks) == (12, 4)
    assert yields.kept == sum(r.self_corrected for r in records)
    assert manifest.counts.tasks_settled == 4 and manifest.counts.done == 12

    # the same collection again under another run name: every attempt from the cache, each
    # attempt its own answer (attempt 2 is not answered with attempt 1's turn)
    calls = loopback.request_count
    again = trajkit.collect("tasks", f"openai:{WEAK}", **options(tmp_path, 4, samples=3, run="r2"))
    assert loopback.request_count == calls
    assert sorted(r.steps[0].assistant for r in again.records()) == sorted(
        r.steps[0].assistant for r in records
    )
    assert again.manifest.usage.cached_calls == again.manifest.usage.calls


def test_until_stops_sampling_a_task_once_an_attempt_meets_it(loopback, tmp_path: Path) -> None:
    require_isolation()
    first, second = "What is 1 + 1?", "What is 2 + 2?"
    wrong = ["<solution>3</solution>"]
    right = ["<execute>\nprint(1 + 1)\n</execute>", "<solution>2</solution>"]
    policy = _SequencePolicy({first: [wrong, right, wrong], second: [wrong, wrong, wrong]})
    loopback.set_policy(policy)
    data = tmp_path / "two.jsonl"
    data.write_text(
        json.dumps({"id": "a", "question": first, "answer": "2"}) + "\n"
        + json.dumps({"id": "b", "question": second, "answer": "4"}) + "\n"
    )
    run = trajkit.collect(
        "tasks", "openai:m", data=str(data), out=tmp_path / "out", run="u", temperature=0.5,
        source_opt={"id": "id", "judge": "numeric"}, samples=3, until="success", max_solutions=1,
    )
    by_task = Counter(r.task_id for r in run.records())
    assert by_task == {"a": 2, "b": 3}  # a: stopped at its first success; b: every attempt
    assert run.status == "completed" and run.manifest.counts.tasks_settled == 2


class _SequencePolicy:
    """Per first-user-message, the n-th episode plays the n-th script (in arrival order)."""

    def __init__(self, scripts: dict[str, list[list[str]]]) -> None:
        self.scripts = scripts
        self.started: Counter[str] = Counter()

    def __call__(self, messages: list[dict[str, str]]) -> str:
        task = next(m["content"] for m in messages if m["role"] == "user")
        key = next(k for k in self.scripts if k in task)
        said = sum(1 for m in messages if m["role"] == "assistant")
        if said == 0:
            self.started[key] += 1
        return self.scripts[key][self.started[key] - 1][said]


def test_escalation_plays_only_the_unsolved_tasks_again_with_the_next_teacher(
    loopback, tmp_path: Path
) -> None:
    require_isolation()
    # the weak model never answers right; the strong one always does
    loopback.set_policy(YieldPolicy({WEAK: (0.5, 0.0), STRONG: (1.0, 1.0)}))
    run = trajkit.collect(
        "tasks", f"openai:{WEAK}", **options(tmp_path, 3, samples=2, escalate=[f"openai:{STRONG}"])
    )
    records = list(run.records())
    weak = [r for r in records if r.stage == 0]
    strong = [r for r in records if r.stage == 1]
    assert len(weak) == 6 and not any(r.success for r in weak)
    assert {r.teacher.model for r in strong} == {STRONG} and len(strong) == 6
    assert all(r.success and r.self_corrected for r in strong)
    by_teacher = run.manifest.counts.by_teacher
    assert by_teacher[f"openai:{STRONG}"].kept == 6 and by_teacher[f"openai:{WEAK}"].kept == 0
    # priced per teacher: a strong episode costs more than a weak one of the same length
    assert min(r.cost_usd or 0 for r in strong) > max(r.cost_usd or 0 for r in weak)

    # solved tasks never escalate (another output root: the first run's answers are cached)
    loopback.set_policy(YieldPolicy({WEAK: (1.0, 1.0), STRONG: (1.0, 1.0)}))
    solved = trajkit.collect(
        "tasks", f"openai:{WEAK}",
        **options(tmp_path, 3, run="solved", out=tmp_path / "fresh", escalate=[f"openai:{STRONG}"]),
    )
    assert {r.stage for r in solved.records()} == {0}


def test_a_resume_may_extend_the_ladder_but_not_reorder_it(loopback, tmp_path: Path) -> None:
    require_isolation()
    loopback.set_policy(YieldPolicy({WEAK: (0.5, 0.0), STRONG: (1.0, 1.0)}))
    first = trajkit.collect("tasks", f"openai:{WEAK}", **options(tmp_path, 2))
    assert {r.stage for r in first.records()} == {0}
    extended = trajkit.collect(
        "tasks", f"openai:{WEAK}", **options(tmp_path, 2, escalate=[f"openai:{STRONG}"])
    )
    assert Counter(r.stage for r in extended.records()) == {0: 2, 1: 2}
    with pytest.raises(trajkit.ConfigError, match="may add teachers after those"):
        trajkit.collect("tasks", f"openai:{WEAK}", **options(tmp_path, 2, escalate=["openai:other"]))


def _cli(args: list[str], env: dict[str, str]) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [*TRAJKIT, *args], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )


def _cli_args(tmp_path: Path, n: int, *extra: str) -> list[str]:
    data = tasks_file(tmp_path, n)
    args = [
        "collect", "tasks", "--teacher", f"openai:{WEAK}", "--data", str(data),
        "--out", str(tmp_path / "out"), "--run", "k", "--source-opt", "id=id",
        "--source-opt", "judge=numeric", "--temperature", "0.7", "--max-turns", "4",
        "--concurrency", "6",
    ]
    for model, (i, o) in PRICES.items():
        args += ["--price", f"{model}={i},{o}"]
    return [*args, *extra]


def _kill_when(run_dir: Path, proc: subprocess.Popen[str], ready: Any, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        path = run_dir / "trajectories.jsonl"
        if path.exists() and ready(lines(run_dir)):
            os.kill(proc.pid, signal.SIGKILL)
            proc.wait()
            return
        if proc.poll() is not None:
            raise AssertionError(f"the run ended before it could be killed: {proc.stderr.read() if proc.stderr else ''}")
        time.sleep(0.05)
    raise AssertionError("the run never reached the point to kill it")


@pytest.mark.parametrize("moment", ["mid-attempts", "during-escalation"])
def test_sigkill_then_resume_records_every_episode_exactly_once(
    loopback, tmp_path: Path, moment: str
) -> None:
    require_isolation()
    loopback.set_policy(YieldPolicy({WEAK: (0.5, 0.0), STRONG: (1.0, 1.0)}))
    loopback.set_delay(0.15)
    args = _cli_args(tmp_path, 6, "--samples", "3", "--escalate", f"openai:{STRONG}")
    run_dir = tmp_path / "out" / "runs" / "k"
    env = {**os.environ, **loopback.env()}
    proc = _cli(args, env)
    if moment == "mid-attempts":
        _kill_when(run_dir, proc, lambda recs: 3 <= len(recs) < 12)
    else:
        _kill_when(run_dir, proc, lambda recs: any(r["stage"] == 1 for r in recs) and len(recs) < 24)
    before = lines(run_dir)
    assert max(episode_keys(before).values()) == 1
    loopback.set_delay(0.0)
    resumed = _cli(args, env)
    _, stderr = resumed.communicate(timeout=240)
    assert resumed.returncode == 0, stderr
    after = lines(run_dir)
    keys = episode_keys(after)
    assert max(keys.values()) == 1  # nothing written twice
    # 6 tasks x 3 weak attempts, all wrong, so each escalates: 3 strong attempts each
    expected = {(f"sum-{t}", s, a) for t in range(6) for s in (0, 1) for a in (1, 2, 3)}
    assert set(keys) == expected, (expected - set(keys), [r["termination"] for r in after])
    assert after[: len(before)] == before
    manifest = json.loads((run_dir / "run.json").read_text())
    assert manifest["counts"]["done"] == 36 and manifest["counts"]["tasks_settled"] == 6


def test_max_cost_stops_with_attempts_in_flight_and_resumes_exactly_once(
    loopback, tmp_path: Path
) -> None:
    require_isolation()
    loopback.set_policy(YieldPolicy({WEAK: (0.5, 0.5)}))
    loopback.set_delay(0.05)
    base = options(tmp_path, 8, samples=3, concurrency=6)
    # one episode is roughly 0.0002-0.0004 USD at the weak price: stop after a handful
    stopped = trajkit.collect("tasks", f"openai:{WEAK}", max_cost=0.0015, **base)
    assert stopped.status == "budget_reached" and stopped.exit_code == 3
    spent = stopped.manifest.cost_usd or 0
    partial = list(stopped.records())
    assert 0 < len(partial) < 24 and max(episode_keys([r.model_dump() for r in partial]).values()) == 1
    mean = spent / len(partial)
    assert spent <= 0.0015 + 6 * mean  # at most the episodes in flight ran past the budget
    done = trajkit.collect("tasks", f"openai:{WEAK}", max_cost=1.0, **base)
    records = list(done.records())
    assert done.status == "completed" and len(records) == 24
    assert max(episode_keys([r.model_dump() for r in records]).values()) == 1


def test_samples_at_temperature_zero_warn_and_bad_escalate_is_one_line(loopback, tmp_path: Path) -> None:
    require_isolation()
    loopback.set_policy(ScriptedPolicy({"What is": ["<solution>1</solution>"] * 2}))
    env = {**os.environ, **loopback.env()}
    args = [a if a != "0.7" else "0" for a in _cli_args(tmp_path, 1, "--samples", "2")]
    done = subprocess.run([*TRAJKIT, *args], env=env, capture_output=True, text=True, timeout=120)
    assert "--samples 2 at --temperature 0" in done.stderr
    bad = subprocess.run(
        [*TRAJKIT, *_cli_args(tmp_path, 1, "--escalate", "nonsense"), "--run", "bad"],
        env=env, capture_output=True, text=True, timeout=60,
    )
    assert bad.returncode == 2 and "Traceback" not in bad.stderr
    assert "--escalate" in bad.stderr and len(bad.stderr.strip().splitlines()) == 1


def test_a_job_file_escalates_like_the_flags(loopback, tmp_path: Path) -> None:
    require_isolation()
    loopback.set_policy(YieldPolicy({WEAK: (0.5, 0.0), STRONG: (1.0, 1.0)}))
    data = tasks_file(tmp_path, 2)
    job = tmp_path / "job.toml"
    job.write_text(
        f'out = "{tmp_path / "out"}"\n\n[[collect]]\nsource = "tasks"\nteacher = "openai:{WEAK}"\n'
        f'data = "{data}"\nrun = "j"\ntemperature = 0.7\nsamples = 2\nuntil = "self-corrected"\n'
        f'escalate = ["openai:{STRONG}"]\nsource_opt = ["id=id", "judge=numeric"]\n'
    )
    env = {**os.environ, **loopback.env()}
    done = subprocess.run([*TRAJKIT, "run", str(job)], env=env, capture_output=True, text=True, timeout=180)
    assert done.returncode == 0, done.stderr
    records = lines(tmp_path / "out" / "runs" / "j")
    # weak: 2 attempts per task (never right); strong: the first attempt self-corrects, so one
    assert Counter(r["stage"] for r in records) == {0: 4, 1: 2}


def test_estimate_projects_episodes_and_cost_per_kept_from_a_pilot(loopback, tmp_path: Path) -> None:
    require_isolation()
    loopback.set_policy(YieldPolicy({WEAK: (0.6, 0.6)}))
    flags = options(tmp_path, 12, samples=3, until="self-corrected")
    before = trajkit.estimate("tasks", f"openai:{WEAK}", **flags)
    assert "unknown until 5 episodes have finished" in before.describe()
    assert "at most 3.00 episode(s) per task" in before.describe()
    pilot = trajkit.collect("tasks", f"openai:{WEAK}", **{**flags, "limit": 6})
    records = list(pilot.records())
    kept = [r for r in records if r.self_corrected]
    assert kept, "the pilot should keep something at these rates"
    after = trajkit.estimate("tasks", f"openai:{WEAK}", **flags)
    projection = after.projection
    assert projection is not None and projection.finished == len(records)
    assert projection.kept_rate == pytest.approx(len(kept) / len(records))
    assert projection.cost_per_kept == pytest.approx(sum(r.cost_usd or 0 for r in records) / len(kept))
    expected = sum((1 - len(kept) / len(records)) ** i for i in range(3))
    assert projection.episodes_per_task == pytest.approx(expected)
    assert f"${projection.cost_per_kept:,.4f} per kept trajectory so far" in after.describe()


def test_batch_mode_submits_each_attempt_once_and_tells_them_apart(loopback, tmp_path: Path) -> None:
    require_isolation()
    loopback.set_policy(YieldPolicy({WEAK: (0.5, 0.5)}))
    env = {**os.environ, **loopback.env()}
    args = _cli_args(tmp_path, 3, "--samples", "2", "--mode", "batch", "--batch-poll", "0.02")
    done = subprocess.run([*TRAJKIT, *args], env=env, capture_output=True, text=True, timeout=180)
    assert done.returncode == 0, done.stderr
    records = lines(tmp_path / "out" / "runs" / "k")
    assert len(episode_keys(records)) == 6 and max(episode_keys(records).values()) == 1
    # every first turn went out once per attempt (6 requests, not 3 shared by two attempts)
    first_batch = loopback.batch.batches[0]
    assert len(first_batch.requests) == 6
    assert len({r["steps"][0]["assistant"] for r in records}) == 6


def test_a_resume_with_other_shots_is_refused(loopback, tmp_path: Path) -> None:
    require_isolation()
    loopback.set_policy(YieldPolicy({WEAK: (0.5, 0.5)}))
    trajkit.collect("tasks", f"openai:{WEAK}", **options(tmp_path, 2, shots=0))
    with pytest.raises(trajkit.ConfigError, match="--shots 1: run r was collected with --shots 0"):
        trajkit.collect("tasks", f"openai:{WEAK}", **options(tmp_path, 3, shots=1))
