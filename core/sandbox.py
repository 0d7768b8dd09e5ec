"""The sandbox seam: ``start() / run(code, timeout) -> CellResult / close()``.

The loop never knows which transport (local process, container) carries the worker protocol.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Protocol

from trajkit.core.tools import Tool
from trajkit.schemas import ErrorInfo


@dataclass
class CellResult:
    """The outcome of one cell.

    ``output`` is stdout/stderr interleaved, then the traceback or the final expression's
    value, already capped by the worker; ``restarted`` means state was lost (killed/crashed);
    ``ended`` means a tool call ended the episode mid-cell (an interactive environment finished).
    """

    output: str
    error: ErrorInfo | None
    duration_s: float
    truncated_chars: int = 0
    restarted: bool = False
    ended: bool = False


class Sandbox(Protocol):
    async def start(self) -> None: ...

    async def run(self, code: str, timeout: float) -> CellResult: ...

    async def close(self) -> None: ...


#: Makes an un-started sandbox whose code can call ``tools`` on the host. A run has one, built
#: by its sandbox backend; judges that run untrusted code (APPS) borrow it.
SandboxFactory = Callable[[Sequence[Tool]], Sandbox]
