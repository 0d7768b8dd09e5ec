"""``trajkit run JOB.toml``: a scheduled job's collections, dataset, exports and publish.

The job itself is ``trajkit.run_job`` (format and guarantees in ``trajkit.api.jobs``); this
command prints what it does, writes ``--summary-json`` and exits with the job's code.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from trajkit.api.summary import Summary
from trajkit.cli.console import err, say
from trajkit.cli.options import OneLineErrors, examples
from trajkit.cli.run_report import exit_with, guard_with_summary, report_run

app = typer.Typer()


@app.command("run", cls=OneLineErrors, epilog=examples(
    'trajkit run nightly.toml --summary-json summary.json',
    'trajkit run nightly.toml --estimate',
))
def run_cmd(
    job_path: Annotated[Path, typer.Argument(metavar="JOB.toml", help="Job file: collect tables, then optional dataset, filter, export and publish tables.")],
    summary_json: Annotated[Path | None, typer.Option(metavar="PATH", help="Write a machine-readable summary (status, exit code, runs, dataset, exports) here.")] = None,
    estimate: Annotated[bool, typer.Option("--estimate", help="Only estimate the collections' tokens and cost.")] = False,
) -> None:
    """Run a job file: collect each of its collections, filter them into its dataset, then export/publish.

    Exit codes: 0 done, 1 partial, 2 bad input/config, 3 budget reached, 4 teacher
    unavailable, 130 interrupted. Re-running a finished job does nothing and says so.
    """
    from trajkit.api.job_runner import run_job

    summary = Summary(command="run", job=str(job_path))

    def body() -> Summary:
        return run_job(
            job_path, estimate=estimate, summary=summary, log=say, report=report_run, console=err
        )

    exit_with(guard_with_summary(body, summary, summary_json, []).exit_code)
