"""Host-side tools a source exposes inside the sandbox (e.g. ``wikipedia_search``).

The sandbox defines a stub with the same name in the teacher's namespace; calling it sends a
request over the worker protocol and blocks until the host answers with ``fn``'s result.
"""

from __future__ import annotations

import asyncio
import inspect
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

ToolFn = Callable[..., Any] | Callable[..., Awaitable[Any]]


class EndEpisode(Exception):
    """Raised by a tool when its environment has ended the episode (won, bought, step cap).

    The sandbox answers the call with ``text`` and stops the running cell at once, so a
    loop in the teacher's code cannot keep acting on a finished environment; the loop then
    reads the environment's outcome. Interactive sources raise it; static ones never do.
    """

    def __init__(self, text: str) -> None:
        super().__init__(text)
        self.text = text


@dataclass(frozen=True)
class Tool:
    """A named host-side function; ``signature``/``doc`` are shown to the teacher."""

    name: str
    fn: ToolFn
    signature: str = ""
    doc: str = ""

    @classmethod
    def from_function(cls, fn: ToolFn, name: str | None = None) -> Tool:
        """Build a tool from a plain function, taking its signature and docstring."""
        tool_name = name or fn.__name__
        return cls(
            name=tool_name,
            fn=fn,
            signature=f"{tool_name}{inspect.signature(fn)}",
            doc=inspect.getdoc(fn) or "",
        )

    async def call(self, args: list[Any], kwargs: dict[str, Any]) -> Any:
        """Run the host-side function, awaiting it if it is a coroutine function."""
        result = self.fn(*args, **kwargs)
        if inspect.isawaitable(result):
            result = await result
        return result

    async def call_within(
        self, args: list[Any], kwargs: dict[str, Any], timeout: float
    ) -> asyncio.Future[Any] | None:
        """The finished call (its result or its exception, ``EndEpisode`` included), or
        ``None`` when it was still running after ``timeout`` seconds and was cancelled.

        Run as a task, so the caller can stop waiting: a tool that runs inline, blocking the
        event loop, cannot be stopped and returns late. The tool's own exceptions (its own
        ``TimeoutError`` too) stay in the returned future, never raised here.
        """
        task = asyncio.ensure_future(self.call(args, kwargs))
        try:
            done, _ = await asyncio.wait({task}, timeout=timeout)
        except asyncio.CancelledError:
            task.cancel()
            raise
        if not done:
            task.cancel()
            task.add_done_callback(_retrieve)
            return None
        return task


def _retrieve(task: asyncio.Future[Any]) -> None:
    """Retrieve a stopped call's outcome, so asyncio does not log it as never retrieved."""
    if not task.cancelled():
        task.exception()
