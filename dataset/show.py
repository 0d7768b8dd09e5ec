"""``trajkit show``: find one trajectory by id or task id and render it for a human.

Finding streams the files line by line and only parses lines that contain the wanted string,
so looking up one episode in a multi-gigabyte run costs a read, not a load. Where to look
(``--in``): a JSONL file, a run directory, a dataset version, a dataset directory (its latest
version), or an output root (every run, then every dataset's latest version; the first file
with a match wins, so a run's original is preferred over the dataset's copy).

Rendering (rich) follows the report's trajectory page: one compact header (the verdict line,
then who and how it ended), the conversation (the teacher's reasoning as text, code
highlighted, each failed action marked and its observation in red, the judge's verdict on
each proposed answer), and at the end what the judge held the answer against (the source's
own reference view, ``sources.base.VerdictReader``) with the details compact.

Record text is data from a teacher, a sandbox or a dataset, and goes to a terminal: every
string is passed through :func:`terminal_text` first, so an observation holding a "clear
screen" or "set window title" sequence is shown as ``\\x1b[2J``, never obeyed, and lone
surrogates (which a terminal cannot even be sent) are replaced on reading.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydantic import ValidationError
from rich.console import Console, Group, RenderableType
from rich.panel import Panel
from rich.rule import Rule
from rich.syntax import Syntax
from rich.table import Table
from rich.text import Text

from trajkit.core.demonstration import split_demonstration
from trajkit.core.errors import DataError
from trajkit.core.jsonl import first_problem, parse_json
from trajkit.core.self_correction import failed_action, success_step_position
from trajkit.dataset.inputs import TRAJECTORIES_FILE, VERSION_DATA_FILE, is_version_dir
from trajkit.dataset.naming import teacher_name
from trajkit.schemas import ActionKind, Step, ToolCall, Trajectory, Verdict
from trajkit.schemas.text import valid_tree
from trajkit.sources.reading import ReferenceView, VerdictReader

MAX_OTHERS = 5
DETAILS_CHARS = 500
_TAG_RE = re.compile(r"<(execute|solution)>(.*?)(?:</\1>|$)", re.DOTALL)

# --- Names and text a reader can be shown -------------------------------------------------

#: C0 controls but newline and tab, DEL, C1 controls (``\x9b`` is a one-byte CSI), and the
#: bidirectional overrides that make text display in another order than it reads.
_CONTROL = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")


def _escape_control(m: re.Match[str]) -> str:
    code = ord(m.group())
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def terminal_text(text: str) -> str:
    """``text`` with every control character written out (``\\x1b``) instead of sent: a
    terminal then shows what the data holds rather than obeying it."""
    return _CONTROL.sub(_escape_control, text)


def _terminal_tree(value: Any) -> Any:
    if isinstance(value, str):
        return terminal_text(value)
    if isinstance(value, dict):
        return {_terminal_tree(k): _terminal_tree(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_terminal_tree(v) for v in value]
    return value


def record_json(traj: Trajectory) -> str:
    """The record as indented JSON that is safe to print: JSON escapes C0 controls itself;
    C1 controls and bidi overrides, which it leaves raw under ``ensure_ascii=False``, are
    written as ``\\u`` escapes too (still the same JSON value)."""
    text = json.dumps(traj.model_dump(mode="json"), indent=2, ensure_ascii=False)
    return _CONTROL.sub(lambda m: f"\\u{ord(m.group()):04x}", text)


# --- Finding --------------------------------------------------------------------------------


@dataclass
class Found:
    """The first match, where it was, and ids of further matches in the same file."""

    trajectory: Trajectory
    path: Path
    lineno: int
    others: list[str] = field(default_factory=list)


def _latest_data(dataset_dir: Path) -> Path | None:
    versions = [
        p for p in dataset_dir.glob("v[0-9]*") if is_version_dir(p) and p.name[1:].isdigit()
    ]
    if not versions:
        return None
    return max(versions, key=lambda p: int(p.name[1:])) / VERSION_DATA_FILE


def search_files(where: Path) -> list[Path]:
    """The JSONL files ``--in PATH`` stands for, in search order; ``DataError`` if none."""
    where = Path(where)
    if where.is_file():
        return [where]
    if not where.is_dir():
        raise DataError(f"--in {where}: no such file or directory")
    if is_version_dir(where):
        return [where / VERSION_DATA_FILE]
    if (where / TRAJECTORIES_FILE).is_file():
        return [where / TRAJECTORIES_FILE]
    latest = _latest_data(where)
    if latest is not None:
        return [latest]
    files = sorted((where / "runs").glob(f"*/{TRAJECTORIES_FILE}"))
    for dataset in sorted((where / "datasets").glob("*")):
        data = _latest_data(dataset)
        if data is not None:
            files.append(data)
    if not files:
        raise DataError(f"--in {where}: not a run, dataset version, JSONL file or output root")
    return files


def _scan(path: Path, ident: str) -> Iterator[tuple[int, dict]]:
    # The id as it may be written: raw, JSON-escaped with or without ASCII-only output.
    needles = {
        ident.encode(),
        json.dumps(ident)[1:-1].encode(),
        json.dumps(ident, ensure_ascii=False)[1:-1].encode("utf-8", "surrogatepass"),
    }
    with open(path, "rb") as fh:
        for lineno, raw in enumerate(fh, start=1):
            if not any(n in raw for n in needles):
                continue
            try:
                obj = parse_json(raw)
            except ValueError:
                if raw.endswith(b"\n"):
                    raise DataError(f"{path}:{lineno}: not valid JSON") from None
                continue  # a torn last line of a live or crashed run
            if isinstance(obj, dict) and ident in (obj.get("id"), obj.get("task_id")):
                yield lineno, obj


def find_trajectory(ident: str, where: Path) -> Found:
    """The trajectory whose ``id`` or ``task_id`` is ``ident`` (``DataError`` if none), or,
    written ``RUN:TASK_ID``, the task's trajectory in that run of the output root ``where``.

    Lone surrogates (``"\\ud800"`` in the JSON) are replaced with U+FFFD as the record is
    read: nothing could print or encode them. ``others`` are ids fit for a terminal.
    """
    files = search_files(where)
    found = _find_in(ident, files)
    if found is None:
        in_run = _run_file(ident, Path(where))
        if in_run is not None:
            found = _find_in(ident.split(":", 1)[1], [in_run])
    if found is not None:
        return found
    raise DataError(
        f"{ident}: no trajectory with this id or task id in {where} ({len(files)} file(s) searched)"
    )


def _run_file(ident: str, where: Path) -> Path | None:
    """``OUT/runs/RUN/trajectories.jsonl`` for ``RUN:TASK_ID`` when that run exists under the
    output root ``where`` (a run name never holds a path separator)."""
    run, sep, task_id = ident.partition(":")
    if not sep or not run or not task_id or "/" in run or run in (".", ".."):
        return None
    path = where / "runs" / run / TRAJECTORIES_FILE
    return path if path.is_file() else None


def _find_in(ident: str, files: list[Path]) -> Found | None:
    """The first file's first record matching ``ident``, with the others in that file."""
    for path in files:
        found: Found | None = None
        for lineno, obj in _scan(path, ident):
            if found is None:
                try:
                    found = Found(Trajectory.model_validate(valid_tree(obj)), path, lineno)
                except ValidationError as exc:
                    raise DataError(f"{path}:{lineno}: invalid Trajectory: {first_problem(exc)}") from None
                except ValueError as exc:
                    raise DataError(
                        f"{path}:{lineno}: invalid Trajectory ({str(exc).splitlines()[0]})"
                    ) from None
            elif len(found.others) < MAX_OTHERS:
                found.others.append(terminal_text(str(valid_tree(obj.get("id")))))
        if found is not None:
            return found
    return None


