"""The data the report's pages are built from: what is being viewed, one row per record, totals.

Everything here is plain data computed in Python, so the numbers a reader sees are testable
without a browser and are the same numbers ``trajkit stats`` and the manifest state: counts
come from the records as written, self-correction from the shared rule in
``trajkit.core.self_correction`` (never the stored flag), cost from ``collect.pricing``.

Totals are streamed (counters and one float per record for the histograms), so viewing a
100k-record run costs memory proportional to the record count, not the data size.
"""

from __future__ import annotations

import functools
import json
import math
from array import array
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from trajkit.collect.pricing import price_for, trajectory_cost
from trajkit.collect.teachers.provider import get_provider
from trajkit.core.errors import DataError, TrajkitError
from trajkit.core.self_correction import failed_action, success_step_position
from trajkit.dataset.inputs import TRAJECTORIES_FILE, VERSION_DATA_FILE, VERSION_MANIFEST_FILE
from trajkit.dataset.show import teacher_name
from trajkit.dataset.verify import require_intact
from trajkit.filters.base import Drop
from trajkit.filters.presets import default_units
from trajkit.schemas import DatasetManifest, RunManifest, Trajectory

RUN_MANIFEST_FILE = "run.json"
TITLE_CHARS = 80  # list rows stay small: 100k of them load in the browser


@dataclass(frozen=True)
class Target:
    """What ``trajkit view PATH`` names: a run directory or a dataset version, and its files."""

    kind: Literal["run", "version"]
    path: Path
    data: Path
    name: str  # run name, or "NAME/vN"
    run_manifest: RunManifest | None = None
    manifest: DatasetManifest | None = None

    @property
    def prices(self) -> dict[str, tuple[float, ...]]:
        """The run's ``--price`` overrides (a version has none: list prices apply): (in, out),
        with cache read and write prices where the run gave them."""
        if self.run_manifest is None:
            return {}
        raw = self.run_manifest.config.get("prices") or {}
        out: dict[str, tuple[float, ...]] = {}
        for model, entry in raw.items():
            if isinstance(entry, (list, tuple)) and 2 <= len(entry) <= 4:
                out[str(model)] = tuple(float(value) for value in entry)
        return out


def open_target(path: Path) -> Target:
    """Recognise ``path`` as a run directory or a dataset version (``DataError`` otherwise).

    A dataset directory holding versions is refused with the versions named, as ``filter``
    does: a report should say exactly which version it shows.
    """
    path = Path(path)
    if not path.exists():
        raise DataError(f"{path}: no such run directory or dataset version")
    if not path.is_dir():
        raise DataError(f"{path}: not a run directory or dataset version (a directory is expected)")
    if (path / VERSION_MANIFEST_FILE).is_file():
        manifest = _load(path / VERSION_MANIFEST_FILE, DatasetManifest)
        data = path / VERSION_DATA_FILE
        if not data.is_file():
            raise DataError(f"{path}: dataset version has no {VERSION_DATA_FILE}")
        require_intact(path)  # a report must not show altered data as the version
        return Target(
            "version", path, data, f"{manifest.name}/v{manifest.version}", manifest=manifest
        )
    if (path / TRAJECTORIES_FILE).is_file():
        run_json = path / RUN_MANIFEST_FILE
        run = _load(run_json, RunManifest) if run_json.is_file() else None
        return Target(
            "run", path, path / TRAJECTORIES_FILE, run.run if run else path.name, run_manifest=run
        )
    versions = sorted(p.name for p in path.glob("v[0-9]*") if (p / VERSION_MANIFEST_FILE).is_file())
    if versions:
        raise DataError(
            f"{path}: a dataset with versions {', '.join(versions)}; name one, "
            f"e.g. {path / versions[-1]}"
        )
    raise DataError(
        f"{path}: not a run directory ({TRAJECTORIES_FILE}) or dataset version "
        f"({VERSION_MANIFEST_FILE})"
    )


def _load(path: Path, model: Any) -> Any:
    try:
        return model.model_validate_json(path.read_bytes())
    except ValueError as exc:
        raise DataError(f"{path}: invalid {model.__name__}: {str(exc).splitlines()[0]}") from None


@dataclass(frozen=True)
class Row:
    """One record as the list page shows it, plus where its page marks things.

    ``teacher`` is the name a user gives it (``replay:demo.jsonl``, ``openai:gpt-4o-mini``;
    ``dataset.show.teacher_name``), never a path of the machine that collected the record.

    ``success_step`` is the step that succeeded; ``correction_step`` the turn that recovered:
    the one right after the last failed action before ``success_step`` (the success step
    itself when the failure immediately precedes it); both ``None`` when not applicable.
    """

    index: int
    id: str
    task_id: str
    source: str
    teacher: str
    success: bool
    self_corrected: bool
    termination: str
    turns: int
    input_tokens: int
    output_tokens: int
    cost: float | None
    duration_s: float
    score: float
    errors: int
    decision: str
    title: str
    success_step: int | None = None
    correction_step: int | None = None

    @property
    def tokens(self) -> int:
        return self.input_tokens + self.output_tokens


