"""``trajkit.filter | export | publish | verify | stats``: what happens to runs and versions.

Each takes its command's flags as keywords, validated by the command's options model
(``trajkit.dataset.options``), and returns a value instead of printing: a ``DatasetVersion``,
an ``ExportResult``, a ``PublishResult``, ``VersionCheck``s, ``Stats``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from trajkit.core.errors import ConfigError, DataError
from trajkit.dataset.export_version import ExportResult, export_version
from trajkit.dataset.options import (
    ExportOptions,
    FilterOptions,
    PublishOptions,
    StatsOptions,
    VerifyOptions,
    occurrence_order,
)
from trajkit.dataset.publish import PublishResult, publish_version
from trajkit.dataset.stats import Stats, compute_stats
from trajkit.dataset.verify import rebuild_problems, verify_version
from trajkit.dataset.version import (
    DATA_FILE,
    MANIFEST_FILE,
    DatasetVersion,
    build_version,
    list_versions,
    read_manifest,
)
from trajkit.filters.flags import CHAIN_OPTIONS
from trajkit.schemas import DatasetManifest

PathLike = str | Path


def filter_options(runs: Sequence[PathLike] | PathLike, *, dataset: str, **options: Any) -> FilterOptions:
    """``FilterOptions`` for a Python call: chain options apply in keyword order, as flags do."""
    built: FilterOptions = FilterOptions.build(runs=runs, dataset=dataset, **options)
    if not built.order:
        built.order = [
            name for key in options if key in CHAIN_OPTIONS
            for name in occurrence_order(built, [key])
        ]
    return built


def filter(runs: Sequence[PathLike] | PathLike, *, dataset: str, **options: Any) -> DatasetVersion:
    """Filter runs (or versions, or trajectories files) into a new version of ``dataset``.

    Keywords are ``trajkit filter``'s flags: ``out=``, ``keep=``, ``preset=``, ``dedup=``,
    ``min_turns=``, ..., ``config=`` (a chain TOML), ``dry_run=``; chain options apply in the
    order given, as on the command line. ``chain=`` takes filter units (or a ``FilterChain``)
    instead; each must be registered so the manifest can rebuild it. An identical existing
    version is returned (``existed=True``) instead of a copy being written.
    """
    opts = filter_options(runs, dataset=dataset, **options)
    return build_version(opts.runs, opts.dataset, opts.out, opts.build_chain(), dry_run=opts.dry_run)


def export(version: PathLike, *, format: str, to: PathLike, **options: Any) -> ExportResult:
    """Write a version (a ``vN`` dir; a dataset dir → its latest) as ``format`` to ``to``.

    Keywords are ``trajkit export``'s flags: ``force=``, ``weights=``, ``mask_failed=``,
    ``license=``, ``max_shard_mb=``, ``keep_demonstration=``.
    """
    opts: ExportOptions = ExportOptions.build(path=version, format=format, to=to, **options)
    return export_version(
        opts.path, opts.format, opts.to, force=opts.force, weights=opts.weights,
        mask_failed=opts.mask_failed, license=opts.license,
        max_shard_bytes=opts.max_shard_mb * 1024 * 1024 if opts.max_shard_mb else None,
        keep_demonstration=opts.keep_demonstration,
    )


def publish(version: PathLike, *, repo_id: str, **options: Any) -> PublishResult:
    """Upload a version's hf export to the Hub as one commit tagged ``vN`` (``HF_TOKEN``).

    Keywords are ``trajkit publish``'s flags: ``private=``, ``dry_run=``, ``license=``.
    """
    opts: PublishOptions = PublishOptions.build(path=version, repo_id=repo_id, **options)
    return publish_version(
        opts.path, opts.repo_id, private=opts.private, dry_run=opts.dry_run, license=opts.license
    )


@dataclass
class VersionCheck:
    """What ``verify`` found for one version: ``ok`` when ``problems`` is empty."""

    path: Path
    problems: list[str]
    manifest: DatasetManifest | None = None
    rebuilt: bool = False
    files: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems


def _versions_to_verify(path: Path) -> list[Path]:
    """A version dir (even a damaged one) → itself; a dataset dir → all its versions."""
    if path.is_dir() and ((path / MANIFEST_FILE).exists() or (path / DATA_FILE).exists()):
        return [path]
    versions = list_versions(path)
    if versions:
        return [path / f"v{n}" for n in versions]
    if not path.exists():
        raise DataError(f"{path}: no such dataset version")
    raise DataError(f"{path}: not a dataset version (expected OUT/datasets/NAME/vN)")


def verify(version: PathLike, **options: Any) -> list[VersionCheck]:
    """Check hashes, counts and lineage of a version (a dataset dir: each of its versions).

    ``rebuild=True`` also re-runs the manifest's chain over its parents and compares bytes;
    ``input=[...]`` gives the parents' places for that: every parent in manifest order, or only
    those the manifest cannot locate (it names parents outside the output root by file only).
    """
    opts: VerifyOptions = VerifyOptions.build(path=version, **options)
    if opts.input and not opts.rebuild:
        raise ConfigError("--input: only with --rebuild")
    checks = []
    for version_dir in _versions_to_verify(opts.path):
        problems = verify_version(version_dir)
        if opts.rebuild and not problems:
            problems = rebuild_problems(version_dir, opts.input or None)
        check = VersionCheck(version_dir, problems, rebuilt=opts.rebuild and not problems)
        if not problems:
            check.manifest = read_manifest(version_dir)
        checks.append(check)
    return checks


def stats(path: PathLike) -> Stats:
    """Counts, success and self-correction rates, turns and tokens of a version, run or file."""
    opts: StatsOptions = StatsOptions.build(path=path)
    return compute_stats(opts.path)
