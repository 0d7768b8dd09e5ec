"""SIGTERM stops a collection the way Ctrl-C does.

Why: ``timeout``, ``docker stop``, systemd and Kubernetes stop a process with SIGTERM, and a
collection started in the background by a script inherits an ignored SIGINT, so SIGTERM is
its only stop. Its default action killed the process at once: sandboxes were left to their
death signals and ``run.json`` stayed ``running``. Here it cancels the run's task, as
``asyncio.run`` does on Ctrl-C: the run records ``interrupted``, closes its sandboxes and
surfaces as ``KeyboardInterrupt`` (the CLI's exit 130, "re-run the same command to resume").
"""

from __future__ import annotations

import asyncio
import signal
from collections.abc import Awaitable
from typing import TypeVar

T = TypeVar("T")


async def stop_on_sigterm(run: Awaitable[T]) -> T:
    """Await ``run`` in the current task, which SIGTERM cancels. Where signals cannot be
    handled (not the main thread: a notebook's worker thread), ``run`` is awaited as is."""
    loop = asyncio.get_running_loop()
    task = asyncio.current_task()
    received: list[bool] = []

    def terminate() -> None:
        received.append(True)
        if task is not None:
            task.cancel()

    previous = signal.getsignal(signal.SIGTERM)
    try:
        loop.add_signal_handler(signal.SIGTERM, terminate)
    except (RuntimeError, ValueError, NotImplementedError):
        return await run
    try:
        return await run
    except asyncio.CancelledError:
        if received:
            raise KeyboardInterrupt from None
        raise
    finally:
        loop.remove_signal_handler(signal.SIGTERM)
        if previous is not None:  # None: a handler not set from Python, left as it is
            signal.signal(signal.SIGTERM, previous)
