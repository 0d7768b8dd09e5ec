"""The ``tasks`` source's judge: built from ``judge=SPEC`` and the keys the source does not own,
and found again from a record alone for reports.

A record says which judge scored it (``verdict.details["judge"]``, its spec), so a report
reading a ``tasks`` record asks that judge's class for its one-line ``summary``; a judge that
is not installed any more, or says nothing, gets the generic reading.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from trajkit.core import registry
from trajkit.core.errors import ConfigError, DataError, JudgeError, PluginError
from trajkit.schemas import Task, Verdict
from trajkit.sources.judges import BaseJudge, make_judge, parse_spec
from trajkit.sources.reading import ReferenceView, generic_reference, generic_summary


def _judge_class(spec: str) -> Any:
    name = parse_spec(spec).name
    try:
        return registry.get("judge", name)
    except PluginError as exc:
        raise PluginError(f"--source-opt judge={spec}: {exc}") from None


def _takes(cls: Any, key: str) -> bool | None:
    """Whether judge ``cls`` takes option ``key``: known from its ``options_model``; a judge
    without one takes none if it builds through ``BaseJudge``, else only it can say (None)."""
    model = getattr(cls, "options_model", None)
    if model is not None:
        return key in model.model_fields
    from_spec = getattr(cls, "from_spec", None)
    base = getattr(BaseJudge.from_spec, "__func__", None)
    if from_spec is None or getattr(from_spec, "__func__", None) is base:
        return False
    return None


def build_judge(spec: str, options: Mapping[str, str], own: Iterable[str], source: str) -> Any:
    """The judge ``spec`` names, given the ``--source-opt`` keys the source did not take.

    A key that neither the source nor the judge takes is one ``ConfigError`` naming it and
    what both do take; a bad value is the judge's own one-line error.
    """
    cls = _judge_class(spec)
    for key in options:
        if _takes(cls, key) is False:
            model = getattr(cls, "options_model", None)
            theirs = ", ".join(model.model_fields) if model is not None else "none"
            name = parse_spec(spec).name
            raise ConfigError(
                f"--source-opt {key}: unknown option for {source} (known: {', '.join(own)}) "
                f"and for judge {name!r} (known: {theirs})"
            )
    return make_judge(spec, options)


def check_reference(judge: Any, task: Task, where: str) -> None:
    """The judge's ``check_reference`` on a task just read at ``where``: a gold it can never
    read is a one-line ``DataError`` naming the file and line now, before any teacher is
    paid for the task, instead of a ``judge_error`` after."""
    check = getattr(judge, "check_reference", None)
    if check is None:
        return
    try:
        check(task)
    except (JudgeError, DataError) as exc:
        message = str(exc).removeprefix(f"task {task.task_id}: ")
        raise DataError(f"{where}: {message}") from None


def answer_format(judge: Any) -> str | None:
    """The sentence a judge declares about the answer's form (``answer_format``), if any."""
    text = getattr(judge, "answer_format", None)
    return text if isinstance(text, str) and text.strip() else None


def recorded_judge(verdict: Verdict) -> Any | None:
    """The class of the judge named in ``verdict.details["judge"]``, or None."""
    spec = verdict.details.get("judge")
    if not isinstance(spec, str):
        return None
    try:
        return registry.get("judge", parse_spec(spec).name)
    except Exception:  # uninstalled or broken judge: the generic reading will do
        return None


def judge_summary(task: Task, verdict: Verdict) -> str:
    """The recorded judge's ``summary``, else the generic one."""
    method = getattr(recorded_judge(verdict), "summary", None)
    if method is not None:
        try:
            text = method(task, verdict)
        except Exception:
            text = None
        if isinstance(text, str):
            return text
    return generic_summary(task, verdict)


def judge_reference(task: Task, verdict: Verdict) -> ReferenceView:
    """The recorded judge's ``reference_view`` if it has one, else the generic view."""
    method = getattr(recorded_judge(verdict), "reference_view", None)
    if method is not None:
        try:
            view = method(task, verdict)
        except Exception:
            view = None
        if isinstance(view, ReferenceView):
            return view
    return generic_reference(task, verdict)
