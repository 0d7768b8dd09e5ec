"""The run directory on disk: append-only ``trajectories.jsonl``, ``run.json``, a lock.

Nothing collected is lost or paid for twice: each finished trajectory is one ``write`` of one
line to an ``O_APPEND`` file (so a crash tears at most the last line, which is cut away on
reopen), finished tasks are known from the file itself, and an exclusive lock keeps two
processes from writing the same run.

``run.json`` also records the sandbox environment the code ran in (Python, the stack's
versions, the image id or the local environment's content hash), read inside it once when the
store opens, before the run directory is touched: a sandbox that cannot even describe itself
stops the run there.

Nor does a record's content ever stop a run: a record that JSON cannot hold as it is (a lone
surrogate that slipped past every boundary, an object a plugin's judge put in its details) is
written with those values made writable, or, failing that, as an ``internal_error`` record of
its task; either way the task is recorded once and a resume does not play it again.
"""

from __future__ import annotations

import fcntl
import json
import logging
import os
from collections import Counter
from collections.abc import Sequence
from datetime import datetime, timezone
from pathlib import Path

from trajkit.collect.attempts import EpisodeKey, Outcome
from trajkit.collect.node_tally import NodeTally
from trajkit.collect.pricing import Price, trajectory_cost
from trajkit.collect.sandbox.backend import describe_sandbox
from trajkit.collect.sandbox.config import SandboxConfig
from trajkit.core.errors import ConfigError, StorageError
from trajkit.core.jsonl import TornTail, iter_records
from trajkit.core.yields import YieldTally
from trajkit.schemas import (
    RunCounts,
    RunManifest,
    Task,
    TeacherInfo,
    Termination,
    Trajectory,
    Usage,
)
from trajkit.schemas.manifests import SandboxEnvironment
from trajkit.schemas.text import valid_text, valid_tree
from trajkit.schemas.version import toolkit_version

log = logging.getLogger(__name__)

TRAJECTORIES = "trajectories.jsonl"
RUN_JSON = "run.json"
LOCK = ".lock"


def utc_now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="milliseconds")


