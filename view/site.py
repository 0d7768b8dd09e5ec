"""Write a report directory for one run or dataset version: pages plus lazily loaded data chunks.

Layout (everything relative, so the folder can be moved, zipped or opened from ``file://``)::

    index.html          overview, static (inline SVG, no JS needed)
    list.html           the filterable, sortable, paginated list (inline JS)
    traj.html           one page template showing record #i=N
    data/meta.js        column names, string tables, chunk sizes
    data/list-K.js      list rows, LIST_CHUNK per file: TK.listChunk(K, [...])
    data/rec-K.js       rendered records, REC_CHUNK per file: TK.recChunk(K, [...])

The input is streamed once: each record is validated, counted, rendered and appended to the
current chunks, so memory stays at the totals (and the set of ids) plus one chunk, whatever the
run's size. A line repeating an earlier line's trajectory id is skipped and counted, the first
occurrence shown: the rule ``trajkit filter`` and ``trajkit stats`` apply, so the three agree on
how many records there are. The report is built in a temporary sibling directory and swapped in
at the end, so an interrupted build never leaves a half-written report where a complete one was.
"""

from __future__ import annotations

import json
import os
import shutil
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

from pydantic import ValidationError

from trajkit.core.errors import ConfigError, DataError
from trajkit.core.jsonl import parse_json
from trajkit.schemas import Trajectory
from trajkit.schemas.text import valid_tree
from trajkit.sources.reading import VerdictReader
from trajkit.view.html import esc, page
from trajkit.view.model import (
    LIST_COLUMNS,
    Overview,
    Row,
    Target,
    js_literal,
    make_row,
    open_target,
    row_json,
)
from trajkit.view.render_overview import NAV, render_overview
from trajkit.view.render_trajectory import render_trajectory

LIST_CHUNK = 10_000
REC_CHUNK = 100
MARKER = ".trajkit-report"


@dataclass
class SiteResult:
    """A written report: where, its totals, and each task's first outcome (for ``compare``)."""

    path: Path
    target: Target
    overview: Overview
    outcomes: dict[tuple[str, str], tuple[bool, int]] = field(default_factory=dict)

    @property
    def index(self) -> Path:
        return self.path / "index.html"


def default_out(target: Target) -> Path:
    """``ROOT/reports/RUN`` for ``ROOT/runs/RUN``, ``ROOT/reports/NAME-vN`` for
    ``ROOT/datasets/NAME/vN``; ``./report`` when the input is not in that layout."""
    path = target.path.resolve()
    if target.kind == "run" and path.parent.name == "runs":
        return path.parent.parent / "reports" / path.name
    if target.kind == "version" and path.parent.parent.name == "datasets":
        return path.parent.parent.parent / "reports" / f"{path.parent.name}-{path.name}"
    return Path("report")


def iter_trajectories(path: Path, torn: list[int]) -> Iterator[tuple[int, Trajectory]]:
    """``(lineno, trajectory)`` for each line; a torn last line (a live or crashed run) is
    skipped and its number appended to ``torn``; anything else malformed is a ``DataError``.

    The fast parser (pydantic's) refuses some valid JSON that Python's reads: a lone surrogate
    escape (``"\\ud800"``, which sandboxed code can print), a byte-order mark. Such a line
    is read again with ``json.loads``, its lone surrogates replaced with U+FFFD (they could
    not be written into the report), so "invalid JSON" is only said of lines that are.
    """
    with open(path, "rb") as fh:
        lineno = 0
        for raw in fh:
            lineno += 1
            if not raw.strip():
                continue
            try:
                yield lineno, Trajectory.model_validate_json(raw)
            except ValidationError as exc:
                first = exc.errors()[0]
                if first["type"] == "json_invalid":
                    try:
                        obj = parse_json(raw)
                    except ValueError as bad:
                        if not raw.endswith(b"\n"):
                            torn.append(lineno)
                            return
                        reason = getattr(bad, "msg", None) or type(bad).__name__
                        raise DataError(f"{path}:{lineno}: not valid JSON ({reason})") from None
                    yield lineno, _validate(path, lineno, valid_tree(obj))
                    continue
                raise DataError(f"{path}:{lineno}: invalid Trajectory: {_where(first)}") from None


def _where(error: Any) -> str:
    loc = ".".join(str(p) for p in error["loc"]) or "record"
    return f"{loc}: {error['msg']}"


def _validate(path: Path, lineno: int, obj: Any) -> Trajectory:
    try:
        return Trajectory.model_validate(obj)
    except ValidationError as exc:
        raise DataError(f"{path}:{lineno}: invalid Trajectory: {_where(exc.errors()[0])}") from None


class _Chunks:
    """Appends JSON items to ``data/PREFIX-K.js`` files of ``size`` items, each one call
    ``TK.FUNC(K, JSON.parse('[...]'))`` that the page's script receives.

    The array is a string handed to ``JSON.parse`` rather than a JS literal: V8 parses JSON
    faster than the equivalent object literal, which matters when a 100k-record list loads
    16 MB of rows. Compact JSON holds no raw newline, so escaping backslashes and single
    quotes makes it a valid JS string (U+2028/2029 are legal in JS strings since ES2019).
    Chunks are separate ``.js`` files, never inline ``<script>`` text, so a ``</script>`` in
    a record needs no escaping here; the HTML inside was escaped when it was rendered.
    """

    def __init__(self, folder: Path, prefix: str, func: str, size: int) -> None:
        self.folder, self.prefix, self.func, self.size = folder, prefix, func, size
        self.count = 0
        self.files = 0
        self._fh: IO[str] | None = None

    def add(self, item: object) -> None:
        if self.count % self.size == 0:
            self._close()
            self._fh = open(self.folder / f"{self.prefix}-{self.files}.js", "w", encoding="utf-8")
            self._fh.write(f"TK.{self.func}({self.files},JSON.parse('[")
            self.files += 1
        else:
            assert self._fh is not None
            self._fh.write(",")
        assert self._fh is not None
        text = json.dumps(item, ensure_ascii=False, separators=(",", ":"), allow_nan=False)
        self._fh.write(text.replace("\\", "\\\\").replace("'", "\\'"))
        self.count += 1

    def _close(self) -> None:
        if self._fh is not None:
            self._fh.write("]'));\n")
            self._fh.close()
            self._fh = None

    def close(self) -> None:
        self._close()


