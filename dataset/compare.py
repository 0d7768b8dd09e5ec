"""``trajkit compare``: the CodeAct paper's comparison table for the user's own runs.

The paper's headline is a table: the same tasks, the same model, actions written one way or
another, and how often each succeeded, in how many turns. Here each input (a run directory or
a dataset version) is one column, labelled by its name, teacher and action format (each
record's ``action_format``; records from before formats existed were all ``code``).

Tasks are matched by ``(source, task_id)``. A run may hold several episodes of one task
(``--samples``, ``--escalate``), and the first teacher's first try is the only episode every
run has in the same role, so each input counts, per task, its first attempt of stage 0;
other episodes are counted as ``ignored``. The table covers the tasks *every* input played,
so each column answers over the same tasks (the number left out per input is reported);
flipped tasks are listed pairwise against the first input, over the tasks the two share.

Success rates carry a 95 % Wilson score interval, which unlike the normal approximation stays
inside [0, 1] and is honest at the small counts a trial run has (0 of 10 is not "0 % ± 0").
Tokens and dollars are per *success*, what a kept trajectory costs: every episode's tokens
(and ``cost_usd``) over the successes; ``None`` when there is no success, or for cost when any
episode was unpriced.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydantic import ValidationError
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from trajkit.core.errors import DataError
from trajkit.core.jsonl import TornTail, iter_records
from trajkit.core.numbers import percent
from trajkit.dataset.inputs import RUN_FILE, TRAJECTORIES_FILE, VERSION_DATA_FILE, is_version_dir
from trajkit.dataset.naming import teacher_name
from trajkit.dataset.verify import require_intact
from trajkit.dataset.yield_table import money
from trajkit.schemas import RunManifest, Trajectory

#: z for a two-sided 95 % interval (the 0.975 quantile of the standard normal).
Z95 = 1.959963984540054
DEFAULT_FORMAT = "code"
SELECTION = "first attempt of stage 0 per (source, task_id)"
OVERALL = "all"

TaskKey = tuple[str, str]


def wilson_interval(successes: int, n: int, z: float = Z95) -> tuple[float, float] | None:
    """The Wilson score interval for ``successes`` of ``n``; ``None`` when ``n`` is 0."""
    if n <= 0:
        return None
    p = successes / n
    denom = 1 + z * z / n
    centre = (p + z * z / (2 * n)) / denom
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / denom
    return max(0.0, centre - half), min(1.0, centre + half)


@dataclass(frozen=True)
class Outcome:
    """What the compared episode of one task came to."""

    success: bool
    turns: int
    tokens: int
    cost_usd: float | None


@dataclass
class Cell:
    """One input's numbers over one group of tasks (a source, or all)."""

    episodes: int = 0
    successes: int = 0
    turns: int = 0
    tokens: int = 0
    cost_usd: float = 0.0
    unpriced: int = 0

    def add(self, o: Outcome) -> None:
        self.episodes += 1
        self.successes += o.success
        self.turns += o.turns
        self.tokens += o.tokens
        if o.cost_usd is None:
            self.unpriced += 1
        else:
            self.cost_usd += o.cost_usd

    @property
    def success_rate(self) -> float | None:
        return self.successes / self.episodes if self.episodes else None

    @property
    def ci95(self) -> tuple[float, float] | None:
        return wilson_interval(self.successes, self.episodes)

    @property
    def turns_mean(self) -> float | None:
        return self.turns / self.episodes if self.episodes else None

    @property
    def tokens_per_success(self) -> float | None:
        return self.tokens / self.successes if self.successes else None

    @property
    def cost_per_success(self) -> float | None:
        if not self.successes or self.unpriced:
            return None
        return self.cost_usd / self.successes

    def as_dict(self) -> dict[str, Any]:
        ci = self.ci95
        return {
            "episodes": self.episodes,
            "successes": self.successes,
            "success_rate": self.success_rate,
            "ci95": list(ci) if ci else None,
            "turns_mean": self.turns_mean,
            "tokens_per_success": self.tokens_per_success,
            "cost_per_success": self.cost_per_success,
        }


@dataclass
class CompareInput:
    """One input as read: its label parts and, per task, the compared episode."""

    path: Path
    kind: str  # "run" or "dataset"
    name: str
    teacher: str
    action_format: str
    outcomes: dict[TaskKey, Outcome]
    ignored: int = 0
    torn_tail: bool = False
    unmatched: int = 0

    @property
    def label(self) -> str:
        return f"{self.name} · {self.teacher} · {self.action_format}"


@dataclass(frozen=True)
class FlippedTask:
    source: str
    task_id: str
    first: bool  # success in the first input
    other: bool  # success in the other input


