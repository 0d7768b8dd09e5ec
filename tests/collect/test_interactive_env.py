"""The interactive-environment seam: per-episode state, mid-cell end, env verdicts.

A tiny counting game stands in for ALFWorld/WebShop: ``step()`` advances a host-side counter
and the game is won at ``goal``; the real local sandbox carries the tool calls.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

from loop_fakes import FakeTeacher
from support import require_isolation

from trajkit.collect.loop import LoopConfig
from trajkit.collect.play import play_task
from trajkit.collect.sandbox.config import SandboxConfig
from trajkit.collect.sandbox.local import LocalSandbox
from trajkit.core.tools import EndEpisode, Tool
from trajkit.schemas import Task, Termination, Verdict


class CountingGame:
    """Won when ``step()`` has been called ``goal`` times; lost at ``cap`` steps."""

    def __init__(self, goal: int, cap: int = 50) -> None:
        self.goal, self.cap, self.count = goal, cap, 0
        self.outcome: Verdict | None = None
        self.closed = False

    def step(self) -> str:
        """Advance the counter by one."""
        self.count += 1
        if self.count >= self.goal:
            self.outcome = Verdict(success=True, score=1.0, details={"count": self.count})
            raise EndEpisode(f"count {self.count}: you won!")
        if self.count >= self.cap:
            self.outcome = Verdict(success=False, score=0.0, details={"reason": "step cap"})
            raise EndEpisode("step cap reached")
        return f"count {self.count}"

    def tools(self) -> Sequence[Tool]:
        return [Tool.from_function(self.step)]

    async def judge(self, answer: str) -> Verdict:
        ok = answer.strip() == "done" and self.count >= self.goal
        return Verdict(success=ok, score=float(ok))

    async def aclose(self) -> None:
        self.closed = True


class CountingSource:
    name = "counting"

    def __init__(self, goal: int = 3, cap: int = 50) -> None:
        self.goal, self.cap = goal, cap
        self.envs: list[CountingGame] = []

    def load(self, options: object) -> list[Task]:
        return []

    def tools(self, task: Task) -> Sequence[Tool]:
        raise AssertionError("an interactive source's tools come from its environment")

    async def judge(self, task: Task, answer: str) -> Verdict:
        raise AssertionError("an interactive episode is judged by its environment")

    async def open_env(self, task: Task) -> CountingGame:
        env = CountingGame(self.goal, self.cap)
        self.envs.append(env)
        return env


def _task(i: int = 0) -> Task:
    return Task(source="counting", task_id=f"c-{i}", prompt="Count to the goal.")


def _factory(tools: Sequence[Tool]) -> LocalSandbox:
    return LocalSandbox(SandboxConfig(), tools)


async def _play(source: CountingSource, turns: list[str], i: int = 0):
    return await play_task(
        _task(i), source, FakeTeacher(turns), _factory, LoopConfig(),
        run="r", sandbox_name="local",
    )


async def test_win_mid_cell_stops_the_loop_and_the_episode() -> None:
    require_isolation()
    source = CountingSource(goal=3)
    code = (
        "<execute>\nwhile True:\n    try:\n        print(step())\n"
        "    except Exception as e:\n        print('swallowed', e)\nprint('never')\n</execute>"
    )
    traj = await _play(source, [code])
    assert traj.termination is Termination.SOLVED and traj.success and traj.score == 1.0
    out = traj.steps[0].observation.text
    assert "count 2" in out and "you won!" in out and "never" not in out and "swallowed" not in out
    assert traj.steps[0].verdict is not None and traj.steps[0].verdict.details == {"count": 3}
    assert source.envs[0].count == 3 and source.envs[0].closed
    assert "step(" in traj.messages[0].content  # the env's tools are in the system prompt


async def test_step_cap_ends_as_env_ended() -> None:
    require_isolation()
    source = CountingSource(goal=1000, cap=5)
    traj = await _play(source, ["<execute>\nwhile True:\n    step()\n</execute>"])
    assert traj.termination is Termination.ENV_ENDED and not traj.success
    assert traj.score_details == {"reason": "step cap"} and source.envs[0].count == 5


async def test_solution_is_judged_by_the_environment_and_state_is_per_episode() -> None:
    require_isolation()
    source = CountingSource(goal=2)
    turns = ["<execute>print(step())</execute>", "<solution>done</solution>",
             "<execute>print(step())</execute>"]
    first = await _play(source, turns, 0)
    # Two concurrent episodes: each gets its own game, so neither sees the other's steps.
    a, b = await asyncio.gather(
        _play(source, ["<execute>print(step())</execute>"] * 5, 1),
        _play(source, ["<execute>print(step())</execute>"] * 5, 2),
    )
    assert first.termination is Termination.SOLVED and first.steps[1].verdict is not None
    assert not first.steps[1].verdict.success and len(first.steps) == 3
    for traj in (a, b):
        assert traj.termination is Termination.SOLVED and len(traj.steps) == 2
        assert "count 1" in traj.steps[0].observation.text
    assert [env.count for env in source.envs] == [2, 2, 2]
