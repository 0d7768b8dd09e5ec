"""Counts over a version's records (by source, teacher, termination; token totals; ids).

One definition serves every place that states or checks these numbers: the manifest written by
``build_version``, ``verify_version`` re-counting the data, the CHANGELOG diffing two versions,
and the dataset card. They work on the *JSON* of each line (not a validated ``Trajectory``) so
that verifying a tampered file still counts what is there instead of stopping at the first
invalid record.

:class:`SummarySink` sits between ``stream_dataset`` and the output file, counting the canonical
lines as they are written, so a build gets these numbers without a second read and without the
streaming code knowing about them.
"""

from __future__ import annotations

import hashlib
import json
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, BinaryIO

from trajkit.core.jsonl import parse_json
from trajkit.dataset.naming import teacher_key_name, teacher_name
from trajkit.schemas import Usage
from trajkit.schemas.manifests import EnvironmentUse, SandboxEnvironment

#: The key of a record's ``teacher.params`` naming the tokenizer that counted its tokens when
#: no provider billed them (a replay). Spelled out here as in
#: ``collect.teachers.replay_teacher.TOKENS_COUNTED_WITH``: dataset code must not import collect.
TOKENS_COUNTED_WITH = "tokens_counted_with"


def teacher_key(obj: dict[str, Any]) -> str:
    """``provider:model`` of a trajectory's JSON (``?`` parts when missing), named as
    ``dataset.naming.teacher_name`` names it: these keys go into manifests, changelogs and
    cards, so a record from before replays were named by content (its model a path on the
    collecting machine) is counted under the file's name, not its path."""
    teacher = obj.get("teacher") or {}
    if not isinstance(teacher, dict):
        return "?:?"
    return teacher_name(str(teacher.get("provider", "?")), str(teacher.get("model", "?")))


def named_counts(counts: dict[str, int]) -> dict[str, int]:
    """Per-teacher counts with every key named as :func:`teacher_key` names it (merging keys
    that differ only in a path), sorted: how a manifest written before teacher keys were
    named this way compares with a recount."""
    merged: Counter[str] = Counter()
    for key, n in counts.items():
        merged[teacher_key_name(key)] += n
    return dict(sorted(merged.items()))


@dataclass
class DataSummary:
    """What a set of records adds up to. ``ids`` is kept only when asked for (CHANGELOG)."""

    records: int = 0
    by_source: Counter[str] = field(default_factory=Counter)
    by_teacher: Counter[str] = field(default_factory=Counter)
    by_termination: Counter[str] = field(default_factory=Counter)
    by_action_format: Counter[str] = field(default_factory=Counter)
    #: records whose tokens a tokenizer counted (no provider billed them), by its name
    counted_with: Counter[str] = field(default_factory=Counter)
    input_tokens: int = 0
    output_tokens: int = 0
    calls: int = 0
    cached_calls: int = 0
    cache_read_tokens: int = 0
    cache_write_tokens: int = 0
    ids: list[str] | None = None
    duplicate_ids: list[str] = field(default_factory=list)
    _seen: set[str] | None = None

    @classmethod
    def tracking_ids(cls) -> DataSummary:
        """A summary that also records ids in order and notices repeated ones."""
        return cls(ids=[], _seen=set())

    @property
    def usage(self) -> Usage:
        return Usage(
            input_tokens=self.input_tokens,
            output_tokens=self.output_tokens,
            calls=self.calls,
            cached_calls=self.cached_calls,
            cache_read_tokens=self.cache_read_tokens,
            cache_write_tokens=self.cache_write_tokens,
        )

    def add(self, obj: dict[str, Any]) -> None:
        """Count one record given as its JSON object."""
        self.records += 1
        self.by_source[str(obj.get("source", "?"))] += 1
        self.by_teacher[teacher_key(obj)] += 1
        self.by_termination[str(obj.get("termination", "?"))] += 1
        self.by_action_format[str(obj.get("action_format", "code"))] += 1  # absent: before formats
        teacher = obj.get("teacher")
        params = teacher.get("params") if isinstance(teacher, dict) else None
        if isinstance(params, dict) and isinstance(params.get(TOKENS_COUNTED_WITH), str):
            self.counted_with[params[TOKENS_COUNTED_WITH]] += 1
        usage = obj.get("usage") or {}
        if isinstance(usage, dict):
            self.input_tokens += _int(usage.get("input_tokens"))
            self.output_tokens += _int(usage.get("output_tokens"))
            self.calls += _int(usage.get("calls"))
            self.cached_calls += _int(usage.get("cached_calls"))
            self.cache_read_tokens += _int(usage.get("cache_read_tokens"))
            self.cache_write_tokens += _int(usage.get("cache_write_tokens"))
        if self.ids is not None and self._seen is not None:
            rid = str(obj.get("id"))
            if rid in self._seen:
                self.duplicate_ids.append(rid)
            else:
                self._seen.add(rid)
            self.ids.append(rid)

    def counts(self) -> dict[str, dict[str, int]]:
        """The count tables, sorted by key (how the manifest stores them)."""
        return {
            "source": dict(sorted(self.by_source.items())),
            "teacher": dict(sorted(self.by_teacher.items())),
            "termination": dict(sorted(self.by_termination.items())),
            "action_format": dict(sorted(self.by_action_format.items())),
        }


