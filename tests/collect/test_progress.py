"""Progress reporting for batch jobs: plain periodic lines when there is no terminal."""

from __future__ import annotations

import io

from rich.console import Console

from trajkit.collect.progress import RunProgress
from trajkit.schemas import RunCounts, Usage


def test_non_terminal_logs_plain_lines_at_the_interval():
    buffer = io.StringIO()
    console = Console(file=buffer, force_terminal=False)
    with RunProgress(console, "nightly", total=10, already=0, log_every_s=0.0) as progress:
        progress.update(RunCounts(done=4, succeeded=3), Usage(input_tokens=100, output_tokens=20))
    assert "nightly: 4/10 episodes, success 75%, tokens 120" in buffer.getvalue()


def test_non_terminal_is_quiet_between_intervals():
    buffer = io.StringIO()
    console = Console(file=buffer, force_terminal=False)
    with RunProgress(console, "nightly", total=10, already=0, log_every_s=3600) as progress:
        progress.update(RunCounts(done=1, succeeded=1), Usage())
    assert buffer.getvalue() == ""
