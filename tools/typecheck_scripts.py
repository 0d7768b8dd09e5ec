"""Type-check the scripts that run inside the sandbox, each as its own standalone program.

Five files never run as part of the installed ``trajkit`` package: the sandbox worker, the
namespace jail, the fork server and its spawners
(``collect/sandbox/{worker,jail,forkserver,spawner}.py``) run inside the sandbox or the fork
server, loaded by path, and the APPS judge harness (``sources/apps/harness.py``)
is sent into a sandbox as cell text. They import the standard library only, and
``forkserver.py`` imports ``jail`` and ``worker`` as siblings put on ``sys.path`` by hand,
not as ``trajkit.collect.sandbox.*``. So the package's mypy run excludes them (``exclude``
under ``[tool.mypy]`` in pyproject.toml) and this script checks them the way they are
actually loaded:

* the sandbox scripts from their own folder, where ``import jail`` / ``import worker``
  resolve; ``--namespace-packages --explicit-package-bases`` name each file after that folder
  (``jail``), not after the ``__init__.py`` files above it (``collect.sandbox.jail``), which
  would make mypy see ``jail.py`` twice under two names;
* the harness from its own folder with ``--follow-imports=skip``.

Both runs use the project's pyproject.toml settings and keep their cache under ``build/``
(not next to the scripts, e.g. in the sandbox image's build context). Stdlib only; run it
with the virtualenv's Python (``.venv/bin/python tools/typecheck_scripts.py``), which must
have mypy installed. Exits non-zero if either run reports an error.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CACHE = ROOT / "build" / "mypy-scripts"
COMMON = ["--python-version", "3.10", "--check-untyped-defs"]

# (label, working directory, extra flags, files)
RUNS: list[tuple[str, Path, list[str], list[str]]] = [
    (
        "sandbox",
        ROOT / "collect" / "sandbox",
        ["--follow-imports=silent", "--namespace-packages", "--explicit-package-bases"],
        ["worker.py", "jail.py", "forkserver.py", "spawner.py", "reaper.py"],
    ),
    (
        "apps-harness",
        ROOT / "sources" / "apps",
        ["--follow-imports=skip"],
        ["harness.py"],
    ),
]


def run(label: str, cwd: Path, flags: list[str], files: list[str]) -> int:
    cmd = [
        sys.executable,
        "-m",
        "mypy",
        "--config-file",
        str(ROOT / "pyproject.toml"),
        "--cache-dir",
        str(CACHE / label),
        *COMMON,
        *flags,
        *files,
    ]
    print(f"$ (cd {cwd.relative_to(ROOT)} && mypy {' '.join(cmd[3:])})", flush=True)
    proc = subprocess.run(cmd, cwd=cwd, capture_output=True, text=True, check=False)
    sys.stdout.write(proc.stdout)
    sys.stderr.write(proc.stderr)
    sys.stdout.flush()
    sys.stderr.flush()
    return proc.returncode


def main() -> int:
    failed = [label for label, cwd, flags, files in RUNS if run(label, cwd, flags, files) != 0]
    if failed:
        print(f"typecheck_scripts: mypy failed for {', '.join(failed)}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
