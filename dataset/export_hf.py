"""Parquet shards of a version for a Hugging Face dataset folder: ``data/SPLIT-0000i-of-0000N.parquet``.

Rows carry the normalised conversation as ``messages`` (list of ``{role, content}``, the layout
TRL and chat templates read) plus the metadata people filter on when training (source, teacher,
termination, tokens, turns, failed actions). Shards are cut by size so no file outgrows what the
Hub's viewer and ``datasets`` handle comfortably; rows are written in small row groups so
readers can stream them. Nothing time-dependent goes into the files: the same version and the
same pyarrow give the same bytes. The ``teacher`` column names teachers as the card and the
manifest do (``dataset.naming.teacher_name``), so a record collected before replays were
named by content does not publish the collecting machine's path of its replay file.

Counts go into 64-bit columns. The record schema keeps them in range, but a record that did
not pass through it (an older version's file, an object built in code) could hold a count
like ``10**30``: pyarrow would then raise ``OverflowError`` for a whole row group, far from
the record, and the export would write nothing. :func:`hf_row` checks each count as it builds
the row and names the record and the field instead.

A version holding records that were offered functions (``--action-format tools|json|text``)
is written with :data:`HF_TOOLS_SCHEMA`: each message also carries ``tool_calls`` (id, name,
arguments exactly as made), ``tool_call_id`` and ``is_error``, and a ``tools`` column holds
the offered function schemas as JSON text (null for a code record, as ``answer`` is null
without an answer). A version of code records only keeps :data:`HF_SCHEMA` unchanged, so its
shards are the same bytes as before function calling existed.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from trajkit.core.errors import DataError
from trajkit.core.self_correction import failed_action, is_self_correcting_steps
from trajkit.dataset.export_chat import Turn
from trajkit.dataset.naming import teacher_name
from trajkit.dataset.version import DATA_FILE
from trajkit.schemas import Trajectory

DATA_DIR = "data"
DEFAULT_MAX_SHARD_BYTES = 256 * 1024 * 1024  # of row JSON, an upper bound on the shard's size
ROW_GROUP_ROWS = 500

MESSAGE_TYPE = pa.struct([("role", pa.string()), ("content", pa.string())])
HF_SCHEMA = pa.schema(
    [
        ("id", pa.string()),
        ("source", pa.string()),
        ("task_id", pa.string()),
        ("run", pa.string()),
        ("teacher", pa.string()),
        ("termination", pa.string()),
        ("success", pa.bool_()),
        ("score", pa.float64()),
        ("self_corrected", pa.bool_()),
        ("turns", pa.int32()),
        ("failed_actions", pa.int32()),
        ("input_tokens", pa.int64()),
        ("output_tokens", pa.int64()),
        ("answer", pa.string()),
        ("messages", pa.list_(MESSAGE_TYPE)),
    ]
)

TOOL_CALL_TYPE = pa.struct([("id", pa.string()), ("name", pa.string()), ("arguments", pa.string())])
TOOLS_MESSAGE_TYPE = pa.struct(
    [
        ("role", pa.string()),
        ("content", pa.string()),
        ("tool_calls", pa.list_(TOOL_CALL_TYPE)),
        ("tool_call_id", pa.string()),
        ("is_error", pa.bool_()),
    ]
)
#: :data:`HF_SCHEMA` for a version with records that were offered functions: the same
#: columns in the same order, messages with the tool fields, and ``tools`` last.
HF_TOOLS_SCHEMA = pa.schema(
    [
        *(pa.field("messages", pa.list_(TOOLS_MESSAGE_TYPE)) if f.name == "messages" else f
          for f in HF_SCHEMA),
        ("tools", pa.string()),
    ]
)

COLUMN_DOCS = {
    "id": "trajectory id, stable across dataset versions",
    "source": "benchmark the task came from",
    "task_id": "the task's id within its source",
    "run": "collection run that produced the episode",
    "teacher": "`provider:model` that wrote the assistant turns (a replay: its file name and "
    "content hash)",
    "termination": "why the episode ended (solved, max_turns, …)",
    "success": "the source's judge accepted the final answer",
    "score": "the judge's score (partial credit where the metric has it)",
    "self_corrected": "an action failed before the successful step",
    "turns": "assistant turns in the episode",
    "failed_actions": "turns whose code raised, timed out or crashed the worker",
    "input_tokens": "prompt tokens the teacher was billed for, summed over turns (a replay's: "
    "counted from the text, see Tokens)",
    "output_tokens": "completion tokens, summed over turns (billed, or counted for a replay)",
    "answer": "the final proposed answer, if any",
    "messages": "the conversation: system, user (task), then assistant/user (observation) turns, "
    "ending with the assistant",
}

#: What :data:`HF_TOOLS_SCHEMA` says differently or adds.
TOOLS_COLUMN_DOCS = {
    "messages": "the conversation: system, user (task), then per turn the assistant (its "
    "`tool_calls`: id, name, arguments as JSON text exactly as the teacher wrote them) and "
    "one `tool` message per call (`tool_call_id`, `is_error`), or a user message "
    "(observation), ending with the assistant",
    "tools": "the functions the teacher was offered, as a JSON list of {name, description, "
    "parameters}; null for code-format records",
}


def column_docs(tools: bool) -> dict[str, str]:
    """The column descriptions of a version written with (``tools``) or without the tool fields."""
    return {**COLUMN_DOCS, **TOOLS_COLUMN_DOCS} if tools else dict(COLUMN_DOCS)


def offers_functions(traj: Trajectory) -> bool:
    """The record was offered functions or holds native calls: it needs the tool fields."""
    return bool(traj.tools) or any(m.tool_calls or m.role == "tool" for m in traj.messages)


def version_offers_functions(version_dir: Path) -> bool:
    """Whether any record of the version needs :data:`HF_TOOLS_SCHEMA`, decided before the
    first shard is opened. A line without ``"tool`` in its bytes holds no tool field (every
    one of them is a key or the ``tool`` role, written unescaped), so only candidates are
    parsed and a code-only version costs one extra read. A line that does not parse is left
    for the export's own pass, which names it."""
    with open(Path(version_dir) / DATA_FILE, "rb") as fh:
        for raw in fh:
            if b'"tool' not in raw:
                continue
            try:
                traj = Trajectory.model_validate_json(raw)
            except ValueError:
                continue
            if offers_functions(traj):
                return True
    return False