# --- Rendering ------------------------------------------------------------------------------


def verdict_line(traj: Trajectory, summary: str) -> Text:
    """``✓ success · 6/6 tests passed · score 1``, as on the report's trajectory page."""
    mark, style = ("✓ success", "bold green") if traj.success else ("✗ failure", "bold red")
    line = Text(mark, style=style)
    for part in ([summary] if summary else []) + [f"score {traj.score:g}"]:
        line.append(" · ")
        line.append(part)
    if not traj.success and traj.termination.value != "solved":
        line.append(f" · ended: {traj.termination.value}", style="dim")
    return line


def _assistant(step: Step) -> RenderableType:
    """The teacher's turn: prose as text, the tagged code/answer highlighted."""
    text = step.assistant
    parts: list[RenderableType] = []
    pos = 0
    for m in _TAG_RE.finditer(text):
        prose = text[pos : m.start()].strip()
        if prose:
            parts.append(Text(prose))
        body = m.group(2).strip("\n")
        if m.group(1) == "execute":
            parts.append(Syntax(body, "python", theme="monokai", line_numbers=True, word_wrap=True))
        elif "\n" in body:
            parts.append(Syntax(body, "python", theme="monokai", word_wrap=True))
        else:
            parts.append(Text.assemble(("answer: ", "bold"), (body, "bold cyan")))
        pos = m.end()
    rest = text[pos:].strip()
    if rest:
        parts.append(Text(rest))
    parts += [_call(call) for call in step.calls]
    return Group(*parts) if parts else Text("(empty)", style="dim")