def _prepare(out: Path) -> Path:
    """A fresh temporary directory beside ``out``; refuses an ``out`` that is not a report."""
    if out.exists():
        if not out.is_dir():
            raise ConfigError(f"--out {out}: exists and is not a directory")
        if any(out.iterdir()) and not (out / MARKER).is_file():
            raise ConfigError(
                f"--out {out}: exists and is not a trajkit report; choose another directory"
            )
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.parent / f".{out.name}.tmp-{os.getpid()}"
    if tmp.exists():
        shutil.rmtree(tmp)
    (tmp / "data").mkdir(parents=True)
    return tmp


def _swap(tmp: Path, out: Path) -> None:
    old = out.parent / f".{out.name}.old-{os.getpid()}"
    if out.exists():
        out.rename(old)
    tmp.rename(out)
    if old.exists():
        shutil.rmtree(old)


def _list_page(target: Target) -> str:
    selects = "".join(
        f'<label>{label} <select id="f-{key}"></select></label>'
        for key, label in (
            ("source", "source"),
            ("teacher", "teacher"),
            ("success", "success"),
            ("self_corrected", "self-corrected"),
            ("termination", "termination"),
            ("decision", "filter decision"),
        )
    )
    body = (
        f"<h1>Trajectories · {esc(target.name)}</h1>"
        f'<div class="controls">{selects}<label>search <input id="f-q" type="search" '
        'placeholder="id, task or prompt"></label><button id="reset" type="button">reset</button>'
        "</div>"
        '<div class="pager"><button id="prev" type="button">← prev</button><span id="page"></span>'
        '<button id="next" type="button">next →</button><span id="count" class="muted">'
        "loading…</span></div>"
        '<table id="rows"></table><noscript>The list needs JavaScript; the overview page does '
        "not.</noscript>"
        '<script src="data/meta.js"></script>'
    )
    return page(f"Trajectories · {target.name} · trajkit", body, nav=NAV, scripts=["list.js"])


def _traj_page(target: Target) -> str:
    body = (
        '<div class="prevnext"><a id="back" href="list.html">↑ list</a><a id="prev"></a>'
        '<a id="next"></a><span id="where" class="muted"></span></div>'
        '<div id="record">Loading…</div>'
        "<noscript>Trajectory pages need JavaScript; the overview page does not.</noscript>"
        '<script src="data/meta.js"></script>'
    )
    return page(f"Trajectory · {target.name} · trajkit", body, nav=NAV, scripts=["traj.js"])


def build_site(path: Path, out: Path | None = None) -> SiteResult:
    """Write the report for the run or version at ``path`` into ``out``
    (default: :func:`default_out`)."""
    target = open_target(path)
    out = Path(out) if out is not None else default_out(target)
    tmp = _prepare(out)
    try:
        result = _write(target, tmp)
        _swap(tmp, out)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    result.path = out
    return result


def _write(target: Target, folder: Path) -> SiteResult:
    overview = Overview(kind=target.kind, name=target.name, path=str(target.path))
    result = SiteResult(folder, target, overview)
    tables: dict[str, dict[str, int]] = {
        "sources": {},
        "teachers": {},
        "terminations": {},
        "decisions": {},
    }
    lists = _Chunks(folder / "data", "list", "listChunk", LIST_CHUNK)
    recs = _Chunks(folder / "data", "rec", "recChunk", REC_CHUNK)
    prices = target.prices
    decision = "kept" if target.kind == "version" else None
    torn: list[int] = []
    seen: set[str] = set()
    reader = VerdictReader()
    try:
        for traj in (t for _, t in iter_trajectories(target.data, torn)):
            if traj.id in seen:
                overview.duplicates += 1
                continue
            seen.add(traj.id)
            row: Row = make_row(lists.count, traj, prices=prices, decision=decision)
            overview.add(row, traj)
            result.outcomes.setdefault((row.source, row.task_id), (row.success, row.index))
            lists.add(row_json(row, **tables))
            recs.add({"t": traj.task_id, "h": render_trajectory(traj, row, reader)})
    finally:
        lists.close()
        recs.close()
    overview.torn_tail = bool(torn)
    meta = {
        "key": f"{target.name}@{time.time():.3f}",
        "name": target.name,
        "kind": target.kind,
        "total": lists.count,
        "listChunks": lists.files,
        "listChunkSize": LIST_CHUNK,
        "recChunkSize": REC_CHUNK,
        "cols": list(LIST_COLUMNS),
        **{key: list(table) for key, table in tables.items()},
    }
    (folder / "data" / "meta.js").write_text(
        f"window.TK_META = {js_literal(meta)};\n", encoding="utf-8"
    )
    (folder / "index.html").write_text(render_overview(target, overview), encoding="utf-8")
    (folder / "list.html").write_text(_list_page(target), encoding="utf-8")
    (folder / "traj.html").write_text(_traj_page(target), encoding="utf-8")
    (folder / MARKER).write_text(
        "written by `trajkit view`; safe to delete or overwrite\n", encoding="utf-8"
    )
    return result
