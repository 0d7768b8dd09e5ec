"""Summary numbers for a dataset version, a run, or any trajectories JSONL file.

Streams the records once, keeping only counters (turns are a histogram, not a list) and the
set of ids seen, so stats on a large run cost little memory. Self-correction is recomputed from
steps with the same rule as the filter, so the rate printed is the rate the filter would act
on; and a line repeating an earlier line's trajectory id is skipped and counted
(``duplicates``), the first occurrence counting, as ``trajkit filter`` and ``trajkit view`` do,
so the three agree on how many records a file holds.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.markup import escape
from rich.table import Table

from trajkit.core.errors import DataError
from trajkit.core.jsonl import TornTail, iter_records
from trajkit.core.numbers import percent
from trajkit.core.yields import YieldTally, sum_yields
from trajkit.dataset.inputs import TRAJECTORIES_FILE, input_environments
from trajkit.dataset.naming import teacher_name
from trajkit.dataset.summary import (
    environment_differences,
    environment_identity,
    environment_packages,
)
from trajkit.dataset.verify import verify_version
from trajkit.dataset.version import (
    DATA_FILE,
    MANIFEST_FILE,
    duplicate_count,
    list_versions,
    read_manifest,
)
from trajkit.dataset.yield_table import HEADER, yield_line, yield_rows
from trajkit.filters.self_correct import is_self_correcting
from trajkit.schemas import DatasetManifest, Trajectory, YieldCounts
from trajkit.schemas.manifests import EnvironmentUse


@dataclass
class Stats:
    """Counts over one set of trajectories; rates and means are derived properties."""

    path: str
    kind: str  # "dataset" (a vN directory), "run" (a run directory) or "jsonl"
    records: int = 0
    by_source: Counter[str] = field(default_factory=Counter)
    by_termination: Counter[str] = field(default_factory=Counter)
    successes: int = 0
    self_corrected: int = 0
    turns: Counter[int] = field(default_factory=Counter)
    tokens_in: int = 0
    tokens_out: int = 0
    errors_by_kind: Counter[str] = field(default_factory=Counter)
    episodes_with_errors: int = 0
    #: Lines skipped because an earlier line had the same trajectory id.
    duplicates: int = 0
    torn_tail: bool = False
    manifest: DatasetManifest | None = None
    problems: list[str] = field(default_factory=list)
    #: The sandbox environments the records were collected in (a run's ``run.json``, a
    #: version's manifest); None when nothing recorded them.
    sandbox_environments: list[EnvironmentUse] | None = None
    #: Attempts → kept (default chain) with tokens and dollars, per source and teacher.
    yields: YieldTally = field(default_factory=lambda: YieldTally(teacher_name))

    def yield_groups(self) -> tuple[dict[str, YieldCounts], dict[str, YieldCounts]]:
        """(by source, by teacher): for a dataset version, the attempts behind its records as
        its manifest recorded them (``kept`` = the version's records); else counted from the
        records themselves (``kept`` = what the default chain keeps)."""
        m = self.manifest
        if m is not None and m.yield_by_source is not None:
            return dict(m.yield_by_source), dict(m.yield_by_teacher or {})
        return self.yields.by_source(), self.yields.by_teacher()

    def _rate(self, n: int) -> float:
        return n / self.records if self.records else 0.0

    @property
    def success_rate(self) -> float:
        return self._rate(self.successes)

    @property
    def self_correction_rate(self) -> float:
        """Share of all records that self-correct (fails before the succeeding step)."""
        return self._rate(self.self_corrected)

    @property
    def turns_mean(self) -> float:
        return self._rate(sum(t * n for t, n in self.turns.items()))

    @property
    def turns_median(self) -> float:
        if not self.records:
            return 0.0
        ordered = sorted(self.turns.items())

        def nth(i: int) -> int:
            for value, n in ordered:
                if i < n:
                    return value
                i -= n
            raise IndexError(i)

        mid = self.records // 2
        if self.records % 2:
            return float(nth(mid))
        return (nth(mid - 1) + nth(mid)) / 2

    @property
    def turns_max(self) -> int:
        return max(self.turns, default=0)

    @property
    def tokens_in_mean(self) -> float:
        return self._rate(self.tokens_in)

    @property
    def tokens_out_mean(self) -> float:
        return self._rate(self.tokens_out)

    def add(self, traj: Trajectory) -> None:
        """Count one trajectory."""
        self.records += 1
        self.yields.add(traj)
        self.by_source[traj.source] += 1
        self.by_termination[traj.termination.value] += 1
        self.successes += traj.success
        self.self_corrected += is_self_correcting(traj)
        self.turns[len(traj.steps)] += 1
        self.tokens_in += traj.usage.input_tokens
        self.tokens_out += traj.usage.output_tokens
        kinds = [s.observation.error.kind.value for s in traj.steps if s.observation and s.observation.error]
        self.errors_by_kind.update(kinds)
        self.episodes_with_errors += bool(kinds)


def _locate(path: Path) -> tuple[str, Path, Path | None]:
    """``(kind, jsonl file, version dir or None)``; a dataset NAME dir means its latest version."""
    if path.is_dir():
        if (path / MANIFEST_FILE).is_file() or (path / DATA_FILE).is_file():
            return "dataset", path / DATA_FILE, path
        versions = list_versions(path)
        if versions:
            version_dir = path / f"v{versions[-1]}"
            return "dataset", version_dir / DATA_FILE, version_dir
        if (path / TRAJECTORIES_FILE).is_file():
            return "run", path / TRAJECTORIES_FILE, None
        raise DataError(f"{path}: not a dataset version, dataset, or run directory")
    if path.is_file():
        return "jsonl", path, None
    if path.exists():  # /dev/null, a FIFO (reading it could wait forever), a socket
        raise DataError(f"{path}: not a regular file or directory")
    raise DataError(f"{path}: no such file or directory")


def compute_stats(path: Path) -> Stats:
    """Stats for a dataset version dir (or NAME dir → latest), a run dir, or a JSONL file.

    For a dataset version, ``manifest`` is loaded and ``problems`` holds ``verify_version``'s
    findings, so a tampered version is visible wherever its stats are shown.
    """
    kind, data, version_dir = _locate(Path(path))
    stats = Stats(path=str(version_dir or data), kind=kind)
    if version_dir is not None:
        stats.problems = verify_version(version_dir)
        try:
            stats.manifest = read_manifest(version_dir)
        except DataError:
            pass  # already among the problems
        if not data.is_file():
            return stats
    stats.sandbox_environments = _environments(kind, data, stats.manifest)
    torn: list[TornTail] = []
    seen: set[str] = set()
    for _lineno, traj in iter_records(data, Trajectory, torn):
        if traj.id in seen:
            stats.duplicates += 1
            continue
        seen.add(traj.id)
        stats.add(traj)
    stats.torn_tail = bool(torn)
    return stats


def _environments(
    kind: str, data: Path, manifest: DatasetManifest | None
) -> list[EnvironmentUse] | None:
    if manifest is not None:
        return manifest.sandbox_environments
    if kind != "run":
        return None
    envs = [env for env in input_environments(data) if env is not None]
    name = data.parent.name
    return [EnvironmentUse(environment=env, parents=[name]) for env in envs] or None


def stats_as_dict(stats: Stats) -> dict[str, Any]:
    """A JSON-serialisable view for ``trajkit stats --json`` (plain dicts, sorted keys)."""
    out: dict[str, Any] = {
        "path": stats.path,
        "kind": stats.kind,
        "records": stats.records,
        "by_source": dict(sorted(stats.by_source.items())),
        "by_termination": dict(sorted(stats.by_termination.items())),
        "successes": stats.successes,
        "success_rate": stats.success_rate,
        "self_corrected": stats.self_corrected,
        "self_correction_rate": stats.self_correction_rate,
        "turns": {"mean": stats.turns_mean, "median": stats.turns_median, "max": stats.turns_max},
        "tokens": {
            "input_total": stats.tokens_in,
            "output_total": stats.tokens_out,
            "input_mean": stats.tokens_in_mean,
            "output_mean": stats.tokens_out_mean,
        },
        "errors_by_kind": dict(sorted(stats.errors_by_kind.items())),
        "episodes_with_errors": stats.episodes_with_errors,
        "duplicates_skipped": stats.duplicates,
        "torn_tail": stats.torn_tail,
        "problems": list(stats.problems),
        "yield": _yield_json(stats),
        "sandbox_environments": (
            None if stats.sandbox_environments is None
            else [u.model_dump(mode="json") for u in stats.sandbox_environments]
        ),
    }
    if stats.manifest is not None:
        m = stats.manifest
        out["dataset"] = {
            "name": m.name,
            "version": m.version,
            "fingerprint": m.fingerprint,
            "created_at": m.created_at,
            "data_sha256": m.data_sha256,
            "duplicates_skipped": duplicate_count(m),
            "inputs": [i.model_dump() for i in m.inputs],
            "filters": [f.model_dump() for f in m.filters],
        }
    return out


def _yield_json(stats: Stats) -> dict[str, Any]:
    by_source, by_teacher = stats.yield_groups()

    def one(y: YieldCounts) -> dict[str, Any]:
        return {**y.model_dump(), "success_rate": y.success_rate,
                "self_correction_rate": y.self_correction_rate,
                "tokens_per_kept": y.tokens_per_kept, "cost_per_kept": y.cost_per_kept}

    return {
        "total": one(sum_yields(by_source.values())),
        "by_source": {k: one(v) for k, v in sorted(by_source.items())},
        "by_teacher": {k: one(v) for k, v in sorted(by_teacher.items())},
    }


def _yield_table(title: str, column: str, groups: dict[str, YieldCounts]) -> Table:
    table = Table(title=title, title_justify="left")
    table.add_column(column)
    for name in HEADER:
        table.add_column(name[0].upper() + name[1:], justify="right")
    for row in yield_rows(groups):
        table.add_row(escape(row[0]), *row[1:])
    return table


def _counts_table(title: str, counts: Counter[str], total: int) -> Table:
    table = Table(title=title, title_justify="left")
    table.add_column(title.split(" ")[-1].capitalize())
    table.add_column("Count", justify="right")
    table.add_column("Share", justify="right")
    for key, n in counts.most_common():
        table.add_row(escape(key), str(n), percent(n, total, decimals=1))
    return table


def render_stats(stats: Stats, console: Console) -> None:
    """Print the stats as rich tables; for a dataset version also its filter table."""
    console.print(f"[bold]{stats.kind}[/bold] {escape(stats.path)}", highlight=False)
    summary = Table(show_header=False)
    summary.add_column("")
    summary.add_column("", justify="right")
    rows = [
        ("records", f"{stats.records}"),
        ("success rate", f"{percent(stats.successes, stats.records, decimals=1)} ({stats.successes})"),
        ("self-correction rate",
         f"{percent(stats.self_corrected, stats.records, decimals=1)} ({stats.self_corrected})"),
        ("turns mean / median / max",
         f"{stats.turns_mean:.2f} / {stats.turns_median:g} / {stats.turns_max}"),
        ("tokens in (total / mean)", f"{stats.tokens_in:,} / {stats.tokens_in_mean:,.0f}"),
        ("tokens out (total / mean)", f"{stats.tokens_out:,} / {stats.tokens_out_mean:,.0f}"),
        ("episodes with errors", f"{stats.episodes_with_errors}"),
    ]
    if stats.manifest is not None:
        m = stats.manifest
        rows[:0] = [("dataset", f"{m.name} v{m.version}"), ("created", m.created_at)]
        rows.append(("duplicate ids skipped", str(duplicate_count(m))))
    for row in rows:
        summary.add_row(*row)
    console.print(summary)
    for title, counts in (
        ("By source", stats.by_source),
        ("By termination", stats.by_termination),
    ):
        if counts:
            console.print(_counts_table(title, counts, stats.records))
    by_source, by_teacher = stats.yield_groups()
    if by_source:
        kept_by = "this version" if stats.manifest is not None and stats.manifest.yield_by_source \
            is not None else "the default filters (success + self-correction)"
        console.print(f"yield: {yield_line(sum_yields(by_source.values()))}; kept by {kept_by}",
                      highlight=False, markup=False)
        console.print(_yield_table("Yield by source", "Source", by_source))
        console.print(_yield_table("Yield by teacher", "Teacher", by_teacher))
    if stats.errors_by_kind:
        errors = Table(title="Errors by kind", title_justify="left")
        errors.add_column("Kind")
        errors.add_column("Failed steps", justify="right")
        for kind, n in stats.errors_by_kind.most_common():
            errors.add_row(escape(kind), str(n))
        console.print(errors)
    if stats.sandbox_environments:
        console.print(_environments_table(stats.sandbox_environments))
        differs = environment_differences(stats.sandbox_environments)
        if differs:
            console.print(
                f"[yellow]note: collected in different sandbox environments "
                f"({escape(', '.join(differs))} differ)[/]"
            )
    if stats.manifest is not None:
        render_filter_table(stats.manifest, console)
    if stats.duplicates:
        console.print(
            f"[yellow]note: {stats.duplicates} line(s) repeating an earlier trajectory id "
            "skipped: the first occurrence counts, as in trajkit filter[/]"
        )
    if stats.torn_tail:
        console.print("[yellow]note: torn last line skipped (run still writing or crashed)[/]")
    for problem in stats.problems:
        console.print(f"[red]problem:[/] {escape(problem)}", highlight=False)


def _environments_table(uses: list[EnvironmentUse]) -> Table:
    """Which Python and stack versions the code ran on (what printed the observations)."""
    table = Table(title="Sandbox environment", title_justify="left")
    for col in ("Sandbox", "Python", "Packages", "Identity", "Parents"):
        table.add_column(col)
    for use in uses:
        env = use.environment
        parents = escape(", ".join(use.parents))
        if env is None:
            table.add_row("not recorded", "-", "-", "-", parents)
            continue
        identity = environment_identity(env) + (f" (stack {env.stack})" if env.stack else "")
        table.add_row(escape(env.backend), escape(env.python),
                      escape(environment_packages(env) or "-"), escape(identity), parents)
    return table


def render_filter_table(manifest: DatasetManifest, console: Console) -> None:
    """Print the manifest's per-unit table (unit, seen, kept, dropped, top reasons).

    Shared by ``trajkit filter`` (after a build or dry run) and ``trajkit stats``.
    """
    console.print(_filters_table(manifest))


def _filters_table(manifest: DatasetManifest) -> Table:
    dupes = duplicate_count(manifest)
    caption = f"{dupes} duplicate id(s) skipped before filtering" if dupes else None
    table = Table(title="Filters", title_justify="left", caption=caption, caption_justify="left")
    for col, justify in (("Unit", "left"), ("Seen", "right"), ("Kept", "right"),
                         ("Dropped", "right"), ("Top reasons", "left")):
        table.add_column(col, justify=justify)  # type: ignore[arg-type]
    if not manifest.filters:
        table.add_row("(none: all kept)", str(manifest.records), str(manifest.records), "0", "")
    for r in manifest.filters:
        top = sorted(r.drop_reasons.items(), key=lambda kv: (-kv[1], kv[0]))[:3]
        params = ",".join(f"{k}={v}" for k, v in sorted(r.params.items()))
        table.add_row(
            escape(f"{r.name}({params})" if params else r.name),
            str(r.seen), str(r.kept), str(r.dropped),
            escape(", ".join(f"{reason} ({n})" for reason, n in top)),
        )
    return table
