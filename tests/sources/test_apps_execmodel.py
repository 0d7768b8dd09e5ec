"""The official APPS grader's execution model as trajkit reproduces it (sources/apps/execmodel.py):
first the rules themselves on the host (our own test programs only), then every program form
of docs/fidelity/apps.md judged in the real isolated sandbox against a real APPS problem's
tests (tests/fixtures/apps/release).

Regressions (issue 13): a stdin program with a module-level ``return`` was a compile error;
programs using the official prelude's names without importing them (``gcd``, ``Counter``,
``heappush``, ``np``) failed with NameError; a call-based program defining ``class Solution``
for a problem whose starter code has a plain function was not found; a first argument
keyed by numbers arrived with string keys.
"""

from __future__ import annotations

import contextlib
import io
import sys
import textwrap
import traceback
from pathlib import Path

import pytest
from support import require_isolation

from trajkit.collect.sandbox.config import SandboxConfig
from trajkit.collect.sandbox.local import LocalSandbox
from trajkit.schemas import Task
from trajkit.sources.apps import AppsJudge, AppsSource
from trajkit.sources.apps.execmodel import (
    call_arguments,
    compile_program,
    entry_point,
    names_used,
    prelude,
)
from trajkit.sources.base import LoadOptions

TRAIN = Path(__file__).resolve().parents[1] / "fixtures" / "apps" / "release" / "train"


def run_here(source: str, stdin: str = "") -> tuple[str, bool]:
    """Compile and run one of *our* test programs on the host, as the harness would."""
    code, wrapped = compile_program(textwrap.dedent(source), "solution.py", "stdin")
    namespace = {"__name__": "__main__", **prelude(names_used(code), call_based=False)}
    out = io.StringIO()
    saved, sys.stdin = sys.stdin, io.StringIO(stdin)
    try:
        with contextlib.redirect_stdout(out), contextlib.suppress(SystemExit):
            exec(code, namespace)
    finally:
        sys.stdin = saved
    return out.getvalue(), wrapped


# --------------------------------------------------------------------------- the rules, on the host


def test_a_module_without_return_is_compiled_as_it_is() -> None:
    assert run_here("print(1)\n") == ("1\n", False)
    with pytest.raises(SyntaxError, match="'return' outside function"):
        compile_program("return 1\n", "solution.py", "call")  # call-based: never wrapped


def test_module_level_return_stops_the_program_early() -> None:
    program = """
        n = int(input())
        if n < 0:
            print("negative")
            return
        print(n * 2)
    """
    assert run_here(program, "-3\n") == ("negative\n", True)
    assert run_here(program, "4\n") == ("8\n", True)


def test_wrapped_code_keeps_module_semantics() -> None:
    """Top-level names stay module globals: ``global`` in a function still finds them, class
    bodies and comprehensions see them, star imports work, ``__name__`` is ``__main__``,
    annotations, walrus targets, ``del`` and ``except ... as`` behave as in a module."""
    program = '''
        """A docstring first."""
        from __future__ import annotations
        from heapq import *
        count: int = 0
        def bump():
            global count
            count += 1
        class Box:
            size = len("abc")
        data = [1, 2, 3]
        squares = [x * x for x in data if (last := x)]
        bump(); bump()
        try:
            raise ValueError("v")
        except ValueError as err:
            caught = str(err)
        gone = 1
        del gone
        if __name__ == "__main__":
            if not data:
                return
            heap = []
            heappush(heap, 5)
            print(count, Box.size, squares, last, caught, heap)
            print("gone" in globals(), "x" in globals())
            return
        print("unreachable")
    '''
    out, wrapped = run_here(program)
    assert wrapped
    assert out == "2 3 [1, 4, 9] 3 v [5]\nFalse False\n"


def test_wrapping_is_only_for_return_at_module_level() -> None:
    for source, message in [
        ("x = 1\nreturn\nbreak\n", "'break' outside loop"),  # the next error is reported
        ("return 1\nyield 2\n", "'return' outside function"),  # a generator would run nothing
        ("class A:\n    return 1\n", "'return' outside function"),  # class bodies are no function
        ("print(1\n", None),
    ]:
        with pytest.raises(SyntaxError) as info:
            compile_program(source, "solution.py", "stdin")
        if message:
            assert info.value.msg == message


def test_line_numbers_survive_the_wrapper() -> None:
    code, wrapped = compile_program("x = 0\n\n\nif x:\n    return\n1 / 0\n", "solution.py", "stdin")
    assert wrapped
    with pytest.raises(ZeroDivisionError) as info:
        exec(code, {"__name__": "__main__"})
    frame = traceback.extract_tb(info.value.__traceback__)[-1]
    assert (frame.filename, frame.lineno) == ("solution.py", 6)


def test_the_official_prelude() -> None:
    names = prelude(set(), call_based=False)
    for name in ("sys", "time", "itertools", "collections", "math", "fractions", "random", "heapq",
                 "accumulate", "product", "permutations", "combinations", "Counter", "OrderedDict",
                 "deque", "defaultdict", "ChainMap", "lru_cache", "sqrt", "sin", "cos", "tan", "ceil",
                 "fabs", "floor", "gcd", "exp", "log", "log2", "List", "Tuple", "heappush", "heappop",
                 "heapify", "nlargest"):
        assert name in names, name
    assert "np" not in names and "Optional" not in names
    assert prelude({"np"}, call_based=False)["np"].__name__ == "numpy"
    assert "Optional" in prelude(set(), call_based=True)  # LeetCode starters annotate freely
    assert run_here("print(gcd(12, 18), Counter('aab')['a'], floor(log2(8)))\n")[0] == "6 2 3\n"


