"""Shared by the answer-judge tests: tasks, hostile answers, and the properties every verdict
must have whatever the answer was."""

from __future__ import annotations

import json
from typing import Any

from trajkit.schemas import Task, Verdict
from trajkit.sources.judges import judge_class, make_judge, parse_spec

#: Answers a teacher may send that no judge may raise on.
HOSTILE: dict[str, str] = {
    "empty": "",
    "blank": " \n\t ",
    "1 MB": "the answer is " + "7 (B) aa, " * 100_000,
    "lone surrogates": "\ud800 answer \udfff",
    "NUL": "4\x00",
    "only NUL": "\x00",
    "control characters": "\x1b[31m\x07\x08",
}


def task(reference: Any, task_id: str = "t1", **metadata: Any) -> Task:
    return Task(
        source="tasks", task_id=task_id, prompt="q?", reference=reference, metadata=metadata
    )


async def verdict(spec: str, reference: Any, answer: str, **metadata: Any) -> Verdict:
    """The verdict of a judge built from ``spec`` through the registry, as a run builds it."""
    options = metadata.pop("options", None)
    judge = make_judge(spec, options)
    try:
        return checked(await judge.judge(task(reference, **metadata), answer), spec)  # type: ignore[no-any-return]
    finally:
        close = getattr(judge, "aclose", None)
        if close is not None:
            await close()


def checked(result: Verdict, spec: str) -> Verdict:
    """``result`` after asserting what every verdict owes a record: its judge's spec, a score
    in [0, 1], details a UTF-8 JSON line can hold, and a one-line summary."""
    assert isinstance(result, Verdict)
    assert result.details["judge"] == spec.strip()
    assert 0.0 <= result.score <= 1.0
    json.dumps(result.details, ensure_ascii=False).encode("utf-8")
    line = judge_class(parse_spec(spec).name).summary(task(None), result)
    assert line and "\n" not in line
    return result
