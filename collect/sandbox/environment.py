"""What the sandbox can see of the host: a scrubbed environment and an allow-list of paths.

Nothing here is inherited by default: API keys, tokens and the user's home never cross over.
"""

from __future__ import annotations

import functools
import os
import site
import sys
from pathlib import Path

# Read-only system paths a Python interpreter and its scientific stack need.
SYSTEM_PATHS = (
    "/usr",
    "/bin",
    "/sbin",
    "/lib",
    "/lib32",
    "/lib64",
    "/libx32",
    "/etc/ld.so.cache",
    "/etc/ld.so.conf",
    "/etc/ld.so.conf.d",
    "/etc/localtime",
    "/etc/nsswitch.conf",
    "/etc/passwd",
    "/etc/group",
    "/etc/mime.types",
    "/etc/ssl/certs",
    "/etc/alternatives",
)


def python_paths() -> list[str]:
    """The interpreter's own prefixes and site-packages, resolved, deduplicated, in order."""
    return list(_python_paths())


@functools.cache
def _python_paths() -> tuple[str, ...]:
    # Computed once per process: resolving them costs ~70 lstat calls, and a run at high
    # concurrency starts thousands of sandboxes.
    candidates = [sys.prefix, sys.base_prefix, sys.exec_prefix, sys.base_exec_prefix]
    candidates += site.getsitepackages()
    candidates.append(str(Path(sys.executable).resolve().parent.parent))
    seen: list[str] = []
    for path in candidates:
        for variant in (path, os.path.realpath(path)):
            if variant not in seen and os.path.exists(variant):
                seen.append(variant)
    return tuple(seen)


def bind_paths(extra: list[str]) -> list[str]:
    """Every path bound read-only into the sandbox; parents before children."""
    paths = list(SYSTEM_PATHS) + python_paths() + [os.path.abspath(p) for p in extra]
    unique = list(dict.fromkeys(paths))
    return sorted(unique, key=lambda p: p.count("/"))


def worker_sys_path() -> list[str]:
    """Our ``sys.path`` entries that the sandbox can see (site-packages, .pth additions).

    The fork server runs without the ``site`` module (faster start), so the worker gets the
    import path the host computed, restricted to directories that are bound inside. Computed
    once per distinct ``sys.path`` (a ``stat`` per entry, on the event loop, per sandbox
    otherwise).
    """
    key = tuple(sys.path)
    cached = _SYS_PATH_CACHE.get(key)
    if cached is None:
        roots = python_paths()
        keep = []
        for entry in key:
            if not entry or not os.path.isabs(entry) or not os.path.isdir(entry):
                continue
            if any(entry == root or entry.startswith(root.rstrip("/") + "/") for root in roots):
                keep.append(entry)
        cached = _SYS_PATH_CACHE[key] = list(dict.fromkeys(keep))
    return list(cached)


_SYS_PATH_CACHE: dict[tuple[str, ...], list[str]] = {}


def sandbox_env(output_limit: int, path: str | None = None) -> dict[str, str]:
    """The worker's whole environment: built from scratch, never copied from ours.

    ``path`` is its ``PATH``; by default our interpreter's ``bin`` first (the local sandbox
    binds it in), a container passes its own.
    """
    if path is None:
        path = f"{Path(sys.prefix) / 'bin'}:/usr/local/bin:/usr/bin:/bin"
    return {
        "PATH": path,
        "HOME": "/sandbox",
        "TMPDIR": "/tmp",
        "LANG": "C.UTF-8",
        "LC_ALL": "C.UTF-8",
        "PYTHONDONTWRITEBYTECODE": "1",
        "PYTHONIOENCODING": "utf-8",
        "MPLBACKEND": "Agg",
        "OPENBLAS_NUM_THREADS": "1",
        "OMP_NUM_THREADS": "1",
        "MKL_NUM_THREADS": "1",
        "TRAJKIT_OUTPUT_LIMIT": str(output_limit),
    }
