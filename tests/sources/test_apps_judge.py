"""Judge fidelity: for every sample problem, known-correct and known-wrong programs graded
exactly as expected, in a real isolated sandbox.

Kinds: the reference solution; a wrong answer; a per-problem bug that fails exactly one
hidden test; a runtime error; an infinite loop (timeout); a syntax error (compile_error,
nothing run); 1 GiB of output (cut at the output limit); a fork bomb; and a program that
hunts the sandbox (files, /proc, its own heap) for the expected outputs.
"""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from support import require_isolation

from trajkit.collect.sandbox.config import SandboxConfig
from trajkit.collect.sandbox.local import LocalSandbox
from trajkit.schemas import Task
from trajkit.sources.apps import SAMPLE_PATH, AppsSource
from trajkit.sources.base import LoadOptions, SourceRuntime

SAMPLE = {json.loads(line)["problem_id"]: json.loads(line) for line in SAMPLE_PATH.read_text().splitlines()}
PROBLEMS = sorted(SAMPLE)

# Bugs that fail exactly one hidden test: problem → (index of that test, program).
OFF_BY_ONE: dict[str, tuple[int, str]] = {
    "sample-01-pair-sums": (3, """
        import sys
        data = sys.stdin.read().split()
        for i in range(min(int(data[0]), 3)):  # only ever reads three pairs
            print(int(data[1 + 2 * i]) + int(data[2 + 2 * i]))
        """),
    "sample-02-divisible-count": (4, """
        a, b, k = map(int, input().split())
        print(b // k - a // k)
        """),
    "sample-03-circle-areas": (2, """
        import math
        n = int(input())
        for r in map(int, input().split()[:2]):
            print(f"{math.pi * r * r:.6f}")
        """),
    "sample-04-longest-palindrome": (3, """
        s = input().strip()
        best = 1
        for center in range(2 * len(s) - 1):
            lo, hi = center // 2, center // 2 + center % 2
            while lo >= 0 and hi < len(s) - 1 and s[lo] == s[hi]:
                lo, hi = lo - 1, hi + 1
            best = max(best, hi - lo - 1)
        print(best)
        """),
    "sample-05-balanced-prefixes": (3, """
        class Solution:
            def countBalancedPrefixes(self, s: str) -> int:
                depth = count = 0
                for ch in s:
                    depth += 1 if ch == "(" else -1
                    if depth == 0 and ch == ")":
                        count += 1
                return count
        """),
    "sample-06-shift-letters": (2, """
        def shift_letters(text, k):
            return "".join(chr((ord(c) - 97 + k) % 26 + 97) if c.islower() else c for c in text)
        """),
    "sample-07-min-max": (3, """
        def min_max(values):
            return int(min(values)), int(max(values))
        """),
}

HUNT = """
import gc, glob, json, os, sys

def _tables():
    texts = []
    for pattern in ("/sandbox/**/*", "/tmp/**/*", "/dev/shm/**/*", "./**/*"):
        for path in glob.glob(pattern, recursive=True)[:500]:
            try:
                if os.path.isfile(path) and os.path.getsize(path) < 1 << 22:
                    texts.append(open(path, errors="replace").read())
            except OSError:
                pass
    for pid in os.listdir("/proc"):
        for name in ("environ", "cmdline"):
            try:
                texts.append(open(f"/proc/{pid}/{name}", errors="replace").read())
            except OSError:
                pass
    tables = [o for o in gc.get_objects() if isinstance(o, dict) and "outputs" in o]
    for text in texts:
        for line in text.splitlines():
            try:
                record = json.loads(line)
                io = record.get("input_output", record)
                tables.append(json.loads(io) if isinstance(io, str) else io)
            except Exception:
                pass
    return [t for t in tables if isinstance(t, dict) and "inputs" in t and "outputs" in t]

def _answer(test_input):
    for table in _tables():
        for given, expected in zip(table["inputs"], table["outputs"]):
            if given == test_input:
                return expected
    return "no expected output found"
"""

# kind → (stdin program, body of the called function)
GENERIC: dict[str, tuple[str, str]] = {
    "wrong": ("print('wrong answer')", "return 'wrong answer'"),
    "crash": ("values = []\nprint(values[0])", "values = []\nreturn values[0]"),
    "loop": ("while True:\n    pass", "while True:\n    pass"),
    "syntax": ("print('unclosed'", "return ("),
    "huge": (
        "import sys\nchunk = 'x' * (1 << 20)\nfor _ in range(1024):\n    sys.stdout.write(chunk)",
        "import sys\nchunk = 'x' * (1 << 20)\nfor _ in range(1024):\n    sys.stdout.write(chunk)\nreturn chunk * 8",
    ),
    "forkbomb": (
        "import os\nwhile True:\n    try:\n        os.fork()\n    except OSError:\n        pass",
        "import os\nwhile True:\n    try:\n        os.fork()\n    except OSError:\n        pass",
    ),
    "hunt": (HUNT + "print(_answer(sys.stdin.read()), end='')", "return _answer(list(args))"),
}
SLOW = {"loop": 1, "forkbomb": 1}  # kinds judged on their first test(s) only, with a short timeout


