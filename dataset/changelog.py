"""``CHANGELOG.md`` of a dataset version: what changed since the previous version of the dataset.

Records are compared by ``id`` (the trajectory id, which never changes when a record is carried
from one version to the next), so "added" and "removed" mean the same episode entered or left
the dataset, not that its bytes moved. Counts come from the data itself (via
``dataset.summary``), so a version built before manifests recorded them still diffs properly.

The text is a pure function of the two versions' data and manifests (no clock), so the file's
hash in the manifest is reproducible. It is published with the version, so it names parents,
teachers and parameter files without the building machine's paths (``dataset.naming``). Id
lists are capped at :data:`MAX_IDS` per section; the totals are always exact.
"""

from __future__ import annotations

import hashlib
import os
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from trajkit.core.errors import DataError, StorageError
from trajkit.dataset.inputs import VERSION_DATA_FILE
from trajkit.dataset.lineage import parent_label, read_version_manifest
from trajkit.dataset.naming import public_value, teacher_key_name
from trajkit.dataset.summary import DataSummary, summarize_file
from trajkit.schemas import DatasetManifest, FileDigest, FilterReport, ParentRef

CHANGELOG_FILE = "CHANGELOG.md"
MAX_IDS = 1000


@dataclass
class Previous:
    """The version a changelog compares with: its number, data summary (with ids), manifest."""

    version: int
    summary: DataSummary
    manifest: DatasetManifest | None
    error: str | None = None


def load_previous(version_dir: Path, version: int) -> Previous:
    """Read the previous version's ids and counts (streamed) and, if readable, its manifest."""
    data = Path(version_dir) / VERSION_DATA_FILE
    try:
        summary = summarize_file(data).summary
    except OSError as exc:
        # The note goes into the published CHANGELOG: the version's own name for the file and
        # the error's reason, never the machine path an OSError's text carries.
        reason = exc.strerror or type(exc).__name__
        note = f"v{version}/{VERSION_DATA_FILE}: unreadable ({reason})"
        return Previous(version, DataSummary.tracking_ids(), None, note)
    try:
        manifest: DatasetManifest | None = read_version_manifest(Path(version_dir))
    except DataError:
        manifest = None
    return Previous(version, summary, manifest)


def params_text(params: Mapping[str, Any], sep: str = ",") -> str:
    """``k=v`` pairs of a unit's parameters, sorted, paths shown by file name
    (``dataset.naming.public_value``: a decontamination reference or an ``hf:`` tokenizer is
    a file on the building machine; the manifest keeps the full value for rebuilds)."""
    return sep.join(f"{k}={public_value(v)}" for k, v in sorted(params.items()))


def chain_text(filters: Sequence[FilterReport]) -> str:
    """``success(min_score=1.0) → self-correct``; ``(none: all kept)`` for an empty chain."""
    if not filters:
        return "(none: all kept)"
    parts = []
    for f in filters:
        params = params_text(f.params)
        parts.append(f"{f.name}({params})" if params else f.name)
    return " → ".join(parts)


def _delta(a: int, b: int) -> str:
    return f"{b - a:+d}" if b != a else "0"


def _count_rows(prev: DataSummary | None, new: DataSummary) -> list[str]:
    rows = []

    def row(label: str, a: int, b: int) -> None:
        rows.append(f"| {label} | {a} | {b} | {_delta(a, b)} |" if prev is not None else f"| {label} | {b} |")

    empty = DataSummary()
    old = prev or empty
    row("records", old.records, new.records)
    for title, attr in (("source", "by_source"), ("teacher", "by_teacher"), ("termination", "by_termination")):
        a, b = getattr(old, attr), getattr(new, attr)
        for key in sorted(set(a) | set(b)):
            row(f"{title}: `{key}`", a.get(key, 0), b.get(key, 0))
    row("input tokens", old.input_tokens, new.input_tokens)
    row("output tokens", old.output_tokens, new.output_tokens)
    return rows


def _id_section(title: str, ids: Sequence[str]) -> list[str]:
    lines = [f"### {title} ({len(ids)})", ""]
    lines += [f"- `{rid}`" for rid in ids[:MAX_IDS]]
    if len(ids) > MAX_IDS:
        lines.append(f"- … and {len(ids) - MAX_IDS} more")
    if not ids:
        lines.append("(none)")
    return [*lines, ""]


