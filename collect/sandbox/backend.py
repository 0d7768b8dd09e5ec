"""The ``SandboxBackend`` a ``trajkit.sandboxes`` entry point names, and the run's factory.

A backend turns the run's ``SandboxConfig`` into a ``SandboxFactory`` (un-started sandboxes
with a given set of host-side tools) and declares what it supports, so ``--pool`` and the
like are checked against the backend itself, not against a list of names. The loop only ever
sees the ``Sandbox`` protocol (``trajkit.core.sandbox``).
"""

from __future__ import annotations

from typing import ClassVar

from trajkit.collect.sandbox.config import SandboxConfig
from trajkit.core import registry
from trajkit.core.errors import ConfigError
from trajkit.core.sandbox import SandboxFactory
from trajkit.schemas.manifests import SandboxEnvironment


class SandboxBackend:
    """Builds the sandboxes of one backend for a run."""

    name: ClassVar[str] = ""
    #: Keeps sandboxes started ahead of need (``--pool N``).
    supports_pool: ClassVar[bool] = False

    def make_factory(self, config: SandboxConfig) -> SandboxFactory:
        """A function making un-started sandboxes with ``config``'s limits (no side effects:
        a missing engine or image is reported by the first ``start``)."""
        raise NotImplementedError

    def describe(self, config: SandboxConfig) -> SandboxEnvironment | None:
        """The Python environment ``config``'s sandboxes run (versions of the stack, content
        hash), read inside it; called once per run for ``run.json``. Blocking. ``None``: this
        backend cannot say (a plugin's), and the run records no environment."""
        return None


def get_sandbox_backend(name: str) -> SandboxBackend:
    """The backend registered as ``name``; unknown names are one line naming ``--sandbox``."""
    backend: SandboxBackend = registry.instance("sandbox", name, flag="--sandbox")
    return backend


def sandbox_factory(kind: str, config: SandboxConfig) -> SandboxFactory:
    """The factory of backend ``kind`` for ``config``."""
    backend = get_sandbox_backend(kind)
    if config.pool and not backend.supports_pool:
        raise ConfigError(f"--pool: the {backend.name} sandbox keeps no sandboxes warm")
    return backend.make_factory(config)


async def check_sandbox(factory: SandboxFactory) -> None:
    """Start and stop one sandbox so a machine that cannot isolate fails before any spend."""
    sandbox = factory(())
    try:
        await sandbox.start()
    finally:
        await sandbox.close()


def describe_sandbox(kind: str, config: SandboxConfig) -> SandboxEnvironment | None:
    """What backend ``kind`` runs for ``config`` (see :meth:`SandboxBackend.describe`)."""
    return get_sandbox_backend(kind).describe(config)