def _call(call: ToolCall) -> RenderableType:
    """A function call of the turn: ``execute_python``'s code as Python, others as sent."""
    try:
        arguments = json.loads(call.arguments)
    except ValueError:
        arguments = None
    head = Text.assemble(("call ", "bold"), (call.name, "bold cyan"))
    if isinstance(arguments, dict) and set(arguments) == {"code"} and isinstance(arguments["code"], str):
        return Group(head, Syntax(arguments["code"], "python", theme="monokai", line_numbers=True,
                                  word_wrap=True))
    return Group(head, Text(call.arguments))


def _step(
    traj: Trajectory, step: Step, reader: VerdictReader, notes: list[Text]
) -> list[RenderableType]:
    kind = step.action.kind
    tokens = f"{step.usage.input_tokens} in / {step.usage.output_tokens} out"
    failed = failed_action(step)
    style = "red" if failed else "blue"
    mark = " · ✗ failed" if failed else ""
    out: list[RenderableType] = [
        Rule(
            Text(f"turn {step.index + 1} · {kind.value} · {tokens}{mark}", style=f"bold {style}"),
            align="left",
            style=style,
        ),
        *notes,
        _assistant(step),
    ]
    obs = step.observation
    if obs is not None:
        title, border = "observation", "green"
        if obs.error is not None:
            title, border = f"observation · {obs.error.kind.value}: {obs.error.type}", "red"
        elif step.verdict is not None and not step.verdict.success:
            title, border = "judge feedback", "yellow"
        subtitle = f"{obs.duration_s:.2f}s" + (
            f", {obs.truncated_chars} chars cut" if obs.truncated_chars else ""
        )
        out.append(
            Panel(
                Text(obs.text.rstrip("\n") or "(no output)"),
                title=Text(title),
                title_align="left",
                subtitle=subtitle,
                subtitle_align="right",
                border_style=border,
            )
        )
    if step.verdict is not None:
        v = step.verdict
        line = Text.assemble(
            ("judge: ", "bold"),
            ("accepted", "bold green") if v.success else ("rejected", "bold red"),
        )
        summary = terminal_text(reader.summary(traj.source, traj.task, v))
        line.append(f" · {summary}" if summary else "")
        line.append(f" · score {v.score:g}")
        out.append(line)
    if kind == ActionKind.INVALID:
        out.append(Text(f"{step.action.content}: an invalid action", style="yellow"))
    return out


def _turn_notes(traj: Trajectory) -> dict[int, list[Text]]:
    """Where the self-correcting turn is, said at that turn with the error it recovers from."""
    pos = success_step_position(traj.steps, traj.success)
    notes: dict[int, list[Text]] = {}
    if pos is None:
        return notes
    failed = [i for i, s in enumerate(traj.steps[:pos]) if failed_action(s)]
    if failed:
        last = traj.steps[failed[-1]]
        error = last.observation.error if last.observation else None
        what = f" ({error.type}: {error.message})" if error else ""
        notes[failed[-1] + 1] = [
            Text(
                f"⟲ self-correction: recovers from the failed action in turn "
                f"{failed[-1] + 1}{what}",
                style="bold magenta",
            )
        ]
    notes.setdefault(pos, []).append(Text("✓ the step that succeeded", style="bold green"))
    return notes