def test_call_based_entry_points_and_arguments() -> None:
    class Solution:
        def f(self, x: int) -> int:
            return x + 1

    def f(x: int) -> int:
        return x * 10

    assert entry_point({"Solution": Solution, "f": f}, "f", "Solution")(1) == 2
    assert entry_point({"Solution": Solution, "f": f}, "f", None)(1) == 10
    assert entry_point({"Solution": Solution}, "f", None)(1) == 2  # as the official grader
    assert entry_point({"f": f}, "f", "Solution")(1) == 10
    with pytest.raises(NameError, match="class 'Solution' is not defined"):
        entry_point({}, "f", "Solution")
    with pytest.raises(NameError, match="function 'g' is not defined"):
        entry_point({"Solution": Solution}, "g", None)
    assert call_arguments([{"1": "a", "-2": "b"}, 3]) == [{1: "a", -2: "b"}, 3]
    assert call_arguments([{"a": 1}]) == [{"a": 1}]
    assert call_arguments(5) == [5]


# --------------------------------------------------------------------------- program forms, in the sandbox


@pytest.fixture(scope="module")
def tasks() -> dict[str, Task]:
    return {t.metadata["problem_id"]: t for t in AppsSource().load(LoadOptions(data=str(TRAIN)))}


def judge() -> AppsJudge:
    return AppsJudge(lambda tools: LocalSandbox(SandboxConfig(), tools))


# Codeforces 1036/B (train/0001): q queries "n m k"; the most diagonal moves, or -1.
WALK = """
def answer(n, m, k):
    if max(n, m) > k:
        return -1
    if (n + m) % 2:
        return k - 1
    return k if (k - n) % 2 == 0 else k - 2
"""
STDIN_FORMS = {
    "module-level return": WALK + """
q = int(input())
out = []
for _ in range(q):
    out.append(answer(*map(int, input().split())))
print("\\n".join(map(str, out)))
return
print("never printed")
""",
    "exit() after the output": WALK + """
import sys
for line in sys.stdin.read().split("\\n")[1:]:
    if line.strip():
        print(answer(*map(int, line.split())))
exit()
print("never printed")
""",
    "quit() and sys.exit(0)": WALK + """
q = int(input())
for i in range(q):
    print(answer(*map(int, input().split())))
    if i == q - 1:
        quit() if q % 2 else __import__("sys").exit(0)
""",
    "if __name__ == '__main__'": WALK + """
def main():
    q = int(input())
    for _ in range(q):
        print(answer(*map(int, input().split())))

if __name__ == "__main__":
    main()
""",
    "input() in a while loop until EOF": WALK + """
input()
while True:
    try:
        line = input()
    except EOFError:
        break
    print(answer(*map(int, line.split())))
""",
    "from sys import stdin at the top": "from sys import stdin, stdout\n" + WALK + """
q = int(stdin.readline())
for line in stdin.readlines()[:q]:
    stdout.write(f"{answer(*map(int, line.split()))}\\n")
""",
    "prelude names without imports": WALK + """
rows = sys.stdin.read().split()
it = iter(rows[1:])
res = deque()
for n, m, k in zip(it, it, it):
    res.append(answer(int(n), int(m), int(k)))
print(*res, sep="\\n")
""",
    "global in a function, module-level return": WALK + """
total = 0
def read():
    global total
    total += 1
    return input()
q = int(read())
for _ in range(q):
    print(answer(*map(int, read().split())))
if total:
    return
""",
}


@pytest.mark.parametrize("form", sorted(STDIN_FORMS))
async def test_stdin_program_forms_pass(tasks: dict[str, Task], form: str) -> None:
    require_isolation()
    verdict = await judge().judge(tasks["1"].reference, STDIN_FORMS[form])
    assert verdict.success, verdict.details
    assert bool(verdict.details.get("wrapped")) == ("return" in form)


async def test_numpy_as_np_without_an_import(tasks: dict[str, Task]) -> None:
    require_isolation()
    program = "q = int(input())\nfor _ in range(q):\n    n, m, k = np.array(input().split(), dtype=np.int64)\n" + \
        "    print(-1 if max(n, m) > k else (k - 1 if (n + m) % 2 else (k if (k - n) % 2 == 0 else k - 2)))\n"
    assert (await judge().judge(tasks["1"].reference, program)).success


async def test_call_based_solution_class_for_a_plain_function_problem(tasks: dict[str, Task]) -> None:
    """4184's starter code is ``def is_prime(num):``; the official grader calls
    ``Solution().is_prime`` whenever the program defines ``class Solution``."""
    require_isolation()
    program = "class Solution:\n    def is_prime(self, n):\n        return n > 1 and all(n % d for d in range(2, int(n ** 0.5) + 1))\n"
    verdict = await judge().judge(tasks["4184"].reference, program)
    assert verdict.success, verdict.details


async def test_call_based_dict_argument_gets_int_keys() -> None:
    require_isolation()
    ref = {"mode": "call", "fn_name": "lookup", "class_name": None, "examples": [],
           "inputs": [[{"1": "one", "2": "two"}, 2]], "outputs": ["two"]}
    verdict = await judge().judge(ref, "def lookup(table, key):\n    return table[key]\n")
    assert verdict.success, verdict.details
