"""The ``episode_setup`` source capability as the loop honours it, and wikitq's use of it: the
table is ``df`` (and a CSV at the prompt's path) from the teacher's first cell, in a real
isolated sandbox of every backend, again after the worker restarted, never shown to the
teacher; a setup that fails ends the episode as ``sandbox_error``."""

from __future__ import annotations

import asyncio
import os
from typing import Any

import pytest
from loop_fakes import FakeSandbox, FakeTeacher
from support import require_backend, require_isolation

from trajkit.collect.loop import LoopConfig, run_episode
from trajkit.collect.sandbox.backend import sandbox_factory
from trajkit.collect.sandbox.config import SandboxConfig
from trajkit.core.errors import DataError
from trajkit.schemas import Task, Verdict
from trajkit.sources.base import BaseSource, LoadOptions
from trajkit.sources.wikitq import WikiTQSource
from trajkit.sources.wikitq.tables import Table

HOSTILE_CELLS = ["'''", '"""', "a\nb", "{df}", "__import__('os').system('id')", "\\x00\\", "é|€"]


def sample_task(task_id: str) -> Task:
    return next(t for t in WikiTQSource().load(LoadOptions()) if t.task_id == task_id)


def hostile_task() -> Task:
    table = Table(["text", "n"], [[cell, str(i)] for i, cell in enumerate(HOSTILE_CELLS)])
    task = sample_task("sa-0")
    return task.model_copy(update={"metadata": {**task.metadata, "table": table.to_json()}})


def test_setup_code_embeds_cells_as_literals_only() -> None:
    code = WikiTQSource().episode_setup(hostile_task())
    namespace: dict[str, Any] = {}
    cwd = os.getcwd()
    try:
        import tempfile

        with tempfile.TemporaryDirectory() as tmp:
            os.chdir(tmp)
            exec(compile(code, "<setup>", "exec"), namespace)
            with open("csv/200-csv/0.csv", encoding="utf-8") as handle:
                written = handle.read()
    finally:
        os.chdir(cwd)
    df = namespace["df"]
    assert df["text"].tolist() == HOSTILE_CELLS and df["n"].tolist() == list(range(7))
    assert '"a\nb"' in written
    assert not any(name.startswith("_trajkit") for name in namespace)  # helpers deleted


def test_a_hostile_table_path_in_a_record_is_refused() -> None:
    task = sample_task("sa-0")
    bad = task.model_copy(update={"metadata": {**task.metadata, "table_path": "../../x.csv"}})
    with pytest.raises(DataError, match="expected a relative path"):
        WikiTQSource().episode_setup(bad)


def solve_turns() -> list[str]:
    return [
        "Look first.\n<execute>\nprint(df.shape)\nprint(df.loc[2, 'Name'])\n"
        "print(pd.read_csv('csv/200-csv/0.csv').equals(df))\n</execute>",
        "<execute>\nimport os\nos._exit(3)\n</execute>",
        "<execute>\nprint(int(df['Height (m)'].max()))\n</execute>",
        "<solution>Saltmere</solution>",
    ]


@pytest.mark.parametrize("backend", ["local", "docker"])
async def test_the_table_is_df_from_the_first_cell_and_after_a_restart(backend: str) -> None:
    require_backend(backend)
    source = WikiTQSource()
    task = sample_task("sa-0")
    factory = sandbox_factory(backend, SandboxConfig())
    teacher = FakeTeacher(solve_turns())
    traj = await run_episode(
        task, source, teacher, factory(source.tools(task)), LoopConfig(max_turns=5),
        run="r", sandbox_name=backend,
    )
    assert traj.termination.value == "solved" and traj.success, traj.termination_detail
    first, restart, after = (s.observation.text for s in traj.steps[:3])
    assert first.splitlines() == ["(6, 5)", "Saltmere", "True"]
    assert "restarted" in restart
    assert after.strip() == "42"  # the setup ran again in the fresh worker
    seen = "\n".join(m.content for m in traj.messages)
    assert "_trajkit" not in seen and "read_csv(_trajkit_path)" not in seen


class SetupSource(BaseSource):
    """A source whose setup is given code (or nothing), judged by exact text."""

    name = "setup-probe"

    def __init__(self, setup: str | None) -> None:
        super().__init__()
        self.setup = setup

    def episode_setup(self, task: Task) -> str | None:
        return self.setup

    async def judge(self, task: Task, answer: str) -> Verdict:
        return Verdict(success=answer == "ok", score=float(answer == "ok"))


def probe_task() -> Task:
    return Task(source="setup-probe", task_id="t", prompt="go")


async def test_a_failing_setup_ends_the_episode_as_sandbox_error() -> None:
    require_isolation()
    factory = sandbox_factory("local", SandboxConfig())
    teacher = FakeTeacher(["<execute>\nprint(1)\n</execute>"])
    traj = await run_episode(
        probe_task(), SetupSource("raise KeyError('no table')"), teacher, factory([]),
        LoopConfig(), run="r", sandbox_name="local",
    )
    assert traj.termination.value == "sandbox_error"
    assert "episode setup failed: KeyError" in traj.termination_detail
    assert "no table" in traj.termination_detail


@pytest.mark.parametrize("setup", [None, ""])
async def test_no_setup_runs_nothing_extra(setup: str | None) -> None:
    sandbox = FakeSandbox()
    teacher = FakeTeacher(["<execute>\nx = 1\n</execute>", "<solution>ok</solution>"])
    traj = await run_episode(
        probe_task(), SetupSource(setup), teacher, sandbox, LoopConfig(), run="r", sandbox_name="f"
    )
    assert traj.success and sandbox.codes == ["x = 1"]


async def test_setup_runs_before_the_first_cell_and_is_not_observed() -> None:
    sandbox = FakeSandbox()
    teacher = FakeTeacher(["<execute>\nprint(seed)\n</execute>", "<solution>ok</solution>"])
    traj = await run_episode(
        probe_task(), SetupSource("seed = 41 + 1\nprint('hidden')"), teacher, sandbox,
        LoopConfig(exec_timeout=1), run="r", sandbox_name="f",
    )
    assert sandbox.codes == ["seed = 41 + 1\nprint('hidden')", "print(seed)"]
    assert sandbox.timeouts[0] >= 60  # the setup's own floor, not the 1 s cell timeout
    assert traj.steps[0].observation.text.strip() == "42"
    assert all("hidden" not in m.content for m in traj.messages)


async def test_a_raising_episode_setup_is_the_sources_bug_not_a_hang() -> None:
    class Broken(SetupSource):
        def episode_setup(self, task: Task) -> str | None:
            raise RuntimeError("bug")

    with pytest.raises(RuntimeError, match="bug"):
        await asyncio.wait_for(
            run_episode(probe_task(), Broken(None), FakeTeacher([]), FakeSandbox(), LoopConfig(),
                        run="r", sandbox_name="f"),
            10,
        )
