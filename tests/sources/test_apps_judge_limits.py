"""What the APPS judge guarantees beyond single verdicts: expected outputs never enter the
sandbox, one fresh sandbox per judgement (always closed), per-test deadlines, programs that
signal the judge's worker or lose it mid-test, exits, the time budget, bounded details,
small sandbox output limits, concurrency, and the unisolated fallback.
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

import pytest
from support import kill_local_workers_busy_for, require_isolation

from trajkit.collect.sandbox.config import SandboxConfig
from trajkit.collect.sandbox.local import LocalSandbox
from trajkit.sources.apps import AppsJudge, JudgeLimits

STDIN_REF: dict[str, Any] = {
    "mode": "stdin", "fn_name": None, "class_name": None, "examples": [],
    "inputs": ["1 2\n", "30 12\n", "7 7\n"],
    "outputs": ["3\n", "42\n", "14\n"],
}
ADD = "a, b = map(int, input().split())\nprint(a + b)\n"


def call_ref(fn: str, cls: str | None, inputs: list, outputs: list) -> dict[str, Any]:
    return {"mode": "call", "fn_name": fn, "class_name": cls, "inputs": inputs, "outputs": outputs, "examples": []}


class Recording:
    """A sandbox factory that keeps every sandbox it made and every cell sent to them."""

    def __init__(self, config: SandboxConfig | None = None) -> None:
        self.config = config or SandboxConfig()
        self.made: list[LocalSandbox] = []
        self.cells: list[str] = []
        self.closed = 0

    def __call__(self, tools):
        sandbox = LocalSandbox(self.config, tools)
        run, close = sandbox.run, sandbox.close

        async def recording_run(code: str, timeout: float):
            self.cells.append(code)
            return await run(code, timeout)

        async def counting_close() -> None:
            self.closed += 1
            await close()

        sandbox.run, sandbox.close = recording_run, counting_close  # type: ignore[method-assign]
        self.made.append(sandbox)
        return sandbox


def statuses(verdict) -> list[str]:
    return [t["status"] for t in verdict.details["tests"]]


@pytest.fixture(autouse=True)
def _isolated() -> None:
    require_isolation()


async def test_expected_outputs_never_enter_the_sandbox_and_each_judgement_has_its_own() -> None:
    secret = ["tok-3a9f1c\n", "tok-77b2e0\n", "tok-c41d5a\n"]
    ref = dict(STDIN_REF, outputs=secret)
    factory = Recording()
    judge = AppsJudge(factory)
    for answer in ("print(input())", "print('a guess')"):
        verdict = await judge.judge(ref, answer)
        assert not verdict.success
    assert len(factory.made) == 2 and factory.closed == 2
    assert factory.cells and all("tok-" not in cell for cell in factory.cells)
    assert any("1 2\\n" in cell for cell in factory.cells)  # the inputs do go in


async def test_each_test_has_its_own_deadline() -> None:
    program = "import time\na, b = map(int, input().split())\nif a == 30:\n    time.sleep(60)\nprint(a + b)\n"
    judge = AppsJudge(Recording(), JudgeLimits(test_timeout=0.5))
    started = time.monotonic()
    verdict = await judge.judge(STDIN_REF, program)
    assert statuses(verdict) == ["pass", "timeout", "pass"]
    assert verdict.score == pytest.approx(2 / 3) and not verdict.success
    assert time.monotonic() - started < 5


@pytest.mark.parametrize(
    ("tail", "expected", "error"),
    [
        ("exit()", "pass", None),
        ("import sys; sys.exit(0)", "pass", None),
        ("import os; os._exit(0)", "wrong", None),  # like python: unflushed output is lost
        ("import sys; sys.stdout.flush(); sys.exit(3)", "runtime_error", "exit code 3"),
        ("raise SystemExit('giving up')", "runtime_error", "giving up"),
    ],
)
async def test_exits(tail: str, expected: str, error: str | None) -> None:
    verdict = await AppsJudge(Recording()).judge(STDIN_REF, ADD + tail)
    assert statuses(verdict) == [expected] * 3
    if error:
        assert verdict.details["tests"][0]["error"] == error


async def test_a_worker_killed_during_a_test_fails_only_that_test() -> None:
    """The worker dies while the second test's program runs (killed from the host here: the
    program itself cannot, see the next test); the judge restarts it for the third."""
    program = "import time\na, b = map(int, input().split())\nif a == 30:\n    time.sleep(30)\nprint(a + b)\n"
    factory = Recording()
    killer = asyncio.create_task(kill_local_workers_busy_for(0.5))
    try:
        verdict = await AppsJudge(factory).judge(STDIN_REF, program)
    finally:
        killer.cancel()
    assert statuses(verdict) == ["pass", "runtime_error", "pass"]
    assert "killed the judge's worker" in verdict.details["tests"][1]["error"]
    assert factory.made[0].restarts == 1 and factory.closed == 1


async def test_a_program_signalling_the_worker_cannot_kill_or_freeze_it() -> None:
    """The worker is its sandbox's PID 1: the kernel drops a ``SIGKILL`` or ``SIGSTOP`` sent
    to it from inside, so the program just goes on (its output is judged as usual)."""
    program = (
        "import os, signal\na, b = map(int, input().split())\n"
        "os.kill(os.getppid(), signal.SIGSTOP)\nos.kill(os.getppid(), signal.SIGKILL)\n"
        "print(a + b)\n"
    )
    factory = Recording()
    verdict = await AppsJudge(factory).judge(STDIN_REF, program)
    assert statuses(verdict) == ["pass", "pass", "pass"]
    assert factory.made[0].restarts == 0 and factory.closed == 1


async def test_forks_that_escape_the_process_group_cannot_hold_the_judge() -> None:
    program = "import os, time\nif os.fork() == 0:\n    os.setsid()\n    time.sleep(60)\n" + ADD
    started = time.monotonic()
    verdict = await AppsJudge(Recording()).judge(STDIN_REF, program)
    assert verdict.success and time.monotonic() - started < 5


async def test_budget_and_bounded_details() -> None:
    many = dict(STDIN_REF, inputs=["1 1\n"] * 60, outputs=["2\n"] * 60)
    verdict = await AppsJudge(Recording()).judge(many, ADD)
    assert verdict.success and verdict.details["total"] == 60
    assert len(verdict.details["tests"]) == 50 and verdict.details["tests_omitted"] == 10
    slow = "import time\ntime.sleep(0.3)\n" + ADD
    verdict = await AppsJudge(Recording(), JudgeLimits(budget_s=0.5)).judge(many, slow)
    tests = verdict.details["tests"]
    assert tests[0]["status"] == "pass" and tests[-1] == {
        "index": 49, "status": "timeout", "error": "not run: judge time budget exhausted",
    }
    assert verdict.details["counts"]["pass"] <= 3


async def test_call_mode_conventions() -> None:
    ref = call_ref("total", "Solution", [[[1, 2, 3]], [[]]], [6, 0])
    typed = "class Solution:\n    def total(self, nums: List[int]) -> int:\n        return sum(nums)\n"
    assert (await AppsJudge(Recording()).judge(ref, typed)).success  # List without an import
    odd = "class Solution:\n    def total(self, nums):\n        return object()\n"
    verdict = await AppsJudge(Recording()).judge(ref, odd)
    assert statuses(verdict) == ["wrong", "wrong"] and "not a JSON value" in verdict.details["tests"][0]["got"]
    plain = "def total(nums):\n    return sum(nums)\n"  # no class: called as a function,
    assert (await AppsJudge(Recording()).judge(ref, plain)).success  # as the official grader does
    missing = "def other(nums):\n    return sum(nums)\n"
    verdict = await AppsJudge(Recording()).judge(ref, missing)
    assert statuses(verdict) == ["runtime_error"] * 2
    assert verdict.details["tests"][0]["error"] == "NameError: class 'Solution' is not defined"
    talker = "def echo(x):\n    print('debug output is ignored')\n    return {'k': (x, [x])}\n"
    ref = call_ref("echo", None, [[1], ["a"]], [[{"k": [1, [1]]}], [{"k": ["a", ["a"]]}]])
    assert (await AppsJudge(Recording()).judge(ref, talker)).success


async def test_input_styles_threads_and_recursion() -> None:
    programs = [
        "import sys\na, b = map(int, sys.stdin.buffer.read().split())\nsys.stdout.buffer.write(b'%d\\n' % (a + b))\n",
        "a, b = map(int, open(0).read().split())\nprint(a + b)\n",
        "import sys, threading\nsys.setrecursionlimit(10**6)\nthreading.stack_size(1 << 26)\n"
        "def f(n):\n    return 0 if n == 0 else 1 + f(n - 1)\n"
        "def main():\n    a, b = map(int, input().split())\n    print(f(a + b))\n"
        "threading.Thread(target=main).start()\n",
        "def f(n):\n    return 0 if n == 0 else 1 + f(n - 1)\nf(900)\n" + ADD,
    ]
    for program in programs:
        verdict = await AppsJudge(Recording()).judge(STDIN_REF, program)
        assert verdict.success, (program, verdict.details)


async def test_large_outputs_cross_a_small_cell_output_limit() -> None:
    ref = dict(STDIN_REF, inputs=["5000\n"], outputs=["\n".join(f"line é {i}" for i in range(5000)) + "\n"])
    program = "for i in range(int(input())):\n    print(f'line é {i}')\n"
    factory = Recording(SandboxConfig(output_limit=256))
    verdict = await AppsJudge(factory).judge(ref, program)
    assert verdict.success, verdict.details
    assert len(factory.cells) > 100  # the reply came back in chunks


async def test_concurrent_judgements() -> None:
    judge = AppsJudge(Recording())
    answers = [ADD, "print(0)", ADD, "print(1/0)"]
    verdicts = await asyncio.gather(*(judge.judge(STDIN_REF, a) for a in answers))
    assert [v.success for v in verdicts] == [True, False, True, False]
    await judge.aclose()


async def test_unisolated_sandboxes_work_too() -> None:
    judge = AppsJudge(Recording(SandboxConfig(isolation=False)), JudgeLimits(test_timeout=0.5))
    assert (await judge.judge(STDIN_REF, ADD)).success
    looping = await judge.judge(STDIN_REF, "while True:\n    pass\n")
    assert statuses(looping) == ["timeout"] * 3