class RunStore:
    """Owns one run directory for the lifetime of a ``collect`` process."""

    def __init__(
        self,
        run_dir: Path,
        run: str,
        config: dict,
        price: Price | None = None,
        *,
        stage_prices: Sequence[Price | None] | None = None,
        sandbox_environment: SandboxEnvironment | None = None,
        describe: bool = True,
    ) -> None:
        """``price``: the first teacher's; ``stage_prices``: each teacher's of the
        ``--escalate`` ladder in order (default: ``[price]``). A record is priced at its own
        stage's price. ``sandbox_environment``: what this process's sandboxes run; by default
        read from the sandbox the run's ``config`` names (``describe=False``: record none)."""
        if sandbox_environment is None and describe:
            sandbox_environment = sandbox_environment_of(config)
        self.sandbox_environment = sandbox_environment
        self.sandbox_environments: list[SandboxEnvironment] = []
        self.dir = run_dir
        self.run = run
        self.config = config
        try:
            self.dir.mkdir(parents=True, exist_ok=True)
        except OSError as exc:  # read-only, full, or a parent that cannot exist (/proc/...)
            raise StorageError(
                f"{self.dir}: cannot create the run directory ({exc.strerror or exc}); "
                "check --out"
            ) from None
        self._lock_fd = self._acquire_lock()
        self.path = self.dir / TRAJECTORIES
        #: (task id, stage, attempt) of every episode recorded, and each task's outcomes
        self.done: set[tuple[str, int, int]] = set()
        self.outcomes: dict[str, list[Outcome]] = {}
        self.counts = RunCounts()
        self.usage = Usage()
        self.price = price
        self.prices: list[Price | None] = list(stage_prices or [price])
        self.cost_usd = 0.0
        #: Whether every record so far has a price (the run's ``cost_usd`` means something).
        self.priced = all(p is not None for p in self.prices)
        self.yields = YieldTally()
        self.nodes = NodeTally()  # where episodes ran (--executor ray), for run.json
        self.repaired_bytes = 0
        self.started_at = utc_now()
        self._check_records = False  # set when run.json cannot say what the run collected
        try:
            self._check_config()
            self._add_environment()
            self._load_existing()
            try:
                self._fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
            except OSError as exc:
                raise StorageError(
                    f"{self.path}: cannot open for writing ({exc.strerror or exc}); "
                    "free space or check --out"
                ) from None
        except BaseException:
            os.close(self._lock_fd)  # refused: the run is free again (an API caller retries)
            raise

    def _acquire_lock(self) -> int:
        try:
            fd = os.open(self.dir / LOCK, os.O_RDWR | os.O_CREAT, 0o644)
        except OSError as exc:  # a read-only (or full) filesystem: nothing can be written here
            raise StorageError(
                f"{self.dir / LOCK}: cannot create the run's lock file ({exc.strerror or exc}); "
                "check that --out is writable"
            ) from None
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            raise ConfigError(
                f"--run: {self.dir} is being written by another trajkit process"
            ) from None
        return fd

    def _check_config(self) -> None:
        """Resuming with another source or teacher would mix two collections in one run."""
        path = self.dir / RUN_JSON
        try:
            previous = RunManifest.model_validate_json(path.read_text())
        except (OSError, ValueError):
            # missing or unreadable: the records themselves say what the run collected
            self._check_records = True
            return
        self.started_at = previous.started_at
        self.sandbox_environments = list(previous.sandbox_environments)
        self.nodes.carry_over(previous.nodes)
        if not self.path.exists() or not self.path.stat().st_size:
            return  # nothing collected yet (a start refused over a typo): nothing to mix
        old_ladder = _ladder(previous.config)
        new_ladder = _ladder(self.config)
        shared = min(len(old_ladder), len(new_ladder))
        if old_ladder[1:shared] != new_ladder[1:shared]:
            # records name their stage by number: a reordered ladder would count one
            # teacher's attempts as another's
            raise ConfigError(
                f"--run {self.run}: this run escalated to {', '.join(str(t) for t in old_ladder[1:])}; a resume "
                "may add teachers after those (or drop the last), not change them; use another "
                "--run name"
            )
        for key in ("source", "teacher", "mode"):  # mode: run.json prices every record alike
            old, new = previous.config.get(key), self.config.get(key)
            if old is not None and old != new:
                raise ConfigError(
                    f"--run {self.run}: this run was collected with {key} {old!r}, not {new!r}; "
                    "use another --run name"
                )
        old_shots, new_shots = _shots(previous.config), _shots(self.config)
        if old_shots is not None and new_shots is not None and old_shots != new_shots:
            # the prompt is part of the data: one run, one prompt (runs from before shots
            # existed record none, and resume with whatever is given)
            raise ConfigError(
                f"--shots {new_shots}: run {self.run} was collected with --shots {old_shots}; "
                "resume with the same, or use another --run name"
            )
        old_format, new_format = _format(previous.config), _format(self.config)
        if old_format != new_format:  # one run, one way of acting: a comparison needs it
            raise ConfigError(
                f"--action-format {new_format}: run {self.run} was collected with "
                f"--action-format {old_format}; resume with the same, or use another --run name"
            )

    def _add_environment(self) -> None:
        """This process's sandbox environment joins the run's list unless already there; a
        resume in another environment is said once (the run now mixes two)."""
        current = self.sandbox_environment
        if current is None or current in self.sandbox_environments:
            return
        if self.sandbox_environments:
            before = self.sandbox_environments[-1]
            log.warning(
                "warning: run %s resumes in another sandbox environment (%s) than it was "
                "collected in (%s); run.json records both",
                self.run, environment_summary(current), environment_summary(before),
            )
        self.sandbox_environments.append(current)

    def _load_existing(self) -> None:
        if not self.path.exists():
            return
        torn: list[TornTail] = []
        for lineno, traj in iter_records(self.path, Trajectory, torn):
            if self._check_records:
                self._check_record(lineno, traj)
            if episode_key(traj) in self.done:
                continue
            self._tally(self._priced(traj))
        try:
            if torn:
                size = self.path.stat().st_size
                self.repaired_bytes = size - torn[0].offset
                with open(self.path, "r+b") as fh:
                    fh.truncate(torn[0].offset)
            elif self.path.stat().st_size:
                with open(self.path, "rb") as fh:
                    fh.seek(-1, os.SEEK_END)
                    last = fh.read(1)
                if last != b"\n":  # a complete record that lost only its newline
                    with open(self.path, "ab") as fh:
                        fh.write(b"\n")
        except OSError as exc:  # the whole records stay as they were
            raise StorageError(
                f"{self.path}: cannot repair the last line ({exc.strerror or exc}); "
                "free space or check that --out is writable"
            ) from None

    def _check_record(self, lineno: int, traj: Trajectory) -> None:
        """Without a readable ``run.json``, a resume must still not mix two collections: each
        record's source and action format must be this command's."""
        mine = {"source": self.config.get("source"), "action format": _format(self.config)}
        theirs = {"source": traj.source, "action format": traj.action_format}
        for key, value in theirs.items():
            if mine[key] is not None and value != mine[key]:
                raise ConfigError(
                    f"--run {self.run}: {self.path}:{lineno} was collected with {key} "
                    f"{value!r}, not {mine[key]!r} (and {RUN_JSON} is missing or unreadable); "
                    "use another --run name"
                )

    def _priced(self, traj: Trajectory) -> Trajectory:
        """``traj`` with ``cost_usd`` at its stage's price, unless it has one or none is known."""
        if traj.cost_usd is not None:
            return traj
        price = self.prices[traj.stage] if traj.stage < len(self.prices) else None
        if price is None:
            return traj
        return traj.model_copy(update={"cost_usd": round(trajectory_cost(traj, price), 9)})

    def _tally(self, traj: Trajectory) -> None:
        self.done.add(episode_key(traj))
        self.outcomes.setdefault(traj.task_id, []).append(
            Outcome(EpisodeKey(traj.stage, traj.attempt), traj.success, traj.self_corrected)
        )
        self.yields.add(traj)
        self.nodes.played(traj)
        counts = self.counts
        counts.done += 1
        counts.succeeded += int(traj.success)
        counts.self_corrected += int(traj.self_corrected)
        by = Counter(counts.by_termination)
        by[traj.termination.value] += 1
        counts.by_termination = dict(by)
        self.usage = self.usage + traj.usage
        if traj.cost_usd is None:
            self.priced = False
        else:
            self.cost_usd += traj.cost_usd

    def append(self, traj: Trajectory) -> None:
        """Write one finished trajectory (priced at its stage's price) as a single line, in
        one system call; an episode already recorded is not written again."""
        if episode_key(traj) in self.done:
            return
        data, traj = record_line(self._priced(traj))
        view = memoryview(data)
        start = os.lseek(self._fd, 0, os.SEEK_END)
        try:
            while view:
                written = os.write(self._fd, view)
                view = view[written:]
        except OSError as exc:
            # Disk full (or quota, or a dying disk): cut our half line so the file stays a
            # sequence of whole records, and stop the run; every earlier record is intact.
            try:
                os.ftruncate(self._fd, start)
            except OSError:
                pass  # left torn: the next open cuts a torn last line anyway
            raise StorageError(
                f"{self.path}: cannot write ({exc.strerror or exc}); the {len(self.done)} "
                "trajectories already written are intact: free space and re-run to resume"
            ) from None
        self._tally(traj)

    def write_manifest(self, status: str, total_tasks: int, detail: str = "") -> RunManifest:
        """Atomically replace ``run.json`` (write a temp file, then rename)."""
        self.counts.total_tasks = total_tasks
        self.counts.by_source = self.yields.by_source()
        self.counts.by_teacher = self.yields.by_teacher()
        manifest = RunManifest(
            run=self.run,
            status=status,
            status_detail=detail,
            config=self.config,
            counts=self.counts,
            usage=self.usage,
            cost_usd=round(self.cost_usd, 6) if self.priced else None,
            started_at=self.started_at,
            updated_at=utc_now(),
            toolkit_version=toolkit_version(),
            sandbox_environments=self.sandbox_environments,
            nodes=self.nodes.counts(),
        )
        tmp = self.dir / f".{RUN_JSON}.tmp"
        try:
            tmp.write_text(json.dumps(manifest.model_dump(mode="json"), indent=2) + "\n")
            os.replace(tmp, self.dir / RUN_JSON)
        except OSError as exc:
            tmp.unlink(missing_ok=True)
            raise StorageError(
                f"{self.dir / RUN_JSON}: cannot write ({exc.strerror or exc}); the previous "
                "run.json and every trajectory written are intact"
            ) from None
        return manifest

    def close(self) -> None:
        os.close(self._fd)
        os.close(self._lock_fd)


