"""Replay teacher: plays back recorded assistant turns, task by task, with no API at all.

It makes runs reproducible and testable offline (CI, demos, re-running a sandbox change on
old conversations). Input is JSONL, one task per line, either a full trajectory record
(``task_id`` + ``messages``) or a minimal recording ``{"task_id": ..., "turns": [...]}``.
A recording is a teacher's text too: its turns are made valid Unicode as they are loaded.

Native turns (the ``tools`` action format). A turn of a recording is a string, or an object
``{"text": "...", "tool_calls": [{"id": "...", "name": "...", "arguments": "..."}]}`` whose
calls come back in ``Completion.tool_calls`` (``text`` defaults to ``""``; a call's ``id``
defaults to ``call_<turn>_<n>``; ``arguments`` is JSON text kept as written, or an object
dumped to it, default ``"{}"``). A trajectory record's assistant messages carry theirs in
``tool_calls`` already, so a ``tools``-format run replays as it was collected.

Identity. Records name a replay teacher ``replay:FILE@sha256:HASH`` (the file's name and the
first 12 hex digits of the sha256 of its bytes), never by its path: records are published
(datasets, exports, reports), and a path names the collecting machine's user and layout while
identifying nothing. The content hash keeps two different recordings that share a file name
apart, and makes one recording the same teacher wherever it is copied.

Tokens. Nothing bills a replay, yet stats, reports and ``--estimate`` calibration need the
sizes of its turns, so each call counts them: input = every message sent, output = the
replayed text, each message's text only (no chat-format overhead). The tokenizer is the
filters' default (``o200k_base``) when its BPE file is already on this machine, else
``chars4``, chosen once per process without touching the network (a replay is the offline
path: a demo must not try a download, or hang on a firewall, to count). Which one counted is
written into every record's ``teacher.params`` (:data:`TOKENS_COUNTED_WITH`), so a record
says its tokens were counted, not billed, and by what. Replays stay free and uncached
(``ReplayProvider``).
"""

from __future__ import annotations

import functools
import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from trajkit.collect.teachers.base import Completion, TeacherError
from trajkit.collect.teachers.common import cut_at_stop
from trajkit.core.errors import DataError
from trajkit.core.jsonl import iter_json_lines
from trajkit.core.reference_files import file_sha256
from trajkit.core.tokenizers import load_tokenizer, offline_tokenizer
from trajkit.schemas import Message, TeacherInfo, ToolCall, Usage
from trajkit.schemas.text import valid_text

#: The key of ``teacher.params`` that names the tokenizer which counted a record's tokens.
#: ``dataset.summary.TOKENS_COUNTED_WITH`` spells the same key (dataset cannot import collect).
TOKENS_COUNTED_WITH = "tokens_counted_with"
#: Hex digits of the content hash in a replay teacher's name (48 bits: distinct recordings).
HASH_DIGITS = 12
#: Distinct message texts whose counts a teacher remembers: every turn re-sends the whole
#: conversation (and every task the same system prompt), so most texts are counted once.
COUNT_CACHE = 4096

@dataclass(frozen=True)
class RecordedTurn:
    """One recorded assistant turn: its text and, for a native turn, the calls it made."""

    text: str
    tool_calls: list[ToolCall] = field(default_factory=list)


def recording_name(path: Path, digest: str) -> str:
    """``FILE@sha256:HASH``: how records name the recording at ``path`` whose bytes hash to
    ``digest`` (see the module docstring)."""
    return f"{Path(path).name}@sha256:{digest[:HASH_DIGITS]}"


