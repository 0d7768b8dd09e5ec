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
from rich.markup import escape

from trajkit.cli.outcome import EXIT_INTERRUPTED
from trajkit.schemas.errors import ConfigError, UserError

app = typer.Typer(
    add_completion=False,
    no_args_is_help=True,
    help="Build CodeAct agent-training datasets from benchmark tasks and teacher LLMs.",
)
err = Console(stderr=True)
out = Console()

T = TypeVar("T")


def _guard(fn: Callable[[], T]) -> T:
    """Run a command body, turning user errors into one line + exit 2, Ctrl-C into 130."""
    try:
        return fn()
    except UserError as exc:
        err.print(f"[bold red]error:[/] {escape(str(exc))}", highlight=False, soft_wrap=True)
        stop = typer.Exit(exc.exit_code)
        stop.trajkit_error = str(exc)  # type: ignore[attr-defined]  # for --summary-json
        raise stop from None
    except KeyboardInterrupt:
        err.print("interrupted: finished trajectories are saved; re-run the same command to resume")
        stop = typer.Exit(EXIT_INTERRUPTED)
        stop.trajkit_error = "interrupted"  # type: ignore[attr-defined]
        raise stop from None


def _flag_error(exc: ValidationError, flags: dict[str, str]) -> ConfigError:
    first = exc.errors()[0]
    field = str(first["loc"][-1]) if first["loc"] else ""
    flag = flags.get(field, f"--{field.replace('_', '-')}")
    return ConfigError(f"{flag}: {first['msg']}")


@app.command()
def collect(
    ctx: typer.Context = None,  # type: ignore[assignment]  # None when called from Python (demo)
    source: Annotated[str | None, typer.Argument(help="Benchmark source, e.g. math (or give --config).")] = None,
    teacher: Annotated[str | None, typer.Option(help="PROVIDER:MODEL: openai:gpt-4o-mini, anthropic:MODEL, replay:PATH.")] = None,
    config_file: Annotated[Path | None, typer.Option("--config", metavar="JOB.toml", help="Collect the collect tables of a job file (see trajkit run); flags given here override the file.")] = None,
    estimate: Annotated[bool, typer.Option("--estimate", help="Print estimated tokens and cost of the pending episodes; call no teacher.")] = False,
    summary_json: Annotated[Path | None, typer.Option(metavar="PATH", help="Write a machine-readable summary (status, exit code, counts, cost) here.")] = None,
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
    sandbox: Annotated[str, typer.Option(help="Sandbox backend: local or docker.")] = "local",
    pool: Annotated[int, typer.Option(min=0, help="Docker: containers kept started ahead (warm pool).")] = 0,
    sandbox_opt: Annotated[list[str] | None, typer.Option(help="Sandbox limit KEY=VALUE (repeatable), e.g. cpus=2, image=TAG, max_processes=128.")] = None,
    no_isolation: Annotated[bool, typer.Option("--no-isolation", help="UNSAFE: run teacher code without namespaces.")] = False,
    temperature: Annotated[float, typer.Option(help="Teacher sampling temperature.")] = 0.0,
    max_tokens: Annotated[int, typer.Option(min=1, help="Teacher max output tokens per turn.")] = 1024,
    observation_chars: Annotated[int, typer.Option(min=100)] = 2000,
    memory_mb: Annotated[int, typer.Option(min=64, help="Sandbox address-space limit.")] = 2048,
    no_cache: Annotated[bool, typer.Option("--no-cache", help="Always call the teacher, even for a request answered before.")] = False,
    max_cost: Annotated[float | None, typer.Option(help="USD budget for the whole run; exit 3 when reached (resumable).")] = None,
    price: Annotated[list[str] | None, typer.Option(help="MODEL=IN,OUT USD per million tokens (repeatable; overrides the table).")] = None,
    outage_streak: Annotated[int, typer.Option(min=1, help="Stop (exit 4, resumable) after this many episodes in a row fail on the teacher.")] = 8,
    no_adaptive: Annotated[bool, typer.Option("--no-adaptive", help="Keep --concurrency teacher calls in flight even on sustained 429s.")] = False,
    mode: Annotated[str, typer.Option(help="sync, or batch: each turn of all live episodes as one provider batch (half price, slower; resumable).")] = "sync",
    batch_poll: Annotated[float, typer.Option(help="Batch mode: seconds before the first poll (backs off to 10x).")] = 30.0,
    batch_window: Annotated[float, typer.Option(help="Batch mode: send a batch at most this many seconds after its first request.")] = 60.0,
    executor: Annotated[str, typer.Option(help="local (this process) or ray (episodes on Ray workers; needs the ray extra of trajkit).")] = "local",
    ray_address: Annotated[str | None, typer.Option(help="--executor ray: join this cluster (HOST:PORT, auto, ray://HOST:PORT) instead of starting a local Ray.")] = None,
    ray_workers: Annotated[int | None, typer.Option(min=1, help="--executor ray: episode worker processes (default: the cluster's CPUs; a local Ray gets this many CPUs).")] = None,
) -> None:
    """Run teachers on a source's tasks; write OUT/runs/RUN/{trajectories.jsonl, run.json}."""
    if config_file is not None:
        from trajkit.cli.job_commands import collect_from_job

        collect_from_job(ctx, collect, config_file, estimate=estimate, summary_json=summary_json)
        return
    from trajkit.cli.sandbox_commands import sandbox_options
    from trajkit.collect.config import CollectConfig, default_run_name
    from trajkit.collect.loop import LoopConfig
    from trajkit.collect.pricing import parse_price
    from trajkit.collect.runner import collect as run_collect
    from trajkit.sources.base import LoadOptions

    def body() -> Any:
        if not source or not teacher:
            raise ConfigError("give a SOURCE and --teacher (or --config JOB.toml)")
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
                max_cost=max_cost,
                prices=dict(parse_price(p) for p in price or []),
                outage_streak=outage_streak, adaptive=not no_adaptive,
                mode=mode, batch_poll_s=batch_poll, batch_window_s=batch_window,
                executor=executor, ray_address=ray_address, ray_workers=ray_workers,
                run=run or default_run_name(source),
                concurrency=concurrency,
                sandbox=sandbox,
                sandbox_config=sandbox_options(
                    sandbox_opt or [], isolation=not no_isolation, memory_mb=memory_mb, pool=pool
                ),
                loop=LoopConfig(
                    max_turns=max_turns, max_solutions=max_solutions,
                    exec_timeout=exec_timeout, observation_chars=observation_chars,
                ),
            )
        except ValidationError as exc:
            raise _flag_error(exc, {"batch_poll_s": "--batch-poll", "batch_window_s": "--batch-window"}) from None
        if estimate:
            return _print_estimate(config)
        if no_isolation:
            err.print("[bold yellow]warning:[/] --no-isolation: teacher code can reach the network and your files")
        run_dirs.append(config.run_dir)
        result = asyncio.run(run_collect(config, err))
        _report_run(result, config.run_dir)
        return result

    run_dirs: list[Path] = []
    result = _guard_summary(body, "collect", summary_json, run_dirs)
    if result is not None and not estimate:
        _exit_for_run(result.manifest)


