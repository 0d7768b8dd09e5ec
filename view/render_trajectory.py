"""One trajectory as an HTML fragment: the conversation as the teacher saw it, annotated.

The fragment is rendered here in Python (not in the browser) so escaping, highlighting and the
self-correction marker are decided by tested code, and the page template only inserts it. Every
piece of record text goes through ``esc`` or ``highlight_python``; a ``<script>`` a teacher
wrote is displayed as text.

Messages are shown in order. The n-th assistant message is step n (the loop appends one per
turn), and the user message right after it is that step's observation or judge feedback, so
each turn carries its step's action, tokens, latency, execution time, error and verdict.
"""

from __future__ import annotations

import json
import re

from trajkit.schemas import ActionKind, Step, Trajectory
from trajkit.view.highlight import highlight_python
from trajkit.view.html import esc
from trajkit.view.model import Row

_TAG_RE = re.compile(r"<(execute|solution)>(.*?)(?:</\1>|$)", re.DOTALL)
_ERR_LINE = re.compile(
    r"^(?:Traceback \(most recent call last\)|\w*(?:Error|Exception|Interrupt|Exit)\b|-+> ).*$"
)


def _assistant_html(text: str) -> str:
    """Prose as text, ``<execute>`` code highlighted, ``<solution>`` shown as the answer."""
    parts: list[str] = []
    pos = 0
    for m in _TAG_RE.finditer(text):
        prose = text[pos : m.start()].strip()
        if prose:
            parts.append(f'<div class="prose">{esc(prose)}</div>')
        tag, body = m.group(1), m.group(2).strip("\n")
        parts.append(
            f'<div class="tag">&lt;{tag}&gt;</div>'
            f'<pre class="code"><code>{highlight_python(body)}</code></pre>'
        )
        pos = m.end()
    rest = text[pos:].strip()
    if rest:
        parts.append(f'<div class="prose">{esc(rest)}</div>')
    return "".join(parts) or '<div class="muted">(empty)</div>'


def _observation_html(text: str, step: Step | None) -> str:
    """Observation text with error lines (traceback head, ``XError: …``, the error's type)
    marked."""
    error = step.observation.error if step and step.observation else None
    lines = []
    for line in text.split("\n"):
        bad = error is not None and (
            bool(_ERR_LINE.match(line)) or (error.type and error.type in line)
        )
        lines.append(f'<span class="errline">{esc(line)}</span>' if bad else esc(line))
    return "<pre>" + "\n".join(lines) + "</pre>"


def _step_header(step: Step | None, turn: int) -> str:
    if step is None:
        return f"assistant · turn {turn}"
    u = step.usage
    bits = [
        f"assistant · turn {turn}",
        step.action.kind.value,
        f"{u.input_tokens:,} in / {u.output_tokens:,} out tokens",
    ]
    if u.cached_calls:
        bits.append("from cache")
    bits.append(f"teacher {step.teacher_latency_s:.2f}s")
    return esc(" · ".join(bits))


def _obs_header(step: Step | None) -> tuple[str, str]:
    """``(css classes, header text)`` for the user message answering ``step``."""
    if step is None:
        return "obs", "user"
    obs = step.observation
    if obs is not None and obs.error is not None:
        e = obs.error
        head = f"observation · error: {e.kind.value} · {e.type}: {e.message}"
        return "obs err", f"{head} · ran {obs.duration_s:.2f}s"
    if step.verdict is not None and not step.verdict.success:
        return "feedback", "judge feedback · answer rejected"
    if step.action.kind == ActionKind.INVALID:
        return "feedback", "feedback · invalid action (no <execute> or <solution>)"
    if obs is not None:
        cut = f" · {obs.truncated_chars:,} chars cut" if obs.truncated_chars else ""
        return "obs", f"observation · ran {obs.duration_s:.2f}s{cut}"
    return "obs", "user"


def _verdict_html(step: Step) -> str:
    v = step.verdict
    if v is None:
        return ""
    cls, word = ("ok", "accepted") if v.success else ("bad", "rejected")
    details = (
        f"<pre>{esc(json.dumps(v.details, indent=1, sort_keys=True, ensure_ascii=False))}</pre>"
        if v.details
        else ""
    )
    return (
        f'<div class="verdict-box {cls}"><b class="mark {cls}">judge: {word}</b> '
        f"· score {v.score:g}{details}</div>"
    )


def _markers(pos: int, row: Row, steps: list[Step]) -> tuple[str, bool]:
    """The notes shown above step ``pos`` and whether it is the self-correction step."""
    notes = []
    is_sc = row.correction_step == pos
    if is_sc:
        failed = [i + 1 for i, s in enumerate(steps[:pos]) if s.observation and s.observation.error]
        which = ", ".join(str(i) for i in failed)
        notes.append(
            f'<div class="mark sc">⟲ self-correction: recovers from the failed action '
            f"in turn {esc(which)}</div>"
        )
    if row.success_step == pos:
        notes.append('<div class="mark ok">✓ the step that succeeded</div>')
    return "".join(notes), is_sc


