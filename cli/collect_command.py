"""``trajkit collect``: run teachers on a source's tasks (flags from ``CollectOptions``).

With ``--config JOB.toml`` it collects the job file's ``[[collect]]`` tables instead, the
flags typed beside it overriding the file; ``--estimate`` prices the pending episodes and
calls no teacher; ``--summary-json`` writes what happened for a scheduler.
"""

from __future__ import annotations

import inspect
from pathlib import Path
from typing import Annotated, Any

import typer

from trajkit.api.collecting import collect_config, run_sync
from trajkit.api.summary import Summary
from trajkit.cli.console import err, say
from trajkit.cli.options import OneLineErrors, examples, model_command
from trajkit.cli.run_report import exit_with, guard_with_summary, report_run
from trajkit.collect.options import CollectOptions
from trajkit.core.errors import ConfigError

app = typer.Typer()

_EXTRA = [
    inspect.Parameter(
        "config_file", inspect.Parameter.KEYWORD_ONLY, default=None,
        annotation=Annotated[Path | None, typer.Option(
            "--config", metavar="JOB.toml",
            help="Collect the collect tables of a job file (see trajkit run); flags given here override the file.",
        )],
    ),
    inspect.Parameter(
        "estimate", inspect.Parameter.KEYWORD_ONLY, default=False,
        annotation=Annotated[bool, typer.Option(
            "--estimate", help="Print estimated tokens and cost of the pending episodes; call no teacher."
        )],
    ),
    inspect.Parameter(
        "summary_json", inspect.Parameter.KEYWORD_ONLY, default=None,
        annotation=Annotated[Path | None, typer.Option(
            metavar="PATH", help="Write a machine-readable summary (status, exit code, counts, cost) here."
        )],
    ),
]


def _collect(ctx: typer.Context, values: dict[str, Any], extras: dict[str, Any]) -> None:
    config_file: Path | None = extras["config_file"]
    estimate: bool = extras["estimate"]
    summary = Summary(command="collect", job=str(config_file) if config_file else None)
    if config_file is not None:
        from trajkit.api.job_runner import run_job

        def job() -> Summary:
            return run_job(
                config_file, collect_only=True, estimate=estimate, overrides=values,
                summary=summary, log=say, report=report_run, console=err,
            )

        exit_with(guard_with_summary(job, summary, extras["summary_json"], []).exit_code)
        return
    run_dirs: list[Path] = []

    def body() -> Any:
        if not values.get("source") or not values.get("teacher"):
            raise ConfigError("give a SOURCE and --teacher (or --config JOB.toml)")
        config = collect_config(**values)
        if estimate:
            from trajkit.collect.estimate import estimate_run

            say(estimate_run(config).describe())
            return None
        if not config.sandbox_config.isolation:
            err.print("[bold yellow]warning:[/] --no-isolation: teacher code can reach the network and your files")
        from trajkit.collect.runner import collect as run_collection

        run_dirs.append(config.run_dir)
        result = run_sync(run_collection(config, err))
        report_run(result)
        return result

    result = guard_with_summary(body, summary, extras["summary_json"], run_dirs)
    if result is not None:
        exit_with(result.exit_code)


EPILOG = examples(
    'trajkit collect math --teacher openai:gpt-4o-mini --limit 200 --run math-a --concurrency 32',
    'trajkit collect hotpotqa --teacher anthropic:claude-3-5-haiku-latest --source-opt search=corpus --source-opt corpus=wiki.jsonl',
    'trajkit collect apps --teacher openai:gpt-4o --hf codeparrot/apps --difficulty interview --max-cost 20',
    'trajkit collect math --teacher openai:gpt-4o-mini --estimate',
    'trajkit collect --config nightly.toml --limit 5',
)


app.command("collect", cls=OneLineErrors, epilog=EPILOG)(
    model_command(
        CollectOptions, _collect, extra=_EXTRA, optional=("source", "teacher"),
        doc="Run teachers on a source's tasks; write OUT/runs/RUN/{trajectories.jsonl, run.json}.",
    )
)
