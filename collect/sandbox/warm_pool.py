"""Which sandboxes the fork server keeps started ahead, per configuration (stdlib only).

Why: a sandbox start is a few milliseconds of forking and mounting; kept ahead, ``start()``
is one message. Bookkeeping only (the fork server starts and kills the processes), so the
rules are in one place and testable on their own:

* an entry is a fully started, never used sandbox (``Ready``) for exactly one configuration
  (the JSON the host sent: limits, environment, binds), so a handed-out worker is the one a
  fresh start would have made;
* ``take`` removes what it returns: an entry is handed out at most once;
* the host asks for a depth with each request (0: none kept, and those kept are dropped);
  only the most recently requested configurations are kept (``max_configs``), so a judge's
  one-off limits do not pin idle sandboxes for the rest of the run;
* a configuration whose entries keep dying before use (``MAX_FAILURES`` in a row) is not
  refilled again until an entry of it is handed out alive or the host asks anew.
"""

from __future__ import annotations

from collections import OrderedDict, deque
from dataclasses import dataclass, field

MAX_DEPTH = 8
MAX_FAILURES = 3


@dataclass
class Ready:
    """A started sandbox nobody has used: its worker's pid (PID 1 inside) and the host ends
    of its pipes."""

    pid: int
    fds: list[int]
    template: str = ""


@dataclass
class _Config:
    config: dict
    depth: int = 0
    failures: int = 0
    entries: deque[Ready] = field(default_factory=deque)


class WarmPool:
    def __init__(self, max_configs: int = 4) -> None:
        self.max_configs = max_configs
        self._configs: OrderedDict[str, _Config] = OrderedDict()  # least recent first

    def request(self, key: str, config: dict, depth: int) -> list[Ready]:
        """The host asked for ``key`` keeping ``depth`` ahead; returns entries to discard
        (the depth went down, or configurations fell out of the most recent ones)."""
        depth = max(0, min(int(depth), MAX_DEPTH))
        slot = self._configs.get(key)
        if slot is None:
            slot = self._configs[key] = _Config(config)
        self._configs.move_to_end(key)
        slot.depth = depth
        slot.failures = 0
        dropped: list[Ready] = []
        while len(slot.entries) > depth:
            dropped.append(slot.entries.pop())
        while len(self._configs) > self.max_configs:
            _, old = self._configs.popitem(last=False)
            dropped.extend(old.entries)
        return dropped

    def take(self, key: str) -> Ready | None:
        slot = self._configs.get(key)
        if slot is None or not slot.depth or not slot.entries:
            return None
        return slot.entries.popleft()

    def handed_out_alive(self, key: str) -> None:
        slot = self._configs.get(key)
        if slot is not None:
            slot.failures = 0

    def wanted(self) -> tuple[str, dict] | None:
        """The configuration to start one more sandbox for (most recent first), if any."""
        for key in reversed(self._configs):
            slot = self._configs[key]
            if len(slot.entries) < slot.depth and slot.failures < MAX_FAILURES:
                return key, slot.config
        return None

    def add(self, key: str, entry: Ready) -> bool:
        """Keep ``entry``; False if its configuration is no longer wanted (discard it)."""
        slot = self._configs.get(key)
        if slot is None or len(slot.entries) >= slot.depth:
            return False
        slot.entries.append(entry)
        return True

    def forget(self, pid: int) -> Ready | None:
        """An entry's process ended before it was handed out: remove and return it."""
        for slot in self._configs.values():
            for entry in slot.entries:
                if entry.pid == pid:
                    slot.entries.remove(entry)
                    slot.failures += 1
                    return entry
        return None

    def drain(self) -> list[Ready]:
        """Every entry, removed (the server is stopping)."""
        out = [entry for slot in self._configs.values() for entry in slot.entries]
        for slot in self._configs.values():
            slot.entries.clear()
        return out

    def __len__(self) -> int:
        return sum(len(slot.entries) for slot in self._configs.values())
