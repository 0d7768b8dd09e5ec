"""``Summary``: everything a command or job did, as the ``--summary-json`` file.

Written whatever the outcome (also after an error), atomically, so a scheduler always reads a
whole file that says the exit code, the status word and each run's counts and cost.
"""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from trajkit.collect.outcome import EXIT_OK, status_word
from trajkit.schemas import RunManifest


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
