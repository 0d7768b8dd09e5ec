"""The overview page: counts, rates, histograms, where teachers fail, and the manifest.

Static HTML with inline SVG: everything is readable with JavaScript off. Numbers a test or a
script may want to read carry ``data-stat`` (cards) or ``data-key`` (table rows) attributes.
Links into the list page pre-set its filters through the URL hash (``list.html#source=math``).

Paths are shown the way the output layout names them (``runs/NAME``, ``datasets/NAME/vN``),
never as absolute paths of the machine that collected or built them, and teachers by the name
a user gives them (``dataset.show.teacher_name``): a report is something people pass around.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import PurePath, PurePosixPath, PureWindowsPath
from urllib.parse import quote

from trajkit.dataset.show import teacher_name
from trajkit.dataset.yield_table import HEADER, yield_rows
from trajkit.schemas import DatasetManifest, RunManifest
from trajkit.view.charts import fmt_number, histogram_svg, rate_bars_svg
from trajkit.view.html import Markup, esc, link, page, pct, table
from trajkit.view.model import GroupStats, Overview, Target, histogram

NAV = (("overview", "index.html"), ("trajectories", "list.html"))


LAYOUT_DIRS = ("runs", "datasets")


def short_path(path: object) -> str:
    """``path`` from its last ``runs``/``datasets`` folder on (``runs/math-a/trajectories.jsonl``),
    else its file or folder name: what identifies it without the machine's own layout."""
    text = str(path)
    pure: PurePath = PureWindowsPath(text) if "\\" in text else PurePosixPath(text)
    parts = pure.parts
    for i in range(len(parts) - 1, -1, -1):
        if parts[i] in LAYOUT_DIRS and i < len(parts) - 1:
            return "/".join(parts[i:])
    return pure.name or text


def teacher_spec_name(spec: object) -> str:
    """A ``--teacher PROVIDER:MODEL`` value from a run's config, named as in the records."""
    provider, sep, model = str(spec).partition(":")
    return teacher_name(provider, model) if sep else str(spec)


def _card(key: str, label: str, value: str) -> str:
    return (
        f'<div class="card" data-stat="{esc(key)}"><div class="v">{esc(value)}</div>'
        f'<div class="k">{esc(label)}</div></div>'
    )


def _cost(o: Overview) -> str:
    if not o.total.priced:
        return "unpriced"
    note = "" if o.total.priced == o.records else f" ({o.total.priced:,} priced)"
    return f"${o.total.cost:,.{2 if o.total.cost >= 10 else 4}f}{note}"


def _cards(o: Overview) -> str:
    t = o.total
    return (
        '<div class="cards">'
        + "".join(
            [
                _card("records", "records", f"{o.records:,}"),
                _card("success_rate", f"success ({t.successes:,})", pct(t.successes, t.records)),
                _card(
                    "self_correction_rate",
                    f"self-corrected ({t.self_corrected:,})",
                    pct(t.self_corrected, t.records),
                ),
                _card("turns_mean", "mean turns", f"{t.turns_mean:.2f}"),
                _card("tokens", "tokens in / out", f"{o.input_tokens:,} / {o.output_tokens:,}"),
                _card("calls", "teacher calls (cached)", f"{o.calls:,} ({o.cached_calls:,})"),
                _card("cost", "cost", _cost(o)),
            ]
        )
        + "</div>"
    )


def _counts(
    title: str, ident: str, counts: Mapping[str, int], total: int, param: str | None
) -> str:
    rows = []
    for key, n in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0])):
        label = link(f"list.html#{param}={quote(key)}", key).html if param else esc(key)
        rows.append(
            f'<tr data-key="{esc(key)}"><td>{label}</td>'
            f'<td class="num">{n:,}</td><td class="num">{pct(n, total)}</td></tr>'
        )
    body = "".join(rows)
    return (
        f'<section><h2>{esc(title)}</h2><table id="{esc(ident)}"><thead><tr><th></th>'
        f'<th class="num">records</th><th class="num">share</th></tr></thead><tbody>{body}</tbody>'
        "</table></section>"
    )


