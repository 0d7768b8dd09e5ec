"""What every episode's record shares, whoever builds it: its id, its clock, its error lines.

The loop builds a played episode's record; the runner builds the record of an episode that
raised before or around the loop (``error_record``). Both name the episode the same way
(``trajectory_id``) so a resumed run recognises it, and word errors the same way.
"""

from __future__ import annotations

import functools
import hashlib
from datetime import datetime, timezone

from trajkit.collect.attempts import FIRST, EpisodeKey
from trajkit.schemas import Task, TeacherInfo, Termination, Timing, Trajectory
from trajkit.schemas.text import valid_text
from trajkit.schemas.version import toolkit_version


def trajectory_id(run: str, source: str, task_id: str, episode: EpisodeKey = FIRST) -> str:
    """Deterministic id per (task, teacher stage, attempt), so a resumed run recognises episodes
    it already wrote (also for a task id holding a lone surrogate: ``surrogatepass`` is UTF-8
    for every valid one). A task's first episode keeps the id it had before attempts existed."""
    text = f"{run}\0{source}\0{task_id}"
    if episode != FIRST:
        text += f"\0{episode.stage}\0{episode.attempt}"
    return hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()[:24]


def utc_now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z")



@functools.cache
def toolkit_version_once() -> str:
    return toolkit_version()  # reads package metadata: once per process, not per episode


#: Longest exception message a termination detail keeps (a detail is one line of a report).
DETAIL_CHARS = 1_000



def describe_error(exc: BaseException) -> str:
    """``Type: message`` as a bounded, valid single line (messages can quote hostile text)."""
    text = " ".join(str(exc).split())
    if len(text) > DETAIL_CHARS:
        text = text[: DETAIL_CHARS - 1] + "…"
    return valid_text(f"{type(exc).__name__}: {text}" if text else type(exc).__name__)



def error_record(
    task: Task,
    teacher: TeacherInfo,
    error: BaseException,
    *,
    run: str,
    sandbox_name: str,
    started_at: str,
    duration_s: float,
    key: EpisodeKey = FIRST,
    action_format: str = "code",
) -> Trajectory:
    """The record of an episode that raised outside the loop's own turns (its environment
    would not open, its tools could not be listed, its record could not be built): ended as
    ``internal_error`` with the exception's type and message, so the run records the task
    once and a resume does not play the same poisoned task again."""
    return Trajectory(
        id=trajectory_id(run, task.source, task.task_id, key),
        run=run,
        source=task.source,
        task_id=task.task_id,
        task=task,
        teacher=teacher,
        sandbox=sandbox_name,
        attempt=key.attempt,
        stage=key.stage,
        action_format=action_format,
        messages=[],
        steps=[],
        success=False,
        score=0.0,
        self_corrected=False,
        termination=Termination.INTERNAL_ERROR,
        termination_detail=describe_error(error),
        timing=Timing(started_at=started_at, finished_at=utc_now(), duration_s=duration_s),
        toolkit_version=toolkit_version_once(),
    )
