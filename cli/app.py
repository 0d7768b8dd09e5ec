"""``trajkit``: collect, filter, stats, schema, demo.

Errors users cause (bad flags, bad data, missing keys, no isolation) are ``UserError``s,
caught once here and printed as one line with exit code 2; data already written stays.
"""

from __future__ import annotations

import asyncio
import json
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any, TypeVar

import typer
from pydantic import ValidationError
from rich.console import Console

from trajkit.schemas.errors import ConfigError, UserError

app = typer.Typer(
    add_completion=False,
    no_args_is_help=True,
    help="Build CodeAct agent-training datasets from benchmark tasks and teacher LLMs.",
)
err = Console(stderr=True)
out = Console()

T = TypeVar("T")
EXIT_INTERRUPTED = 130


def _guard(fn: Callable[[], T]) -> T:
    """Run a command body, turning user errors into one line + exit 2, Ctrl-C into 130."""
    try:
        return fn()
    except UserError as exc:
        err.print(f"[bold red]error:[/] {exc}", highlight=False, soft_wrap=True)
        raise typer.Exit(exc.exit_code) from None
    except KeyboardInterrupt:
        err.print("interrupted: finished trajectories are saved; re-run the same command to resume")
        raise typer.Exit(EXIT_INTERRUPTED) from None


def _flag_error(exc: ValidationError, flags: dict[str, str]) -> ConfigError:
    first = exc.errors()[0]
    field = str(first["loc"][-1]) if first["loc"] else ""
    flag = flags.get(field, f"--{field.replace('_', '-')}")
    return ConfigError(f"{flag}: {first['msg']}")


@app.command()
def collect(
    source: Annotated[str, typer.Argument(help="Benchmark source, e.g. math.")],
    teacher: Annotated[str, typer.Option(help="PROVIDER:MODEL: openai:gpt-4o-mini, anthropic:MODEL, replay:PATH.")],
    data: Annotated[str | None, typer.Option(help="Local data file or directory in the source's format.")] = None,
    hf: Annotated[str | None, typer.Option(help="Hugging Face dataset id, e.g. HuggingFaceH4/MATH-500.")] = None,
    hf_config: Annotated[str | None, typer.Option(help="Hugging Face dataset config.")] = None,
    split: Annotated[str | None, typer.Option(help="Dataset split.")] = None,
    level: Annotated[list[str] | None, typer.Option(help="Keep only these levels (repeatable).")] = None,
    type_: Annotated[list[str] | None, typer.Option("--type", help="Keep only these types (repeatable).")] = None,
    difficulty: Annotated[list[str] | None, typer.Option(help="Keep only these difficulties (APPS; same as --level).")] = None,
    source_opt: Annotated[list[str] | None, typer.Option(help="Source-specific KEY=VALUE (repeatable), e.g. search=corpus.")] = None,
    limit: Annotated[int | None, typer.Option(min=1, help="Sample this many tasks (seeded).")] = None,
    seed: Annotated[int, typer.Option(help="Sampling seed.")] = 0,
    out_dir: Annotated[Path, typer.Option("--out", help="Output root.")] = Path("out"),
    run: Annotated[str | None, typer.Option(help="Run name; re-use it to resume.")] = None,
    max_turns: Annotated[int, typer.Option(min=1)] = 5,
    max_solutions: Annotated[int, typer.Option(min=1)] = 2,
    exec_timeout: Annotated[float, typer.Option(min=0.1, help="Seconds per code cell.")] = 10.0,
    concurrency: Annotated[int, typer.Option(min=1, help="Episodes in flight.")] = 8,
    sandbox: Annotated[str, typer.Option(help="Sandbox backend.")] = "local",
    no_isolation: Annotated[bool, typer.Option("--no-isolation", help="UNSAFE: run teacher code without namespaces.")] = False,
    temperature: Annotated[float, typer.Option(help="Teacher sampling temperature.")] = 0.0,
    max_tokens: Annotated[int, typer.Option(min=1, help="Teacher max output tokens per turn.")] = 1024,
    observation_chars: Annotated[int, typer.Option(min=100)] = 2000,
    memory_mb: Annotated[int, typer.Option(min=64, help="Sandbox address-space limit.")] = 2048,
    no_cache: Annotated[bool, typer.Option("--no-cache", help="Always call the teacher, even for a request answered before.")] = False,
) -> None:
    """Run teachers on a source's tasks; write OUT/runs/RUN/{trajectories.jsonl, run.json}."""
    from trajkit.collect.config import CollectConfig, default_run_name
    from trajkit.collect.loop import LoopConfig
    from trajkit.collect.runner import collect as run_collect
    from trajkit.collect.sandbox.config import SandboxConfig
    from trajkit.sources.base import LoadOptions

    def body() -> None:
        try:
            config = CollectConfig(
                source=source,
                source_options=_parse_source_opts(source_opt or []),
                teacher=teacher,
                teacher_params={"temperature": temperature, "max_tokens": max_tokens},
                load=LoadOptions(
                    data=data, hf=hf, hf_config=hf_config, split=split, limit=limit,
                    seed=seed, levels=[*(level or []), *(difficulty or [])], types=type_ or [],
                ),
                out=out_dir,
                cache=not no_cache,
                run=run or default_run_name(source),
                concurrency=concurrency,
                sandbox=sandbox,
                sandbox_config=SandboxConfig(isolation=not no_isolation, memory_mb=memory_mb),
                loop=LoopConfig(
                    max_turns=max_turns, max_solutions=max_solutions,
                    exec_timeout=exec_timeout, observation_chars=observation_chars,
                ),
            )
        except ValidationError as exc:
            raise _flag_error(exc, {}) from None
        if no_isolation:
            err.print("[bold yellow]warning:[/] --no-isolation: teacher code can reach the network and your files")
        result = asyncio.run(run_collect(config, err))
        _report_run(result, config.run_dir)

    _guard(body)


