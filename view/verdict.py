"""The judge's part of a trajectory page: the verdict line, the answer, and a readable reference.

The page leads with what a reader decides on: one line (✓/✗, the source's own summary, the
score), the answer, and what it was held against as the source chose to show it
(``sources.base.VerdictReader``: APPS's first tests as input/expected/got, WebShop's goal
against the purchase). The judge's full details are folded below them, never in the way of
the conversation. Sources hand back plain text; it is escaped here, like all record text.
"""

from __future__ import annotations

import json

from trajkit.schemas import Trajectory, Verdict
from trajkit.sources.reading import ReferenceView, VerdictReader
from trajkit.view.html import esc


def episode_verdict(traj: Trajectory) -> Verdict:
    """The episode's final verdict as a ``Verdict`` (built without re-validating it)."""
    return Verdict.model_construct(
        success=traj.success, score=traj.score, details=traj.score_details
    )


def verdict_line(traj: Trajectory, summary: str) -> str:
    """``✓ success · 6/6 tests passed · score 1`` (``#verdict``); a failure that did not end
    on the judge's word also says how it ended (``ended: max_turns``)."""
    cls, mark = ("ok", "✓ success") if traj.success else ("bad", "✗ failure")
    parts = [f'<b class="mark {cls}">{mark}</b>']
    if summary:
        parts.append(f'<span class="summary">{esc(summary)}</span>')
    parts.append(f'<span class="score">score {traj.score:g}</span>')
    if not traj.success and traj.termination.value != "solved":
        detail = f" ({traj.termination_detail})" if traj.termination_detail else ""
        parts.append(f'<span class="muted">ended: {esc(traj.termination.value + detail)}</span>')
    return f'<div class="verdict-line {cls}" id="verdict">{" · ".join(parts)}</div>'


def reference_html(view: ReferenceView) -> tuple[str, str]:
    """``(dl rows, tables)`` for a source's reference view."""
    rows = "".join(
        f'<dt>{esc(label)}</dt><dd><span class="val">{esc(text)}</span></dd>'
        for label, text in view.fields
    )
    tables = []
    for t in view.tables:
        head = "".join(f"<th>{esc(c)}</th>" for c in t.columns)
        body = "".join(
            "<tr>" + "".join(f"<td><pre>{esc(cell)}</pre></td>" for cell in row) + "</tr>"
            for row in t.rows
        )
        caption = f"<caption>{esc(t.caption)}</caption>" if t.caption else ""
        tables.append(
            f'<table class="ref">{caption}<thead><tr>{head}</tr></thead>'
            f"<tbody>{body}</tbody></table>"
        )
    return rows, "".join(tables)


def details_json(details: dict[str, object]) -> str:
    """The judge's details, indented, as folded text (sorted keys: the same record always
    reads the same)."""
    return json.dumps(details, indent=1, sort_keys=True, ensure_ascii=False, default=str)


def judge_block(traj: Trajectory, reader: VerdictReader, more: str) -> str:
    """The verdict line, the answer and the reference, then ``more`` (the record's facts)
    folded together with the judge's details."""
    verdict = episode_verdict(traj)
    line = verdict_line(traj, reader.summary(traj.source, traj.task, verdict))
    fields, tables = reference_html(reader.reference(traj.source, traj.task, verdict))
    answer = (
        f'<section class="answer-col"><div class="label">answer</div>'
        f'<pre class="answer">{esc(traj.answer)}</pre></section>'
        if traj.answer is not None
        else ""
    )
    if traj.answer is None:  # an environment's episode: its reference says what was done
        fields = '<dt>answer</dt><dd class="muted">(no &lt;solution&gt; proposed)</dd>' + fields
    details = (
        f'<pre class="details">{esc(details_json(traj.score_details))}</pre>'
        if traj.score_details
        else '<p class="muted">The judge gave no details.</p>'
    )
    reference = (
        f'<dl class="meta">{fields}</dl>{tables}'
        if fields or tables
        else '<span class="muted">(none recorded)</span>'
    )
    return (
        f'{line}<div class="judge" id="judge">{answer}'
        f'<section class="ref-col" id="reference"><div class="label">judged against</div>'
        f"{reference}</section></div>"
        '<details class="more" id="more"><summary>judge details and record facts</summary>'
        f"{details}{more}</details>"
    )


def step_verdict(traj: Trajectory, verdict: Verdict, reader: VerdictReader) -> str:
    """The judge's word on one proposed answer, in the conversation where it was given."""
    cls, word = ("ok", "accepted") if verdict.success else ("bad", "rejected")
    summary = reader.summary(traj.source, traj.task, verdict)
    said = f" · {esc(summary)}" if summary else ""
    details = (
        f"<details><summary>details</summary><pre>{esc(details_json(verdict.details))}</pre>"
        "</details>"
        if verdict.details
        else ""
    )
    return (
        f'<div class="verdict-box {cls}"><b class="mark {cls}">judge: {word}</b>{said} '
        f"· score {verdict.score:g}{details}</div>"
    )