def _parent_lines(prev: Sequence[ParentRef] | None, new: Sequence[ParentRef]) -> list[str]:
    def key(p: ParentRef) -> tuple[str, str]:
        return (p.kind, p.sha256)

    def show(p: ParentRef) -> str:
        return f"{parent_label(p)} (sha256 {p.sha256[:12]}…, {p.records} records)"

    if prev is None:
        return [f"- {show(p)}" for p in new] or ["(none)"]
    old_keys = {key(p) for p in prev}
    new_keys = {key(p) for p in new}
    lines = [f"- added: {show(p)}" for p in new if key(p) not in old_keys]
    lines += [f"- removed: {show(p)}" for p in prev if key(p) not in new_keys]
    kept = sum(key(p) in old_keys for p in new)
    lines.append(f"- unchanged: {kept}")
    return lines


def render_changelog(
    manifest: DatasetManifest, new: DataSummary, previous: Previous | None
) -> str:
    """The CHANGELOG text for ``manifest``'s version, whose records ``new`` summarises (with ids)."""
    name, version = manifest.name, manifest.version
    lines = [f"# {name} v{version}", ""]
    parents = manifest.parents or []
    if previous is None:
        lines += [f"First version of `{name}`: {new.records} records.", ""]
        lines += ["| | count |", "|---|---:|", *_count_rows(None, new), ""]
        lines += ["## Parents", "", *_parent_lines(None, parents), ""]
        lines += ["## Filters", "", f"- {chain_text(manifest.filters)}", ""]
        return "\n".join(lines).rstrip("\n") + "\n"

    prev = previous.summary
    p = previous.version
    lines += [f"Compared with v{p}, the previous version of `{name}`.", ""]
    if previous.error:
        lines += [f"Note: {previous.error}; compared with an empty version.", ""]
    new_ids = new.ids or []
    old_ids = prev.ids or []
    old_set, new_set = set(old_ids), set(new_ids)
    added = [rid for rid in dict.fromkeys(new_ids) if rid not in old_set]
    removed = [rid for rid in dict.fromkeys(old_ids) if rid not in new_set]
    kept = len(new_set & old_set)
    lines += [
        f"{new.records} records: {len(added)} added, {len(removed)} removed, {kept} kept from v{p}.",
        "",
        f"| | v{p} | v{version} | change |",
        "|---|---:|---:|---:|",
        *_count_rows(prev, new),
        "",
    ]
    prev_manifest = previous.manifest
    lines += ["## Parents", ""]
    lines += _parent_lines(prev_manifest.parents if prev_manifest else None, parents)
    lines += ["", "## Filters", ""]
    new_chain = chain_text(manifest.filters)
    old_chain = chain_text(prev_manifest.filters) if prev_manifest else "(unknown)"
    lines += [f"- unchanged: {new_chain}"] if new_chain == old_chain else [
        f"- v{p}: {old_chain}", f"- v{version}: {new_chain}"]
    lines += ["", "## Records", ""]
    lines += _id_section("Added", added)
    lines += _id_section("Removed", removed)
    return "\n".join(lines).rstrip("\n") + "\n"


_TEACHER_ROW = re.compile(r"^(\| teacher: `)(.*?)(` \|)", re.MULTILINE)


def public_changelog(text: str) -> str:
    """The changelog as an export publishes it: teacher rows named as ``dataset.naming``
    names teachers. A version's ``CHANGELOG.md`` is hashed into its manifest and never
    rewritten, and one written before teacher keys were named lists a replay by its path on
    the collecting machine; its export must not publish that. Text written since comes back
    unchanged, byte for byte."""
    return _TEACHER_ROW.sub(lambda m: m.group(1) + teacher_key_name(m.group(2)) + m.group(3), text)


def previous_version(versions: Iterable[int], version: int) -> int | None:
    """The highest existing version below ``version`` (what the changelog compares with)."""
    earlier = [v for v in versions if v < version]
    return max(earlier) if earlier else None


def write_changelog(directory: Path, text: str) -> FileDigest:
    """Write ``CHANGELOG.md`` read-only into a version being built; return its digest.

    An existing one (left by a lost race for the version number) is replaced: the text names
    the version, so it is rewritten for every number tried.
    """
    path = Path(directory) / CHANGELOG_FILE
    data = text.encode("utf-8")
    try:
        if path.exists():
            path.unlink()
        with open(path, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.chmod(path, 0o444)
    except OSError as exc:  # disk full, quota, read-only: the caller removes the unfinished version
        raise StorageError(
            f"{path}: cannot write ({exc.strerror or exc}); no new version was published and "
            "the existing ones are intact: free space or check --out"
        ) from None
    return FileDigest(path=CHANGELOG_FILE, sha256=hashlib.sha256(data).hexdigest(), bytes=len(data))