def _parse_source_opts(pairs: list[str]) -> dict[str, str]:
    options: dict[str, str] = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key.strip():
            raise ConfigError(f"--source-opt {pair!r}: expected KEY=VALUE")
        options[key.strip()] = value.strip()
    return options


def _report_run(result: Any, run_dir: Path) -> None:
    m = result.manifest
    c = m.counts
    if result.repaired_bytes:
        err.print(f"repaired a torn last line ({result.repaired_bytes} bytes) left by a crash")
    if result.skipped:
        err.print(f"resumed: {result.skipped} task(s) were already collected")
    rate = f"{c.succeeded / c.done:.0%}" if c.done else "-"
    out.print(
        f"{run_dir}: {c.done}/{c.total_tasks} episodes, success {rate}, "
        f"self-corrected {c.self_corrected}, tokens in/out {m.usage.input_tokens}/{m.usage.output_tokens} "
        f"({m.usage.cached_calls} of {m.usage.calls} calls from the response cache), "
        f"terminations {json.dumps(c.by_termination, sort_keys=True)}",
        highlight=False, soft_wrap=True,
    )


def _filter_runs(
    runs: list[Path], dataset: str, out_dir: Path, keep: list[str], dry_run: bool, table: bool = True
) -> Any:
    from trajkit.dataset.stats import render_filter_table
    from trajkit.dataset.version import build_version
    from trajkit.filters.presets import build_chain

    result = build_version(runs, dataset, out_dir, build_chain(keep), dry_run=dry_run)
    if table:
        render_filter_table(result.manifest, out)
    for path in result.torn:
        err.print(f"note: {path} ends in a torn line (a live or crashed run); it was left out")
    if result.duplicates:
        err.print(f"note: {result.duplicates} duplicate trajectory id(s) across inputs were skipped")
    if result.existed:
        out.print(f"{result.path} already holds this dataset (same inputs and filters); nothing written")
    elif dry_run:
        out.print(f"dry run: would write {result.path} ({result.manifest.records} records)")
    else:
        out.print(f"wrote {result.path} ({result.manifest.records} records)")
    return result