def _per_kept(g: GroupStats) -> tuple[str, str]:
    """(tokens, cost) per trajectory the default chain keeps (a self-correcting success), every
    episode of the group charged to them; "–" when none is kept (or some were unpriced)."""
    if not g.self_corrected:
        return "–", "–"
    tokens = fmt_number(g.tokens / g.self_corrected)
    cost = f"${g.cost / g.self_corrected:,.4f}" if g.priced == g.records else "–"
    return tokens, cost


def _group_table(groups: Mapping[str, GroupStats], ident: str, param: str, *, kept: bool) -> str:
    """Per-group figures; ``kept``: add tokens and cost per kept trajectory (a run's page: a
    version holds only kept records, its yield table says what they cost)."""
    rows = []
    for key, g in sorted(groups.items()):
        cost = f"${g.cost:,.4f}" if g.priced else "–"
        per_kept = "".join(f'<td class="num">{v}</td>' for v in _per_kept(g)) if kept else ""
        rows.append(
            f'<tr data-key="{esc(key)}"><td><a href="list.html#{param}={esc(quote(key))}">'
            f"{esc(key)}</a></td>"
            f'<td class="num">{g.records:,}</td><td class="num">{g.successes:,}</td>'
            f'<td class="num" data-col="success_rate">{pct(g.successes, g.records)}</td>'
            f'<td class="num">{g.self_corrected:,}</td>'
            '<td class="num" data-col="self_correction_rate">'
            f"{pct(g.self_corrected, g.records)}</td>"
            f'<td class="num">{g.turns_mean:.2f}</td><td class="num">'
            f"{fmt_number(g.tokens / g.records if g.records else 0)}</td>"
            f'<td class="num">{cost}</td>{per_kept}</tr>'
        )
    kept_head = '<th class="num">tokens / kept</th><th class="num">cost / kept</th>' if kept else ""
    return (
        f'<table id="{esc(ident)}"><thead><tr><th></th><th class="num">records</th>'
        '<th class="num">successes</th><th class="num">success rate</th><th class="num">'
        "self-corrected</th>"
        '<th class="num">self-correction rate</th><th class="num">mean turns</th>'
        f'<th class="num">mean tokens</th><th class="num">cost</th>{kept_head}</tr></thead>'
        f"<tbody>{''.join(rows)}</tbody></table>"
    )


def _rates(o: Overview) -> str:
    bars = rate_bars_svg(
        [(k, g.success_rate, g.self_correction_rate) for k, g in sorted(o.by_source.items())],
        title="success and self-correction rate per source",
    )
    kept = o.kind != "version"
    out = ["<h2>Per source</h2>", _group_table(o.by_source, "per-source", "source", kept=kept), bars]
    if len(o.by_teacher) > 1 or o.by_teacher.keys() != o.by_source.keys():
        out += ["<h2>Per teacher</h2>",
                _group_table(o.by_teacher, "per-teacher", "teacher", kept=kept)]
    return "".join(out)


def _yield(m: DatasetManifest) -> str:
    """A version's yield: every episode its parents hold and what it kept of them."""
    if not m.yield_by_source:
        return ""
    out = ['<section id="yield"><h2>Yield</h2><p class="muted">Every episode the parents hold '
           "(all attempts and escalation steps) and what this version kept of them; tokens and "
           "cost per kept record charge it its share of the episodes filtered out.</p>"]
    for title, groups in (("source", m.yield_by_source), ("teacher", m.yield_by_teacher or {})):
        head = "".join(f'<th class="num">{esc(h)}</th>' for h in HEADER)
        body = "".join(
            f"<tr><td>{esc(row[0])}</td>" + "".join(f'<td class="num">{esc(c)}</td>' for c in row[1:])
            + "</tr>"
            for row in yield_rows(groups)
        )
        out.append(f'<table id="yield-{title}"><thead><tr><th>{title}</th>{head}</tr></thead>'
                   f"<tbody>{body}</tbody></table>")
    return "".join(out) + "</section>"


