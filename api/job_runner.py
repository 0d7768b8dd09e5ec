"""``trajkit.run_job``: a job file's collections, then its dataset, exports and publish.

Safe to re-trigger: runs resume (their lock keeps two processes apart), an unchanged dataset
is reported instead of rewritten, an export of an unchanged version is left alone and a
published version is not uploaded twice, so re-running a finished job does nothing and says
so. The job stops at the first run that cannot finish (budget, outage, interrupt, a user
error); a partial run (some infrastructure errors) does not stop it, and the worst code wins.
Everything it did is recorded in a ``Summary`` (the ``--summary-json`` file), also when it
stops on an error, which is then re-raised.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from rich.console import Console

from trajkit.api.collecting import collect_config, run_sync
from trajkit.api.jobs import Job, load_job
from trajkit.api.summary import Summary
from trajkit.collect.estimate import estimate_run
from trajkit.collect.outcome import EXIT_INTERRUPTED, EXIT_OK, EXIT_PARTIAL
from trajkit.collect.run_store import RUN_JSON
from trajkit.collect.runner import RunResult
from trajkit.core.errors import UserError
from trajkit.schemas import RunManifest

Log = Callable[[str], None]
Report = Callable[[RunResult], None]


def _done(run_dir: Path) -> int:
    try:
        return RunManifest.model_validate_json((run_dir / RUN_JSON).read_text()).counts.done
    except (OSError, ValueError):
        return 0


def run_job(
    path: str | Path,
    *,
    collect_only: bool = False,
    estimate: bool = False,
    overrides: dict[str, Any] | None = None,
    summary: Summary | None = None,
    log: Log | None = None,
    report: Report | None = None,
    console: Console | None = None,
) -> Summary:
    """Run the job file at ``path`` (see ``trajkit.api.jobs`` for the format).

    ``collect_only`` stops after the collections (``trajkit collect --config``); ``estimate``
    only estimates them; ``overrides`` replace collect options in every collection (flags
    typed next to ``--config``). ``log`` gets one line per thing done (default: none),
    ``report`` each collection's ``RunResult`` as it finishes.
    Returns the filled ``summary``; its ``exit_code`` is the job's.
    """
    summary = summary or Summary(command="run", job=str(path))
    say = log or (lambda line: None)
    try:
        job = load_job(Path(path))
        code = _collect_all(job, overrides or {}, estimate, summary, say, report, console)
        if not estimate and code in (EXIT_OK, EXIT_PARTIAL):
            _say_nothing_to_do(job, summary, say)
            if not collect_only and job.dataset:
                _later_stages(job, summary, say)
    except UserError as exc:
        summary.finish(exc.exit_code, str(exc))
        raise
    except KeyboardInterrupt:
        summary.finish(EXIT_INTERRUPTED, "interrupted")
        raise
    summary.finish(code)
    return summary


def _collect_all(
    job: Job, overrides: dict[str, Any], estimate: bool, summary: Summary, say: Log,
    report: Report | None, console: Console | None,
) -> int:
    from trajkit.collect.runner import collect as run_collection

    worst = EXIT_OK
    for options in job.collects:
        values = {**options.model_dump(exclude_unset=False), **overrides}
        config = collect_config(**values)
        if estimate:
            say(estimate_run(config).describe())
            continue
        before = _done(config.run_dir)
        try:
            result = run_sync(run_collection(config, console))
        finally:
            summary.add_run(config.run_dir, new_episodes=_done(config.run_dir) - before)
        if report is not None:
            report(result)
        code = result.exit_code
        if code not in (EXIT_OK, EXIT_PARTIAL):
            return code
        worst = max(worst, code)
    return worst


def _say_nothing_to_do(job: Job, summary: Summary, say: Log) -> None:
    if summary.runs and all(r.get("new_episodes") == 0 for r in summary.runs):
        summary.nothing_to_do = True
        say(f"job {job.name}: nothing to do — all {len(summary.runs)} run(s) were already complete")


def _later_stages(job: Job, summary: Summary, say: Log) -> None:
    """Filter the job's runs into its dataset, then export and publish that version."""
    from trajkit.dataset.export_version import export_version
    from trajkit.dataset.publish import publish_version
    from trajkit.dataset.version import build_version

    assert job.dataset is not None and job.chain is not None
    version = build_version(job.run_dirs(), job.dataset, job.out, job.chain)
    m = version.manifest
    say(f"{'unchanged' if version.existed else 'wrote'} {version.path} ({m.records} records)")
    summary.dataset = {
        "path": str(version.path), "version": m.version, "records": m.records,
        "existed": version.existed,
    }
    for stage in job.exports:
        to = stage.to
        if version.existed and to.exists():
            say(f"{to}: unchanged ({job.dataset} v{m.version})")
            summary.exports.append({"format": stage.format, "to": str(to), "written": False})
            continue
        to.parent.mkdir(parents=True, exist_ok=True)
        exported = export_version(
            version.path, stage.format, to, force=True, weights=stage.weights,
            mask_failed=stage.mask_failed, license=stage.license,
            max_shard_bytes=stage.max_shard_mb * 1024 * 1024 if stage.max_shard_mb else None,
            keep_demonstration=stage.keep_demonstration,
        )
        say(f"wrote {to}: {exported.rows} rows ({stage.format})")
        summary.exports.append(
            {"format": stage.format, "to": str(to), "written": True, "rows": exported.rows}
        )
    if job.publish is not None:
        p = job.publish
        published = publish_version(
            version.path, p.repo_id, private=p.private, dry_run=p.dry_run, license=p.license
        )
        where = f"{published.repo_id}@{published.tag}"
        state = "dry run" if published.dry_run else "unchanged" if published.already else "published"
        say(f"{where}: {state}")
        summary.publish = {"repo_id": published.repo_id, "tag": published.tag, "state": state}
