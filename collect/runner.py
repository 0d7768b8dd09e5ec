"""Many episodes: bounded concurrency, append-only records, resume, and ``run.json``.

A fatal error (bad key, unknown model, no isolation) stops the run with status ``failed``;
Ctrl-C stops it as ``interrupted``; ``--max-cost`` stops starting episodes once the projected
spend would pass the budget (status ``budget_reached``). Either way every finished trajectory is already on disk
and a re-run with the same ``--run`` continues from there without repeating any task.

The last line of defence: an unexpected exception out of one episode (a plugin's bug, an input
no boundary caught) ends only that episode, recorded as ``internal_error`` with the
exception's type and message, while the others run on; a poisoned task is thus recorded once
and a resume does not replay it forever. Any exception that does stop the run still leaves
``run.json`` saying ``failed`` and why, never ``running``.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

from rich.console import Console

from trajkit.collect.attempts import AttemptPlan, EpisodeKey
from trajkit.collect.budget import Budget
from trajkit.collect.config import CollectConfig
from trajkit.collect.episode_record import describe_error, error_record, utc_now
from trajkit.collect.episode_sandbox import wait_for_closing
from trajkit.collect.executors import make_executor
from trajkit.collect.lent_teachers import teacher_lender
from trajkit.collect.outcome import run_exit_code
from trajkit.collect.pricing import trajectory_cost
from trajkit.collect.progress import RunProgress
from trajkit.collect.run_store import TRAJECTORIES, RunStore
from trajkit.collect.sandbox.backend import sandbox_factory
from trajkit.collect.schedule import Schedule
from trajkit.collect.stop_signal import sigterm_interrupts, stop_on_sigterm
from trajkit.collect.teacher_outage import TeacherOutage
from trajkit.collect.teacher_setup import preload_teacher
from trajkit.collect.teachers.provider import parse_spec, provider_for
from trajkit.core.errors import ConfigError, DataError, StorageError, UserError
from trajkit.core.jsonl import iter_records
from trajkit.schemas import RunManifest, Task, TeacherInfo, Trajectory
from trajkit.sources.base import SourceRuntime, make_source

log = logging.getLogger(__name__)

MANIFEST_EVERY_S = 2.0
#: How often a stopping run cancels again a worker that has not ended (``_stop_workers``).
STOP_RECHECK_S = 0.5
Player = Callable[[Task, EpisodeKey], Awaitable[Trajectory]]


@dataclass
class RunResult:
    """A finished (or stopped) collection: where it is, how it ended, its records.

    ``status`` is ``run.json``'s (``completed``, ``budget_reached``, ...); ``counts`` are the
    episodes by termination; ``skipped`` tasks were already collected (a resume);
    ``repaired_bytes`` is the torn last line a crash left and this run cut away.
    """

    path: Path
    manifest: RunManifest
    skipped: int = 0
    repaired_bytes: int = 0

    @property
    def status(self) -> str:
        return self.manifest.status

    @property
    def counts(self) -> dict[str, int]:
        """Episodes by termination (``solved``, ``max_turns``, ``teacher_error``, ...)."""
        return dict(self.manifest.counts.by_termination)

    @property
    def budget_reached(self) -> bool:
        return self.manifest.status == "budget_reached"

    @property
    def exit_code(self) -> int:
        """The documented exit code for this outcome (``collect.outcome``): 0 done, 1 partial,
        3 budget reached, 130 interrupted."""
        return run_exit_code(self.manifest)

    def records(self) -> Iterator[Trajectory]:
        """The run's trajectories in file order, validated; a torn last line is skipped."""
        path = self.path / TRAJECTORIES
        if not path.exists():
            return
        for _, traj in iter_records(path, Trajectory, []):
            yield traj


async def collect(config: CollectConfig, console: Console | None = None) -> RunResult:
    """Run (or resume) the collection described by ``config``; SIGTERM stops it as Ctrl-C
    does (``stop_signal``)."""
    return await stop_on_sigterm(_collect(config, console or Console(stderr=True)))


