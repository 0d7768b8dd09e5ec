"""``trajkit.collect`` / ``acollect`` / ``estimate``: a collection from Python.

Every ``trajkit collect`` flag is a keyword of the same name (``limit=``, ``out=``,
``source_opt={...}``, ``no_isolation=True``), validated by the same ``CollectOptions`` with the
same defaults and the same one-line ``ConfigError``s; the run behaves exactly as on the
command line (resume, response cache, ``run.json``), and its outcome is a ``RunResult``
instead of an exit code. Errors users can cause are ``trajkit.UserError``s, raised, not printed.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
from collections.abc import Coroutine
from typing import Any, TypeVar

from rich.console import Console

from trajkit.collect.config import CollectConfig
from trajkit.collect.estimate import Estimate, estimate_run
from trajkit.collect.options import CollectOptions
from trajkit.collect.runner import RunResult
from trajkit.collect.runner import collect as run_collection

T = TypeVar("T")


def collect_config(source: str, teacher: str, **options: Any) -> CollectConfig:
    """The ``CollectConfig`` a collect call with these arguments runs (validated now)."""
    built: CollectOptions = CollectOptions.build(source=source, teacher=teacher, **options)
    return built.resolve()


async def acollect(
    source: str, teacher: str, *, console: Console | None = None, **options: Any
) -> RunResult:
    """Run (or resume) a collection on the caller's event loop; see :func:`collect`."""
    config = collect_config(source, teacher, **options)
    return await run_collection(config, console)


def collect(source: str, teacher: str, *, console: Console | None = None, **options: Any) -> RunResult:
    """Run (or resume) the collection ``trajkit collect SOURCE --teacher TEACHER ...`` runs.

    ``options`` are the command's flags as keywords. Progress goes to ``console`` (default:
    stderr; ``Console(quiet=True)`` for none). Called where an event loop is already running
    (a notebook), the run gets a loop of its own on a worker thread; ``await acollect(...)``
    shares the caller's instead. Raises ``trajkit.UserError`` (bad option, data or key).
    """
    return run_sync(run_collection(collect_config(source, teacher, **options), console))


def run_sync(coro: Coroutine[Any, Any, T]) -> T:
    """Run ``coro`` to completion from synchronous code, even inside a running event loop
    (a notebook), where it gets a loop of its own on a worker thread."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return asyncio.run(coro)
    with concurrent.futures.ThreadPoolExecutor(1, thread_name_prefix="trajkit") as pool:
        return pool.submit(asyncio.run, coro).result()


def estimate(source: str, teacher: str, **options: Any) -> Estimate:
    """Tokens and cost of the pending episodes of that collection; calls no teacher."""
    return estimate_run(collect_config(source, teacher, **options))
