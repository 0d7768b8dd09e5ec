"""SIGTERM stops a collection the way Ctrl-C does.

Why: ``timeout``, ``docker stop``, systemd and Kubernetes stop a process with SIGTERM, and a
collection started in the background by a script inherits an ignored SIGINT, so SIGTERM is
its only stop. Its default action killed the process at once: sandboxes were left to their
death signals and ``run.json`` stayed ``running``. Here it cancels the run's task, as
``asyncio.run`` does on Ctrl-C: the run records ``interrupted``, closes its sandboxes and
surfaces as ``KeyboardInterrupt`` (the CLI's exit 130, "re-run the same command to resume").

The loop runs that handler only between its steps. While the run's synchronous set-up holds
the loop (loading the tasks: a slow download, a huge file, a FIFO that never ends),
:func:`sigterm_interrupts` makes SIGTERM raise ``KeyboardInterrupt`` at once instead: nothing
is written yet, and otherwise the signal waited for the load, or forever. The CLI runs every
command inside it too, so each stops on SIGTERM as on Ctrl-C, cleaning up what it would.
"""

from __future__ import annotations

import asyncio
import signal
import threading
from collections.abc import Awaitable, Iterator
from contextlib import contextmanager
from types import FrameType
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


def _interrupt(signum: int, frame: FrameType | None) -> None:
    raise KeyboardInterrupt


@contextmanager
def sigterm_interrupts() -> Iterator[None]:
    """Within the block, SIGTERM raises ``KeyboardInterrupt`` where the code is, as Ctrl-C
    does outside asyncio: for code that copes with Ctrl-C (it writes nothing, or writes into
    place atomically). Outside the main thread, where no signal handler can be set, it changes
    nothing."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = signal.signal(signal.SIGTERM, _interrupt)
    try:
        yield
    finally:
        if previous is not None:  # None: a handler not set from Python, left as it is
            signal.signal(signal.SIGTERM, previous)
