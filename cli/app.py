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
from typer.core import TyperCommand

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
    config_file: Annotated[Path | None, typer.Option("--config", metavar="JOB.toml", help="Collect the [[collect]] tables of a job file; flags given here override the file.")] = None,
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
    executor: Annotated[str, typer.Option(help="local (this process) or ray (episodes on Ray workers; pip install 'trajkit[ray]').")] = "local",
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


def _filter_runs(
    runs: list[Path], dataset: str, out_dir: Path, keep: list[str], dry_run: bool, table: bool = True,
    chain: Any = None,
) -> Any:
    from trajkit.dataset.stats import render_filter_table
    from trajkit.dataset.version import build_version
    from trajkit.filters.presets import build_chain

    chain = chain if chain is not None else build_chain(keep)
    result = build_version(runs, dataset, out_dir, chain, dry_run=dry_run)
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


class _OrderedCommand(TyperCommand):
    """Records the order in which options occurred (one entry per occurrence) in ``ctx.meta``,
    and reports click's own usage errors (unknown option, missing value) as one line, exit 2,
    like every other bad flag of ``trajkit filter``.

    Click keeps each option's values but not how different options interleave, and for
    ``trajkit filter`` that interleaving is the chain order. Click's parser already returns
    the occurrence order to ``Command.parse_args``; this keeps a copy.
    """

    def parse_args(self, ctx: typer.Context, args: list[str]) -> list[str]:
        try:
            return super().parse_args(ctx, args)
        except typer.TyperException as exc:  # typer's (vendored) click UsageError family
            if getattr(exc, "exit_code", None) != 2 or type(exc).__name__ == "NoArgsIsHelpError":
                raise
            message = " ".join(exc.format_message().split())  # type: ignore[attr-defined]
            err.print(f"[bold red]error:[/] {message}", highlight=False, soft_wrap=True)
            raise typer.Exit(2) from None

    def make_parser(self, ctx: typer.Context) -> Any:
        parser = super().make_parser(ctx)
        parse = parser.parse_args

        def parse_args(args: list[str]) -> Any:
            opts, largs, order = parse(args)
            ctx.meta[_ORDER_KEY] = [p.name for p in order if p.name]
            return opts, largs, order

        parser.parse_args = parse_args
        return parser


_ORDER_KEY = "trajkit.option_order"
_CHAIN_HELP = "Chain (units apply in the order the flags are given)"