class ReplayTeacher:
    """Answers turn k of a task with the k-th recorded assistant turn for that task."""

    provider = "replay"

    def __init__(
        self,
        path: str | Path,
        params: dict[str, Any] | None = None,
        *,
        tokenizer: str | None = None,
    ) -> None:
        """Load the whole recording now so a bad file fails the run before it starts.

        ``tokenizer`` names the counter (``trajkit.core.tokenizers``); by default
        :func:`offline_tokenizer` chooses. It is loaded here, once per teacher.
        """
        self.path = Path(path)
        digest, self._turns = load_recording(self.path)
        self.name = recording_name(self.path, digest)
        if tokenizer is None:
            self.tokenizer, count = offline_tokenizer()
        else:
            self.tokenizer, count = tokenizer, load_tokenizer(tokenizer)
        self._count = functools.lru_cache(maxsize=COUNT_CACHE)(count)
        self._params = {**dict(params or {}), TOKENS_COUNTED_WITH: self.tokenizer}

    @property
    def info(self) -> TeacherInfo:
        """``model`` is the recording's name and content hash, never its path; ``params`` say
        which tokenizer counted the tokens."""
        return TeacherInfo(provider=self.provider, model=self.name, params=dict(self._params))

    @property
    def task_ids(self) -> list[str]:
        """Tasks that have a recording, in file order."""
        return list(self._turns)

    def count_tokens(
        self, messages: list[Message], text: str, calls: list[ToolCall] | None = None
    ) -> Usage:
        """One call's usage: every message sent in, ``text`` (and ``calls``' arguments) out,
        counted (not billed)."""
        count = self._count
        return Usage(
            input_tokens=sum(count(m.content) for m in messages),
            output_tokens=count(text) + sum(count(c.arguments) for c in calls or ()),
            calls=1,
        )

    async def complete(
        self,
        messages: list[Message],
        stop: list[str],
        *,
        task_id: str,
        tools: list[dict[str, Any]] | None = None,
    ) -> Completion:
        """Return recorded turn k (k = assistant turns so far), cut at ``stop`` like a vendor.

        A native turn's calls come back as recorded (``tools`` is not consulted: an unknown
        name is the loop's to answer, as from a live teacher); text that hits a stop sequence
        ends the turn there, before any call, as generation would. Errors name the recording
        as records do (they become a record's termination detail), not by its path.
        """
        turns = self._turns.get(task_id)
        if turns is None:
            raise TeacherError(f"replay:{self.name}: no recording for task {task_id!r}")
        k = sum(1 for m in messages if m.role == "assistant")
        if k >= len(turns):
            raise TeacherError(
                f"replay:{self.name}: recording for task {task_id!r} has {len(turns)} "
                f"turn(s); turn {k + 1} was requested"
            )
        text, matched = cut_at_stop(turns[k].text, stop)
        calls = [] if matched else list(turns[k].tool_calls)
        reason = "stop_sequence" if matched else "tool_use" if calls else "end_turn"
        return Completion(
            text=text,
            usage=self.count_tokens(messages, text, calls),
            stop_reason=reason,
            raw={"turn": k, "stop_sequence": matched},
            tool_calls=calls,
        )

    async def aclose(self) -> None:
        """Nothing to release; present to satisfy the ``Teacher`` protocol."""


def _file_state(path: Path) -> tuple[int, ...]:
    st = os.stat(path)
    return (st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns, st.st_ctime_ns)


def sha256_of(path: Path) -> str:
    """The hex sha256 of the file's bytes (the recording's identity)."""
    return file_sha256(path)


Recording = tuple[str, dict[str, list[RecordedTurn]]]
#: The last recording parsed, keyed by its content hash: a run's pre-flight check
#: (``ReplayProvider.check_tasks``) and its teacher then parse the file once.
_last_read: dict[str, Recording] = {}


def load_recording(path: Path, attempts: int = 3) -> Recording:
    """``(sha256 of the file's bytes, task_id -> assistant turns)``, both of the same bytes.

    The hash names the teacher in every record, so it must be the hash of what is replayed:
    if the file changes while it is read (its inode, size or times move), it is read again.
    The result is shared with the next caller asking for the same unchanged file: read-only.
    """
    try:
        for _ in range(attempts):
            before = _file_state(path)
            digest = sha256_of(path)
            if digest in _last_read and _file_state(path) == before:
                return _last_read[digest]
            recordings = load_recordings(path)
            if _file_state(path) == before:
                _last_read.clear()
                _last_read[digest] = (digest, recordings)
                return digest, recordings
    except OSError as exc:
        raise DataError(f"{path}: cannot read replay file ({exc.strerror or exc})") from None
    raise DataError(f"{path}: replay file kept changing while it was read; retry when it is complete")


