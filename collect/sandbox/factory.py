"""Choose a sandbox backend by name; the loop only ever sees the ``Sandbox`` protocol."""

from __future__ import annotations

from collections.abc import Callable, Sequence

from trajkit.collect.sandbox.base import Sandbox
from trajkit.collect.sandbox.config import SandboxConfig
from trajkit.collect.sandbox.local import LocalSandbox
from trajkit.collect.tools import Tool
from trajkit.schemas.errors import ConfigError

SandboxFactory = Callable[[Sequence[Tool]], Sandbox]

BACKENDS = ("local", "docker")


def sandbox_factory(kind: str, config: SandboxConfig) -> SandboxFactory:
    """Return a function making an un-started sandbox with the given host-side tools."""
    if kind == "local":
        if config.pool:
            raise ConfigError("--pool: only --sandbox docker keeps containers warm")
        return lambda tools: LocalSandbox(config, tools)
    if kind == "docker":
        from trajkit.collect.sandbox.docker_sandbox import DockerSandbox

        return lambda tools: DockerSandbox(config, tools)
    raise ConfigError(f"--sandbox: unknown backend {kind!r} (known: {', '.join(BACKENDS)})")


async def check_sandbox(factory: SandboxFactory) -> None:
    """Start and stop one sandbox so a machine that cannot isolate fails before any spend."""
    sandbox = factory(())
    try:
        await sandbox.start()
    finally:
        await sandbox.close()