async def _collect(config: CollectConfig, console: Console) -> RunResult:
    preload_teacher(config)
    source = make_source(config.source, config.source_options)
    with sigterm_interrupts():  # reading the tasks and a recording holds the loop, deaf to signals
        tasks = _playable(list(source.load(config.load)), config, console)
        factory = sandbox_factory(config.sandbox, config.sandbox_config)
        _check_teachers(config, tasks, console)
    attach = getattr(source, "attach", None)
    if attach is not None:
        attach(
            SourceRuntime(
                sandbox_factory=factory, load=config.load, make_teacher=teacher_lender(config)
            )
        )
    executor = make_executor(config, console, source=source, sandbox_factory=factory)
    prices = [config.teacher_price(stage) for stage in range(len(config.ladder))]
    unpriced = [spec for spec, price in zip(config.ladder, prices, strict=True) if price is None]
    if config.max_cost is not None and unpriced:
        raise ConfigError(
            f"--max-cost: no list price known for {unpriced[0]!r}; give one with "
            "--price MODEL=IN,OUT (USD per million tokens)"
        )
    _warn_repeated_samples(config, console)
    plan = AttemptPlan(stages=len(config.ladder), samples=config.samples, until=config.until)
    store = RunStore(
        config.run_dir, config.run, config.model_dump(mode="json"), prices[0], stage_prices=prices
    )
    bind_nodes = getattr(executor, "bind_node_tally", None)
    if bind_nodes is not None:  # --executor ray: lost and replayed episodes per node
        bind_nodes(store.nodes)
    budget = Budget(config.max_cost, spent=store.cost_usd, finished=store.counts.done)
    schedule = Schedule(plan, tasks, store.outcomes)
    try:
        try:
            skipped = sum(1 for t in tasks if schedule.settled(t) and schedule.played(t))
            store.counts.tasks_settled = schedule.settled_count()
            store.write_manifest("running", len(tasks))
            if schedule.ready:
                try:
                    await executor.start(len(schedule.ready))
                    await _run_all(config, executor.play, store, budget, schedule, console)
                finally:
                    await executor.aclose()
        except UserError as exc:
            _final_manifest(store, "failed", len(tasks), str(exc))
            raise
        except (KeyboardInterrupt, asyncio.CancelledError):
            _final_manifest(store, "interrupted", len(tasks), "stopped by the user")
            raise
        except BaseException as exc:  # a bug (or a plugin's sys.exit): say so in run.json,
            # then let it show its traceback; run.json never stays "running"
            _final_manifest(store, "failed", len(tasks), f"unexpected error: {describe_error(exc)}")
            raise
        store.counts.tasks_settled = schedule.settled_count()
        if budget.exhausted and store.counts.tasks_settled < len(tasks):
            detail = (
                f"spent ${budget.spent:.4f} of ${config.max_cost:.4f}; resume with a higher --max-cost"
            )
            manifest = store.write_manifest("budget_reached", len(tasks), detail)
        else:
            manifest = store.write_manifest("completed", len(tasks))
        return RunResult(config.run_dir, manifest, skipped, store.repaired_bytes)
    finally:
        store.close()
        close = getattr(source, "aclose", None)
        if close is not None:
            await close()


def _playable(tasks: list[Task], config: CollectConfig, console: Console) -> list[Task]:
    """The loaded tasks a run can play: none at all is a one-line error (a run that "completes"
    0/0 episodes hides an empty file or a selection that keeps nothing), and a prompt longer than
    ``task_chars`` is left out, saying so, rather than stored again in every record and cache row."""
    if not tasks:
        raise DataError(
            f"{config.source}: no tasks to collect: the data holds none, or --level/--type/"
            "--split/--limit keep none"
        )
    kept = [t for t in tasks if len(t.prompt) <= config.task_chars]
    if len(kept) < len(tasks):
        first = next(t for t in tasks if len(t.prompt) > config.task_chars)
        console.print(
            f"warning: {len(tasks) - len(kept)} task(s) longer than --task-chars "
            f"{config.task_chars:,} characters left out (first: {first.task_id}, "
            f"{len(first.prompt):,} characters)",
            markup=False, highlight=False, soft_wrap=True,
        )
    if not kept:
        raise DataError(f"{config.source}: every task is longer than --task-chars {config.task_chars:,}")
    return kept


def _can_go_down(config: CollectConfig) -> bool:
    """Whether a streak of teacher errors can be an outage: not when every teacher of the
    ladder is a recording (``TeacherProvider.can_go_down``)."""
    return any(provider_for(spec)[0].can_go_down for spec in config.ladder)


def _check_teachers(config: CollectConfig, tasks: list[Task], console: Console) -> None:
    """Each teacher of the ladder can answer the run's tasks (a recording: only its own), or
    the run is refused before its directory exists; a partial recording is a warning."""
    task_ids = [t.task_id for t in tasks]
    for stage, spec in enumerate(config.ladder):
        if spec in config.ladder[:stage]:
            continue
        provider, model = provider_for(spec)
        try:
            warning = provider.check_tasks(model, task_ids)
        except ConfigError as exc:
            raise ConfigError(f"{'--escalate' if stage else '--teacher'} {spec}: {exc}") from None
        if warning:
            console.print(warning, markup=False, highlight=False, soft_wrap=True)


def _final_manifest(store: RunStore, status: str, total: int, detail: str) -> None:
    """Record why the run stopped, unless the disk refuses even that (the data is safe)."""
    try:
        store.write_manifest(status, total, detail)
    except StorageError:
        pass


def _teacher_info(config: CollectConfig) -> TeacherInfo:
    """The ``teacher`` of a record the teacher itself never saw (as its ``info`` would say)."""
    name, model = parse_spec(config.teacher)
    provider, _ = provider_for(config.teacher)
    return TeacherInfo(
        provider=name, model=provider.record_model(model), params=dict(config.teacher_params)
    )