@app.command("filter", cls=_OrderedCommand)
def filter_(
    ctx: typer.Context,
    runs: Annotated[list[Path], typer.Argument(help="Run directories (or trajectories.jsonl files).")],
    dataset: Annotated[str, typer.Option(help="Dataset name: writes OUT/datasets/NAME/vN.")],
    out_dir: Annotated[Path, typer.Option("--out", help="Output root.")] = Path("out"),
    keep: Annotated[list[str] | None, typer.Option(help="success, self-correct, or all (no keep filter). Without --keep/--preset the default preset comes first.", rich_help_panel=_CHAIN_HELP)] = None,
    preset: Annotated[list[str] | None, typer.Option(help="default (success + self-correct) or paper (CodeAct's: success, >2 turns, paper-heuristics).", rich_help_panel=_CHAIN_HELP)] = None,
    dedup: Annotated[list[str] | None, typer.Option(help="exact | near | near:THRESHOLD (default 0.85); keeps the best copy: successful, fewest turns, earliest.", rich_help_panel=_CHAIN_HELP)] = None,
    min_turns: Annotated[str | None, typer.Option(metavar="N", help="Drop trajectories with fewer assistant turns.", rich_help_panel=_CHAIN_HELP)] = None,
    max_turns: Annotated[str | None, typer.Option(metavar="N", help="Drop trajectories with more assistant turns.", rich_help_panel=_CHAIN_HELP)] = None,
    min_tokens: Annotated[str | None, typer.Option(metavar="N", help="Drop trajectories with fewer tokens (all message contents).", rich_help_panel=_CHAIN_HELP)] = None,
    max_tokens: Annotated[str | None, typer.Option(metavar="N", help="Drop trajectories with more tokens, e.g. 8192.", rich_help_panel=_CHAIN_HELP)] = None,
    tokenizer: Annotated[str | None, typer.Option(metavar="NAME", help="For --min/--max-tokens: o200k_base (default; tiktoken, needs its cached BPE file), another tiktoken encoding, hf:PATH_OR_NAME, chars4 or whitespace (offline approximations).", rich_help_panel=_CHAIN_HELP)] = None,
    no_secrets: Annotated[bool, typer.Option("--no-secrets", help="Drop trajectories holding anything shaped like an API key, token or private key.", rich_help_panel=_CHAIN_HELP)] = False,
    valid_format: Annotated[bool, typer.Option("--valid-format", help="Drop conversations that break the CodeAct format (every turn an action, ends on the answer).", rich_help_panel=_CHAIN_HELP)] = False,
    decontaminate: Annotated[list[Path] | None, typer.Option(metavar="PATH", help="Evaluation set (txt, JSON, JSONL; repeatable): drop trajectories sharing an n-gram with it.", rich_help_panel=_CHAIN_HELP)] = None,
    ngram: Annotated[str | None, typer.Option(metavar="N", help="For --decontaminate: n-gram length in words (default 13).", rich_help_panel=_CHAIN_HELP)] = None,
    decontaminate_field: Annotated[str | None, typer.Option(metavar="KEY", help="For --decontaminate JSON/JSONL: the key holding the text (default: problem, question, prompt or text).", rich_help_panel=_CHAIN_HELP)] = None,
    balance: Annotated[list[str] | None, typer.Option(metavar="SPEC", help="source=CAP|FRACTION, source:GROUP=..., source+level=..., seed=N (repeatable or comma-separated).", rich_help_panel=_CHAIN_HELP)] = None,
    config: Annotated[Path | None, typer.Option(metavar="TOML", help="Chain from a file of [[filter]] tables (name + params), instead of chain flags.", rich_help_panel=_CHAIN_HELP)] = None,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Print the per-filter table without writing.")] = False,
) -> None:
    """Filter runs into a new immutable dataset version (or report the identical existing one)."""
    from trajkit.filters.flags import ChainFlags, chain_from_flags

    order = ctx.meta.get(_ORDER_KEY)
    if order is None:  # never silently drop the user's flags if click's parser changes
        raise RuntimeError("trajkit filter: click did not report the option order")
    flags = ChainFlags(
        order=list(order), keep=keep or [], preset=preset or [],
        dedup=dedup or [], min_turns=min_turns, max_turns=max_turns, min_tokens=min_tokens,
        max_tokens=max_tokens, tokenizer=tokenizer, no_secrets=no_secrets,
        valid_format=valid_format, decontaminate=decontaminate or [], ngram=ngram,
        decontaminate_field=decontaminate_field, balance=balance or [],
    )

    def body() -> Any:
        if config is not None:
            from trajkit.filters.config import chain_from_toml

            if flags.any_chain_flag() or tokenizer or ngram or decontaminate_field:
                raise ConfigError("--config: cannot be combined with chain flags (put every unit in the file)")
            chain = chain_from_toml(config)
        else:
            chain = chain_from_flags(flags)
        return _filter_runs(runs, dataset, out_dir, [], dry_run, chain=chain)

    _guard(body)


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
        result = _filter_runs(runs, "demo", out_dir, [], False, table=False)
        render_stats(compute_stats(result.path), out)
        out.print(f"dataset: {result.path}")
        from trajkit.view.site import build_site

        index = build_site(result.path).index  # OUT/reports/demo-vN
        out.print(f"report: {index}", highlight=False, soft_wrap=True)

    _guard(body)


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
