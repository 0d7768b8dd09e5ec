"""``trajkit demo``: the whole pipeline on every source's bundled sample, with no API key.

Every registered source that ships a ``demo_replay`` (hand-written CodeAct turns for its
bundled sample) is collected with the replay teacher into ``OUT/runs/demo-SOURCE`` (resumed
if present), the runs are filtered into the dataset ``demo``, and its stats and HTML report
follow; re-running reports the existing version. A source whose extra is missing here is
skipped with one line saying how to install it.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from trajkit.cli.console import RESUMABLE, err, guard, out, say
from trajkit.cli.options import OneLineErrors, examples

app = typer.Typer()


def demo_sources() -> list[tuple[str, Path | None, str | None]]:
    """``(name, demo replay, why it is skipped here)`` for every registered source with a demo."""
    from trajkit.core import registry
    from trajkit.core.errors import PluginError

    found: list[tuple[str, Path | None, str | None]] = []
    for entry in registry.REGISTRY.entries("source"):
        hints = entry.missing_extras()
        if hints:
            found.append((entry.name, None, f"needs an extra ({hints[0]})"))
            continue
        try:
            cls = entry.load()
        except PluginError as exc:
            found.append((entry.name, None, str(exc)))
            continue
        replay = getattr(cls, "demo_replay", None)
        if replay is None:
            continue
        unavailable = getattr(cls, "demo_unavailable", lambda: None)()
        found.append((entry.name, replay, unavailable))
    return found


@app.command("demo", cls=OneLineErrors, epilog=examples(
    'trajkit demo',
    'trajkit demo --out /tmp/demo',
))
def demo(
    out_dir: Annotated[Path, typer.Option("--out", help="Output root.")] = Path("out"),
    no_isolation: Annotated[bool, typer.Option("--no-isolation", help="UNSAFE: run without namespaces.")] = False,
) -> None:
    """The whole pipeline on every source's bundled sample, replaying hand-written turns (no key).

    Collects each source into OUT/runs/demo-SOURCE (resumed if present), filters all of them
    into the dataset ``demo`` and prints its stats; re-running reports the existing version.
    """
    from trajkit.api.collecting import collect_config, run_sync
    from trajkit.cli.filter_command import report_version
    from trajkit.cli.run_report import report_run
    from trajkit.collect.runner import collect as run_collection
    from trajkit.dataset.stats import compute_stats, render_stats
    from trajkit.dataset.version import build_version
    from trajkit.filters.presets import default_chain

    def body() -> None:
        runs = []
        for name, replay, unavailable in demo_sources():
            if unavailable or replay is None:
                say(f"demo: skipping {name}: {unavailable}", console=err)
                continue
            config = collect_config(
                name, f"replay:{replay}", out=out_dir, run=f"demo-{name}", concurrency=4,
                no_isolation=no_isolation,
            )
            report_run(run_sync(run_collection(config, err)))
            runs.append(config.run_dir)
        result = build_version(runs, "demo", out_dir, default_chain())
        report_version(result, table=False)  # the stats below include the table
        render_stats(compute_stats(result.path), out)
        say(f"dataset: {result.path}")
        from trajkit.view.site import build_site

        index = build_site(result.path).index  # OUT/reports/demo-vN
        say(f"report: {index}")

    guard(body, RESUMABLE)
