"""How an APPS verdict reads: tests passed, how the others failed, and the first tests as a table.

The task's reference is the whole test suite (inputs and expected outputs, often pages of
them); the verdict's details hold one entry per test (status, what the program printed when
it was wrong, its error). A reader needs the count, then a few tests side by side: input,
expected, got. The first three are shown, plus the first failing one when it comes later,
each cell clipped to a few lines.
"""

from __future__ import annotations

import json
from typing import Any

from trajkit.schemas import Task, Verdict
from trajkit.sources.reading import ReferenceView, ReportTable, clip, tests_line

SHOWN_TESTS = 3
CELL_CHARS = 160
CELL_LINES = 4
#: How each failing status reads, singular and plural.
STATUS_WORDS = {
    "wrong": ("wrong answer", "wrong answers"),
    "runtime_error": ("runtime error", "runtime errors"),
    "timeout": ("timeout", "timeouts"),
    "compile_error": ("compile error", "compile errors"),
}


def _cell(value: Any, mode: str) -> str:
    """A stdin test as its text, a call-based one as the JSON of its arguments or value."""
    text = value if isinstance(value, str) and mode == "stdin" else json.dumps(value)
    return clip(text.rstrip("\n"), CELL_CHARS, CELL_LINES)


def _got(entry: dict[str, Any] | None) -> str:
    """What the program did on one test, as the judge recorded it."""
    if entry is None:
        return "(not in the verdict)"
    status = str(entry.get("status", "?"))
    if status == "pass":
        match = entry.get("match")
        return f"✓ same{f' ({match})' if match and match != 'exact' else ''}"
    if "got" in entry:
        return "✗ " + clip(str(entry["got"]).rstrip("\n"), CELL_CHARS, CELL_LINES)
    word = STATUS_WORDS.get(status, (status, status))[0]
    error = entry.get("error")
    return f"✗ {word}" + (f": {clip(str(error), 120, 2)}" if error else "")


class AppsReport:
    """The APPS source's reading of its verdicts (``sources.base`` capability list)."""

    @staticmethod
    def verdict_summary(task: Task, verdict: Verdict) -> str:
        """``6/6 tests passed``; a failure adds how the rest failed (``4/6 tests passed: 1
        wrong answer, 1 timeout``) or the compile error."""
        return tests_line(verdict.details, STATUS_WORDS) or ""

    @staticmethod
    def reference_view(task: Task, verdict: Verdict) -> ReferenceView:
        """How the program is called and a table of the first tests: input, expected, got."""
        ref = task.reference if isinstance(task.reference, dict) else {}
        inputs, outputs = ref.get("inputs"), ref.get("outputs")
        if not isinstance(inputs, list) or not isinstance(outputs, list):
            return ReferenceView((("reference", clip(task.reference)),))
        mode = str(ref.get("mode") or "stdin")
        fn = ref.get("fn_name")
        call = "stdin → stdout" if mode == "stdin" else f"call {fn or '?'}(…)"
        fields = [("tests", f"{len(inputs)} · {call}")]
        timeout = verdict.details.get("test_timeout_s")
        if isinstance(timeout, (int, float)):
            fields[0] = ("tests", f"{len(inputs)} · {call} · {timeout:g}s each")
        entries = {
            e["index"]: e
            for e in verdict.details.get("tests") or []
            if isinstance(e, dict) and isinstance(e.get("index"), int)
        }
        shown = list(range(min(SHOWN_TESTS, len(inputs))))
        failing = [i for i in sorted(entries) if entries[i].get("status") != "pass"]
        if failing and failing[0] not in shown and failing[0] < len(inputs):
            shown.append(failing[0])
        rows = tuple(
            (
                str(i + 1),
                _cell(inputs[i], mode),
                _cell(outputs[i], mode) if i < len(outputs) else "?",
                _got(entries.get(i)),
            )
            for i in shown
        )
        caption = f"tests {', '.join(str(i + 1) for i in shown)} of {len(inputs)}"
        if failing and failing[0] in shown[SHOWN_TESTS:]:
            caption += f" (test {failing[0] + 1} is the first that failed)"
        table = ReportTable(("#", "input", "expected", "got"), rows, caption)
        return ReferenceView(tuple(fields), (table,) if rows else ())