def correction_step(traj: Trajectory) -> tuple[int | None, int | None]:
    """``(success_step, correction_step)`` by the shared self-correction rule (see :class:`Row`)."""
    pos = success_step_position(traj.steps, traj.success)
    if pos is None:
        return None, None
    failed = [i for i, s in enumerate(traj.steps[:pos]) if failed_action(s)]
    return pos, (failed[-1] + 1 if failed else None)


def default_decision(traj: Trajectory) -> str:
    """What ``trajkit filter``'s default chain does with ``traj``: ``kept`` or ``UNIT: reason``."""
    for unit in default_units():
        decision = unit.decide(traj)
        if isinstance(decision, Drop):
            return f"{unit.name}: {decision.reason}"
    return "kept"


def task_text(traj: Trajectory) -> str:
    """The problem itself for the list's prompt column: a source's ``problem``/``question``
    metadata when present (prompts start with the same instructions every time), else the prompt."""
    meta = traj.task.metadata
    for key in ("problem", "question"):
        if isinstance(meta.get(key), str) and meta[key].strip():
            return meta[key]
    return traj.task.prompt


@functools.cache
def free_teacher(provider: str) -> bool:
    """Whether ``provider`` declares its tokens free (a replay: counted, never billed), so a
    recording whose file happens to be called ``gpt-4o-mini.jsonl`` is not priced as that
    model. A provider no longer installed is priced as before."""
    try:
        return get_provider(provider).free
    except TrajkitError:
        return False


def make_row(
    index: int,
    traj: Trajectory,
    *,
    prices: dict[str, tuple[float, ...]] | None = None,
    decision: str | None = None,
) -> Row:
    """The row for ``traj``; ``decision`` defaults to the default chain's (a version passes
    ``kept``)."""
    success_pos, correction = correction_step(traj)
    price = None if free_teacher(traj.teacher.provider) else price_for(
        traj.teacher.model, prices, provider=traj.teacher.provider
    )
    title = " ".join(task_text(traj).split())
    return Row(
        index=index,
        id=traj.id,
        task_id=traj.task_id,
        source=traj.source,
        teacher=teacher_name(traj.teacher.provider, traj.teacher.model),
        success=traj.success,
        self_corrected=correction is not None,
        termination=traj.termination.value,
        turns=len(traj.steps),
        input_tokens=traj.usage.input_tokens,
        output_tokens=traj.usage.output_tokens,
        # what the run recorded it cost (at its own teacher's price, judges included) wins
        cost=traj.cost_usd if traj.cost_usd is not None
        else trajectory_cost(traj, price) if price is not None else None,
        duration_s=traj.timing.duration_s,
        score=traj.score,
        errors=sum(failed_action(s) for s in traj.steps),
        decision=decision if decision is not None else default_decision(traj),
        title=title[:TITLE_CHARS] + ("…" if len(title) > TITLE_CHARS else ""),
        success_step=success_pos,
        correction_step=correction,
    )


@dataclass
class GroupStats:
    """Per-source (or per-teacher) totals behind the rates table."""

    records: int = 0
    successes: int = 0
    self_corrected: int = 0
    turns: int = 0
    tokens: int = 0
    cost: float = 0.0
    priced: int = 0

    def add(self, row: Row) -> None:
        self.records += 1
        self.successes += row.success
        self.self_corrected += row.self_corrected
        self.turns += row.turns
        self.tokens += row.tokens
        if row.cost is not None:
            self.cost += row.cost
            self.priced += 1

    @property
    def success_rate(self) -> float:
        return self.successes / self.records if self.records else 0.0

    @property
    def self_correction_rate(self) -> float:
        """Share of all this group's records that self-correct (as ``trajkit stats`` reports)."""
        return self.self_corrected / self.records if self.records else 0.0

    @property
    def turns_mean(self) -> float:
        return self.turns / self.records if self.records else 0.0


