"""Fixtures shared by the collect tests."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest
from support import require_isolation

from trajkit.collect.sandbox import local
from trajkit.collect.sandbox.forkserver_client import ForkServer
from trajkit.collect.sandbox.python_env import sandbox_python


@pytest.fixture
async def server(monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[ForkServer]:
    """A fork server of this test's own (so it can be stopped), used by ``LocalSandbox``."""
    require_isolation()
    own = ForkServer(sandbox_python().executable)
    monkeypatch.setattr(local, "fork_server", lambda python=None: own)
    yield own
    await asyncio.to_thread(own.shutdown)
