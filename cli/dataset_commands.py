"""``trajkit verify | export | publish | show``: what happens to a dataset version after ``filter``.

Registered onto the main app by :func:`register` (``cli/app.py`` calls it), so these commands
share its conventions: user errors are one line with exit code 2 (through ``app._guard``), and
heavy imports (pyarrow, huggingface_hub) happen only when a command runs. ``verify`` adds one
code: 1 means "the version drifted", with every problem listed, so scripts can tell damage from
a typo.
"""

from __future__ import annotations

import json
from pathlib import Path
from types import ModuleType
from typing import Annotated

import typer
from rich.markup import escape

EXIT_DRIFT = 1


def _ui() -> ModuleType:
    """``trajkit.cli.app`` (for ``_guard``, ``out``, ``err``), imported late: it imports this module."""
    from trajkit.cli import app as cli_app

    return cli_app


def _versions_to_verify(path: Path) -> list[Path]:
    """A version dir (even a damaged one) → itself; a dataset dir → all its versions."""
    from trajkit.dataset.version import DATA_FILE, MANIFEST_FILE, list_versions
    from trajkit.schemas.errors import DataError

    if path.is_dir() and ((path / MANIFEST_FILE).exists() or (path / DATA_FILE).exists()):
        return [path]
    versions = list_versions(path)
    if versions:
        return [path / f"v{n}" for n in versions]
    if not path.exists():
        raise DataError(f"{path}: no such dataset version")
    raise DataError(f"{path}: not a dataset version (expected OUT/datasets/NAME/vN)")


def verify_cmd(
    path: Annotated[Path, typer.Argument(help="A dataset version OUT/datasets/NAME/vN (a NAME dir: all versions).")],
    rebuild: Annotated[bool, typer.Option("--rebuild", help="Also re-run the manifest's chain over its parents and compare bytes.")] = False,
    inputs: Annotated[list[Path] | None, typer.Option("--input", help="With --rebuild: relocated parents, in manifest order (repeatable).")] = None,
) -> None:
    """Check hashes, counts and lineage of a dataset version; exit 1 listing any drift."""
    from trajkit.dataset.verify import rebuild_problems, verify_version
    from trajkit.dataset.version import read_manifest
    from trajkit.schemas.errors import ConfigError

    ui = _ui()

    def body() -> int:
        if inputs and not rebuild:
            raise ConfigError("--input: only with --rebuild")
        drifted = 0
        for version_dir in _versions_to_verify(path):
            problems = verify_version(version_dir)
            if rebuild and not problems:
                problems = rebuild_problems(version_dir, inputs or None)
            if problems:
                drifted += 1
                ui.out.print(f"[bold red]drift[/] {escape(str(version_dir))}: {len(problems)} problem(s)",
                             highlight=False, soft_wrap=True)
                for problem in problems:
                    ui.out.print(f"  - {escape(problem)}", highlight=False, soft_wrap=True)
                continue
            m = read_manifest(version_dir)
            checked = len(m.files) if m.files is not None else 1
            extra = f"; rebuilt from {len(m.inputs)} parent(s): identical bytes" if rebuild else ""
            ui.out.print(
                f"[bold green]ok[/] {escape(str(version_dir))}: {m.records} records, "
                f"sha256 {m.data_sha256[:12]}…, {checked} file(s) checked{extra}",
                highlight=False, soft_wrap=True,
            )
        return drifted

    if ui._guard(body):
        raise typer.Exit(EXIT_DRIFT)