def _print_estimate(config: Any) -> None:
    from trajkit.collect.estimate import estimate_run

    est = estimate_run(config)
    cost = f"${est.cost_usd:,.2f}" if est.cost_usd is not None else "unknown (no list price: give --price)"
    out.print(
        f"estimate for {config.run} ({config.teacher}): {est.pending} of {est.tasks} task(s) pending, "
        f"~{est.turns:.1f} turns each; input ~{est.input_tokens:,} tokens, output ~{est.output_tokens:,} "
        f"tokens; cost {cost}. Basis: {est.basis}; prompts counted with {est.tokenizer}.",
        highlight=False, soft_wrap=True,
    )


def _exit_for_run(manifest: Any) -> None:
    """Say why a run that finished is not plainly done, and exit with its documented code."""
    from trajkit.cli.outcome import EXIT_BUDGET, EXIT_PARTIAL, run_exit_code

    code = run_exit_code(manifest)
    if code == EXIT_BUDGET:
        err.print(f"budget reached: {manifest.status_detail}", highlight=False)
    elif code == EXIT_PARTIAL:
        err.print("partial: some episodes ended on teacher/sandbox/judge errors (see terminations)")
    if code:
        raise typer.Exit(code)


def _guard_summary(
    body: Callable[[], T], command: str, summary_json: Path | None, run_dirs: list[Path]
) -> T:
    """``_guard`` that also writes the ``--summary-json`` file, whatever the outcome."""
    if summary_json is None:
        return _guard(body)
    from trajkit.cli.outcome import Summary, run_exit_code

    summary = Summary(command=command)
    try:
        result = _guard(body)
    except typer.Exit as exc:
        summary.finish(exc.exit_code, getattr(exc, "trajkit_error", None))
        raise
    else:
        manifest = getattr(result, "manifest", None)
        if manifest is not None:
            summary.finish(run_exit_code(manifest))
        return result
    finally:
        for run_dir in run_dirs:
            summary.add_run(run_dir)
        summary.write(summary_json)


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


DEMO_SOURCES = ("math", "hotpotqa", "apps", "webshop", "alfworld")


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
        module = importlib.import_module(f"trajkit.sources.{source}")
        missing = getattr(module, "demo_unavailable", lambda: None)()  # e.g. an extra not installed
        if missing:
            err.print(f"demo: skipping {source}: {missing}", highlight=False, soft_wrap=True)
            continue
        replay = module.DEMO_REPLAY
        collect(
            source=source, teacher=f"replay:{replay}", out_dir=out_dir, run=f"demo-{source}",
            concurrency=4, no_isolation=no_isolation, data=None, hf=None, hf_config=None,
            split=None, level=None, type_=None, difficulty=None, source_opt=None, limit=None,
            seed=0, max_turns=5, max_solutions=2, exec_timeout=10.0, sandbox="local",
            temperature=0.0, max_tokens=1024, observation_chars=2000, memory_mb=2048,
            no_cache=False, max_cost=None, price=None,
        )
        runs.append(out_dir / "runs" / f"demo-{source}")

    def body() -> None:
        result = filter_runs(runs, "demo", out_dir, [], False, table=False)
        render_stats(compute_stats(result.path), out)
        out.print(f"dataset: {result.path}")
        from trajkit.view.site import build_site

        index = build_site(result.path).index  # OUT/reports/demo-vN
        out.print(f"report: {index}", highlight=False, soft_wrap=True)

    _guard(body)


from trajkit.cli.filter_command import filter_runs  # noqa: E402
from trajkit.cli.filter_command import register as _register_filter_command  # noqa: E402

_register_filter_command(app)

from trajkit.cli.dataset_commands import register as _register_dataset_commands  # noqa: E402

_register_dataset_commands(app)

from trajkit.cli.view_command import register as _register_view_command  # noqa: E402

_register_view_command(app)

from trajkit.cli.job_commands import register as _register_job_commands  # noqa: E402

_register_job_commands(app)
from trajkit.cli.sandbox_commands import register as _register_sandbox_commands  # noqa: E402

_register_sandbox_commands(app)


def main() -> None:
    """Console-script entry point."""
    try:
        app()
    except BrokenPipeError:  # e.g. `trajkit schema | head`
        sys.exit(0)
