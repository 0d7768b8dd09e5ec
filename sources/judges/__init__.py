"""Judges: how a proposed ``<solution>`` is scored against a task's reference, reusable by any
source (the ``tasks`` source picks one with ``--source-opt judge=SPEC``). A judge is a plugin
kind of its own (entry-point group ``trajkit.judges``); see ``judges.base``."""

from trajkit.sources.judges.base import (
    BaseJudge,
    Judge,
    JudgeSpec,
    judge_class,
    make_judge,
    parse_spec,
)

__all__ = ["BaseJudge", "Judge", "JudgeSpec", "judge_class", "make_judge", "parse_spec"]