@app.command("filter")
def filter_(
    runs: Annotated[list[Path], typer.Argument(help="Run directories (or trajectories.jsonl files).")],
    dataset: Annotated[str, typer.Option(help="Dataset name: writes OUT/datasets/NAME/vN.")],
    out_dir: Annotated[Path, typer.Option("--out", help="Output root.")] = Path("out"),
    keep: Annotated[list[str] | None, typer.Option(help="Filters in order: success, self-correct, all (default: success + self-correct).")] = None,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Print the per-filter table without writing.")] = False,
) -> None:
    """Filter runs into a new immutable dataset version (or report the identical existing one)."""
    _guard(lambda: _filter_runs(runs, dataset, out_dir, keep or [], dry_run))


@app.command()
def stats(
    path: Annotated[Path, typer.Argument(help="A dataset version, run directory or JSONL file.")],
    as_json: Annotated[bool, typer.Option("--json", help="Machine-readable output.")] = False,
) -> None:
    """Counts, success and self-correction rates, turns and tokens."""
    from trajkit.dataset.stats import compute_stats, render_stats, stats_as_dict

    def body() -> None:
        result = compute_stats(path)
        if as_json:
            print(json.dumps(stats_as_dict(result), indent=2, sort_keys=True))
        else:
            render_stats(result, out)

    _guard(body)


@app.command()
def schema(
    name: Annotated[str | None, typer.Argument(help="One model (e.g. Trajectory); default all.")] = None,
    out_dir: Annotated[Path | None, typer.Option("--out", help="Write NAME.schema.json files here.")] = None,
) -> None:
    """Print (or write) the JSON Schema of every record trajkit produces."""
    from trajkit.schemas.json_schema import all_schemas

    def body() -> None:
        schemas = all_schemas()
        if name is not None:
            if name not in schemas:
                raise ConfigError(f"schema {name!r} unknown (known: {', '.join(schemas)})")
            schemas = {name: schemas[name]}
        if out_dir is None:
            print(json.dumps(schemas if name is None else schemas[name], indent=2))
            return
        out_dir.mkdir(parents=True, exist_ok=True)
        for key, value in schemas.items():
            (out_dir / f"{key}.schema.json").write_text(json.dumps(value, indent=2) + "\n")
        out.print(f"wrote {len(schemas)} schema(s) to {out_dir}")

    _guard(body)


DEMO_SOURCES = ("math", "hotpotqa", "apps")


@app.command()
def demo(
    out_dir: Annotated[Path, typer.Option("--out", help="Output root.")] = Path("out"),
    no_isolation: Annotated[bool, typer.Option("--no-isolation", help="UNSAFE: run without namespaces.")] = False,
) -> None:
    """The whole pipeline on every source's bundled sample, replaying hand-written turns (no key).

    Collects each source into OUT/runs/demo-SOURCE (resumed if present), filters all of them
    into the dataset ``demo`` and prints its stats; re-running reports the existing version.
    """
    import importlib

    from trajkit.dataset.stats import compute_stats, render_stats

    runs = []
    for source in DEMO_SOURCES:
        replay = importlib.import_module(f"trajkit.sources.{source}").DEMO_REPLAY
        collect(
            source=source, teacher=f"replay:{replay}", out_dir=out_dir, run=f"demo-{source}",
            concurrency=4, no_isolation=no_isolation, data=None, hf=None, hf_config=None,
            split=None, level=None, type_=None, difficulty=None, source_opt=None, limit=None,
            seed=0, max_turns=5, max_solutions=2, exec_timeout=10.0, sandbox="local",
            temperature=0.0, max_tokens=1024, observation_chars=2000, memory_mb=2048,
            no_cache=False,
        )
        runs.append(out_dir / "runs" / f"demo-{source}")

    def body() -> None:
        result = _filter_runs(runs, "demo", out_dir, [], False, table=False)
        render_stats(compute_stats(result.path), out)
        out.print(f"dataset: {result.path}")

    _guard(body)


def main() -> None:
    """Console-script entry point."""
    try:
        app()
    except BrokenPipeError:  # e.g. `trajkit schema | head`
        sys.exit(0)
