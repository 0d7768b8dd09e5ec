"""``trajkit run JOB.toml`` and ``trajkit collect --config JOB.toml``: scheduled batch jobs.

Safe to re-trigger: runs resume (their lock keeps two processes apart), an unchanged dataset
is reported instead of rewritten, an export of an unchanged version is left alone and a
published version is not uploaded twice, so re-running a finished job does nothing and says
so. Exit codes and the ``--summary-json`` file are described in ``cli/outcome.py``.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.markup import escape

from trajkit.cli.job_file import NOT_IN_COLLECT, Job, load_job
from trajkit.cli.outcome import EXIT_OK, EXIT_PARTIAL, Summary

CollectFn = Callable[..., Any]


def _ui() -> Any:
    from trajkit.cli import app

    return app


def _overrides(ctx: typer.Context | None) -> dict[str, Any]:
    """The collect flags typed on the command line next to ``--config``: they win."""
    if ctx is None:
        return {}
    return {
        name: value
        for name, value in ctx.params.items()
        if name not in NOT_IN_COLLECT and _from_command_line(ctx, name)
    }


def _from_command_line(ctx: typer.Context, name: str) -> bool:
    # By name: typer vendors its own click, whose ParameterSource is not click's.
    source = ctx.get_parameter_source(name)
    return source is not None and source.name == "COMMANDLINE"


def _done(run_dir: Path) -> int:
    from trajkit.collect.run_store import RUN_JSON
    from trajkit.schemas import RunManifest

    try:
        return RunManifest.model_validate_json((run_dir / RUN_JSON).read_text()).counts.done
    except (OSError, ValueError):
        return 0


def _collect_all(
    job: Job, collect_fn: CollectFn, overrides: dict[str, Any], estimate: bool, summary: Summary
) -> int:
    """Collect every run of ``job`` in order; stop at the first run that cannot finish.

    A partial run (some infrastructure errors) does not stop the job; the worst code wins.
    """
    worst = EXIT_OK
    for kwargs in job.collects:
        call = {**kwargs, **overrides, "out_dir": job.out, "estimate": estimate}
        run_dir = job.out / "runs" / call["run"]
        before = _done(run_dir)
        code = EXIT_OK
        try:
            collect_fn(**call)
        except typer.Exit as exc:
            code = exc.exit_code
            if code != EXIT_PARTIAL:
                summary.finish(code, getattr(exc, "trajkit_error", None))
        finally:
            if not estimate:
                summary.add_run(run_dir, new_episodes=_done(run_dir) - before)
        if code not in (EXIT_OK, EXIT_PARTIAL):
            return code
        worst = max(worst, code)
    return worst


def _say_nothing_to_do(job: Job, summary: Summary) -> None:
    if summary.runs and all(r.get("new_episodes") == 0 for r in summary.runs):
        summary.nothing_to_do = True
        _ui().out.print(
            f"job {job.name}: nothing to do — all {len(summary.runs)} run(s) were already complete",
            highlight=False,
        )


def collect_from_job(
    ctx: typer.Context | None,
    collect_fn: CollectFn,
    path: Path,
    *,
    estimate: bool,
    summary_json: Path | None,
) -> None:
    """``trajkit collect --config JOB.toml``: the job's collections only."""
    _run_job("collect", path, collect_fn, summary_json, estimate, _overrides(ctx), later=False)


def _run_job(
    command: str,
    path: Path,
    collect_fn: CollectFn,
    summary_json: Path | None,
    estimate: bool,
    overrides: dict[str, Any],
    *,
    later: bool,
) -> None:
    """Load the job, collect (then, if ``later``, filter/export/publish), always summarise,
    and exit with the worst code of its runs."""
    ui = _ui()
    summary = Summary(command=command, job=str(path))
    code = EXIT_OK
    try:
        job = ui._guard(lambda: load_job(path, collect_fn))
        code = _collect_all(job, collect_fn, overrides, estimate, summary)
        if not estimate and code in (EXIT_OK, EXIT_PARTIAL):
            _say_nothing_to_do(job, summary)
            if later and job.dataset:
                ui._guard(lambda: _later_stages(job, summary))
    except typer.Exit as exc:
        code = exc.exit_code
        summary.finish(code, getattr(exc, "trajkit_error", None))
        raise
    finally:
        if summary.exit_code == EXIT_OK:
            summary.finish(code)
        if summary_json is not None:
            summary.write(summary_json)
    if code:
        raise typer.Exit(code)


def _later_stages(job: Job, summary: Summary) -> None:
    """Filter the job's runs into its dataset, then export and publish that version."""
    from trajkit.dataset.export_version import export_version
    from trajkit.dataset.publish import publish_version

    ui = _ui()
    assert job.dataset is not None
    result = ui.filter_runs(job.run_dirs(), job.dataset, job.out, [], False, chain=job.chain)
    m = result.manifest
    summary.dataset = {
        "path": str(result.path), "version": m.version, "records": m.records, "existed": result.existed,
    }
    for stage in job.exports:
        options = dict(stage)
        fmt, to = options.pop("format"), Path(options.pop("to"))
        if result.existed and to.exists():
            ui.out.print(f"{escape(str(to))}: unchanged ({job.dataset} v{m.version})", highlight=False)
            summary.exports.append({"format": fmt, "to": str(to), "written": False})
            continue
        to.parent.mkdir(parents=True, exist_ok=True)
        shard = options.pop("max_shard_mb", None)
        options.pop("force", None)  # the job owns its export paths: a new version replaces them
        exported = export_version(
            result.path, fmt, to, force=True,
            max_shard_bytes=int(shard) * 1024 * 1024 if shard else None, **options,
        )
        ui.out.print(f"wrote {escape(str(to))}: {exported.rows} rows ({fmt})", highlight=False)
        summary.exports.append({"format": fmt, "to": str(to), "written": True, "rows": exported.rows})
    if job.publish is not None:
        published = publish_version(result.path, **job.publish)
        where = f"{published.repo_id}@{published.tag}"
        state = "dry run" if published.dry_run else "unchanged" if published.already else "published"
        ui.out.print(f"{where}: {state}", highlight=False)
        summary.publish = {"repo_id": published.repo_id, "tag": published.tag, "state": state}


def run_cmd(
    job_path: Annotated[Path, typer.Argument(metavar="JOB.toml", help="Job file: collect tables, then optional dataset, filter, export and publish tables.")],
    summary_json: Annotated[Path | None, typer.Option(metavar="PATH", help="Write a machine-readable summary (status, exit code, runs, dataset, exports) here.")] = None,
    estimate: Annotated[bool, typer.Option("--estimate", help="Only estimate the collections' tokens and cost.")] = False,
) -> None:
    """Run a job file: collect each of its collections, filter them into its dataset, then export/publish.

    Exit codes: 0 done, 1 partial, 2 bad input/config, 3 budget reached, 4 teacher
    unavailable, 130 interrupted. Re-running a finished job does nothing and says so.
    """
    _run_job("run", job_path, _ui().collect, summary_json, estimate, {}, later=True)


def register(app: typer.Typer) -> None:
    """Add ``run`` to the main ``trajkit`` app."""
    app.command("run")(run_cmd)

