"""Exit codes and the ``--summary-json`` file: what a scheduler needs to know about a job.

Documented exit codes (README, "Exit codes"):

==== ===========================================================================
0    done: every task has a record and no episode ended on an infrastructure error
1    partial: done, but some episodes ended on a teacher, sandbox or judge error
2    bad input or configuration (the message names the flag, file or line)
3    budget reached (``--max-cost``); resumable with a higher budget
4    teacher unavailable (unreachable, out of quota, failing every call); resumable
130  interrupted (Ctrl-C); resumable
==== ===========================================================================
"""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from trajkit.schemas import RunManifest

EXIT_OK = 0
EXIT_PARTIAL = 1
EXIT_BAD_INPUT = 2
EXIT_BUDGET = 3
EXIT_TEACHER_UNAVAILABLE = 4
EXIT_INTERRUPTED = 130

#: Terminations caused by infrastructure rather than by the teacher's own attempt.
INFRA_TERMINATIONS = ("teacher_error", "sandbox_error", "judge_error")


def run_exit_code(manifest: RunManifest) -> int:
    """The exit code a finished (not failed) run reports."""
    if manifest.status == "budget_reached":
        return EXIT_BUDGET
    if manifest.status == "interrupted":
        return EXIT_INTERRUPTED
    if any(manifest.counts.by_termination.get(t) for t in INFRA_TERMINATIONS):
        return EXIT_PARTIAL
    return EXIT_OK


def status_word(code: int) -> str:
    return {
        EXIT_OK: "done",
        EXIT_PARTIAL: "partial",
        EXIT_BAD_INPUT: "bad_input",
        EXIT_BUDGET: "budget_reached",
        EXIT_TEACHER_UNAVAILABLE: "teacher_unavailable",
        EXIT_INTERRUPTED: "interrupted",
    }.get(code, "failed")


@dataclass
class Summary:
    """Everything a job did, written as JSON whatever the outcome (``--summary-json``)."""

    command: str
    job: str | None = None
    exit_code: int = EXIT_OK
    status: str = "done"
    error: str | None = None
    runs: list[dict[str, Any]] = field(default_factory=list)
    dataset: dict[str, Any] | None = None
    exports: list[dict[str, Any]] = field(default_factory=list)
    publish: dict[str, Any] | None = None
    nothing_to_do: bool = False

    def add_run(self, run_dir: Path, new_episodes: int | None = None) -> None:
        """Record a run from its ``run.json`` (present even when the run failed early)."""
        entry: dict[str, Any] = {"dir": str(run_dir), "run": run_dir.name}
        try:
            manifest = RunManifest.model_validate_json((run_dir / "run.json").read_text())
        except (OSError, ValueError):
            entry["status"] = "missing"
        else:
            entry.update(
                status=manifest.status,
                status_detail=manifest.status_detail,
                counts=manifest.counts.model_dump(),
                usage=manifest.usage.model_dump(),
                cost_usd=manifest.cost_usd,
            )
        if new_episodes is not None:
            entry["new_episodes"] = new_episodes
        self.runs.append(entry)

    def finish(self, code: int, error: str | None = None) -> None:
        self.exit_code, self.status = code, status_word(code)
        if error is not None:
            self.error = error

    def write(self, path: Path) -> None:
        """Write atomically, so a scheduler never reads half a summary."""
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f".{path.name}.tmp")
        tmp.write_text(json.dumps(asdict(self), indent=2, sort_keys=True) + "\n")
        os.replace(tmp, path)