def export_cmd(
    path: Annotated[Path, typer.Argument(help="A dataset version OUT/datasets/NAME/vN (a NAME dir: its latest).")],
    format_: Annotated[str, typer.Option("--format", help="openai, sharegpt, codeact or hf.")],
    to: Annotated[Path, typer.Option("--to", help="Output file (hf: output folder).")],
    force: Annotated[bool, typer.Option("--force", help="Replace an existing --to.")] = False,
    weights: Annotated[bool, typer.Option("--weights", help="openai: add weight 1 to every assistant message.")] = False,
    mask_failed: Annotated[bool, typer.Option("--mask-failed", help="openai: weight 0 on assistant turns whose action failed (implies --weights).")] = False,
    license_: Annotated[str, typer.Option("--license", help="hf: license id for the dataset card.")] = "other",
    max_shard_mb: Annotated[int | None, typer.Option("--max-shard-mb", min=1, help="hf: cut Parquet shards at about this many MB of rows.")] = None,
) -> None:
    """Write a dataset version as a fine-tuning file or a Hugging Face dataset folder."""
    from trajkit.dataset.export_version import export_version

    ui = _ui()

    def body() -> None:
        result = export_version(
            path, format_, to, force=force, weights=weights, mask_failed=mask_failed,
            license=license_, max_shard_bytes=max_shard_mb * 1024 * 1024 if max_shard_mb else None,
        )
        m = result.manifest
        skipped = ""
        if result.skipped:
            reasons = ", ".join(f"{k} {n}" for k, n in result.skipped.items())
            skipped = f"; skipped {sum(result.skipped.values())} record(s) ({reasons})"
        shards = sum(f.endswith(".parquet") for f in result.files)
        what = f"{shards} Parquet shard(s) + README.md" if result.format == "hf" else result.format
        ui.out.print(
            f"wrote {escape(str(result.path))}: {result.rows} rows of {m.name} v{m.version} ({what}){skipped}",
            highlight=False, soft_wrap=True,
        )

    ui._guard(body)


def publish_cmd(
    path: Annotated[Path, typer.Argument(help="A dataset version OUT/datasets/NAME/vN.")],
    repo_id: Annotated[str, typer.Option("--repo-id", help="Hugging Face dataset repo ORG/NAME.")],
    private: Annotated[bool, typer.Option("--private", help="Create the repo private (if it does not exist).")] = False,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="List what would be uploaded; no token or network needed.")] = False,
    license_: Annotated[str, typer.Option("--license", help="License id for the dataset card.")] = "other",
) -> None:
    """Upload the hf export as one commit tagged vN (token: HF_TOKEN; endpoint: HF_ENDPOINT)."""
    from trajkit.dataset.publish import publish_version

    ui = _ui()

    def body() -> None:
        result = publish_version(path, repo_id, private=private, dry_run=dry_run, license=license_)
        m = result.manifest
        where = f"{result.repo_id}@{result.tag}"
        if result.dry_run:
            ui.out.print(f"dry run: would publish {m.name} v{m.version} to {where} "
                         f"(commit {result.commit_message!r}):", highlight=False, soft_wrap=True)
            for f in result.files:
                ui.out.print(f"  {f.path}  {f.size:,} bytes  sha256 {f.sha256[:12]}…", highlight=False)
        elif result.already:
            ui.out.print(f"{where} already holds {m.name} v{m.version} (commit {result.commit}); nothing uploaded",
                         highlight=False, soft_wrap=True)
        else:
            how = "committed" if result.committed else "main already held these files; tagged"
            deleted = f", removed {len(result.deleted)} stale shard(s)" if result.deleted else ""
            ui.out.print(f"published {m.name} v{m.version} to {where}: {len(result.files)} file(s) {how} "
                         f"(commit {result.commit}){deleted}", highlight=False, soft_wrap=True)

    ui._guard(body)


def show_cmd(
    ident: Annotated[str, typer.Argument(metavar="ID", help="Trajectory id or task id.")],
    in_: Annotated[Path, typer.Option("--in", help="Run dir, dataset version, JSONL file or output root.")] = Path("out"),
    system: Annotated[bool, typer.Option("--system", help="Also print the system prompt.")] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print the record as JSON instead.")] = False,
) -> None:
    """Render one trajectory: code highlighted, failed observations in red, verdict and usage."""
    from trajkit.dataset.show import find_trajectory, render_trajectory

    ui = _ui()

    def body() -> None:
        found = find_trajectory(ident, in_)
        if as_json:
            print(json.dumps(found.trajectory.model_dump(mode="json"), indent=2, ensure_ascii=False))
        else:
            render_trajectory(found.trajectory, ui.out, system=system)
        note = f"found in {found.path}:{found.lineno}"
        if found.others:
            note += f"; also matching in that file: {', '.join(found.others)}"
        ui.err.print(escape(note), highlight=False, soft_wrap=True)

    ui._guard(body)


def register(app: typer.Typer) -> None:
    """Add ``verify``, ``export``, ``publish`` and ``show`` to the main ``trajkit`` app."""
    app.command("verify")(verify_cmd)
    app.command("export")(export_cmd)
    app.command("publish")(publish_cmd)
    app.command("show")(show_cmd)