def load_recordings(path: Path) -> dict[str, list[RecordedTurn]]:
    """Read ``task_id -> assistant turns``; the first line for a task wins.

    Malformed lines raise ``DataError`` naming ``file:line``; a torn final line (a crashed
    writer's trace) is skipped like everywhere else trajkit reads JSONL.
    """
    recordings: dict[str, list[RecordedTurn]] = {}
    try:
        for lineno, obj in iter_json_lines(path):
            task_id, turns = _parse_line(obj, f"{path}:{lineno}")
            recordings.setdefault(task_id, turns)
    except OSError as exc:
        raise DataError(f"{path}: cannot read replay file ({exc.strerror or exc})") from None
    if not recordings:
        raise DataError(
            f"{path}: no recordings (one JSON object per line, with 'task_id' and 'turns' or "
            "'messages')"
        )
    return recordings


def _parse_line(obj: Any, where: str) -> tuple[str, list[RecordedTurn]]:
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
        if not isinstance(turns, list):
            raise DataError(f"{where}: 'turns' must be a list of strings or turn objects")
        return task_id, [_turn(t, k, f"{where}: turns[{k}]") for k, t in enumerate(turns)]
    if "messages" in obj:
        messages = obj["messages"]
        if not isinstance(messages, list):
            raise DataError(f"{where}: 'messages' must be a list")
        out: list[RecordedTurn] = []
        for i, m in enumerate(messages):
            if not isinstance(m, dict) or not isinstance(m.get("content"), str):
                raise DataError(f"{where}: messages[{i}] needs 'role' and string 'content'")
            if m.get("role") == "assistant":
                turn = {"text": m["content"], "tool_calls": m.get("tool_calls") or []}
                out.append(_turn(turn, len(out), f"{where}: messages[{i}]"))
        return task_id, out
    raise DataError(f"{where}: expected 'turns' (a recording) or 'messages' (a trajectory)")


def _turn(value: Any, k: int, where: str) -> RecordedTurn:
    """One recorded turn: a string, or ``{"text", "tool_calls"}`` (see the module doc)."""
    if isinstance(value, str):
        return RecordedTurn(valid_text(value))
    if not isinstance(value, dict) or not isinstance(value.get("text", ""), str):
        raise DataError(f"{where}: a turn is a string or an object with string 'text'")
    calls = value.get("tool_calls") or []
    if not isinstance(calls, list):
        raise DataError(f"{where}: 'tool_calls' must be a list")
    return RecordedTurn(
        valid_text(value.get("text", "")),
        [_call(c, f"call_{k}_{n}", f"{where}.tool_calls[{n}]") for n, c in enumerate(calls)],
    )


def _call(value: Any, default_id: str, where: str) -> ToolCall:
    """One recorded call ``{id?, name, arguments?}``."""
    if not isinstance(value, dict) or not isinstance(value.get("name"), str):
        raise DataError(f"{where}: a call is an object with a string 'name'")
    call_id = value.get("id", default_id)
    arguments = value.get("arguments", "{}")
    if isinstance(arguments, dict):
        arguments = json.dumps(arguments, ensure_ascii=False)
    if not isinstance(call_id, str) or not call_id or not isinstance(arguments, str):
        raise DataError(f"{where}: 'id' must be a non-empty string, 'arguments' a string or an object")
    try:
        return ToolCall(id=call_id, name=valid_text(value["name"]), arguments=valid_text(arguments))
    except ValueError as exc:  # e.g. an id longer than a record holds
        raise DataError(f"{where}: {exc}") from None
