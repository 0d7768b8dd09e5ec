"""Replay teacher: plays back recorded assistant turns, task by task, with no API at all.

It makes runs reproducible and testable offline (CI, demos, re-running a sandbox change on
old conversations). Input is JSONL, one task per line, either a full trajectory record
(``task_id`` + ``messages``) or a minimal recording ``{"task_id": ..., "turns": [...]}``.
A recording is a teacher's text too: its turns are made valid Unicode as they are loaded.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from trajkit.collect.teachers.base import Completion, TeacherError
from trajkit.collect.teachers.common import cut_at_stop
from trajkit.core.errors import DataError
from trajkit.core.jsonl import iter_json_lines
from trajkit.schemas import Message, TeacherInfo, Usage
from trajkit.schemas.text import valid_text


class ReplayTeacher:
    """Answers turn k of a task with the k-th recorded assistant turn for that task."""

    provider = "replay"

    def __init__(self, path: str | Path, params: dict[str, Any] | None = None) -> None:
        """Load the whole recording now so a bad file fails the run before it starts."""
        self.path = Path(path)
        self._params = dict(params or {})
        self._turns = load_recordings(self.path)

    @property
    def info(self) -> TeacherInfo:
        """``model`` is the recording's path, so trajectories say where turns came from."""
        return TeacherInfo(provider=self.provider, model=str(self.path), params=self._params)

    @property
    def task_ids(self) -> list[str]:
        """Tasks that have a recording, in file order."""
        return list(self._turns)

    async def complete(
        self, messages: list[Message], stop: list[str], *, task_id: str
    ) -> Completion:
        """Return recorded turn k (k = assistant turns so far), cut at ``stop`` like a vendor."""
        turns = self._turns.get(task_id)
        if turns is None:
            raise TeacherError(f"replay:{self.path}: no recording for task {task_id!r}")
        k = sum(1 for m in messages if m.role == "assistant")
        if k >= len(turns):
            raise TeacherError(
                f"replay:{self.path}: recording for task {task_id!r} has {len(turns)} "
                f"turn(s); turn {k + 1} was requested"
            )
        text, matched = cut_at_stop(turns[k], stop)
        return Completion(
            text=text,
            usage=Usage(calls=1),
            stop_reason="stop_sequence" if matched else "end_turn",
            raw={"turn": k, "stop_sequence": matched},
        )

    async def aclose(self) -> None:
        """Nothing to release; present to satisfy the ``Teacher`` protocol."""


def load_recordings(path: Path) -> dict[str, list[str]]:
    """Read ``task_id -> assistant turns``; the first line for a task wins.

    Malformed lines raise ``DataError`` naming ``file:line``; a torn final line (a crashed
    writer's trace) is skipped like everywhere else trajkit reads JSONL.
    """
    recordings: dict[str, list[str]] = {}
    try:
        for lineno, obj in iter_json_lines(path):
            task_id, turns = _parse_line(obj, f"{path}:{lineno}")
            recordings.setdefault(task_id, turns)
    except OSError as exc:
        raise DataError(f"{path}: cannot read replay file ({exc.strerror or exc})") from None
    return recordings


def _parse_line(obj: Any, where: str) -> tuple[str, list[str]]:
    """Validate one line in either accepted shape; errors name ``where`` (file:line)."""
    if not isinstance(obj, dict):
        raise DataError(f"{where}: expected a JSON object, got {type(obj).__name__}")
    task_id = obj.get("task_id")
    if isinstance(task_id, int) and not isinstance(task_id, bool):
        task_id = str(task_id)
    if not isinstance(task_id, str) or not task_id:
        raise DataError(f"{where}: missing or invalid 'task_id'")
    if "turns" in obj:
        turns = obj["turns"]
        if not isinstance(turns, list) or not all(isinstance(t, str) for t in turns):
            raise DataError(f"{where}: 'turns' must be a list of strings")
        return task_id, [valid_text(t) for t in turns]
    if "messages" in obj:
        messages = obj["messages"]
        if not isinstance(messages, list):
            raise DataError(f"{where}: 'messages' must be a list")
        out: list[str] = []
        for i, m in enumerate(messages):
            if not isinstance(m, dict) or not isinstance(m.get("content"), str):
                raise DataError(f"{where}: messages[{i}] needs 'role' and string 'content'")
            if m.get("role") == "assistant":
                out.append(valid_text(m["content"]))
        return task_id, out
    raise DataError(f"{where}: expected 'turns' (a recording) or 'messages' (a trajectory)")