async def _stop_workers(workers: list[asyncio.Task[None]]) -> None:
    """Cancel the workers until every one has ended.

    Once is not always enough: a cancellation can be lost inside an episode (on Python 3.11
    ``asyncio.wait_for`` drops one that races its result), and that worker then went on
    playing, and paying for, the rest of the run after Ctrl-C, and at its end waited forever
    for the episodes the others had abandoned. Cancelled again every ``STOP_RECHECK_S``, and
    starting no new episode once the run is stopping, it ends after its current turn.
    """
    pending = {w for w in workers if not w.done()}
    while pending:
        for w in pending:
            w.cancel()
        _, pending = await asyncio.wait(pending, timeout=STOP_RECHECK_S)
    for w in workers:  # retrieved: an error already raised is not logged again as unseen
        if not w.cancelled():
            w.exception()


async def _play_safely(
    config: CollectConfig, play: Player, task: Task, key: EpisodeKey
) -> Trajectory:
    """``play(task, key)``, or an ``internal_error`` record if it raised something unexpected.

    User errors (bad key, no isolation, an outage) and cancellation still stop the run; any
    other exception ends this episode only, so the rest of the run goes on.
    """
    started_at, t0 = utc_now(), time.perf_counter()
    try:
        return await play(task, key)
    except UserError:
        raise
    except Exception as exc:
        log.warning("episode %s raised %s", task.task_id, describe_error(exc))
        return error_record(
            task, _teacher_info(config.for_stage(key.stage)), exc, run=config.run,
            sandbox_name=config.sandbox, started_at=started_at,
            duration_s=time.perf_counter() - t0, key=key,
            action_format=config.loop.action_format,
        )


def _episode_cost(store: RunStore, traj: Trajectory) -> float:
    """What ``traj`` cost at its own teacher's price (0 when that is unknown)."""
    price = store.prices[traj.stage] if traj.stage < len(store.prices) else None
    return trajectory_cost(traj, price) if price is not None else 0.0


def _warn_repeated_samples(config: CollectConfig, console: Console) -> None:
    """Several attempts of a deterministic teacher mostly repeat each other: say so."""
    temperature = config.teacher_params.get("temperature", 0.0)
    if config.samples > 1 and not temperature:
        console.print(
            f"warning: --samples {config.samples} at --temperature 0: the attempts will mostly "
            "repeat each other (and each is paid for); sample with --temperature above 0",
            markup=False, highlight=False, soft_wrap=True,
        )


async def _run_all(
    config: CollectConfig,
    play: Player,
    store: RunStore,
    budget: Budget,
    schedule: Schedule,
    console: Console,
) -> None:
    total = schedule.total
    last_manifest = time.monotonic()
    outage = TeacherOutage(config.outage_streak if _can_go_down(config) else None)
    wake = asyncio.Event()  # an episode finished: more may be owed, or the run may be over
    attempts = config.samples > 1 or bool(config.escalate)
    stopping = False  # the run is ending: no worker starts another episode

    with RunProgress(
        console, config.run, total, store.counts.tasks_settled, tasks=attempts
    ) as progress:

        async def worker() -> None:
            nonlocal last_manifest
            while True:
                if stopping:
                    return
                if not schedule.ready:
                    if not schedule.in_flight:
                        return
                    wake.clear()
                    await wake.wait()
                    continue
                if not budget.try_start():
                    return
                task, key = schedule.next()
                try:
                    traj = await _play_safely(config, play, task, key)
                except BaseException:
                    wake.set()  # waiting workers see the run end
                    raise
                schedule.finished(task, key, traj)  # held outage records count as played
                wake.set()  # more may be owed now, or the run is over
                for record in outage.observe(traj):
                    store.append(record)
                store.counts.tasks_settled = schedule.settled_count()
                budget.finish(_episode_cost(store, traj))
                progress.update(
                    store.counts, store.usage, store.cost_usd if store.priced else None,
                    store.nodes,
                )
                if time.monotonic() - last_manifest > MANIFEST_EVERY_S:
                    last_manifest = time.monotonic()
                    store.write_manifest("running", total)

        workers: list[asyncio.Task[None]] = []
        try:
            for _ in range(min(config.concurrency, schedule.most_remaining())):
                workers.append(asyncio.create_task(worker()))
                # One loop turn per worker started: it sets up its episode and opens its first
                # teacher request, and the loop sends the requests already set up. Started all
                # at once, no request of the first wave went out before every episode of it
                # was set up (~0.5 s at 256). Not in batch mode: there a turn's requests go
                # out as one batch once every live episode has asked, and episodes started a
                # turn apart would each make a batch of one.
                if config.mode != "batch":
                    await asyncio.sleep(0)
            done, _ = await asyncio.wait(workers, return_when=asyncio.FIRST_EXCEPTION)
            for finished in done:
                finished.result()  # re-raise a fatal error from any worker
            for record in outage.release():
                store.append(record)
        finally:
            stopping = True
            wake.set()
            await _stop_workers(workers)
            await wait_for_closing()
