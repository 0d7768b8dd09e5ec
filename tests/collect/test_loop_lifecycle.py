"""How episodes end on errors, and the sandbox lifecycle (concurrent start, always closed)."""

from __future__ import annotations

import asyncio

import pytest
from loop_fakes import FakeSandbox, FakeSource, FakeTeacher, play

from trajkit.collect.teachers.base import ContextLimitError, TeacherError
from trajkit.core.errors import TeacherFatalError
from trajkit.schemas import Termination, Trajectory


@pytest.mark.parametrize(
    ("exc", "termination"),
    [
        (TeacherError("rate limited after 5 retries"), Termination.TEACHER_ERROR),
        (ContextLimitError("prompt too long"), Termination.CONTEXT_LIMIT),
    ],
)
async def test_teacher_errors_end_the_episode(exc: TeacherError, termination: Termination) -> None:
    traj, _, sandbox = await play(["<execute>print(1)</execute>", exc])
    assert traj.termination is termination and traj.termination_detail == str(exc)
    assert len(traj.steps) == 1 and not traj.success and sandbox.closed == 1
    assert traj.messages[-1].role == "user"  # the turn the teacher failed to answer
    assert Trajectory.model_validate_json(traj.model_dump_json()) == traj


async def test_teacher_error_on_first_turn_still_closes() -> None:
    traj, _, sandbox = await play([TeacherError("boom")], sandbox=FakeSandbox(start_delay=0.05))
    assert traj.termination is Termination.TEACHER_ERROR and traj.steps == []
    assert sandbox.closed == 1 and sandbox.started


async def test_teacher_fatal_error_propagates_and_closes() -> None:
    sandbox = FakeSandbox()
    with pytest.raises(TeacherFatalError):
        await play(["<execute>print(1)</execute>", TeacherFatalError("bad key")], sandbox=sandbox)
    assert sandbox.closed == 1


async def test_judge_exception_is_judge_error() -> None:
    traj, _, sandbox = await play(
        ["<solution>42</solution>"], source=FakeSource(judge_error=ValueError("parser died"))
    )
    assert traj.termination is Termination.JUDGE_ERROR
    assert traj.termination_detail == "ValueError: parser died"
    assert not traj.success and traj.steps[0].verdict is None and sandbox.closed == 1


async def test_sandbox_run_exception_is_sandbox_error() -> None:
    sandbox = FakeSandbox([ConnectionResetError("worker pipe closed")])
    traj, _, _ = await play(["<execute>print(1)</execute>"], sandbox=sandbox)
    assert traj.termination is Termination.SANDBOX_ERROR
    assert traj.termination_detail == "ConnectionResetError: worker pipe closed"
    assert sandbox.closed == 1 and len(traj.steps) == 1


async def test_sandbox_start_failure_is_sandbox_error_when_code_runs() -> None:
    sandbox = FakeSandbox(start_error=OSError("no docker"))
    traj, _, _ = await play(["<execute>print(1)</execute>"], sandbox=sandbox)
    assert traj.termination is Termination.SANDBOX_ERROR
    assert traj.termination_detail == "start failed: OSError: no docker"
    assert sandbox.closed == 1


async def test_sandbox_start_failure_is_harmless_without_code() -> None:
    sandbox = FakeSandbox(start_error=OSError("no docker"))
    traj, _, _ = await play(["<solution>42</solution>"], sandbox=sandbox)
    assert traj.termination is Termination.SOLVED and sandbox.closed == 1


async def test_sandbox_starts_while_teacher_thinks() -> None:
    sandbox = FakeSandbox(start_delay=0.05)

    async def wait_for_start() -> None:
        # Deadlocks (and times out) unless start() is already running during the first call.
        await asyncio.wait_for(sandbox.start_begun.wait(), timeout=1.0)

    teacher = FakeTeacher(
        ["<execute>print(1)</execute>", "<solution>42</solution>"], before=wait_for_start
    )
    traj, _, _ = await play([], sandbox=sandbox, teacher=teacher)
    assert traj.termination is Termination.SOLVED and sandbox.codes == ["print(1)"]
    assert sandbox.closed == 1


async def test_cancel_during_teacher_call_propagates_and_closes() -> None:
    sandbox = FakeSandbox(start_delay=10.0)
    called = asyncio.Event()

    async def hang() -> None:
        called.set()
        await asyncio.Event().wait()

    teacher = FakeTeacher(["never"], before=hang)
    episode = asyncio.create_task(play([], sandbox=sandbox, teacher=teacher))
    await asyncio.wait_for(called.wait(), 1.0)
    episode.cancel()
    with pytest.raises(asyncio.CancelledError):
        await episode
    assert sandbox.closed == 1 and not sandbox.started  # pending start was cancelled


async def test_cancel_during_sandbox_run_propagates_and_closes() -> None:
    sandbox = FakeSandbox()
    running = asyncio.Event()

    async def hang() -> None:
        running.set()
        await asyncio.Event().wait()

    sandbox.run_hook = hang
    episode = asyncio.create_task(play(["<execute>print(1)</execute>"], sandbox=sandbox))
    await asyncio.wait_for(running.wait(), 1.0)
    episode.cancel()
    with pytest.raises(asyncio.CancelledError):
        await episode
    assert sandbox.closed == 1


async def test_close_failure_does_not_lose_the_record() -> None:
    sandbox = FakeSandbox()

    async def bad_close() -> None:
        raise RuntimeError("already gone")

    sandbox.close = bad_close  # type: ignore[method-assign]
    traj, _, _ = await play(["<solution>42</solution>"], sandbox=sandbox)
    assert traj.termination is Termination.SOLVED


async def test_second_cancel_does_not_abort_the_close() -> None:
    sandbox = FakeSandbox()
    closing, release = asyncio.Event(), asyncio.Event()
    finished: list[bool] = []

    async def slow_close() -> None:
        closing.set()
        await release.wait()
        finished.append(True)

    sandbox.close = slow_close  # type: ignore[method-assign]
    called = asyncio.Event()

    async def hang() -> None:
        called.set()
        await asyncio.Event().wait()

    episode = asyncio.create_task(play([], sandbox=sandbox, teacher=FakeTeacher([], before=hang)))
    await asyncio.wait_for(called.wait(), 1.0)
    episode.cancel()
    await asyncio.wait_for(closing.wait(), 1.0)
    episode.cancel()  # impatient second Ctrl-C while the sandbox is closing
    with pytest.raises(asyncio.CancelledError):
        await episode
    release.set()
    for _ in range(10):
        await asyncio.sleep(0)
    assert finished == [True]