@dataclass
class Overview:
    """Everything the overview page states, accumulated one row at a time."""

    kind: str
    name: str
    path: str
    total: GroupStats = field(default_factory=GroupStats)
    by_source: dict[str, GroupStats] = field(default_factory=dict)
    by_teacher: dict[str, GroupStats] = field(default_factory=dict)
    by_termination: Counter[str] = field(default_factory=Counter)
    by_decision: Counter[str] = field(default_factory=Counter)
    termination_by_source: Counter[tuple[str, str]] = field(default_factory=Counter)
    errors_by_kind: Counter[str] = field(default_factory=Counter)
    error_types: Counter[tuple[str, str, str]] = field(
        default_factory=Counter
    )  # source, teacher, type
    input_tokens: int = 0
    output_tokens: int = 0
    calls: int = 0
    cached_calls: int = 0
    #: Lines skipped because an earlier line had the same trajectory id (the first counts,
    #: as in ``trajkit filter`` and dataset versions).
    duplicates: int = 0
    turns: array = field(default_factory=lambda: array("l"))
    tokens: array = field(default_factory=lambda: array("d"))
    costs: array = field(default_factory=lambda: array("d"))
    torn_tail: bool = False

    @property
    def records(self) -> int:
        return self.total.records

    def add(self, row: Row, traj: Trajectory) -> None:
        """Count one record (``row`` must be ``make_row`` of ``traj``)."""
        self.total.add(row)
        self.by_source.setdefault(row.source, GroupStats()).add(row)
        self.by_teacher.setdefault(row.teacher, GroupStats()).add(row)
        self.by_termination[row.termination] += 1
        self.by_decision[row.decision] += 1
        self.termination_by_source[(row.source, row.termination)] += 1
        for step in traj.steps:
            error = step.observation.error if step.observation else None
            if error is not None:
                self.errors_by_kind[error.kind.value] += 1
                self.error_types[(row.source, row.teacher, error.type)] += 1
        self.input_tokens += traj.usage.input_tokens
        self.output_tokens += traj.usage.output_tokens
        self.calls += traj.usage.calls
        self.cached_calls += traj.usage.cached_calls
        self.turns.append(row.turns)
        self.tokens.append(float(row.tokens))
        if row.cost is not None:
            self.costs.append(row.cost)


@dataclass(frozen=True)
class Bin:
    """One histogram bar: values in ``[lo, hi)`` (``[lo, hi]`` for the last bar)."""

    lo: float
    hi: float
    count: int


def histogram(values: Any, *, integer: bool = False, max_bins: int = 20) -> list[Bin]:
    """Equal-width bins over ``values`` (an iterable of numbers).

    Integer data (turns) gets one bar per value when the range allows, so "3 turns" is a bar
    of its own rather than part of "2.7-3.4"; otherwise widths are rounded to 1, 2 or 5 × 10^k
    so bar edges are numbers a reader can quote.
    """
    data = list(values)
    if not data:
        return []
    lo, hi = min(data), max(data)
    if integer and hi - lo + 1 <= max_bins:
        counts = Counter(int(v) for v in data)
        return [Bin(v, v + 1, counts.get(v, 0)) for v in range(int(lo), int(hi) + 1)]
    if lo == hi:
        return [Bin(lo, hi, len(data))]
    width = _nice_width((hi - lo) / max_bins, integer)
    start = math.floor(lo / width) * width
    n = max(1, math.ceil((hi - start) / width + 1e-9))
    if start + n * width <= hi:
        n += 1
    counts_list = [0] * n
    for v in data:
        counts_list[min(n - 1, int((v - start) // width))] += 1
    return [Bin(start + i * width, start + (i + 1) * width, c) for i, c in enumerate(counts_list)]


def _nice_width(raw: float, integer: bool) -> float:
    exp = math.floor(math.log10(raw))
    for mult in (1, 2, 5, 10):
        width = mult * 10**exp
        if width >= raw:
            break
    return max(1.0, float(math.ceil(width))) if integer else width


def row_json(
    row: Row,
    sources: dict[str, int],
    teachers: dict[str, int],
    terminations: dict[str, int],
    decisions: dict[str, int],
) -> list[Any]:
    """The compact array the list page holds per record (order: :data:`LIST_COLUMNS`).

    Repeated strings become indexes into tables shipped once in ``meta.js``: a 100k-row list
    is then a few MB, cheap to load and filter in the browser.
    """
    return [
        row.index,
        row.id,
        row.task_id,
        _code(sources, row.source),
        _code(teachers, row.teacher),
        int(row.success),
        int(row.self_corrected),
        _code(terminations, row.termination),
        row.turns,
        row.tokens,
        None if row.cost is None else round(row.cost, 6),
        round(row.duration_s, 3),
        row.score if math.isfinite(row.score) else None,
        row.errors,
        _code(decisions, row.decision),
        row.title,
    ]


LIST_COLUMNS = (
    "index",
    "id",
    "task_id",
    "source",
    "teacher",
    "success",
    "self_corrected",
    "termination",
    "turns",
    "tokens",
    "cost",
    "duration_s",
    "score",
    "errors",
    "decision",
    "title",
)


def _code(table: dict[str, int], value: str) -> int:
    code = table.get(value)
    if code is None:
        code = table[value] = len(table)
    return code


def js_literal(value: Any) -> str:
    """JSON for embedding in a ``.js`` file or an inline ``<script>``: ``<``, ``>``, ``&`` and
    the two JS line separators are escaped, so record text can never close a script element."""
    text = json.dumps(value, ensure_ascii=False, separators=(",", ":"), allow_nan=False)
    for ch, esc in (
        ("<", "\\u003c"),
        (">", "\\u003e"),
        ("&", "\\u0026"),
        ("\u2028", "\\u2028"),
        ("\u2029", "\\u2029"),
    ):
        text = text.replace(ch, esc)
    return text
