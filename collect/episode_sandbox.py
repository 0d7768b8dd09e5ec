"""An episode's sandbox from start to close: the source's setup, a never-leaked worker.

The loop starts the sandbox alongside the first teacher call (container or process start-up
overlaps model latency), runs the source's ``episode_setup(task)`` in it right after, and
always closes it, even when the episode is cancelled half-way; these are the pieces it uses.
"""

from __future__ import annotations

import asyncio
import logging

from trajkit.collect.episode_record import describe_error
from trajkit.collect.teachers.shape import kind_of
from trajkit.core.errors import SandboxError, SandboxUnavailableError
from trajkit.core.sandbox import Sandbox
from trajkit.schemas import Task
from trajkit.sources.base import Source

log = logging.getLogger(__name__)

#: Extra time, beyond ``exec_timeout``, before a silent sandbox counts as broken. The sandbox
#: enforces the cell timeout itself; this only guards the episode against a hung transport.
RUN_GRACE_S = 30.0

#: Least time a source's episode setup gets (it may import pandas and build a table), however
#: short ``exec_timeout`` is.
SETUP_TIMEOUT_S = 60.0

# Close tasks outliving a cancelled episode; kept referenced so they are not garbage collected.
_closing: set[asyncio.Task[None]] = set()


class EpisodeSetupError(SandboxError):
    """The source's episode setup raised in the sandbox (or did not finish)."""


def episode_setup_code(source: Source, task: Task) -> str | None:
    """The source's setup code for ``task`` (``episode_setup``, optional), or None."""
    setup = getattr(source, "episode_setup", None)
    code = setup(task) if setup is not None else None
    if code is not None and not isinstance(code, str):
        raise TypeError(f"episode_setup returned {kind_of(code)}, not str or None")
    return code or None


async def run_setup(sandbox: Sandbox, code: str, exec_timeout: float) -> None:
    """Run a source's setup ``code`` in ``sandbox``; its output is dropped, its failure raised
    as ``EpisodeSetupError`` naming the error."""
    timeout = max(exec_timeout, SETUP_TIMEOUT_S)
    try:
        result = await asyncio.wait_for(sandbox.run(code, timeout=timeout), timeout + RUN_GRACE_S)
    except asyncio.TimeoutError:
        raise EpisodeSetupError(f"episode setup: no result within {timeout:g}s") from None
    if result.error is not None or result.restarted:
        what = result.error.type if result.error is not None else "worker restarted"
        message = result.error.message if result.error is not None else ""
        raise EpisodeSetupError(f"episode setup failed: {what}: {message}".rstrip(": "))


async def start_sandbox(sandbox: Sandbox, setup: str | None, exec_timeout: float) -> None:
    """Start ``sandbox`` and run the episode's setup in it, if the source has one."""
    await sandbox.start()
    if setup is not None:
        await run_setup(sandbox, setup, exec_timeout)


async def nothing() -> None:
    """The start of a sandbox an episode never uses."""


async def _close_sandbox(sandbox: Sandbox, start: asyncio.Task[None], cancel_start: bool) -> None:
    """Settle the start task, then close: a sandbox is never left half-started or open."""
    if cancel_start and not start.done():
        start.cancel()
    try:
        await start
    except SandboxUnavailableError:
        pass  # raised to the caller already if it mattered (an execute awaited it)
    except (Exception, asyncio.CancelledError) as exc:
        log.debug("sandbox start ended with %s", describe_error(exc))
    try:
        await sandbox.close()
    except Exception as exc:
        log.warning("sandbox close failed: %s", describe_error(exc))


async def shutdown(sandbox: Sandbox, start: asyncio.Task[None], cancel_start: bool) -> None:
    """Close the sandbox in its own task, shielded: a further cancellation arriving while we
    wait still propagates at once, but cannot abort the close half-way and leak a worker."""
    closing = asyncio.ensure_future(_close_sandbox(sandbox, start, cancel_start))
    _closing.add(closing)
    closing.add_done_callback(_closing.discard)
    await asyncio.shield(closing)


async def wait_for_closing() -> None:
    """Wait for every sandbox close that a cancelled episode left running in the background.

    A runner calls this before its event loop ends, so no worker process outlives the run.
    """
    while _closing:
        await asyncio.gather(*list(_closing), return_exceptions=True)
