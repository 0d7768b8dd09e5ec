"""Helpers shared by the dataset tests (importable as ``dataset_helpers``)."""

from __future__ import annotations

from pathlib import Path

from factories import make_trajectory

from trajkit.schemas import Trajectory


def sample(run: str = "run-a", source: str = "math") -> list[Trajectory]:
    """Six episodes; under the default chain exactly t1 and t5 are kept."""
    return [
        make_trajectory("t1", ["exception", "solve"], run=run, source=source),
        make_trajectory("t2", ["ok", "solve"], run=run, source=source),
        make_trajectory("t3", ["timeout", "wrong"], success=False, run=run, source=source),
        make_trajectory("t4", ["syntax", "solve"], score=0.5, run=run, source=source),
        make_trajectory("t5", ["worker_restart", "ok", "solve"], run=run, source=source),
        make_trajectory("t6", ["solve", "exception"], run=run, source=source),
    ]


def tree(root: Path) -> dict[str, tuple[int, int]]:
    """Every file under ``root`` with (size, mtime_ns): equal trees mean nothing was written."""
    if not root.exists():
        return {}
    return {
        str(p.relative_to(root)): (p.stat().st_size, p.stat().st_mtime_ns)
        for p in sorted(root.rglob("*"))
    }
