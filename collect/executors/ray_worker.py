"""The worker side of ``--executor ray``: one long-lived episode player per Ray worker process.

Ray runs this class as an async actor (``ray_pool.py`` wraps it; this module never
imports Ray, so it is testable without it). Everything expensive — the source (its judge
pool, corpus index), the sandbox backend (fork server or Docker client) and the teacher's
HTTP client with its response cache — is built once per process on the first call, from the
JSON form of the driver's ``CollectConfig``, and reused by every episode the process plays.
Episodes run concurrently on the actor's event loop exactly as they do in-process.

Only finished trajectories travel back: the driver alone writes the run. Each carries the
opaque id of the node that played it (``node_label``), set here, where the episode ran.
"""

from __future__ import annotations

import asyncio
import hashlib
import os
import socket
import sqlite3
from pathlib import Path
from typing import Any

from trajkit.collect.attempts import FIRST, EpisodeKey
from trajkit.collect.config import CollectConfig
from trajkit.collect.episode_sandbox import wait_for_closing
from trajkit.collect.lent_teachers import teacher_lender
from trajkit.collect.play import play_task
from trajkit.collect.sandbox.backend import check_sandbox, sandbox_factory
from trajkit.collect.teacher_setup import build_teacher
from trajkit.collect.teachers.base import Teacher
from trajkit.collect.teachers.cache import with_cache
from trajkit.collect.teachers.provider import provider_for
from trajkit.core.errors import StorageError
from trajkit.core.sandbox import SandboxFactory
from trajkit.schemas import Task, Trajectory
from trajkit.sources.base import Source, SourceRuntime, make_source

#: Hex digits of a node id: short for a progress line, collision-free for any cluster size.
NODE_LABEL_CHARS = 12


def node_label(run: str, node_id: str) -> str:
    """The id records and ``run.json`` give a Ray node: a hash of its node id salted with the
    run name, so it names no host, address or path and cannot be matched across runs, yet is
    the same for every episode the node plays in this run (and in its resumes)."""
    digest = hashlib.sha256(f"{run}\0{node_id}".encode("utf-8", "surrogatepass"))
    return digest.hexdigest()[:NODE_LABEL_CHARS]


class EpisodeWorker:
    """Plays episodes for one run inside one worker process (a Ray actor)."""

    def __init__(self, config: dict[str, Any], cwd: str, node: str | None = None) -> None:
        """``config`` is ``CollectConfig.model_dump(mode="json")``; ``cwd`` is the driver's;
        ``node`` is this process's ``node_label``, stamped on every trajectory it returns.

        Relative paths in the config (a replay file, a corpus) mean what they meant on the
        driver when this process runs on the driver's machine or on a shared filesystem
        mounted at the same place; elsewhere they resolve against the worker's directory.
        """
        if os.path.isdir(cwd):
            os.chdir(cwd)
        self.config = CollectConfig.model_validate(config)
        self.node = node
        self._lock = asyncio.Lock()
        self._source: Source | None = None
        self._teachers: list[Teacher] = []  # one per stage of the --escalate ladder
        self._factory: SandboxFactory | None = None
        self._cache_note = "off"

    async def ready(self) -> dict[str, Any]:
        """Build the source, sandbox backend and teacher once; say where this worker runs.

        Raises the same ``UserError``s as an in-process run (no isolation, bad key, bad
        replay file), so the driver can stop the run with one line before spending.
        """
        async with self._lock:
            if not self._teachers:
                await self._build()
        return {"pid": os.getpid(), "host": socket.gethostname(), "cache": self._cache_note,
                "node": self.node}

    async def _build(self) -> None:
        config = self.config
        source = make_source(config.source, config.source_options)
        factory = sandbox_factory(config.sandbox, config.sandbox_config)
        attach = getattr(source, "attach", None)
        if attach is not None:
            attach(
                SourceRuntime(
                    sandbox_factory=factory, load=config.load,
                    make_teacher=teacher_lender(config),
                )
            )
        await check_sandbox(factory)
        teachers = []
        for stage in range(len(config.ladder)):
            stage_config = config.for_stage(stage)
            # each worker backs off on 429s by itself
            teacher = build_teacher(stage_config, cache=False)
            if config.cache and provider_for(stage_config.teacher)[0].cacheable:
                teacher, self._cache_note = _cached(teacher, config.cache_path, config.run)
            elif config.cache and stage == 0:
                self._cache_note = "off (this teacher's answers are not cached)"
            teachers.append(teacher)
        self._source, self._factory, self._teachers = source, factory, teachers

    async def play(self, task: Task, key: EpisodeKey = FIRST) -> Trajectory:
        """Play episode ``key`` of ``task`` to its trajectory, stamped with this worker's
        node (the driver decides whether it is written)."""
        if not self._teachers:
            await self.ready()
        assert self._source is not None and self._teachers and self._factory
        config = self.config
        traj = await play_task(
            task, self._source, self._teachers[key.stage], self._factory, config.loop,
            run=config.run, sandbox_name=config.sandbox, key=key,
        )
        if self.node is not None:
            traj.node = self.node
        return traj

    async def aclose(self) -> None:
        """Close the teacher (and its cache) and the source; sandboxes close per episode."""
        await wait_for_closing()
        teachers, source = self._teachers, self._source
        self._teachers, self._source = [], None
        for teacher in teachers:
            await teacher.aclose()
        close = getattr(source, "aclose", None)
        if close is not None:
            await close()


def _cached(teacher: Teacher, path: Path, run: str) -> tuple[Teacher, str]:
    """Wrap ``teacher`` in the SQLite response cache at ``path`` if this machine can hold it.

    On the driver's machine every worker shares the driver's cache file (SQLite in WAL mode
    serialises the writers). On another machine the same absolute path names a cache local
    to that machine; where it cannot be created the worker runs uncached and says so.
    """
    try:
        return with_cache(teacher, path, run), str(path)
    except (OSError, sqlite3.Error, StorageError) as exc:
        return teacher, f"off ({path}: {exc})"