def _histograms(o: Overview) -> str:
    charts = [
        (
            "Turns per episode",
            histogram_svg(
                histogram(o.turns, integer=True),
                title="turns per episode",
                unit="turns",
                integer=True,
            ),
        ),
        (
            "Tokens per episode (in + out)",
            histogram_svg(histogram(o.tokens), title="tokens per episode", unit="tokens"),
        ),
    ]
    if len(o.costs):
        charts.append(
            (
                "Cost per episode",
                histogram_svg(histogram(o.costs), title="cost per episode", unit="USD"),
            )
        )
    else:
        charts.append(
            (
                "Cost per episode",
                '<p class="muted">No teacher model of these records has a '
                "price (list prices, or the run's --price).</p>",
            )
        )
    return (
        '<h2>Distributions</h2><div class="grid">'
        + "".join(f"<section><h3>{esc(t)}</h3>{svg}</section>" for t, svg in charts)
        + "</div>"
    )


def _failures(o: Overview) -> str:
    terms = sorted({t for _, t in o.termination_by_source})
    sources = sorted(o.by_source)
    matrix = table(
        ["source", *terms],
        ([s, *(o.termination_by_source.get((s, t), 0) for t in terms)] for s in sources),
        numeric=range(1, len(terms) + 1),
    )
    kinds = (
        table(
            ["error kind", "failed actions"],
            o.errors_by_kind.most_common(),
            numeric=[1],
        )
        if o.errors_by_kind
        else '<p class="muted">No failed actions.</p>'
    )
    top = sorted(o.error_types.items(), key=lambda kv: (-kv[1], kv[0]))[:20]
    types = (
        table(
            ["source", "teacher", "error type", "failed actions"],
            ([s, te, ty, n] for (s, te, ty), n in top),
            numeric=[3],
        )
        if top
        else ""
    )
    return (
        '<h2>Where teachers fail</h2><div class="grid"><section><h3>Terminations by source</h3>'
        f"{matrix}</section><section><h3>Failed actions by kind</h3>{kinds}</section></div>"
        f"<h3>Most common error types</h3>{types}"
    )


def _filters(m: DatasetManifest) -> str:
    rows = []
    for r in m.filters:
        params = ", ".join(f"{k}={json.dumps(v)}" for k, v in sorted(r.params.items()))
        reasons = "; ".join(
            f"{k}: {n:,}" for k, n in sorted(r.drop_reasons.items(), key=lambda kv: -kv[1])
        )
        rows.append(
            Markup(
                f'<tr data-key="{esc(r.name)}"><td>{esc(r.name)}</td><td>{esc(params)}</td>'
                f'<td class="num">{r.seen:,}</td><td class="num" data-col="kept">{r.kept:,}</td>'
                f'<td class="num" data-col="dropped">{r.dropped:,}</td><td>{esc(reasons)}</td></tr>'
            )
        )
    if not rows:
        return f"<h2>Filters</h2><p>No filter units: all {m.records:,} input records kept.</p>"
    return (
        '<h2>Filters</h2><table id="filters"><thead><tr><th>unit</th><th>params</th>'
        '<th class="num">seen</th><th class="num">kept</th><th class="num">dropped</th><th>drop '
        "reasons</th>"
        f"</tr></thead><tbody>{''.join(r.html for r in rows)}</tbody></table>"
    )


