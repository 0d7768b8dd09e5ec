"""``trajkit show``: find one trajectory by id or task id and render it for a human.

Finding streams the files line by line and only parses lines that contain the wanted string,
so looking up one episode in a multi-gigabyte run costs a read, not a load. Where to look
(``--in``): a JSONL file, a run directory, a dataset version, a dataset directory (its latest
version), or an output root (every run, then every dataset's latest version; the first file
with a match wins, so a run's original is preferred over the dataset's copy).

Rendering (rich): a header with who/what/how it ended, the task prompt, then each turn with the
teacher's reasoning as text, code syntax-highlighted, the observation in a panel that turns red
with the error kind when the action failed, the judge's verdict on proposed answers, and the
episode's verdict and token usage at the end.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from rich.console import Console, Group, RenderableType
from rich.markup import escape
from rich.panel import Panel
from rich.rule import Rule
from rich.syntax import Syntax
from rich.table import Table
from rich.text import Text

from trajkit.core.errors import DataError
from trajkit.dataset.inputs import TRAJECTORIES_FILE, VERSION_DATA_FILE, is_version_dir
from trajkit.schemas import ActionKind, Step, Trajectory

MAX_OTHERS = 5
_TAG_RE = re.compile(r"<(execute|solution)>(.*?)(?:</\1>|$)", re.DOTALL)


@dataclass
class Found:
    """The first match, where it was, and ids of further matches in the same file."""

    trajectory: Trajectory
    path: Path
    lineno: int
    others: list[str] = field(default_factory=list)


def _latest_data(dataset_dir: Path) -> Path | None:
    versions = [p for p in dataset_dir.glob("v[0-9]*") if is_version_dir(p) and p.name[1:].isdigit()]
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
    needles = {ident.encode(), json.dumps(ident)[1:-1].encode()}
    with open(path, "rb") as fh:
        for lineno, raw in enumerate(fh, start=1):
            if not any(n in raw for n in needles):
                continue
            try:
                obj = json.loads(raw)
            except ValueError:
                if raw.endswith(b"\n"):
                    raise DataError(f"{path}:{lineno}: not valid JSON") from None
                continue  # a torn last line of a live or crashed run
            if isinstance(obj, dict) and ident in (obj.get("id"), obj.get("task_id")):
                yield lineno, obj


def find_trajectory(ident: str, where: Path) -> Found:
    """The trajectory whose ``id`` or ``task_id`` is ``ident`` (``DataError`` if none)."""
    files = search_files(where)
    for path in files:
        found: Found | None = None
        for lineno, obj in _scan(path, ident):
            if found is None:
                try:
                    found = Found(Trajectory.model_validate(obj), path, lineno)
                except ValueError as exc:
                    raise DataError(f"{path}:{lineno}: invalid Trajectory ({str(exc).splitlines()[0]})") from None
            elif len(found.others) < MAX_OTHERS:
                found.others.append(str(obj.get("id")))
        if found is not None:
            return found
    raise DataError(f"{ident}: no trajectory with this id or task id in {where} ({len(files)} file(s) searched)")


def _assistant(step: Step) -> RenderableType:
    """The teacher's turn: prose as text, the tagged code/answer highlighted."""
    text = step.assistant
    parts: list[RenderableType] = []
    pos = 0
    for m in _TAG_RE.finditer(text):
        prose = text[pos:m.start()].strip()
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
    return Group(*parts) if parts else Text("(empty)", style="dim")


def _step(step: Step) -> list[RenderableType]:
    kind = step.action.kind
    label = {ActionKind.EXECUTE: "execute", ActionKind.SOLUTION: "solution", ActionKind.INVALID: "invalid"}[kind]
    tokens = f"{step.usage.input_tokens} in / {step.usage.output_tokens} out"
    out: list[RenderableType] = [
        Rule(f"[bold]turn {step.index + 1}[/] · {label} · {tokens}", align="left", style="blue"),
        _assistant(step),
    ]
    obs = step.observation
    if obs is not None:
        title, style = "observation", "green"
        if obs.error is not None:
            title = f"observation · [bold]{obs.error.kind.value}[/]: {escape(obs.error.type)}"
            style = "red"
        elif step.verdict is not None and not step.verdict.success:
            title, style = "judge feedback", "yellow"
        subtitle = f"{obs.duration_s:.2f}s" + (f", {obs.truncated_chars} chars cut" if obs.truncated_chars else "")
        out.append(Panel(Text(obs.text.rstrip("\n") or "(no output)"), title=title, title_align="left",
                         subtitle=subtitle, subtitle_align="right", border_style=style))
    if step.verdict is not None:
        v = step.verdict
        mark = "[bold green]accepted[/]" if v.success else "[bold red]rejected[/]"
        out.append(Text.from_markup(f"judge: {mark} (score {v.score:g})"))
    if kind == ActionKind.INVALID:
        out.append(Text("no <execute> or <solution>: an invalid action", style="yellow"))
    return out


def render_trajectory(traj: Trajectory, console: Console, *, system: bool = False) -> None:
    """Print ``traj``; the system prompt is shown only with ``system`` (it is the same every time)."""
    head = Table.grid(padding=(0, 2))
    head.add_column(style="bold")
    head.add_column()
    verdict = "[bold green]success[/]" if traj.success else "[bold red]failure[/]"
    rows = [
        ("id", escape(traj.id)),
        ("task", f"{escape(traj.source)} / {escape(traj.task_id)}"),
        ("run", escape(traj.run)),
        ("teacher", escape(f"{traj.teacher.provider}:{traj.teacher.model}")),
        ("verdict", f"{verdict} · score {traj.score:g} · {traj.termination.value}"
                    + (f" ({escape(traj.termination_detail)})" if traj.termination_detail else "")),
        ("usage", f"{traj.usage.input_tokens:,} in / {traj.usage.output_tokens:,} out tokens, "
                  f"{traj.usage.calls} call(s) · {traj.timing.duration_s:.1f}s"),
    ]
    for key, value in rows:
        head.add_row(key, value)
    console.print(Panel(head, title="trajectory", title_align="left"))
    if system and traj.messages and traj.messages[0].role == "system":
        console.print(Panel(Text(traj.messages[0].content), title="system prompt", border_style="dim"))
    console.print(Panel(Text(traj.task.prompt), title="task", title_align="left", border_style="cyan"))
    for step in traj.steps:
        for part in _step(step):
            console.print(part)
    final = Table.grid(padding=(0, 2))
    final.add_column(style="bold")
    final.add_column()
    final.add_row("verdict", f"{verdict}, score {traj.score:g}, {traj.termination.value}")
    final.add_row("answer", escape(traj.answer) if traj.answer is not None else "[dim](none)[/]")
    if traj.score_details:
        final.add_row("details", escape(json.dumps(traj.score_details, sort_keys=True)[:500]))
    final.add_row("tokens", f"{traj.usage.input_tokens:,} in / {traj.usage.output_tokens:,} out")
    console.print(Panel(final, title="result", title_align="left",
                        border_style="green" if traj.success else "red"))
