"""Live progress of a run: done/total, success rate, tokens, elapsed and ETA."""

from __future__ import annotations

import time

from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)

from trajkit.collect.node_tally import NodeTally
from trajkit.schemas import RunCounts, Usage


class RunProgress:
    """A rich progress bar on a terminal; elsewhere (cron, CI, Kubernetes logs) one plain
    line every ``log_every_s`` seconds, so a batch job's log shows it is alive."""

    def __init__(
        self,
        console: Console,
        run: str,
        total: int,
        already: int,
        log_every_s: float = 30.0,
        *,
        tasks: bool = False,
    ) -> None:
        """``total``/``already``: tasks, which are episodes too unless ``tasks`` (several
        attempts or teachers per task): then the bar counts settled tasks and the line the
        episodes besides."""
        self._console = console
        self._run = run
        self._total = total
        self._log_every_s = log_every_s
        self._tasks = tasks
        self._started = time.monotonic()
        self._last_log = self._started
        self._progress = Progress(
            TextColumn("[bold]{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("success {task.fields[rate]}"),
            TextColumn("tokens {task.fields[tokens]}"),
            TextColumn("{task.fields[nodes]}"),  # --executor ray: episodes per node
            TimeElapsedColumn(),
            TextColumn("ETA"),
            TimeRemainingColumn(),
            console=console,
            disable=not console.is_terminal,
        )
        self._task = self._progress.add_task(
            run, total=total, completed=already, rate="-", tokens="0", nodes=""
        )

    def __enter__(self) -> RunProgress:
        self._progress.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._progress.stop()

    def update(
        self, counts: RunCounts, usage: Usage, cost_usd: float | None = None,
        nodes: NodeTally | None = None,
    ) -> None:
        """``nodes``: where the episodes ran, shown when any record names a node (Ray)."""
        where = nodes.summary() if nodes is not None else ""
        rate = f"{counts.succeeded / counts.done:.0%}" if counts.done else "-"
        tokens = f"{usage.input_tokens + usage.output_tokens:,}"
        if cost_usd is not None:
            tokens += f" ${cost_usd:.4f}"
        done = counts.tasks_settled if self._tasks else counts.done
        self._progress.update(self._task, completed=done, rate=rate, tokens=tokens, nodes=where)
        now = time.monotonic()
        if not self._console.is_terminal and now - self._last_log >= self._log_every_s:
            self._last_log = now
            what = f"{done}/{self._total} tasks, {counts.done} episodes" if self._tasks else (
                f"{done}/{self._total} episodes"
            )
            self._console.print(
                f"{self._run}: {what}, success {rate}, "
                f"tokens {tokens}, elapsed {now - self._started:.0f}s"
                + (f"; {where}" if where else ""),
                highlight=False,
            )
