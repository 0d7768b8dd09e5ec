"""MATH judge: math-verify equivalences, the process pool (timeouts, crashes, concurrency,
threads, shutdown) and the hand-written demo recordings."""

from __future__ import annotations

import asyncio
import json
import os
import re
import subprocess
import sys
import textwrap
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from trajkit.schemas import Task
from trajkit.sources.base import LoadOptions
from trajkit.sources.math import MathJudge, MathSource
from trajkit.sources.math.check import check_answer

DEMO_PATH = (
    Path(__file__).resolve().parents[2] / "sources" / "math" / "samples" / "math_demo_replay.jsonl"
)


def hanging_or_crashing_check(
    reference: str, answer: str, percent_question: bool
) -> dict[str, Any]:
    """Stands in for a pathological expression (runs in a worker, so module-level)."""
    if answer == "hang":
        time.sleep(60)
    if answer == "crash":
        os._exit(3)
    return check_answer(reference, answer, percent_question)


@pytest.fixture(scope="module")
def judge() -> Iterator[MathJudge]:
    j = MathJudge(timeout_s=10, workers=2)
    yield j
    j.close()


# --------------------------------------------------------------------------- equivalences

AGREE = [
    (r"\frac{7}{10}", "7/10"),
    (r"\frac{7}{10}", "0.7"),
    (r"\frac{7}{10}", r"\frac{7}{10}"),
    (r"\frac{7}{10}", r"\dfrac{7}{10}"),
    (r"\frac{7}{10}", r"The answer is $\frac{7}{10}$."),
    (r"\frac{7}{10}", "The answer is 7/10"),
    (r"\frac{\sqrt2}{2}", r"\sqrt{2}/2"),
    (r"\frac{\sqrt{2}}{2}", "sqrt(2)/2"),
    (r"\frac{\sqrt2}{2}", r"\frac{1}{\sqrt{2}}"),
    ("[-2, 4]", "[-2,4]"),
    (r"(-\infty, 3]", "(-oo, 3]"),
    ("(2, -1)", "(2,-1)"),
    ("5", "The answer is 5"),
    ("5", "x = 5"),
    ("-7", "-7"),
    ("112.5", "225/2"),
    (r"2\sqrt{13}", r"\sqrt{52}"),
    (r"2\sqrt{13}", "2*sqrt(13)"),
    (r"x^2+2x+1", "(x+1)**2"),
    (r"\text{(C)}", "(C)"),
    (r"-\frac{1}{6}", "-1/6"),
]

DISAGREE = [
    (r"\frac{7}{10}", "0.8"),
    (r"\frac{7}{10}", "7/11"),
    (r"\frac{\sqrt2}{2}", r"\sqrt{3}/2"),
    ("[-2, 4]", "(-2, 4)"),
    ("[-2, 4]", "[-2, 4)"),
    ("(2, -1)", "(-1, 2)"),
    ("-7", "7"),
    ("5", "The answer is 6"),
    ("126", "125"),
    (r"\text{(C)}", "B"),
    (r"-\frac{1}{6}", r"\frac{1}{6}"),
    ("12", "twelve"),
]


@pytest.mark.parametrize(("gold", "pred"), AGREE)
async def test_judge_agrees(judge: MathJudge, gold: str, pred: str) -> None:
    verdict = await judge.judge(gold, pred)
    assert verdict.success and verdict.score == 1.0, verdict.details
    assert verdict.details["reference"] == gold
    assert verdict.details["parsed_gold"] and verdict.details["parsed_pred"]


@pytest.mark.parametrize(("gold", "pred"), DISAGREE)
async def test_judge_disagrees(judge: MathJudge, gold: str, pred: str) -> None:
    verdict = await judge.judge(gold, pred)
    assert not verdict.success and verdict.score == 0.0, verdict.details
    assert "error" not in verdict.details


async def test_empty_answer_is_wrong_without_a_worker(judge: MathJudge) -> None:
    verdict = await judge.judge("5", "   ")
    assert not verdict.success and verdict.details["error"] == "empty answer"


async def test_source_judges_a_task() -> None:
    src = MathSource(judge_workers=1)
    task = src.load(LoadOptions(limit=1, seed=3))[0]
    try:
        ok = await src.judge(task, str(task.reference))
        bad = await src.judge(task, "not an answer at all")
    finally:
        await src.aclose()
    assert ok.success and not bad.success


# --------------------------------------------------------------------------- pool behaviour


async def test_timeout_kills_only_the_stuck_worker_and_reports_failure() -> None:
    judge = MathJudge(timeout_s=1.0, workers=2, check=hanging_or_crashing_check)
    try:
        await judge.judge("1", "1")  # start a worker outside the timed section
        started = time.monotonic()
        hung, ok = await asyncio.gather(judge.judge("5", "hang"), judge.judge("5", "5"))
        assert time.monotonic() - started < 8
        assert not hung.success and hung.score == 0.0
        assert hung.details == {"reference": "5", "error": "timeout"}
        assert ok.success  # the concurrent check was unaffected
        assert judge.pool.replaced == 1
        assert (await judge.judge("5", "5")).success  # a replacement worker takes over
    finally:
        await judge.aclose()
    assert judge.pool.live_workers == 0


async def test_crashed_worker_is_a_failed_verdict_and_replaced() -> None:
    judge = MathJudge(timeout_s=5.0, workers=1, check=hanging_or_crashing_check)
    try:
        crashed = await judge.judge("5", "crash")
        assert not crashed.success and "judge worker died" in crashed.details["error"]
        assert (await judge.judge("5", "5")).success
    finally:
        judge.close()