def _parents(m: DatasetManifest) -> str:
    if m.parents:
        rows = [
            [
                p.kind,
                p.name or "",
                f"v{p.version}" if p.version else "",
                short_path(p.path),
                f"{p.records:,}",
                p.sha256[:12] + "…",
            ]
            for p in m.parents
        ]
        parents = table(["kind", "name", "version", "path", "records", "sha256"], rows, numeric=[4])
    else:
        rows = [[short_path(i.path), f"{i.records:,}", i.sha256[:12] + "…"] for i in m.inputs]
        parents = table(["input", "records", "sha256"], rows, numeric=[1])
    facts = [
        ("name", f"{m.name} v{m.version}"),
        ("created", m.created_at),
        ("fingerprint", m.fingerprint),
        ("data sha256", m.data_sha256),
        ("toolkit", m.toolkit_version),
        ("schema", m.schema_version),
    ]
    if m.previous_version:
        facts.append(("previous version", f"v{m.previous_version}"))
    dl = "".join(f"<dt>{esc(k)}</dt><dd>{esc(v)}</dd>" for k, v in facts)
    return f'<h2>Parents</h2>{parents}<h2>Manifest</h2><dl class="meta">{dl}</dl>'


def _run_facts(r: RunManifest) -> str:
    cfg = r.config
    loop = cfg.get("loop") or {}
    facts = [
        ("status", r.status + (f" ({r.status_detail})" if r.status_detail else "")),
        ("source", cfg.get("source", "?")),
        ("teacher", teacher_spec_name(cfg.get("teacher", "?"))),
        ("tasks done", f"{r.counts.done:,} of {r.counts.total_tasks:,}"),
        (
            "budget",
            f"max_turns {loop.get('max_turns', '?')}, "
            f"max_solutions {loop.get('max_solutions', '?')}",
        ),
        ("cost (run.json)", "unpriced" if r.cost_usd is None else f"${r.cost_usd:,.4f}"),
        ("started / updated", f"{r.started_at} / {r.updated_at}"),
        ("toolkit", r.toolkit_version),
    ]
    dl = "".join(f"<dt>{esc(k)}</dt><dd>{esc(v)}</dd>" for k, v in facts)
    return f'<h2>Run</h2><dl class="meta">{dl}</dl>'


def render_overview(target: Target, o: Overview) -> str:
    """The complete ``index.html`` for ``target`` with totals ``o``."""
    what = "Dataset version" if target.kind == "version" else "Run"
    torn = (
        (
            '<p class="muted">The data file ends in a torn line (a live or crashed run); '
            "it was left out.</p>"
        )
        if o.torn_tail
        else ""
    )
    decision_title = (
        "Filter decision (in this version)"
        if target.kind == "version"
        else "Filter decision (default chain: success, self-correct)"
    )
    if o.duplicates:
        torn += (
            f'<p class="note" id="duplicates">{o.duplicates:,} line(s) repeating an earlier '
            "trajectory id were skipped: the first occurrence counts, as in <code>trajkit "
            "filter</code> and <code>trajkit stats</code>.</p>"
        )
    body = [
        f'<h1>{esc(what)} {esc(target.name)}</h1><p class="muted">{esc(short_path(target.path))}'
        f"</p>{torn}",
        _cards(o),
        f'<p><a href="list.html">Browse all {o.records:,} trajectories →</a> · '
        f'<a href="list.html#success=1&amp;self_corrected=1">self-corrected successes</a> · '
        f'<a href="list.html#success=0">failures</a></p>',
        _rates(o),
        '<div class="grid">',
        _counts(
            "By source",
            "by-source",
            {k: g.records for k, g in o.by_source.items()},
            o.records,
            "source",
        ),
        _counts(
            "By teacher",
            "by-teacher",
            {k: g.records for k, g in o.by_teacher.items()},
            o.records,
            "teacher",
        ),
        _counts("By termination", "by-termination", o.by_termination, o.records, "termination"),
        _counts(decision_title, "by-decision", o.by_decision, o.records, "decision"),
        "</div>",
        _histograms(o),
        _failures(o),
    ]
    if target.manifest is not None:
        body += [_yield(target.manifest), _filters(target.manifest), _parents(target.manifest)]
    if target.run_manifest is not None:
        body.append(_run_facts(target.run_manifest))
    return page(f"{what} {target.name} · trajkit", "".join(body), nav=NAV)