def _reference(view: ReferenceView) -> list[RenderableType]:
    parts: list[RenderableType] = []
    for table in view.tables:
        grid = Table(
            *map(terminal_text, table.columns),
            caption=terminal_text(table.caption) or None,
            caption_justify="left",
            show_lines=True,
            title_justify="left",
        )
        for row in table.rows:
            grid.add_row(*(Text(terminal_text(cell)) for cell in row))
        parts.append(grid)
    return parts


def render_trajectory(traj: Trajectory, console: Console, *, system: bool = False) -> None:
    """Print ``traj`` in the report's order: verdict line and header, conversation, then the
    answer, the reference and the details. The system prompt is shown only with ``system``
    (it is the same every time)."""
    traj = Trajectory.model_validate(_terminal_tree(traj.model_dump(mode="json")))
    reader = VerdictReader()
    episode = Verdict.model_construct(
        success=traj.success, score=traj.score, details=traj.score_details
    )
    line = verdict_line(traj, terminal_text(reader.summary(traj.source, traj.task, episode)))
    teacher = teacher_name(traj.teacher.provider, traj.teacher.model)
    who = Text(
        f"{traj.source} / {traj.task_id} · {teacher} · {len(traj.steps)} turn(s) · "
        f"{traj.termination.value}"
        + (f" ({traj.termination_detail})" if traj.termination_detail else "")
    )
    ids = Text(
        f"id {traj.id} · run {traj.run} · {traj.usage.input_tokens:,} in / "
        f"{traj.usage.output_tokens:,} out tokens, {traj.usage.calls} call(s) · "
        f"{traj.timing.duration_s:.1f}s",
        style="dim",
    )
    console.print(
        Panel(
            Group(line, who, ids),
            title="trajectory",
            title_align="left",
            border_style="green" if traj.success else "red",
        )
    )
    if system and traj.messages and traj.messages[0].role == "system":
        prompt, demonstration = split_demonstration(traj.messages[0].content)
        console.print(Panel(Text(prompt), title="system prompt", border_style="dim"))
        if demonstration:
            console.print(Panel(
                Text(demonstration.strip()), border_style="dim",
                title="in-context demonstration (end of the system prompt; not this episode)",
            ))
    console.print(
        Panel(Text(traj.task.prompt), title="task", title_align="left", border_style="cyan")
    )
    notes = _turn_notes(traj)
    for step in traj.steps:
        for part in _step(traj, step, reader, notes.get(step.index, [])):
            console.print(part)
    view = reader.reference(traj.source, traj.task, episode)
    final = Table.grid(padding=(0, 2))
    final.add_column(style="bold")
    final.add_column()
    final.add_row("verdict", line)
    final.add_row(
        "answer", Text(traj.answer) if traj.answer is not None else Text("(none)", style="dim")
    )
    for label, value in view.fields:
        final.add_row(Text(terminal_text(label)), Text(terminal_text(value)))
    rest = Table.grid(padding=(0, 2))
    rest.add_column(style="bold")
    rest.add_column()
    if traj.score_details:
        details = json.dumps(traj.score_details, sort_keys=True, ensure_ascii=False)
        more = (
            f"… ({len(details) - DETAILS_CHARS:,} more chars; --json has all)"
            if len(details) > DETAILS_CHARS
            else ""
        )
        rest.add_row("details", Text(details[:DETAILS_CHARS] + more, style="dim"))
    rest.add_row("tokens", f"{traj.usage.input_tokens:,} in / {traj.usage.output_tokens:,} out")
    console.print(
        Panel(
            Group(final, *_reference(view), rest),
            title="result",
            title_align="left",
            border_style="green" if traj.success else "red",
        )
    )
