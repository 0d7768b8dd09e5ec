"""One trajectory as an HTML fragment: the conversation as the teacher saw it, annotated.

The fragment is rendered here in Python (not in the browser) so escaping, highlighting and the
self-correction marker are decided by tested code, and the page template only inserts it. Every
piece of record text goes through ``esc`` or ``highlight_python``; a ``<script>`` a teacher
wrote is displayed as text.

The system prompt is folded, and the in-context demonstration at its end (``--shots 1``) is
folded again inside it, apart from the prompt, so the example episode is never read as this
episode's first turns (and the first screen keeps its room for the task and turn 1).

The conversation is the page. Above it stand only what a reader decides on (``verdict``: the
verdict line, the answer, the source's reference view) and one line of facts; the judge's
details and the rest of the record are folded. Long task statements scroll in their own box,
so the first assistant turn is on the first screen.

Messages are shown in order. The n-th assistant message is step n (the loop appends one per
turn), and the user message right after it is that step's observation or judge feedback, so
each turn carries its step's action, tokens, latency, execution time, error and verdict. A
turn whose action failed says so in its own header; the turn that recovers names the error it
recovers from, so the self-correction reads in one place.
"""

from __future__ import annotations

import json
import re

from trajkit.core.demonstration import split_demonstration
from trajkit.core.self_correction import failed_action
from trajkit.schemas import ActionKind, Step, ToolCall, Trajectory
from trajkit.sources.reading import VerdictReader
from trajkit.view.highlight import highlight_python
from trajkit.view.html import esc
from trajkit.view.model import Row
from trajkit.view.verdict import judge_block, step_verdict

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


def _call_html(call: ToolCall) -> str:
    """A native function call: its name, then its arguments (code of ``execute_python``
    highlighted as Python, anything else as the JSON the teacher sent)."""
    head = f'<div class="tag">call {esc(call.name)} · {esc(call.id)}</div>'
    try:
        arguments = json.loads(call.arguments)
    except ValueError:
        arguments = None
    if isinstance(arguments, dict) and set(arguments) == {"code"} and isinstance(arguments["code"], str):
        return head + f'<pre class="code"><code>{highlight_python(arguments["code"])}</code></pre>'
    shown = json.dumps(arguments, indent=1, ensure_ascii=False) if isinstance(arguments, dict) else call.arguments
    return head + f'<pre class="code"><code>{esc(shown)}</code></pre>'


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
    head = esc(" · ".join(bits))
    error = step.observation.error if step.observation else None
    if error is not None:
        head += (
            f' <b class="mark bad failed-mark">✗ this action failed: {esc(error.kind.value)} · '
            f"{esc(error.type)}</b>"
        )
    return head


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


def _markers(pos: int, row: Row, steps: list[Step]) -> tuple[str, bool]:
    """The notes shown above step ``pos`` and whether it is the self-correction step; the
    self-correction note quotes the error it recovers from and links back to it."""
    notes = []
    is_sc = row.correction_step == pos
    if is_sc:
        failed = [i for i, s in enumerate(steps[:pos]) if failed_action(s)]
        which = ", ".join(str(i + 1) for i in failed)
        last = steps[failed[-1]] if failed else None
        error = last.observation.error if last and last.observation else None
        quote = f" ({esc(error.type)}: {esc(error.message)})" if error else ""
        back = (
            f' <a href="#i={row.index}&amp;turn={failed[-1] + 1}">↑ turn {failed[-1] + 1}</a>'
            if failed
            else ""
        )
        notes.append(
            f'<div class="mark sc">⟲ self-correction: recovers from the failed action '
            f"in turn {esc(which)}{quote}{back}</div>"
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


def _head(traj: Trajectory, row: Row) -> tuple[str, str]:
    """``(title and one line of facts, the full facts folded under the judge's details)``."""
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
    line = [
        esc(traj.source),
        esc(row.teacher),
        f"{row.turns} turn{'s' if row.turns != 1 else ''}",
        f"{row.errors} failed action{'s' if row.errors != 1 else ''}",
        f"{row.tokens:,} tokens · {cost}",
        f"{t.duration_s:.1f}s",
        f"filter: {esc(row.decision)}",
    ]
    if row.correction_step is not None:
        turn = row.correction_step + 1
        line.append(
            f'<a class="sc-link" href="#i={row.index}&amp;turn={turn}">⟲ self-corrects at turn '
            f"{turn}</a>"
        )
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
    title = (
        f'<h1 id="traj-title">{esc(traj.task_id)} {" ".join(badges)}</h1>'
        f'<div class="facts" id="facts">{" · ".join(line)}</div>'
    )
    return title, f'<h3>Record</h3><dl class="meta">{dl}</dl>'


def _system_html(content: str) -> str:
    """The system prompt folded in one row; the in-context demonstration at its end folded
    again inside it, apart from the prompt, so it never reads as this episode's turns."""
    prompt, demonstration = split_demonstration(content)
    label = f"system prompt ({len(prompt):,} chars)"
    inner = f"<pre>{esc(prompt)}</pre>"
    if demonstration:
        label += f" + in-context demonstration ({len(demonstration):,} chars)"
        inner += (
            '<details class="demonstration" id="demonstration"><summary class="role">'
            "in-context demonstration: an example episode of another task, shown to the "
            "teacher at the end of the system prompt (not this episode)</summary>"
            f"<pre>{esc(demonstration.strip())}</pre></details>"
        )
    return f'<details class="msg system"><summary class="role">{esc(label)}</summary>{inner}</details>'


def render_trajectory(traj: Trajectory, row: Row, reader: VerdictReader | None = None) -> str:
    """The body of a trajectory page for ``traj`` (``row`` = ``make_row`` of it); ``reader``
    resolves sources' verdict readings (one per report, so each source is looked up once)."""
    reader = reader or VerdictReader()
    title, facts = _head(traj, row)
    out = [title, judge_block(traj, reader, facts), '<h2>Conversation</h2><div class="conv">']
    turn = 0
    last_step: Step | None = None
    seen_task = False
    for msg in traj.messages:
        if msg.role == "system":
            out.append(_system_html(msg.content))
        elif msg.role == "assistant":
            step = traj.steps[turn] if turn < len(traj.steps) else None
            notes, is_sc = _markers(turn, row, traj.steps)
            failed = step is not None and failed_action(step)
            cls = (" sc-mark" if is_sc else "") + (" failed" if failed else "")
            verdict = step_verdict(traj, step.verdict, reader) if step and step.verdict else ""
            calls = "".join(_call_html(call) for call in msg.tool_calls)
            text = _assistant_html(msg.content) if msg.content.strip() or not calls else ""
            out.append(
                f'<div class="msg assistant{cls}" id="turn-{turn + 1}">'
                f'<div class="role">{_step_header(step, turn + 1)}</div>{notes}'
                f"{text}{calls}{verdict}</div>"
            )
            last_step = step
            turn += 1
        elif not seen_task:
            seen_task = True
            out.append(
                '<div class="msg task" id="task"><div class="role">user · task</div><pre>'
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
