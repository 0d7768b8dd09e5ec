"""Exit codes: what a scheduler needs to know about a run (``RunResult.exit_code``, the CLI).

Documented exit codes (README, "Exit codes"):

==== ===========================================================================
0    done: every task has a record and no episode ended on an infrastructure error
1    partial: done, but some episodes ended on a teacher, sandbox, judge or internal error
2    bad input or configuration (the message names the flag, file or line)
3    budget reached (``--max-cost``); resumable with a higher budget
4    teacher unavailable (unreachable, out of quota, failing every call); resumable
130  interrupted (Ctrl-C); resumable
==== ===========================================================================
"""

from __future__ import annotations

from trajkit.schemas import RunManifest

EXIT_OK = 0
EXIT_PARTIAL = 1
EXIT_BAD_INPUT = 2
EXIT_BUDGET = 3
EXIT_TEACHER_UNAVAILABLE = 4
EXIT_INTERRUPTED = 130

#: Terminations caused by infrastructure rather than by the teacher's own attempt.
INFRA_TERMINATIONS = ("teacher_error", "sandbox_error", "judge_error", "internal_error")


def run_exit_code(manifest: RunManifest) -> int:
    """The exit code a finished (not failed) run reports."""
    if manifest.status == "budget_reached":
        return EXIT_BUDGET
    if manifest.status == "interrupted":
        return EXIT_INTERRUPTED
    if any(manifest.counts.by_termination.get(t) for t in INFRA_TERMINATIONS):
        return EXIT_PARTIAL
    return EXIT_OK


def status_word(code: int) -> str:
    return {
        EXIT_OK: "done",
        EXIT_PARTIAL: "partial",
        EXIT_BAD_INPUT: "bad_input",
        EXIT_BUDGET: "budget_reached",
        EXIT_TEACHER_UNAVAILABLE: "teacher_unavailable",
        EXIT_INTERRUPTED: "interrupted",
    }.get(code, "failed")
