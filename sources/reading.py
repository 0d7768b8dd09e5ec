"""How a reader sees a verdict: the contract behind ``trajkit view`` and ``trajkit show``.

A source may declare ``verdict_summary(task, verdict) -> str`` and ``reference_view(task,
verdict) -> ReferenceView`` (see the capability list in ``trajkit.sources.base``); this module
holds their plain-text types, the generic readings used when a source declares nothing, and
:class:`VerdictReader`, which finds each source's reading through the plugin registry and never
lets one source break a report.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from trajkit.core import registry
from trajkit.schemas import Task, Verdict

CLIP_CHARS = 300
CLIP_LINES = 8


def clip(value: object, chars: int = CLIP_CHARS, lines: int = CLIP_LINES) -> str:
    """``value`` as text a reader can take in at a glance: a string as it is, anything else as
    compact JSON, cut after ``lines`` lines or ``chars`` characters with the rest counted."""
    text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False, default=str)
    cut = text
    parts = cut.split("\n", lines)
    if len(parts) > lines:
        cut = "\n".join(parts[:lines])
    if len(cut) > chars:
        cut = cut[:chars]
    if len(cut) == len(text):
        return text
    return f"{cut}… ({len(text) - len(cut):,} more chars)"


@dataclass(frozen=True)
class ReportTable:
    """A small table of plain-text cells: ``columns`` names, ``rows`` of as many cells, and a
    ``caption`` saying what was left out (``tests 1-3 of 12``)."""

    columns: tuple[str, ...]
    rows: tuple[tuple[str, ...], ...]
    caption: str = ""


@dataclass(frozen=True)
class ReferenceView:
    """What an answer was judged against, for the top of a trajectory page: ``(label, text)``
    fields and small tables, all plain text."""

    fields: tuple[tuple[str, str], ...] = ()
    tables: tuple[ReportTable, ...] = ()


_REASON_KEYS = ("reason", "error", "message")


def tests_line(details: dict[str, Any], words: dict[str, tuple[str, str]]) -> str | None:
    """The one-line summary of a test-suite verdict (``details`` with ``passed``, ``total``,
    ``counts`` by status and maybe ``compile_error``): ``6/6 tests passed``, ``4/6 tests
    passed: 1 wrong answer, 1 timeout`` (each failing status in ``words``, singular and
    plural), or the compile error; None when ``details`` are not a suite's."""
    passed, total = details.get("passed"), details.get("total")
    if not isinstance(passed, int) or not isinstance(total, int):
        return None
    compile_error = details.get("compile_error")
    if isinstance(compile_error, str) and compile_error:
        return f"0/{total} tests run: compile error: {clip(compile_error, 120, 1)}"
    line = f"{passed}/{total} tests passed"
    counts = details.get("counts")
    if passed < total and isinstance(counts, dict):
        failures = [
            f"{n} {words.get(status, (status, status))[n != 1]}"
            for status, n in counts.items()
            if status != "pass" and isinstance(n, int) and n
        ]
        if failures:
            line += ": " + ", ".join(failures)
    return line


def generic_summary(task: Task, verdict: Verdict) -> str:
    """A source that says nothing: the judge's own reason, when its details give one."""
    for key in _REASON_KEYS:
        value = verdict.details.get(key)
        if isinstance(value, str) and value.strip():
            return clip(" ".join(value.split()), 160)
    return ""


def generic_reference(task: Task, verdict: Verdict) -> ReferenceView:
    """The task's ``reference``: a scalar as itself, a flat object as one field per key (at
    most eight), anything else as clipped JSON."""
    ref = task.reference
    if ref is None:
        return ReferenceView()
    if isinstance(ref, dict) and ref and len(ref) <= 8 and all(
        v is None or isinstance(v, (str, int, float, bool)) for v in ref.values()
    ):
        return ReferenceView(tuple((str(k), clip(v)) for k, v in ref.items()))
    return ReferenceView((("reference", clip(ref)),))


Summary = Callable[[Task, Verdict], str]
Reference = Callable[[Task, Verdict], ReferenceView]


class VerdictReader:
    """Each source's ``verdict_summary`` and ``reference_view``, looked up in the registry
    once per source name. A name that is not registered (a record from a plugin since
    uninstalled), a class that declares neither, or a method that raises or returns the wrong
    type gets the generic reading instead: a report or ``trajkit show`` never fails because
    of one source. Summaries come back as one line."""

    def __init__(self) -> None:
        self._found: dict[str, tuple[Summary | None, Reference | None]] = {}

    def _methods(self, source: str) -> tuple[Summary | None, Reference | None]:
        found = self._found.get(source)
        if found is None:
            try:
                cls = registry.get("source", source)
            except Exception:
                cls = None
            found = (getattr(cls, "verdict_summary", None), getattr(cls, "reference_view", None))
            self._found[source] = found
        return found

    def summary(self, source: str, task: Task, verdict: Verdict) -> str:
        """The one-line summary of ``verdict`` as ``source`` reads it."""
        method = self._methods(source)[0]
        if method is not None:
            try:
                text = method(task, verdict)
            except Exception:
                text = None
            if isinstance(text, str):
                return clip(" ".join(text.split()), 200)
        return generic_summary(task, verdict)

    def reference(self, source: str, task: Task, verdict: Verdict) -> ReferenceView:
        """The reference view of ``task`` (and ``verdict``) as ``source`` shows it."""
        method = self._methods(source)[1]
        if method is not None:
            try:
                return _plain(method(task, verdict))
            except Exception:
                pass
        return generic_reference(task, verdict)


def _plain(view: ReferenceView) -> ReferenceView:
    """``view`` with every label and cell as a string (a plugin may hand back numbers);
    anything that is not shaped like a :class:`ReferenceView` raises."""
    if not isinstance(view, ReferenceView):
        raise TypeError(f"reference_view returned {type(view).__name__}")
    return ReferenceView(
        tuple((str(label), str(text)) for label, text in view.fields),
        tuple(
            ReportTable(
                tuple(str(c) for c in t.columns),
                tuple(tuple(str(cell) for cell in row) for row in t.rows),
                str(t.caption),
            )
            for t in view.tables
        ),
    )