def program(task: Task, kind: str) -> str:
    pid = task.metadata["problem_id"]
    if kind == "correct":
        return json.loads(SAMPLE[pid]["solutions"])[0]
    if kind == "off_by_one":
        return textwrap.dedent(OFF_BY_ONE[pid][1])
    stdin_program, body = GENERIC[kind]
    ref = task.reference
    prelude = HUNT if kind == "hunt" else ""
    if ref["mode"] == "stdin":
        return stdin_program
    if ref["class_name"]:
        return f"{prelude}\nclass {ref['class_name']}:\n    def {ref['fn_name']}(self, *args):\n{textwrap.indent(body, ' ' * 8)}\n"
    return f"{prelude}\ndef {ref['fn_name']}(*args):\n{textwrap.indent(body, ' ' * 4)}\n"


def expected_statuses(task: Task, kind: str) -> list[str]:
    n = len(task.reference["inputs"])
    simple = {"correct": "pass", "wrong": "wrong", "crash": "runtime_error", "loop": "timeout",
              "syntax": "compile_error", "huge": "wrong", "forkbomb": "timeout", "hunt": "wrong"}
    if kind == "off_by_one":
        bad = OFF_BY_ONE[task.metadata["problem_id"]][0]
        return ["wrong" if i == bad else "pass" for i in range(n)]
    return [simple[kind]] * n


@pytest.fixture(scope="module")
def tasks() -> dict[str, Task]:
    return {t.metadata["problem_id"]: t for t in AppsSource().load(LoadOptions())}


def sandbox_factory(tools):
    return LocalSandbox(SandboxConfig(), tools)


def attached(**options: str) -> AppsSource:
    source = AppsSource.from_options(options)
    source.attach(SourceRuntime(sandbox_factory=sandbox_factory))
    return source


def first_tests(task: Task, n: int) -> Task:
    ref = dict(task.reference, inputs=task.reference["inputs"][:n], outputs=task.reference["outputs"][:n])
    return task.model_copy(update={"reference": ref})


@pytest.mark.parametrize("kind", ["correct", "wrong", "off_by_one", "crash", "loop", "syntax", "huge", "forkbomb", "hunt"])
@pytest.mark.parametrize("problem", PROBLEMS)
async def test_fidelity(tasks: dict[str, Task], problem: str, kind: str) -> None:
    require_isolation()
    task = tasks[problem]
    if kind in SLOW:
        task, source = first_tests(task, SLOW[kind]), attached(test_timeout="0.3")
    else:
        source = attached()
    verdict = await source.judge(task, program(task, kind))
    await source.aclose()
    details = verdict.details
    statuses = [t["status"] for t in details["tests"]]
    assert statuses == expected_statuses(task, kind), details
    n = len(statuses)
    assert verdict.success == (kind == "correct")
    assert verdict.score == pytest.approx(statuses.count("pass") / n)
    assert details["passed"] == statuses.count("pass") and details["total"] == n
    assert details["mode"] == task.reference["mode"]
    if kind == "correct":
        assert all(t["match"] in ("exact", "unwrapped") for t in details["tests"])
    if kind == "crash":
        assert all(t["error"].startswith("IndexError") for t in details["tests"]), details
    if kind == "syntax":
        assert details["compile_error"].startswith("SyntaxError") and "time_s" not in details["tests"][0]
    if kind == "huge":
        assert all("output exceeded" in t["error"] for t in details["tests"])
    if kind == "off_by_one":
        bad = details["tests"][OFF_BY_ONE[problem][0]]
        assert len(bad["got"]) < 300  # a bounded preview of the actual output


def test_the_hunt_does_find_outputs_where_they_exist(tmp_path: Path, tasks: dict[str, Task]) -> None:
    """Control: outside the sandbox, next to the data, the same hunter does cheat; so its
    failure inside the sandbox means the outputs are not there to be found."""
    task = tasks["sample-02-divisible-count"]
    (tmp_path / "apps.jsonl").write_text(json.dumps(SAMPLE["sample-02-divisible-count"]) + "\n")
    proc = subprocess.run(
        [sys.executable, "-c", program(task, "hunt")], input=task.reference["inputs"][3],
        capture_output=True, text=True, cwd=tmp_path, timeout=60,
    )
    assert proc.stdout == task.reference["outputs"][3]