def episode_key(traj: Trajectory) -> tuple[str, int, int]:
    """(task id as valid text, stage, attempt): what makes an episode of a run unique."""
    return valid_text(traj.task_id), traj.stage, traj.attempt


def _shots(config: dict) -> object:
    """A recorded config's ``loop.shots`` (``None`` in runs from before it existed)."""
    loop = config.get("loop")
    return loop.get("shots") if isinstance(loop, dict) else None


def _format(config: dict) -> object:
    """A recorded config's ``loop.action_format`` (``code`` when absent: the default is left
    out of ``run.json``, and runs from before formats existed were all code)."""
    loop = config.get("loop")
    return loop.get("action_format", "code") if isinstance(loop, dict) else "code"


def _ladder(config: dict) -> list[object]:
    """A recorded config's teachers in order (``teacher`` then ``escalate``)."""
    escalate = config.get("escalate")
    return [config.get("teacher"), *(escalate if isinstance(escalate, list) else [])]


def sandbox_environment_of(config: dict) -> SandboxEnvironment | None:
    """The environment of the sandbox a run's recorded config names (``sandbox`` and
    ``sandbox_config``, as ``CollectConfig`` dumps them); None when the config names none or
    the backend cannot describe itself (a plugin's)."""
    kind, raw = config.get("sandbox"), config.get("sandbox_config")
    if not isinstance(kind, str) or not isinstance(raw, dict):
        return None
    return describe_sandbox(kind, SandboxConfig.model_validate(raw))