def _usage_table(traj: Trajectory, index: int) -> str:
    rows = []
    for i, s in enumerate(traj.steps):
        obs = s.observation
        err = f"{obs.error.kind.value}: {obs.error.type}" if obs and obs.error else ""
        rows.append(
            f'<tr><td><a href="#i={index}&amp;turn={i + 1}">{i + 1}</a></td><td>'
            f"{esc(s.action.kind.value)}</td>"
            f'<td class="num">{s.usage.input_tokens:,}</td><td class="num">'
            f"{s.usage.output_tokens:,}</td>"
            f'<td class="num">{s.usage.calls}</td><td class="num">{s.usage.cached_calls}</td>'
            f'<td class="num">{s.teacher_latency_s:.2f}s</td>'
            f'<td class="num">{f"{obs.duration_s:.3f}s" if obs else "–"}</td><td>{esc(err)}</td>'
            "</tr>"
        )
    return (
        '<table><thead><tr><th>turn</th><th>action</th><th class="num">input tokens</th>'
        '<th class="num">output tokens</th><th class="num">calls</th><th class="num">cached</th>'
        '<th class="num">teacher</th><th class="num">execution</th><th>error</th></tr></thead>'
        f"<tbody>{''.join(rows)}</tbody></table>"
    )


def _head(traj: Trajectory, row: Row) -> str:
    badges = [
        '<span class="badge ok">success</span>'
        if traj.success
        else '<span class="badge bad">failure</span>'
    ]
    if row.self_corrected:
        badges.append('<span class="badge sc">self-corrected</span>')
    badges.append(f'<span class="badge neutral">{esc(traj.termination.value)}</span>')
    u, t = traj.usage, traj.timing
    cost = "unpriced" if row.cost is None else f"${row.cost:.4f}"
    meta = [
        ("id", traj.id),
        ("run", traj.run),
        ("source", traj.source),
        ("task", traj.task_id),
        ("teacher", row.teacher),
        ("sandbox", traj.sandbox),
        (
            "termination",
            traj.termination.value
            + (f" ({traj.termination_detail})" if traj.termination_detail else ""),
        ),
        (
            "tokens",
            f"{u.input_tokens:,} in / {u.output_tokens:,} out · {u.calls} "
            f"call(s), {u.cached_calls} cached · {cost}",
        ),
        (
            "time",
            f"{t.duration_s:.2f}s total · teacher {t.teacher_s:.2f}s · sandbox {t.sandbox_s:.2f}s "
            f"· started {t.started_at}",
        ),
        ("filter", row.decision),
    ]
    dl = "".join(f"<dt>{esc(k)}</dt><dd>{esc(v)}</dd>" for k, v in meta)
    return (
        f'<h1 id="traj-title">{esc(traj.task_id)} {" ".join(badges)}</h1><dl class="meta">{dl}</dl>'
    )


def _result(traj: Trajectory) -> str:
    cls = "ok" if traj.success else "bad"
    answer = esc(traj.answer) if traj.answer is not None else '<span class="muted">(none)</span>'
    details = json.dumps(traj.score_details, indent=1, sort_keys=True, ensure_ascii=False)
    return (
        f'<h2>Judge verdict</h2><div class="verdict-box {cls}" id="verdict">'
        f'<b class="mark {cls}">{"success" if traj.success else "failure"}</b> · '
        f"score {traj.score:g}"
        f'<dl class="meta"><dt>answer</dt><dd><pre>{answer}</pre></dd>'
        f"<dt>reference</dt><dd><pre>{esc(_short(traj.task.reference))}</pre></dd>"
        f"<dt>details</dt><dd><pre>{esc(details)}</pre></dd></dl></div>"
    )


def _short(value: object, limit: int = 2000) -> str:
    text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False, default=str)
    return text if len(text) <= limit else text[:limit] + f"… ({len(text) - limit:,} more chars)"


def render_trajectory(traj: Trajectory, row: Row) -> str:
    """The body of a trajectory page for ``traj`` (``row`` = ``make_row`` of it)."""
    out = [_head(traj, row), _result(traj), '<h2>Conversation</h2><div class="conv">']
    turn = 0
    last_step: Step | None = None
    seen_task = False
    for msg in traj.messages:
        if msg.role == "system":
            out.append(
                f'<details class="msg system"><summary class="role">system prompt '
                f"({len(msg.content):,} chars)</summary><pre>{esc(msg.content)}</pre></details>"
            )
        elif msg.role == "assistant":
            step = traj.steps[turn] if turn < len(traj.steps) else None
            notes, is_sc = _markers(turn, row, traj.steps)
            sc = " sc-mark" if is_sc else ""
            out.append(
                f'<div class="msg assistant{sc}" id="turn-{turn + 1}">'
                f'<div class="role">{_step_header(step, turn + 1)}</div>{notes}'
                f"{_assistant_html(msg.content)}{_verdict_html(step) if step else ''}</div>"
            )
            last_step = step
            turn += 1
        elif not seen_task:
            seen_task = True
            out.append(
                '<div class="msg task"><div class="role">user · task</div><pre>'
                f"{esc(msg.content)}</pre></div>"
            )
        else:
            cls, head = _obs_header(last_step)
            out.append(
                f'<div class="msg {cls}"><div class="role">{esc(head)}</div>'
                f"{_observation_html(msg.content, last_step)}</div>"
            )
    out.append("</div><h2>Turns: tokens and timing</h2>")
    out.append(_usage_table(traj, row.index))
    return "".join(out)
