"""The runner's last line of defence (issue 19): one episode's unexpected exception ends that
episode only; a run that does stop still says ``failed`` and why; a resume does not replay a
poisoned task forever.

The poison comes from plugins registered in this process, exactly as a user's would be: a
MATH source whose ``tools`` raise for one task, whose judge puts an object JSON cannot hold in
its verdict for another and returns a plain dict for a third, and a teacher provider that
wraps the real OpenAI teacher (real SDK, real HTTP to the loopback server) but raises a plain
``ZeroDivisionError`` on one task's second turn. Control tasks beside them are recorded.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import pytest
from loopback_teacher import LoopbackServer
from math_tasks import solve_after_one_error, write_problems
from support import require_isolation

from trajkit.collect.config import CollectConfig
from trajkit.collect.runner import collect
from trajkit.collect.teachers.base import Completion, Teacher
from trajkit.collect.teachers.openai_teacher import OpenAITeacher
from trajkit.collect.teachers.provider import TeacherProvider
from trajkit.core import registry
from trajkit.core.tools import Tool
from trajkit.schemas import Message, Task, TeacherInfo, Trajectory, Verdict
from trajkit.sources.base import LoadOptions
from trajkit.sources.math import MathSource

TASKS = 7


class PoisonSource(MathSource):
    """MATH tasks; T1's tools raise, T2's verdict holds an object, T3's judge returns a dict,
    and the loader gives T6 a lone surrogate in its id and its prompt."""

    name = "poison-math"

    def load(self, options: LoadOptions) -> list[Task]:
        tasks = super().load(options)
        return [
            t.model_copy(update={"task_id": t.task_id + "\ud800", "prompt": t.prompt + "\udc00"})
            if "[T6]" in t.prompt else t
            for t in tasks
        ]

    def tools(self, task: Task) -> Sequence[Tool]:
        if "[T1]" in task.prompt:
            raise RuntimeError("poisoned tools")
        return super().tools(task)

    async def judge(self, task: Task, answer: str) -> Verdict:
        verdict = await super().judge(task, answer)
        if "[T2]" in task.prompt:
            return verdict.model_copy(update={"details": {"engine": object()}})
        if "[T3]" in task.prompt:
            return {"success": True}  # type: ignore[return-value]
        return verdict


class PoisonTeacher:
    """The real OpenAI teacher, except that T4's second turn raises ZeroDivisionError."""

    def __init__(self, inner: OpenAITeacher) -> None:
        self.inner = inner

    @property
    def info(self) -> TeacherInfo:
        return self.inner.info

    async def complete(
        self, messages: list[Message], stop: list[str], *, task_id: str
    ) -> Completion:
        if "[T4]" in messages[1].content and any(m.role == "assistant" for m in messages):
            raise ZeroDivisionError("poisoned teacher")
        return await self.inner.complete(messages, stop, task_id=task_id)

    async def aclose(self) -> None:
        await self.inner.aclose()


class PoisonProvider(TeacherProvider):
    name = "poison"

    def make(self, model: str, params: dict[str, Any], **_: Any) -> Teacher:
        return PoisonTeacher(OpenAITeacher(model, params))


class BrokenProvider(TeacherProvider):
    name = "broken"

    def make(self, model: str, params: dict[str, Any], **_: Any) -> Teacher:
        raise RuntimeError("this provider is broken")


def register_plugins() -> None:
    """Also called by the CLI driver below, in its own process."""
    registry.register("source", "poison-math", PoisonSource, replace=True)
    registry.register("teacher", "poison", PoisonProvider, replace=True)
    registry.register("teacher", "broken", BrokenProvider, replace=True)


@pytest.fixture
def plugins() -> Iterator[None]:
    register_plugins()
    yield
    for kind, name in (("source", "poison-math"), ("teacher", "poison"), ("teacher", "broken")):
        registry.REGISTRY.unregister(kind, name)


def _config(tmp_path: Path, teacher: str = "poison:loop-model") -> CollectConfig:
    return CollectConfig(
        source="poison-math", teacher=teacher,
        teacher_params={"temperature": 0.0, "max_tokens": 256, "max_retries": 0},
        load=LoadOptions(data=str(write_problems(tmp_path / "p.jsonl", TASKS))),
        out=tmp_path / "out", run="r", concurrency=2,
    )


def _records(run_dir: Path) -> dict[str, Trajectory]:
    lines = (run_dir / "trajectories.jsonl").read_text().splitlines()
    records = [Trajectory.model_validate_json(line) for line in lines]
    return {"T" + r.task_id.removeprefix("t/").rstrip("\ufffd"): r for r in records}  # "t/i"


def _check_poisoned_run(run_dir: Path) -> None:
    manifest = json.loads((run_dir / "run.json").read_text())
    assert manifest["status"] == "completed"
    by_task = _records(run_dir)
    assert sorted(by_task) == [f"T{i}" for i in range(TASKS)]  # each task recorded, once
    for control in ("T0", "T5", "T6"):
        assert by_task[control].termination.value == "solved"
    t6 = by_task["T6"]  # recorded (and so skipped on resume) under its id made valid text
    assert t6.task_id == "t/6\ufffd" and t6.task.prompt.endswith("\ufffd")
    t1 = by_task["T1"]
    assert t1.termination.value == "internal_error" and t1.steps == []
    assert t1.termination_detail == "RuntimeError: poisoned tools"
    t2 = by_task["T2"]  # written with the object as its repr, not lost, not a crash
    assert t2.termination.value == "solved" and "<object object" in str(t2.steps[-1].verdict)
    assert by_task["T3"].termination.value == "judge_error"
    assert "the judge returned an object" in by_task["T3"].termination_detail
    t4 = by_task["T4"]  # the turn it had, and the tokens it cost, are kept
    assert t4.termination.value == "internal_error" and len(t4.steps) == 1
    assert t4.termination_detail == "ZeroDivisionError: poisoned teacher"
    assert t4.usage.calls == 1 and t4.usage.input_tokens > 0
    assert manifest["counts"]["by_termination"] == {
        "solved": 4, "internal_error": 2, "judge_error": 1
    }


