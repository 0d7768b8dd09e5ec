"""A stopped run stops, even when an episode loses the cancellation.

An audit's Ctrl-C was sometimes swallowed under load: one worker's cancellation was lost
inside an episode (Python 3.11's ``asyncio.wait_for`` drops one that races its result), so
that worker went on playing, and paying for, the rest of the tasks, then waited forever for
the episodes the other workers had abandoned. Here the executor is a plugin whose episodes
always swallow the cancellation, registered as a user's own would be.
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

import pytest
from factories import make_trajectory

import trajkit
from trajkit.collect.attempts import FIRST, EpisodeKey
from trajkit.collect.executors.base import ExecutorBackend
from trajkit.core import registry
from trajkit.schemas import Task, Trajectory
from trajkit.sources.math import MathSource


class SwallowingExecutor:
    """Each episode takes a moment (``EPISODE_S``) and, cancelled, finishes anyway."""

    episode_s = 0.05

    def __init__(self, run: str) -> None:
        self.run = run
        self.played: list[str] = []
        self.started = asyncio.Event()

    async def start(self, n_tasks: int) -> None:
        pass

    async def play(self, task: Task, key: EpisodeKey = FIRST) -> Trajectory:
        self.played.append(task.task_id)
        if len(self.played) >= 2:
            self.started.set()
        try:
            await asyncio.sleep(self.episode_s)
        except asyncio.CancelledError:
            pass  # lost, as wait_for can lose it
        return make_trajectory(task.task_id, ["solve"], run=self.run)

    async def aclose(self) -> None:
        pass


class SwallowingBackend(ExecutorBackend):
    name = "swallowing"
    last: SwallowingExecutor | None = None

    def make(self, config, console, *, source, sandbox_factory):  # type: ignore[no-untyped-def]
        SwallowingBackend.last = SwallowingExecutor(config.run)
        return SwallowingBackend.last


@pytest.fixture
def swallowing():
    registry.register("executor", "swallowing", SwallowingBackend(), replace=True)
    try:
        yield
    finally:
        registry.REGISTRY.unregister("executor", "swallowing")


async def test_a_cancelled_run_starts_no_episode_after_the_stop_and_ends(
    swallowing: None, tmp_path: Path
) -> None:
    run = asyncio.ensure_future(trajkit.acollect(
        "math", f"replay:{MathSource.demo_replay}", executor="swallowing", concurrency=2,
        out=tmp_path / "out", run="s", no_cache=True,
    ))
    while SwallowingBackend.last is None:
        assert not run.done(), run.exception()
        await asyncio.sleep(0.01)
    executor = SwallowingBackend.last
    await asyncio.wait_for(executor.started.wait(), 30)
    run.cancel()
    with pytest.raises(asyncio.CancelledError):
        await asyncio.wait_for(run, 30)  # before the fix: every task played first
    assert len(executor.played) == 2, executor.played  # the two in flight, none after
    lines = (tmp_path / "out" / "runs" / "s" / "trajectories.jsonl").read_text().splitlines()
    assert len(lines) <= 2


def test_sigterm_stops_a_run_as_ctrl_c_does(swallowing: None, tmp_path: Path) -> None:
    """``timeout``/``docker stop``/Kubernetes send SIGTERM: it killed the process at once, and
    run.json stayed ``running``. Now the run is cancelled, records ``interrupted`` and
    surfaces as KeyboardInterrupt (the CLI's exit 130); the handler is removed after."""
    SwallowingExecutor.episode_s = 0.05

    async def main() -> None:
        loop = asyncio.get_running_loop()
        run = asyncio.ensure_future(trajkit.acollect(
            "math", f"replay:{MathSource.demo_replay}", executor="swallowing", concurrency=2,
            out=tmp_path / "out", run="t", no_cache=True,
        ))
        while SwallowingBackend.last is None or not SwallowingBackend.last.started.is_set():
            assert not run.done(), run.exception()
            await asyncio.sleep(0.01)
        loop.call_soon(os.kill, os.getpid(), signal.SIGTERM)
        await run

    def unhandled(signum: int, frame: object) -> None:
        raise RuntimeError("SIGTERM reached the process's own handler: the run did not stop")

    SwallowingBackend.last = None
    before = signal.signal(signal.SIGTERM, unhandled)  # without the fix: fail, not kill pytest
    try:
        with pytest.raises(KeyboardInterrupt):
            asyncio.run(main())
        assert signal.getsignal(signal.SIGTERM) is unhandled  # put back after the run
    finally:
        signal.signal(signal.SIGTERM, before)
    manifest = json.loads((tmp_path / "out" / "runs" / "t" / "run.json").read_text())
    assert manifest["status"] == "interrupted"
    assert SwallowingBackend.last is not None and len(SwallowingBackend.last.played) < 10


@pytest.mark.parametrize("what", ["data", "replay"])
def test_sigterm_while_the_tasks_load_stops_at_once(tmp_path: Path, what: str) -> None:
    """Loading the tasks, and reading a replay's recording to check it covers them, hold the
    event loop, which then cannot run its SIGTERM handler: a run whose ``--data`` or recording
    never ends (a FIFO here; a hung download, a huge file) ignored SIGTERM until the read
    finished, here forever. Now it stops at once, exit 130, one line, nothing written."""
    fifo = tmp_path / "input.jsonl"
    os.mkfifo(fifo)
    replay = fifo if what == "replay" else MathSource.demo_replay
    data = ["--data", str(fifo)] if what == "data" else []
    proc = subprocess.Popen(
        [sys.executable, "-m", "trajkit.cli", "collect", "math", "--teacher", f"replay:{replay}",
         *data, "--out", str(tmp_path / "out"), "--run", "r"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )
    writer = None
    try:
        deadline = time.monotonic() + 60
        while writer is None:  # succeeds once the collector opened the FIFO to read it
            assert proc.poll() is None and time.monotonic() < deadline, proc.communicate()
            try:
                writer = os.open(fifo, os.O_WRONLY | os.O_NONBLOCK)
            except OSError:
                time.sleep(0.05)
        os.write(writer, b'{"problem": "1+1?", "solution": "\\boxed{2}"}\n')  # then nothing
        time.sleep(0.3)  # the collector now waits in read()
        proc.send_signal(signal.SIGTERM)
        try:
            _, err = proc.communicate(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            pytest.fail("SIGTERM did not stop a collector loading its tasks")
    finally:
        if writer is not None:
            os.close(writer)
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 130, err
    assert "Traceback" not in err and len(err.strip().splitlines()) == 1, err
    assert not (tmp_path / "out" / "runs" / "r").exists()
