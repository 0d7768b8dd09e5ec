"""Lay the installed package out as one tree of symlinks, for tools that read source files.

trajkit's folders sit at the top of the repository and are mapped to ``trajkit.*`` by
``[tool.setuptools.package-dir]``; Python imports them through setuptools' editable finder,
but mypy and import-linter read files by path and need ``trajkit/collect/...`` on disk. This
builds ``build/package-tree/trajkit`` (symlinks, so new modules appear without re-running)
and prints the directory to put on ``MYPYPATH``/``PYTHONPATH``.
"""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

try:
    import tomllib
except ModuleNotFoundError:  # Python 3.10
    import tomli as tomllib  # type: ignore[no-redef]

ROOT = Path(__file__).resolve().parent.parent
TREE = ROOT / "build" / "package-tree"


def build() -> Path:
    mapping: dict[str, str] = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"][
        "setuptools"
    ]["package-dir"]
    shutil.rmtree(TREE, ignore_errors=True)
    package = TREE / "trajkit"
    package.mkdir(parents=True)
    for item in (ROOT / mapping["trajkit"]).iterdir():  # the root package's own files
        if item.name != "__pycache__":
            (package / item.name).symlink_to(item)
    for name, folder in mapping.items():
        parts = name.split(".")
        if len(parts) == 2:  # trajkit.X: nested packages come with their parent's folder
            (package / parts[1]).symlink_to(ROOT / folder, target_is_directory=True)
    return TREE


if __name__ == "__main__":
    sys.stdout.write(f"{build()}\n")
