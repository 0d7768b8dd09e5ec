"""How a finished collection is reported: its line, its exit code, the ``--summary-json`` file.

Shared by ``trajkit collect`` and ``trajkit run`` so a run reads and exits the same whichever
started it. Exit codes are documented in ``trajkit.collect.outcome``.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

import typer

from trajkit.api.summary import Summary
from trajkit.cli.console import RESUMABLE, Stop, err, guard, out, say
from trajkit.collect.outcome import EXIT_BUDGET, EXIT_PARTIAL
from trajkit.collect.runner import RunResult
from trajkit.core.numbers import percent
from trajkit.core.yields import sum_yields
from trajkit.dataset.yield_table import yield_line

T = TypeVar("T")


def report_run(result: RunResult) -> None:
    """The run's one-line summary (stdout), and why it is not plainly done (stderr)."""
    m = result.manifest
    c = m.counts
    if result.repaired_bytes:
        say(f"repaired a torn last line ({result.repaired_bytes} bytes) left by a crash", console=err)
    if result.skipped:
        say(f"resumed: {result.skipped} task(s) were already collected", console=err)
    rate = percent(c.succeeded, c.done)
    several = c.done != c.tasks_settled or len(c.by_teacher) > 1
    episodes = f"{c.done} episodes over {c.tasks_settled}/{c.total_tasks} tasks" if several else (
        f"{c.done}/{c.total_tasks} episodes"
    )
    say(
        f"{result.path}: {episodes}, success {rate}, "
        f"self-corrected {c.self_corrected}, tokens in/out {m.usage.input_tokens}/{m.usage.output_tokens} "
        f"({m.usage.cached_calls} of {m.usage.calls} calls from the response cache), "
        f"terminations {json.dumps(c.by_termination, sort_keys=True)}",
        console=out,
    )
    if c.by_source:
        say(f"yield: {yield_line(sum_yields(c.by_source.values()))} (default filters)", console=out)
    code = result.exit_code
    if code == EXIT_BUDGET:
        say(f"budget reached: {m.status_detail}", console=err)
    elif code == EXIT_PARTIAL:
        say("partial: some episodes ended on teacher/sandbox/judge errors (see terminations)", console=err)


def exit_with(code: int) -> None:
    if code:
        raise typer.Exit(code)


def guard_with_summary(
    body: Callable[[], T], summary: Summary, summary_json: Path | None, run_dirs: list[Path]
) -> T:
    """``guard`` that also writes the ``--summary-json`` file, whatever the outcome."""
    try:
        result = guard(body, RESUMABLE)
    except Stop as exc:
        summary.finish(exc.exit_code, exc.reason)
        raise
    else:
        if isinstance(result, RunResult):
            summary.finish(result.exit_code)
        return result
    finally:
        for run_dir in run_dirs:
            summary.add_run(run_dir)
        if summary_json is not None:
            summary.write(summary_json)