def environment_summary(env: SandboxEnvironment) -> str:
    """``local, Python 3.11.7, numpy 2.2.6, ...`` for a one-line message."""
    packages = ", ".join(f"{n} {v or 'absent'}" for n, v in env.packages.items())
    text = f"{env.backend}, Python {env.python}" + (f", {packages}" if packages else "")
    if env.per_sandbox_limits is not None:
        limits = " and ".join(env.per_sandbox_limits)
        text += f", {limits} per sandbox" if limits else ", limits per process only"
    return text


def record_line(traj: Trajectory) -> tuple[bytes, Trajectory]:
    """``(JSON line, the record it holds)``: nearly always ``traj`` exactly as it is.

    A record JSON cannot hold as it is gets its strings made valid (lone surrogates → U+FFFD)
    and values of unknown types written as their ``repr``; if it still cannot be written, an
    ``internal_error`` record of the same task replaces it, keeping its usage and timing (the
    tokens were paid for). Only the first, ordinary dump is on the hot path.
    """
    try:
        return (traj.model_dump_json() + "\n").encode(), traj
    except (ValueError, TypeError, RecursionError) as exc:  # PydanticSerializationError, ...
        problem: BaseException = exc
    try:
        plain = valid_tree(traj.model_dump(mode="json", fallback=repr, warnings=False))
        fixed = Trajectory.model_validate(plain)
        return (fixed.model_dump_json() + "\n").encode(), fixed
    except (ValueError, TypeError, RecursionError):
        pass
    reason = " ".join(str(problem).split())[:500]
    stub = Trajectory(
        id=traj.id,
        run=valid_text(traj.run),
        source=valid_text(traj.source),
        task_id=valid_text(traj.task_id),
        task=Task(source=valid_text(traj.source), task_id=valid_text(traj.task_id), prompt=""),
        teacher=TeacherInfo(
            provider=valid_text(traj.teacher.provider), model=valid_text(traj.teacher.model)
        ),
        sandbox=valid_text(traj.sandbox),
        messages=[],
        steps=[],
        success=False,
        score=0.0,
        self_corrected=False,
        termination=Termination.INTERNAL_ERROR,
        termination_detail=valid_text(f"the record could not be written: {reason}"),
        usage=traj.usage,
        cost_usd=traj.cost_usd,
        timing=traj.timing,
        toolkit_version=traj.toolkit_version,
        attempt=traj.attempt,  # the same episode, so a resume does not play it again
        stage=traj.stage,
        node=valid_text(traj.node) if traj.node is not None else None,
    )
    return (stub.model_dump_json() + "\n").encode(), stub