async def test_poisoned_episodes_end_alone_and_are_not_replayed(
    tmp_path: Path, loopback: LoopbackServer, plugins: None
) -> None:
    require_isolation()
    loopback.set_policy(solve_after_one_error)
    config = _config(tmp_path)
    result = await collect(config)
    assert result.exit_code == 1  # partial: some episodes ended on errors
    _check_poisoned_run(config.run_dir)

    calls = loopback.request_count
    again = await collect(config)
    assert again.skipped == TASKS and again.manifest.status == "completed"
    assert loopback.request_count == calls  # nothing replayed, nothing paid twice
    _check_poisoned_run(config.run_dir)


async def test_an_exception_that_stops_the_run_still_writes_failed(
    tmp_path: Path, loopback: LoopbackServer, plugins: None
) -> None:
    require_isolation()
    config = _config(tmp_path, teacher="broken:m")
    with pytest.raises(RuntimeError, match="this provider is broken"):
        await collect(config)
    manifest = json.loads((config.run_dir / "run.json").read_text())
    assert manifest["status"] == "failed"
    assert manifest["status_detail"] == "unexpected error: RuntimeError: this provider is broken"


#: ``trajkit`` with the poison plugins registered first (guarded: judge workers re-import it).
DRIVER = """
import sys
sys.path[:0] = {paths!r}
if __name__ == "__main__":
    import test_runner_last_defence
    test_runner_last_defence.register_plugins()
    from trajkit.cli.app import main
    sys.argv = ["trajkit", *sys.argv[1:]]
    main()
"""


def test_through_the_cli_a_poisoned_run_is_partial_and_its_resume_replays_nothing(
    tmp_path: Path, loopback: LoopbackServer
) -> None:
    require_isolation()
    loopback.set_policy(solve_after_one_error)
    here = Path(__file__).resolve().parent
    driver = tmp_path / "driver.py"
    paths = [str(here), str(here.parent / "fixtures"), str(here.parent)]
    driver.write_text(DRIVER.format(paths=paths))
    data = write_problems(tmp_path / "p.jsonl", TASKS)
    args = [sys.executable, str(driver), "collect", "poison-math", "--teacher", "poison:m",
            "--data", str(data), "--out", str(tmp_path / "out"), "--run", "r", "--concurrency", "2"]
    first = subprocess.run(args, env=dict(os.environ), capture_output=True, text=True, timeout=300)
    assert first.returncode == 1, first.stderr
    assert "Traceback" not in first.stderr and '"internal_error": 2' in first.stdout
    _check_poisoned_run(tmp_path / "out" / "runs" / "r")
    calls = loopback.request_count
    again = subprocess.run(args, env=dict(os.environ), capture_output=True, text=True, timeout=300)
    assert again.returncode == 1 and f"{TASKS} task(s) were already collected" in again.stderr
    assert loopback.request_count == calls


class _StubbornEnv:
    """An interactive environment that judges fine but raises when closed."""

    outcome = None

    def tools(self) -> Sequence[Tool]:
        return []

    async def judge(self, answer: str) -> Verdict:
        return Verdict(success=answer.strip() == "2", score=1.0)

    async def aclose(self) -> None:
        raise RuntimeError("cannot close")


class _StubbornSource:
    name = "stubborn"

    async def open_env(self, task: Task) -> _StubbornEnv:
        return _StubbornEnv()


async def test_an_environment_that_fails_to_close_keeps_its_finished_record(
    loopback: LoopbackServer,
) -> None:
    """Before: the close error replaced a finished, paid-for episode (the run crashed)."""
    require_isolation()
    from trajkit.collect.loop import LoopConfig
    from trajkit.collect.play import play_task
    from trajkit.collect.sandbox.config import SandboxConfig
    from trajkit.collect.sandbox.local import LocalSandbox

    loopback.set_policy(lambda messages: "<solution>2</solution>")
    teacher = OpenAITeacher("m", {"max_retries": 0})
    try:
        source: Any = _StubbornSource()
        traj = await play_task(
            Task(source="stubborn", task_id="s-0", prompt="Say 2."), source, teacher,
            lambda tools: LocalSandbox(SandboxConfig(), tools), LoopConfig(),
            run="r", sandbox_name="local",
        )
    finally:
        await teacher.aclose()
    assert traj.termination.value == "solved" and traj.usage.calls == 1


def test_a_record_nothing_can_write_becomes_an_internal_error_record_of_its_task() -> None:
    """The store's last resort: a record that cannot be written even with its strings made
    valid and unknown objects as their repr is replaced by an ``internal_error`` record of
    the same task (its paid usage kept), so the task is still recorded once."""
    from trajkit.collect.episode_record import error_record
    from trajkit.collect.run_store import record_line
    from trajkit.schemas import Usage

    task = Task(source="math", task_id="t/\ud800", prompt="p")
    good = error_record(task, TeacherInfo(provider="openai", model="m"), ValueError("x"),
                        run="r", sandbox_name="local", started_at="now", duration_s=1.0)
    broken = good.model_copy(update={"task": object(), "usage": Usage(input_tokens=7, calls=1)})
    line, written = record_line(broken)
    again = Trajectory.model_validate_json(line)
    assert again == written and again.termination.value == "internal_error"
    assert again.task_id == "t/\ufffd" and again.usage.input_tokens == 7
    assert again.termination_detail.startswith("the record could not be written: ")