@dataclass
class Flips:
    """Tasks the first input and ``other`` (an index into the inputs) both played, that
    succeeded in one and failed in the other."""

    other: int
    shared: int
    tasks: list[FlippedTask] = field(default_factory=list)


@dataclass
class Comparison:
    """The table: per source and overall, one ``Cell`` per input, over the matched tasks."""

    inputs: list[CompareInput]
    matched: int
    by_source: dict[str, list[Cell]]
    overall: list[Cell]
    flips: list[Flips]

    def as_dict(self) -> dict[str, Any]:
        """Plain JSON for ``--json`` (the same numbers the table shows, unrounded)."""
        return {
            "selection": SELECTION,
            "matched_tasks": self.matched,
            "inputs": [
                {"path": str(i.path), "kind": i.kind, "name": i.name, "teacher": i.teacher,
                 "action_format": i.action_format, "label": i.label, "episodes_read": len(i.outcomes),
                 "ignored": i.ignored, "unmatched": i.unmatched, "torn_tail": i.torn_tail}
                for i in self.inputs
            ],
            "overall": [c.as_dict() for c in self.overall],
            "by_source": {s: [c.as_dict() for c in cells] for s, cells in sorted(self.by_source.items())},
            "flips": [
                {"first": 0, "other": f.other, "shared": f.shared,
                 "tasks": [{"source": t.source, "task_id": t.task_id, "first_success": t.first,
                            "other_success": t.other} for t in f.tasks]}
                for f in self.flips
            ],
        }


def read_input(path: Path) -> CompareInput:
    """One run directory or dataset version; anything else is a one-line ``DataError``."""
    path = Path(path)
    if not path.exists():
        raise DataError(f"{path}: no such run directory or dataset version")
    if is_version_dir(path):
        manifest = require_intact(path)  # never altered data under the version's name
        kind, data, name = "dataset", path / VERSION_DATA_FILE, f"{manifest.name} v{manifest.version}"
    elif path.is_dir() and (path / TRAJECTORIES_FILE).is_file():
        kind, data = "run", path / TRAJECTORIES_FILE
        name = _run_name(path)
    else:
        raise DataError(f"{path}: not a run directory or dataset version (e.g. out/runs/NAME, out/datasets/NAME/vN)")
    if not data.is_file():
        raise DataError(f"{path}: dataset version has no {VERSION_DATA_FILE}")
    first: dict[TaskKey, tuple[int, Trajectory]] = {}
    seen: set[str] = set()
    ignored = 0
    torn: list[TornTail] = []
    for _lineno, traj in iter_records(data, Trajectory, torn):
        if traj.id in seen:
            continue  # a repeated line: the first occurrence counts, as everywhere else
        seen.add(traj.id)
        key = (traj.source, traj.task_id)
        held = first.get(key)
        if traj.stage != 0 or (held is not None and held[0] <= traj.attempt):
            ignored += 1
            continue
        ignored += held is not None
        first[key] = (traj.attempt, traj)
    records = [t for _, t in first.values()]
    teachers = sorted({teacher_name(t.teacher.provider, t.teacher.model) for t in records})
    fmt = "+".join(sorted({t.action_format for t in records})) or DEFAULT_FORMAT
    outcomes = {
        key: Outcome(t.success, len(t.steps), t.usage.input_tokens + t.usage.output_tokens, t.cost_usd)
        for key, (_attempt, t) in first.items()
    }
    return CompareInput(path, kind, name, "+".join(teachers) or "-", fmt, outcomes, ignored, bool(torn))


def _run_name(run_dir: Path) -> str:
    """The run's name from ``run.json``; a run without one is named by its folder."""
    run_json = run_dir / RUN_FILE
    if not run_json.is_file():
        return run_dir.name
    try:
        manifest = RunManifest.model_validate_json(run_json.read_bytes())
    except ValidationError as exc:
        raise DataError(f"{run_json}: invalid run.json: {exc.errors()[0]['msg']}") from None
    return manifest.run


