"""What the sandbox can see of the host: a scrubbed environment and an allow-list of paths.

Which interpreter and packages it sees is ``python_env.py``'s: declared, not ours.

Nothing here is inherited by default: API keys, tokens and the user's home never cross over.
"""

from __future__ import annotations

import os

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
    "/etc/fonts",  # fontconfig: matplotlib asks fc-list for fonts (quietly, with its config)
    "/etc/alternatives",
)


def bind_paths(python: list[str | list[str]], extra: list[str]) -> list[str | list[str]]:
    """Every path bound read-only into the sandbox: the system's, the sandbox interpreter's
    (``python_env.SandboxPython.binds``: a venv as ``[source, target]``) and ``extra``, one
    per place inside, parents before children."""
    chosen: dict[str, str | list[str]] = {}
    for bind in [*SYSTEM_PATHS, *python, *(os.path.abspath(p) for p in extra)]:
        target = bind if isinstance(bind, str) else bind[1]
        chosen.setdefault(target, bind)
    return [chosen[t] for t in sorted(chosen, key=lambda p: p.count("/"))]


def sandbox_env(output_limit: int, python_bin: str) -> dict[str, str]:
    """The worker's whole environment: built from scratch, never copied from ours.

    ``python_bin`` is the sandbox interpreter's ``bin`` directory as the worker sees it, first
    on ``PATH`` (``python`` in a subprocess is the sandbox's). ``MPLBACKEND=Agg`` is what
    subprocesses get; the worker itself gives matplotlib a backend whose ``show()`` says in
    the observation what figure was made (``worker.FigureBackend``).
    """
    path = f"{python_bin}:/usr/local/bin:/usr/bin:/bin"
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
