"""Choose a sandbox backend by name; the loop only ever sees the ``Sandbox`` protocol."""

from __future__ import annotations

from collections.abc import Callable, Sequence

from trajkit.collect.sandbox.base import Sandbox
from trajkit.collect.sandbox.config import SandboxConfig
from trajkit.collect.sandbox.local import LocalSandbox
from trajkit.collect.tools import Tool
from trajkit.schemas.errors import ConfigError

SandboxFactory = Callable[[Sequence[Tool]], Sandbox]

BACKENDS = ("local",)


def sandbox_factory(kind: str, config: SandboxConfig) -> SandboxFactory:
    """Return a function making an un-started sandbox with the given host-side tools."""
    if kind == "local":
        return lambda tools: LocalSandbox(config, tools)
    raise ConfigError(f"--sandbox: unknown backend {kind!r} (known: {', '.join(BACKENDS)})")


async def check_sandbox(factory: SandboxFactory) -> None:
    """Start and stop one sandbox so a machine that cannot isolate fails before any spend."""
    sandbox = factory(())
    try:
        await sandbox.start()
    finally:
        await sandbox.close()
