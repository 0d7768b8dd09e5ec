"""``trajkit view A B``: two runs or versions on the same tasks, and which tasks flipped.

Tasks are matched by ``(source, task_id)``; a side holding several records of one task (a
version merged from repeated runs) counts its first one, and says how many it ignored. The
report is a folder with each side's full report under ``a/`` and ``b/`` and an ``index.html``
comparing them, whose flip lists link straight to both records.
"""

from __future__ import annotations

import os
import shutil
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from trajkit.core.errors import ConfigError
from trajkit.view.html import esc, page, pct, table
from trajkit.view.model import Overview, Target, open_target
from trajkit.view.site import MARKER, SiteResult, build_site, default_out

Outcomes = dict[tuple[str, str], tuple[bool, int]]
FLIP_LIMIT = 1000


@dataclass(frozen=True)
class Flip:
    """A shared task whose outcome differs: ``a_index``/``b_index`` locate its records."""

    source: str
    task_id: str
    a_index: int
    b_index: int


@dataclass
class Comparison:
    """Outcome counts over the shared tasks, overall and per source, and the flipped tasks."""

    shared: int = 0
    both_success: int = 0
    both_failure: int = 0
    to_success: list[Flip] = field(default_factory=list)  # failed in A, succeeded in B
    to_failure: list[Flip] = field(default_factory=list)  # succeeded in A, failed in B
    only_a: int = 0
    only_b: int = 0
    by_source: dict[str, Counter[str]] = field(default_factory=dict)


def compare_outcomes(a: Outcomes, b: Outcomes) -> Comparison:
    """Match ``(source, task_id) → (success, index)`` maps; flips are in ``A``'s record order."""
    result = Comparison(only_a=len(a.keys() - b.keys()), only_b=len(b.keys() - a.keys()))
    for key, (a_ok, a_index) in sorted(a.items(), key=lambda kv: kv[1][1]):
        if key not in b:
            continue
        b_ok, b_index = b[key]
        result.shared += 1
        counts = result.by_source.setdefault(key[0], Counter())
        counts["shared"] += 1
        if a_ok and b_ok:
            result.both_success += 1
            counts["both_success"] += 1
        elif not a_ok and not b_ok:
            result.both_failure += 1
            counts["both_failure"] += 1
        elif b_ok:
            result.to_success.append(Flip(key[0], key[1], a_index, b_index))
            counts["to_success"] += 1
        else:
            result.to_failure.append(Flip(key[0], key[1], a_index, b_index))
            counts["to_failure"] += 1
    return result


def _side_row(label: str, site: SiteResult) -> list[object]:
    o: Overview = site.overview
    t = o.total
    return [
        label,
        site.target.name,
        f"{o.records:,}",
        pct(t.successes, t.records),
        pct(t.self_corrected, t.records),
        f"{t.turns_mean:.2f}",
        f"{(o.input_tokens + o.output_tokens) / o.records:,.0f}" if o.records else "–",
        f"${t.cost:,.2f}" if t.priced else "unpriced",
    ]


def _flip_table(flips: list[Flip], ident: str) -> str:
    if not flips:
        return '<p class="muted">None.</p>'
    rows = "".join(
        f'<tr data-key="{esc(f.source)}/{esc(f.task_id)}"><td>{esc(f.source)}</td><td>'
        f"{esc(f.task_id)}</td>"
        f'<td><a href="a/traj.html#i={f.a_index}">A #{f.a_index}</a></td>'
        f'<td><a href="b/traj.html#i={f.b_index}">B #{f.b_index}</a></td></tr>'
        for f in flips[:FLIP_LIMIT]
    )
    more = (
        (
            f'<p class="muted">… and {len(flips) - FLIP_LIMIT:,} more (first {FLIP_LIMIT:,} shown, '
            "in A's record order).</p>"
        )
        if len(flips) > FLIP_LIMIT
        else ""
    )
    return (
        f'<table id="{ident}"><thead><tr><th>source</th><th>task</th><th>in A</th><th>in B</th>'
        "</tr>"
        f"</thead><tbody>{rows}</tbody></table>{more}"
    )