INT64_MAX = 2**63 - 1


def _count(traj: Trajectory, field_name: str, value: int) -> int:
    """``value`` if an int64 column holds it, else a ``DataError`` naming record and field."""
    if not -INT64_MAX - 1 <= value <= INT64_MAX:
        raise DataError(
            f"{traj.id}: {field_name} = {value} does not fit a 64-bit integer column; "
            "the record is corrupt (a token count cannot be that large)"
        )
    return value


def _tools_message(t: Turn) -> dict[str, Any]:
    return {
        "role": t.role,
        "content": t.content,
        "tool_calls": [{"id": c.id, "name": c.name, "arguments": c.arguments} for c in t.tool_calls],
        "tool_call_id": t.tool_call_id,
        "is_error": t.is_error,
    }


def hf_row(traj: Trajectory, turns: list[Turn], *, tools: bool = False) -> dict[str, Any]:
    """The Parquet row for one trajectory (``turns`` from ``export_chat.conversation``);
    ``DataError`` for a count no int64 column can hold. ``tools``: the row of a version
    written with :data:`HF_TOOLS_SCHEMA`."""
    row: dict[str, Any] = {
        "id": traj.id,
        "source": traj.source,
        "task_id": traj.task_id,
        "run": traj.run,
        "teacher": teacher_name(traj.teacher.provider, traj.teacher.model),
        "termination": traj.termination.value,
        "success": traj.success,
        "score": traj.score,
        "self_corrected": is_self_correcting_steps(traj.steps, traj.success),
        "turns": len(traj.steps),
        "failed_actions": sum(failed_action(s) for s in traj.steps),
        "input_tokens": _count(traj, "usage.input_tokens", traj.usage.input_tokens),
        "output_tokens": _count(traj, "usage.output_tokens", traj.usage.output_tokens),
        "answer": traj.answer,
        "messages": [{"role": t.role, "content": t.content} for t in turns],
    }
    if tools:
        row["messages"] = [_tools_message(t) for t in turns]
        row["tools"] = json.dumps(traj.tools, ensure_ascii=False) if traj.tools else None
    return row


@dataclass
class ShardWriter:
    """Writes rows of one split into shards of at most ``max_bytes`` (estimated), streaming.

    Shards are first written as ``SPLIT-0000i.partial``; :meth:`close` renames them to
    ``SPLIT-0000i-of-0000N.parquet`` once N is known, so a reader never sees a half-named set.
    """

    data_dir: Path
    split: str = "train"
    schema: pa.Schema = HF_SCHEMA
    max_bytes: int = DEFAULT_MAX_SHARD_BYTES
    row_group_rows: int = ROW_GROUP_ROWS
    rows: int = 0
    _writer: pq.ParquetWriter | None = None
    _partials: list[Path] = field(default_factory=list)
    _buffer: list[dict[str, Any]] = field(default_factory=list)
    _shard_bytes: int = 0

    def add(self, row: dict[str, Any], size: int) -> None:
        """Append a row whose serialised size is about ``size`` bytes."""
        if self._writer is None or (self._shard_bytes and self._shard_bytes + size > self.max_bytes):
            self._open_next()
        self._buffer.append(row)
        self._shard_bytes += size
        self.rows += 1
        if len(self._buffer) >= self.row_group_rows:
            self._flush()

    def _open_next(self) -> None:
        self._close_current()
        self.data_dir.mkdir(parents=True, exist_ok=True)
        path = self.data_dir / f"{self.split}-{len(self._partials):05d}.partial"
        self._partials.append(path)
        self._writer = pq.ParquetWriter(path, self.schema, compression="snappy")
        self._shard_bytes = 0

    def _flush(self) -> None:
        if self._buffer and self._writer is not None:
            self._writer.write_table(pa.Table.from_pylist(self._buffer, schema=self.schema))
            self._buffer = []

    def _close_current(self) -> None:
        self._flush()
        if self._writer is not None:
            self._writer.close()
            self._writer = None

    def close(self) -> list[Path]:
        """Finish the shards (one empty shard for an empty split) and give them final names."""
        if not self._partials:
            self._open_next()
        self._close_current()
        n = len(self._partials)
        final = []
        for i, partial in enumerate(self._partials):
            target = self.data_dir / f"{self.split}-{i:05d}-of-{n:05d}.parquet"
            os.replace(partial, target)
            final.append(target)
        return final
