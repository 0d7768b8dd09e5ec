"""The docker sandbox: one locked-down container per episode, the same worker as ``local``.

The container runs ``worker.py`` with its stdin/stdout attached (``docker_stream.py``), so a
cell is a message on a persistent stream, and everything the protocol means — tool calls,
timeouts, crashes, garbage — is the shared :class:`WorkerSession`. A restart (timeout,
crash) removes the container and takes a fresh one: state never crosses containers, and a
container is never handed to a second episode. Limits and lock-down: ``docker_engine.py``.
"""

from __future__ import annotations

import asyncio
import signal
from collections.abc import Callable, Sequence
from typing import Any, NoReturn, TypeVar

from trajkit.collect.sandbox.backend import SandboxBackend
from trajkit.collect.sandbox.config import SandboxConfig
from trajkit.collect.sandbox.docker_engine import Engine, engine_for
from trajkit.collect.sandbox.docker_stream import AttachedContainer, Launched
from trajkit.collect.sandbox.session import ProtocolError, WorkerSession
from trajkit.core.errors import ConfigError
from trajkit.core.sandbox import SandboxFactory
from trajkit.core.tools import Tool
from trajkit.schemas.manifests import SandboxEnvironment

T = TypeVar("T")


class DockerSandbox(WorkerSession):
    """A persistent Python worker in its own container (see ``docker_engine.create_kwargs``)."""

    name = "docker"

    def __init__(self, config: SandboxConfig | None = None, tools: Sequence[Tool] = ()) -> None:
        super().__init__(config, tools)
        self._engine: Engine | None = None
        self._oom_killed = False  # the last container's, read when it is removed
        self.acquire_s = 0.0  # how long the last start waited for its container
        self.warm = False  # whether that container came from the warm pool

    async def start(self) -> None:
        """Take a warm container (or start one cold), adopt its stream, send the tools."""
        loop = asyncio.get_running_loop()
        t0 = loop.time()
        if self._engine is None:
            self._engine = await asyncio.to_thread(engine_for, self.config)
        engine = self._engine
        launched = engine.take()
        self.warm = launched is not None
        if launched is not None:
            try:
                await self._adopt(launched)
            except ProtocolError:  # a spare that died while waiting (engine restart): go cold
                self.warm, launched = False, None
        if launched is None:
            await self._adopt(await _launch_cold(engine))
        self.acquire_s = loop.time() - t0

    async def _adopt(self, launched: Launched) -> None:
        """Connect to a launched container and send the tools; remove it if that fails."""
        assert self._engine is not None
        try:
            self._proc = await AttachedContainer.connect(launched)
            await self._handshake()
        except BaseException:
            if self._proc is None:
                launched.sock.close()
                await asyncio.shield(_blocking(self._engine, self._engine.remove, launched.id))
            else:
                await self._kill()
            raise

    async def close(self) -> None:
        """Remove the container (killing anything still running in it)."""
        await self._kill()

    async def _kill(self, grace: float = 0.0) -> int | None:
        proc: AttachedContainer | None
        proc, self._proc = self._proc, None
        if proc is None or self._engine is None:
            return None
        engine = self._engine
        status = None
        self._oom_killed = False
        if grace and await proc.wait_closed(grace):
            status = await _blocking(engine, engine.exit_code, proc.id, grace)
            if status == 128 + signal.SIGKILL:
                self._oom_killed = await _blocking(engine, engine.oom_killed, proc.id)
        proc.close()
        # Shielded: a cancelled episode still removes its container before going away.
        await asyncio.shield(_blocking(engine, engine.remove, proc.id))
        return status

    def _death_note(self, status: int) -> str:
        """A container the kernel killed a process of for memory ran out of it."""
        if not self._oom_killed:
            return ""
        return self._out_of_memory()

    async def _raise_start_failure(self, exc: BaseException) -> NoReturn:
        proc = self._proc
        stderr = ""
        if proc is not None:
            await proc.wait_closed(2.0)
            stderr = proc.stderr_tail
        status = await self._kill(grace=0.5)
        lines = stderr.strip().splitlines()
        line = lines[-1] if lines else f"{type(exc).__name__}: {exc}"
        raise ProtocolError(f"sandbox container failed to start (exit {status}): {line}")


def _blocking(engine: Engine, fn: Callable[..., T], *args: Any) -> asyncio.Future[T]:
    """Run a blocking docker call on the engine's own threads."""
    return asyncio.get_running_loop().run_in_executor(engine.executor, fn, *args)


async def _launch_cold(engine: Engine) -> Launched:
    """Start a container on a thread; if we are cancelled meanwhile, remove it when it exists."""
    future = _blocking(engine, engine.launch)
    try:
        return await asyncio.shield(future)
    except asyncio.CancelledError:
        def discard(done: asyncio.Future[Launched]) -> None:
            if not done.cancelled() and done.exception() is None:
                launched = done.result()
                launched.sock.close()
                engine.executor.submit(engine.remove, launched.id)

        future.add_done_callback(discard)
        raise


class DockerBackend(SandboxBackend):
    """``--sandbox docker``: one locked-down container per episode on a Docker engine."""

    name = "docker"
    supports_pool = True

    def make_factory(self, config: SandboxConfig) -> SandboxFactory:
        if config.python:
            raise ConfigError(
                "--sandbox-opt python: the docker sandbox runs its image's environment; "
                "choose another image with --sandbox-opt image=TAG"
            )
        return lambda tools: DockerSandbox(config, tools)

    def describe(self, config: SandboxConfig) -> SandboxEnvironment | None:
        """The image's id, stack and the versions read inside one throwaway container."""
        from trajkit.collect.sandbox.docker_image import describe_image

        return describe_image(config.image)
