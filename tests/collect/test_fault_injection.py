"""Teacher faults injected by the loopback server, through the real SDKs and the real runner.

Each fault hits one run of three MATH-style tasks; the assertions are on the run's final
records: transient faults are retried and leave no trace, broken answers cost a turn, a
context overflow ends the episode as ``context_limit``, and an outage stops the run
(exit code 4) without recording the tasks it could not play, so a resume completes them.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from math_tasks import answer_directly, write_problems
from support import require_isolation

from trajkit.collect.config import CollectConfig
from trajkit.collect.runner import collect
from trajkit.core.errors import TeacherUnavailableError
from trajkit.schemas import Trajectory
from trajkit.sources.base import LoadOptions

TASKS = 3




def _data(tmp_path: Path, n: int = TASKS) -> Path:
    return write_problems(tmp_path / "p.jsonl", n)


def _config(tmp_path: Path, provider: str, **extra: object) -> CollectConfig:
    params = {"temperature": 0.0, "max_tokens": 256, **extra.pop("teacher_params", {})}  # type: ignore[arg-type]
    return CollectConfig(
        source="math", teacher=f"{provider}:loop-model", teacher_params=params,
        load=LoadOptions(data=str(_data(tmp_path))), out=tmp_path / "out", run="r",
        concurrency=1, cache=False, **extra,
    )


def _records(config: CollectConfig) -> list[Trajectory]:
    path = config.run_dir / "trajectories.jsonl"
    return [Trajectory.model_validate_json(line) for line in path.read_text().splitlines()]


PROVIDERS = ["openai", "anthropic"]


@pytest.mark.parametrize("provider", PROVIDERS)
@pytest.mark.parametrize(
    ("status", "kind"),
    [(429, None), (500, None), (503, None), (529, None), (0, None), (200, "truncated")],
    ids=["429-retry-after", "500", "503", "529-overloaded", "connection-reset", "truncated-body"],
)
async def test_transient_faults_are_retried_and_leave_no_trace(
    tmp_path: Path, loopback, provider: str, status: int, kind: str | None
) -> None:
    require_isolation()
    loopback.set_policy(answer_directly)
    loopback.fail_next(2, status, kind)
    config = _config(tmp_path, provider)
    result = await collect(config)
    records = _records(config)
    assert result.manifest.status == "completed" and len(records) == TASKS
    assert all(r.success and len(r.steps) == 1 for r in records)
    assert loopback.request_count == TASKS + 2  # the two faults were retried by the SDK


@pytest.mark.parametrize("provider", PROVIDERS)
@pytest.mark.parametrize("kind", ["empty", "content_filter"])
async def test_empty_or_refused_answers_cost_a_turn_not_the_run(
    tmp_path: Path, loopback, provider: str, kind: str
) -> None:
    require_isolation()
    loopback.set_policy(answer_directly)
    loopback.fail_next(1, 200, kind)
    config = _config(tmp_path, provider)
    await collect(config)
    first, *rest = sorted(_records(config), key=lambda r: r.task_id)
    assert first.success and len(first.steps) == 2
    assert first.steps[0].action.kind.value == "invalid" and first.steps[0].assistant == ""
    assert all(r.success and len(r.steps) == 1 for r in rest)


@pytest.mark.parametrize("provider", PROVIDERS)
async def test_malformed_json_ends_only_that_episode(tmp_path: Path, loopback, provider: str) -> None:
    require_isolation()
    loopback.set_policy(answer_directly)
    loopback.fail_next(1, 200, "malformed")
    config = _config(tmp_path, provider)
    result = await collect(config)
    records = sorted(_records(config), key=lambda r: r.task_id)
    assert result.manifest.status == "completed" and len(records) == TASKS
    assert records[0].termination.value == "teacher_error" and records[0].termination_detail
    assert all(r.success for r in records[1:])


@pytest.mark.parametrize("provider", PROVIDERS)
async def test_context_overflow_ends_as_context_limit(tmp_path: Path, loopback, provider: str) -> None:
    require_isolation()
    loopback.set_policy(answer_directly)
    loopback.fail_next(1, 400, "context_length")
    config = _config(tmp_path, provider)
    await collect(config)
    records = sorted(_records(config), key=lambda r: r.task_id)
    assert records[0].termination.value == "context_limit" and not records[0].success
    assert all(r.success for r in records[1:])


async def test_timeouts_end_the_episode_as_teacher_error(tmp_path: Path, loopback) -> None:
    require_isolation()
    loopback.set_policy(answer_directly)
    loopback.set_delay(1.0)
    config = _config(tmp_path, "openai", teacher_params={"timeout": 0.2, "max_retries": 0})
    result = await collect(config)
    records = _records(config)
    assert result.manifest.status == "completed" and len(records) == TASKS
    assert all(r.termination.value == "teacher_error" and "timed out" in r.termination_detail
               for r in records)


@pytest.mark.parametrize("provider", PROVIDERS)
async def test_an_outage_stops_the_run_and_a_resume_completes_it(
    tmp_path: Path, loopback, provider: str
) -> None:
    require_isolation()
    loopback.set_policy(answer_directly)
    loopback.fail_next(10_000, 503)
    config = _config(tmp_path, provider, outage_streak=2, teacher_params={"max_retries": 1})
    with pytest.raises(TeacherUnavailableError, match="teacher unavailable: 2 episodes in a row"):
        await collect(config)
    manifest = json.loads((config.run_dir / "run.json").read_text())
    assert manifest["status"] == "failed" and "teacher unavailable" in manifest["status_detail"]
    assert _records(config) == []  # the outage's episodes were not recorded as done

    loopback.reset()
    result = await collect(config)
    records = _records(config)
    assert result.manifest.status == "completed"
    assert sorted(r.task_id for r in records) == sorted({r.task_id for r in records})
    assert len(records) == TASKS and all(r.success for r in records)


async def test_isolated_teacher_errors_are_recorded_not_held(tmp_path: Path, loopback) -> None:
    require_isolation()
    loopback.set_policy(answer_directly)
    loopback.fail_next(2, 503)  # with no retries: the first episode fails, the rest succeed
    config = _config(tmp_path, "openai", outage_streak=3, teacher_params={"max_retries": 1})
    result = await collect(config)
    assert result.manifest.status == "completed"
    assert result.manifest.counts.by_termination == {"teacher_error": 1, "solved": TASKS - 1}


@pytest.mark.parametrize("provider", PROVIDERS)
def test_exhausted_quota_is_exit_4_and_resumable(tmp_path: Path, loopback, provider: str) -> None:
    import subprocess
    import sys

    require_isolation()
    loopback.set_policy(answer_directly)
    loopback.fail_next(10_000, 429 if provider == "openai" else 400, "quota")
    args = [sys.executable, "-m", "trajkit.cli", "collect", "math", "--teacher", f"{provider}:m",
            "--data", str(_data(tmp_path)), "--run", "q", "--out", str(tmp_path / "out"),
            "--summary-json", str(tmp_path / "s.json")]
    proc = subprocess.run(args, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 4, proc.stderr
    assert "quota exhausted" in proc.stderr or "billing problem" in proc.stderr
    assert json.loads((tmp_path / "s.json").read_text())["status"] == "teacher_unavailable"
    loopback.reset()
    proc = subprocess.run(args, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