def _int(value: Any) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) else 0


class SummarySink:
    """A write-only binary sink that counts each canonical line and forwards it (or drops it).

    ``stream_dataset`` writes exactly one record per ``write`` call; lines are still split on
    newlines here so a different caller cannot silently miscount.
    """

    def __init__(self, inner: BinaryIO | None, summary: DataSummary | None = None) -> None:
        self.inner = inner
        self.summary = summary if summary is not None else DataSummary.tracking_ids()
        self.digest = hashlib.sha256()
        self.size = 0
        self._pending = b""

    def write(self, data: bytes) -> int:
        if self.inner is not None:
            self.inner.write(data)
        self.digest.update(data)
        self.size += len(data)
        self._pending += data
        *lines, self._pending = self._pending.split(b"\n")
        for line in lines:
            if line.strip():
                self.summary.add(json.loads(line))
        return len(data)

    def write_record(self, line: bytes, traj: Any) -> None:
        """Write one whole canonical line whose ``Trajectory`` is at hand: count from the object
        instead of parsing the line again (the filter's hot path)."""
        if self._pending:
            self.write(line)
            return
        if self.inner is not None:
            self.inner.write(line)
        self.digest.update(line)
        self.size += len(line)
        self.summary.add(
            {
                "id": traj.id,
                "source": traj.source,
                "teacher": {
                    "provider": traj.teacher.provider,
                    "model": traj.teacher.model,
                    "params": traj.teacher.params,
                },
                "termination": traj.termination.value,
                "action_format": traj.action_format,
                "usage": traj.usage.model_dump(),
            }
        )

    def flush(self) -> None:
        if self.inner is not None:
            self.inner.flush()


@dataclass
class FileSummary:
    """A data file re-read: its hash and size, the summary, and lines that were not records."""

    sha256: str
    size: int
    summary: DataSummary
    bad_lines: list[int] = field(default_factory=list)


def iter_objects(path: Path) -> Iterator[tuple[int, bytes, dict[str, Any] | None]]:
    """``(lineno, raw line, JSON object or None if the line is not a JSON object)``."""
    with open(path, "rb") as fh:
        for lineno, raw in enumerate(fh, start=1):
            try:
                obj = parse_json(raw)
            except ValueError:
                obj = None
            yield lineno, raw, obj if isinstance(obj, dict) else None


def summarize_file(path: Path, *, ids: bool = True) -> FileSummary:
    """Stream ``path`` once: sha256 of its bytes, size, counts, and (optionally) ids."""
    summary = DataSummary.tracking_ids() if ids else DataSummary()
    digest = hashlib.sha256()
    size = 0
    bad: list[int] = []
    for lineno, raw, obj in iter_objects(path):
        digest.update(raw)
        size += len(raw)
        if obj is None:
            bad.append(lineno)
        else:
            summary.add(obj)
    return FileSummary(digest.hexdigest(), size, summary, bad)


def file_sha256(path: Path) -> tuple[str, int]:
    """sha256 and size of a file, streamed."""
    digest = hashlib.sha256()
    size = 0
    with open(path, "rb") as fh:
        while chunk := fh.read(1 << 20):
            digest.update(chunk)
            size += len(chunk)
    return digest.hexdigest(), size


# -- sandbox environments: how stats, the card and filter's warning name them ----------------


def environment_identity(env: SandboxEnvironment) -> str:
    """``image sha256:0a38…`` (docker) or ``env sha256:9c1f…`` (the installed files' hash)."""
    if env.image_id:
        return f"image {env.image_id.removeprefix('sha256:')[:12]}"
    return f"env {env.content_sha256[:12]}"


def environment_packages(env: SandboxEnvironment) -> str:
    """``numpy 2.2.6, pandas 2.3.3, ...``; an absent package as ``scipy -``."""
    return ", ".join(f"{name} {version or '-'}" for name, version in env.packages.items())


def environment_text(env: SandboxEnvironment) -> str:
    """One line: backend, Python, the stack's versions and what identifies the environment."""
    stack = f"stack {env.stack}" if env.stack else "own environment"
    return (
        f"{env.backend} · Python {env.python} · {environment_packages(env) or 'no stack packages'}"
        f" · {environment_identity(env)} ({stack})"
    )


def environment_differences(uses: list[EnvironmentUse]) -> list[str]:
    """What differs between the recorded environments: ``python``, ``numpy``, ... (the first
    differing one against each other), or ``installed files`` when only the hash does. Empty
    when every recorded environment has the same content (backends may still differ: the
    same files give the same observations on both)."""
    known = [u.environment for u in uses if u.environment is not None]
    if len({env.content_sha256 for env in known}) <= 1:
        return []
    fields: list[str] = []
    if len({env.python for env in known}) > 1:
        fields.append("Python")
    names = dict.fromkeys(name for env in known for name in env.packages)
    fields += [n for n in names if len({env.packages.get(n) for env in known}) > 1]
    return fields or ["installed files"]