async def test_many_concurrent_asyncio_tasks(judge: MathJudge) -> None:
    cases = [(g, p, True) for g, p in AGREE] + [(g, p, False) for g, p in DISAGREE]
    verdicts = await asyncio.gather(*(judge.judge(g, p) for g, p, _ in cases))
    assert [v.success for v in verdicts] == [want for _, _, want in cases]
    assert judge.pool.live_workers <= judge.workers


def test_judge_from_non_main_threads(judge: MathJudge) -> None:
    results: list[bool] = []

    def in_thread(pred: str) -> None:
        results.append(asyncio.run(judge.judge(r"\frac{7}{10}", pred)).success)
        results.append(judge.judge_sync("[-2, 4]", "[-2,4]").success)

    threads = [threading.Thread(target=in_thread, args=(p,)) for p in ("0.7", "7/10", "0.8")]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert sorted(results) == [False, True, True, True, True, True]


async def test_close_is_idempotent_and_judge_is_reusable() -> None:
    judge = MathJudge(workers=1)
    judge.close()  # never used: nothing to do
    assert (await judge.judge("2", "2")).success
    await judge.aclose()
    await judge.aclose()
    assert judge.pool.live_workers == 0
    assert (await judge.judge("2", "3")).success is False
    judge.close()


def test_interpreter_exits_cleanly_without_close() -> None:
    script = textwrap.dedent(
        """
        import asyncio
        from trajkit.sources.math import MathSource
        from trajkit.sources.base import LoadOptions
        src = MathSource()
        task = src.load(LoadOptions(limit=1))[0]
        print(asyncio.run(src.judge(task, str(task.reference))).success)
        """
    )
    started = time.monotonic()
    proc = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=60
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "True"
    assert time.monotonic() - started < 30


# --------------------------------------------------------------------------- demo recordings

# What each hand-written episode is meant to show: the error type raised by each <execute>
# block (None = runs cleanly) and whether each <solution> is correct.
DEMO_INTENT: dict[str, tuple[list[str | None], list[bool]]] = {
    "sample/001-dice-sum": (["NameError", None], [True]),  # self-corrects
    "sample/002-smaller-root": ([None], [True]),  # direct
    "sample/003-quadratic-inequality": (["AttributeError", None], [True]),  # self-corrects
    "sample/004-hypotenuse": ([None, None], [False, True]),  # wrong, then right
    "sample/005-power-remainder": (["ZeroDivisionError", None], [True]),  # self-corrects
    "sample/006-average-speed": ([None], [True]),  # direct (fraction for a decimal gold)
    "sample/007-linear-system": (["SyntaxError", None], [True]),  # self-corrects
    "sample/008-half-angle": ([None], [False, False]),  # wrong twice
    "sample/009-increasing-digits": ([None], [True]),  # direct
    "sample/010-reciprocal-roots": (["KeyError", None], [True]),  # self-corrects
}

EXEC_RE = re.compile(r"<execute>(.*?)</execute>", re.S)
SOL_RE = re.compile(r"<solution>(.*?)</solution>", re.S)

RUN_CELLS = """
import contextlib, io, json, sys
out = []
for cells in json.load(sys.stdin):
    ns, kinds = {}, []  # one namespace per episode, like the sandbox's persistent worker
    for code in cells:
        try:
            with contextlib.redirect_stdout(io.StringIO()):
                exec(compile(code, "<cell>", "exec"), ns)
            kinds.append(None)
        except Exception as exc:
            kinds.append(type(exc).__name__)
    out.append(kinds)
print(json.dumps(out))
"""


def demo_episodes() -> list[dict[str, Any]]:
    return [json.loads(line) for line in DEMO_PATH.read_text().splitlines() if line.strip()]


def test_demo_recordings_shape() -> None:
    episodes = demo_episodes()
    sample_ids = [t.task_id for t in MathSource().load(LoadOptions())]
    assert [e["task_id"] for e in episodes] == sample_ids
    for ep in episodes:
        assert set(ep) == {"task_id", "note", "turns"}
        assert "not produced by a model" in ep["note"]
        assert 1 <= len(ep["turns"]) <= 5
        for turn in ep["turns"]:
            # exactly one action per turn, after a short thought
            assert len(EXEC_RE.findall(turn)) + len(SOL_RE.findall(turn)) == 1, turn
            assert not turn.lstrip().startswith("<")
        assert SOL_RE.search(ep["turns"][-1])


def test_demo_code_really_runs_as_intended() -> None:
    episodes = demo_episodes()
    cells = [[m.strip() for t in ep["turns"] for m in EXEC_RE.findall(t)] for ep in episodes]
    proc = subprocess.run(
        [sys.executable, "-c", RUN_CELLS],
        input=json.dumps(cells),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == 0, proc.stderr
    kinds = json.loads(proc.stdout)
    assert {ep["task_id"]: k for ep, k in zip(episodes, kinds, strict=True)} == {
        tid: errors for tid, (errors, _) in DEMO_INTENT.items()
    }


async def test_demo_solutions_get_the_intended_verdicts(judge: MathJudge) -> None:
    tasks: dict[str, Task] = {t.task_id: t for t in MathSource().load(LoadOptions())}
    got: dict[str, list[bool]] = {}
    for ep in demo_episodes():
        answers = [m.strip() for t in ep["turns"] for m in SOL_RE.findall(t)]
        reference = str(tasks[ep["task_id"]].reference)
        verdicts = await asyncio.gather(*(judge.judge(reference, a) for a in answers))
        got[ep["task_id"]] = [v.success for v in verdicts]
    assert got == {tid: verdicts for tid, (_, verdicts) in DEMO_INTENT.items()}
