"""Whether a process still exists, for the lock and directory names that carry a PID."""

from __future__ import annotations

import os


def pid_alive(pid: int) -> bool:
    """Whether process ``pid`` exists in this PID namespace; one of another user's counts
    (signalling it is refused, it is not gone), and so does any answer but "no such process"."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:
        return True
    return True