def compare_inputs(inputs: list[CompareInput]) -> Comparison:
    """The table over the tasks every input played, and flips against the first input."""
    if len(inputs) < 2:
        raise DataError("compare: give two or more runs or dataset versions")
    matched = set(inputs[0].outcomes)
    for i in inputs[1:]:
        matched &= set(i.outcomes)
    if not matched:
        raise DataError(
            "compare: no task is in every input (matched by source and task id): were these "
            "runs of the same source and task selection?"
        )
    for i in inputs:
        i.unmatched = len(i.outcomes) - len(matched)
    ordered = sorted(matched)
    overall = [Cell() for _ in inputs]
    by_source: dict[str, list[Cell]] = {}
    for key in ordered:
        cells = by_source.setdefault(key[0], [Cell() for _ in inputs])
        for n, i in enumerate(inputs):
            cells[n].add(i.outcomes[key])
            overall[n].add(i.outcomes[key])
    flips = []
    base = inputs[0].outcomes
    for n, other in enumerate(inputs[1:], start=1):
        shared = sorted(base.keys() & other.outcomes.keys())
        tasks = [
            FlippedTask(k[0], k[1], base[k].success, other.outcomes[k].success)
            for k in shared if base[k].success != other.outcomes[k].success
        ]
        flips.append(Flips(n, len(shared), tasks))
    return Comparison(inputs, len(matched), by_source, overall, flips)


def compare_paths(paths: list[Path]) -> Comparison:
    return compare_inputs([read_input(p) for p in paths])


# --- rendering -------------------------------------------------------------------------

METRICS = ("episodes", "success", "95% CI", "mean turns", "tokens / success", "cost / success")


def _metric_cells(cell: Cell) -> list[str]:
    ci = cell.ci95
    return [
        str(cell.episodes),
        f"{percent(cell.successes, cell.episodes, decimals=1)} ({cell.successes})",
        f"{ci[0]:.1%}–{ci[1]:.1%}" if ci else "-",
        f"{cell.turns_mean:.2f}" if cell.turns_mean is not None else "-",
        f"{cell.tokens_per_success:,.0f}" if cell.tokens_per_success is not None else "-",
        money(cell.cost_per_success),  # the same dollar form as the yield tables
    ]


def table_rows(c: Comparison) -> list[list[str]]:
    """``[source, metric, one value per input]`` rows: each source, then ``all``."""
    groups = [*sorted(c.by_source.items()), (OVERALL, c.overall)]
    rows = []
    for source, cells in groups:
        values = [_metric_cells(cell) for cell in cells]
        for m, metric in enumerate(METRICS):
            rows.append([source if m == 0 else "", metric, *(v[m] for v in values)])
    return rows


def _notes(c: Comparison) -> list[str]:
    notes = [f"{c.matched} task(s) in every input; each input's {SELECTION} is compared"]
    for i in c.inputs:
        parts = []
        if i.unmatched:
            parts.append(f"{i.unmatched} task(s) not in every input left out")
        if i.ignored:
            parts.append(f"{i.ignored} other episode(s) (later attempts or stages) ignored")
        if i.torn_tail:
            parts.append("torn last line skipped")
        if parts:
            notes.append(f"{i.name}: " + "; ".join(parts))
    return notes


def _flip_lines(c: Comparison) -> list[str]:
    lines = []
    first = c.inputs[0].name
    for f in c.flips:
        other = c.inputs[f.other].name
        lines.append(f"flipped between {first} and {other}: {len(f.tasks)} of {f.shared} shared task(s)")
        for t in f.tasks:
            a, b = ("success" if t.first else "failure"), ("success" if t.other else "failure")
            lines.append(f"  {t.source}/{t.task_id}: {a} → {b}")
    return lines


def render_comparison(c: Comparison, console: Console) -> None:
    """The table, the notes and the flipped tasks, for a terminal."""
    table = Table(title="Comparison (95% CI: Wilson score)", title_justify="left")
    table.add_column("Source")
    table.add_column("Metric", no_wrap=True)
    for i in c.inputs:
        table.add_column(escape(f"{i.name}\n{i.teacher}\n{i.action_format}"), justify="right")
    for row in table_rows(c):
        table.add_row(*(escape(v) for v in row), end_section=row[1] == METRICS[-1])
    console.print(table)
    for line in _notes(c) + _flip_lines(c):
        console.print(line, highlight=False, markup=False, soft_wrap=True)


def comparison_markdown(c: Comparison) -> str:
    """A GitHub-flavoured Markdown table plus the notes and flips, for pasting."""

    def cell(text: str) -> str:
        return text.replace("|", "\\|").replace("\n", " ")

    header = ["Source", "Metric", *(i.label for i in c.inputs)]
    lines = [
        "| " + " | ".join(cell(h) for h in header) + " |",
        "|" + "|".join([":---", ":---", *(["---:"] * len(c.inputs))]) + "|",
        *("| " + " | ".join(cell(v) for v in row) + " |" for row in table_rows(c)),
        "",
        "95% CI: Wilson score interval.",
        *(f"- {n}" for n in _notes(c)),
        "",
    ]
    for line in _flip_lines(c):
        lines.append(f"  - {cell(line.strip())}" if line.startswith("  ") else f"- {cell(line)}")
    return "\n".join(lines).rstrip() + "\n"