def _no_shared(c: Comparison) -> str:
    if c.shared:
        return ""
    return ('<p class="muted">No task is in both: were these runs of the same source and '
            "task selection?</p>")


def render_compare(a: SiteResult, b: SiteResult, c: Comparison) -> str:
    """The comparison ``index.html``."""
    sides = table(
        ["", "name", "records", "success", "self-corrected", "mean turns", "mean tokens", "cost"],
        [_side_row("A", a), _side_row("B", b)],
        numeric=[2, 3, 4, 5, 6],
    )
    summary = table(
        [
            "shared tasks",
            "both succeeded",
            "both failed",
            "failure → success",
            "success → failure",
            "only in A",
            "only in B",
        ],
        [
            [
                c.shared,
                c.both_success,
                c.both_failure,
                len(c.to_success),
                len(c.to_failure),
                c.only_a,
                c.only_b,
            ]
        ],
        numeric=range(7),
        cls="flips",
    )
    per_source = table(
        [
            "source",
            "shared",
            "both succeeded",
            "both failed",
            "failure → success",
            "success → failure",
        ],
        (
            [s, n["shared"], n["both_success"], n["both_failure"], n["to_success"], n["to_failure"]]
            for s, n in sorted(c.by_source.items())
        ),
        numeric=range(1, 6),
    )
    body = (
        f"<h1>Compare {esc(a.target.name)} (A) → {esc(b.target.name)} (B)</h1>"
        f'<p>Full reports: <a href="a/index.html">A: {esc(a.target.name)}</a> · '
        f'<a href="b/index.html">B: {esc(b.target.name)}</a>. Tasks are matched by source and task '
        "id.</p>"
        f"{sides}<h2>Outcomes on shared tasks</h2>{summary}{_no_shared(c)}"
        f"<h2>Per source</h2>{per_source}"
        '<h2 class="flip-up">Flipped to success (failed in A, succeeded in '
        f"B): {len(c.to_success):,}</h2>"
        f"{_flip_table(c.to_success, 'to-success')}"
        '<h2 class="flip-down">Flipped to failure (succeeded in A, failed in '
        f"B): {len(c.to_failure):,}</h2>"
        f"{_flip_table(c.to_failure, 'to-failure')}"
    )
    nav = (("comparison", "index.html"), ("A", "a/index.html"), ("B", "b/index.html"))
    return page(f"Compare {a.target.name} → {b.target.name} · trajkit", body, nav=nav)


def default_compare_out(a: Target, b: Target) -> Path:
    """``ROOT/reports/A-vs-B`` beside A's default report."""
    base = default_out(a)
    return base.parent / f"{base.name}-vs-{default_out(b).name}"


def build_compare(a_path: Path, b_path: Path, out: Path | None = None) -> tuple[Path, Comparison]:
    """Write both reports and the comparison page; returns ``(index.html, comparison)``."""
    a_target, b_target = open_target(a_path), open_target(b_path)
    out = Path(out) if out is not None else default_compare_out(a_target, b_target)
    if out.exists() and any(out.iterdir()) and not (out / MARKER).is_file():
        raise ConfigError(
            f"--out {out}: exists and is not a trajkit report; choose another directory"
        )
    tmp = out.parent / f".{out.name}.cmp-{os.getpid()}"
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    try:
        a = build_site(a_target.path, tmp / "a")
        b = build_site(b_target.path, tmp / "b")
        comparison = compare_outcomes(a.outcomes, b.outcomes)
        (tmp / "index.html").write_text(render_compare(a, b, comparison), encoding="utf-8")
        (tmp / MARKER).write_text("written by `trajkit view A B`; safe to delete or overwrite\n")
        if out.exists():
            shutil.rmtree(out)
        tmp.rename(out)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return out / "index.html", comparison
