"""One task from start to record: open its environment (if any), build its sandbox, play it.

Shared by every executor (in-process, Ray) so an episode is played the same way wherever it
runs: a static source's tools come from ``source.tools(task)``; an interactive source opens a
fresh environment per episode, whose tools act on that episode's state only, and closes it
afterwards whatever happened. An environment that raises while opening, or a source whose
tools raise, ends the episode with an exception, which the runner records as
``internal_error``; one that raises while closing is only logged.
"""

from __future__ import annotations

import logging

from trajkit.collect.attempts import FIRST, EpisodeKey
from trajkit.collect.episode_record import describe_error
from trajkit.collect.loop import LoopConfig, run_episode
from trajkit.collect.teachers.base import Teacher
from trajkit.collect.teachers.sample import sampling
from trajkit.core.sandbox import SandboxFactory
from trajkit.schemas import Task, Trajectory
from trajkit.sources.base import EpisodeEnv, Source

log = logging.getLogger(__name__)


async def play_task(
    task: Task,
    source: Source,
    teacher: Teacher,
    factory: SandboxFactory,
    loop: LoopConfig,
    *,
    run: str,
    sandbox_name: str,
    key: EpisodeKey = FIRST,
) -> Trajectory:
    """Play episode ``key`` of ``task`` (its teacher stage and attempt; ``teacher`` is that
    stage's) in a new sandbox (and environment) and return its trajectory."""
    with sampling(key.attempt):  # the response cache tells attempts apart by it
        open_env = getattr(source, "open_env", None)
        env: EpisodeEnv | None = await open_env(task) if open_env is not None else None
        try:
            tools = env.tools() if env is not None else source.tools(task)
            return await run_episode(
                task, source, teacher, factory(tools), loop,
                run=run, sandbox_name=sandbox_name, env=env, key=key,
            )
        finally:
            if env is not None:
                await _close_env(env, task)


async def _close_env(env: EpisodeEnv, task: Task) -> None:
    """Close ``env``; a failure to close is logged, and never costs the finished record."""
    try:
        await env.aclose()
    except Exception as exc:
        log.warning("closing the environment of %s failed: %s", task.task_id, describe_error(exc))
