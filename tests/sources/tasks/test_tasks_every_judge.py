"""``trajkit collect tasks --source-opt judge=…`` with every built-in judge, as a user runs it:
a real CLI process, the real OpenAI SDK over HTTP to the loopback server, an isolated sandbox.
For each judge one task is answered right after an action that fails (a self-correcting
success) and one is answered wrong twice; the verdicts on the records are the judge's own
(``details["judge"]``), and only the right answer succeeds. (``llm`` has its own end-to-end
test with a grader on the same server: ``tests/sources/judges/test_llm_judge_e2e.py``.)"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from loopback_teacher import ScriptedPolicy
from support import require_isolation

TRAJKIT = [sys.executable, "-m", "trajkit.cli"]

#: judge spec, extra --source-opt pairs, (right row, its right answer), (wrong row, 2 wrong answers)
CASES: list[tuple[str, list[str], dict[str, Any], str, dict[str, Any], list[str]]] = [
    ("exact", [], {"question": "Capital of Portugal?", "answer": "Lisbon"}, "lisbon.",
     {"question": "Capital of Spain?", "answer": "Madrid"}, ["Barcelona", "Seville"]),
    ("em", [], {"question": "Who wrote Hamlet?", "answer": "William Shakespeare"},
     "the William Shakespeare", {"question": "Largest planet?", "answer": "Jupiter"},
     ["Saturn", "Neptune"]),
    ("f1>=0.6", [], {"question": "Longest river?", "answer": "the river Nile"}, "Nile river",
     {"question": "Highest mountain?", "answer": "Mount Everest"}, ["K2", "Kangchenjunga"]),
    ("contains", [], {"question": "Is water wet?", "answer": "yes"}, "Yes, it is wet.",
     {"question": "Is fire cold?", "answer": "no"}, ["yes", "Yes, very cold."]),
    ("numeric", ["tol=0.01"], {"question": "What is 1/3 to two places?", "answer": "0.33"},
     "about 0.333", {"question": "What is 2**10?", "answer": 1024}, ["1000", "1,000"]),
    ("math", [], {"question": "Simplify 14/20.", "answer": "\\frac{7}{10}"}, "0.7",
     {"question": "Simplify 6/8.", "answer": "\\frac{3}{4}"}, ["\\frac{2}{3}", "0.6"]),
    ("choice", [], {"question": "Which is a prime?", "answer": "B",
                    "choices": ["4", "7", "9", "10"]}, "(B)",
     {"question": "Which is even?", "answer": 0, "choices": ["8", "9", "11", "13"]},
     ["B", "C"]),
    ("regex:\\d{4}-\\d{2}-\\d{2}", [], {"question": "Date of the first Moon landing (ISO)?",
                                        "answer": "1969-07-20"}, "1969-07-20",
     {"question": "Today's date (ISO)?", "answer": "unused"}, ["July 20", "20/07/1969"]),
    ("tests", ["answer=tests"], {"question": "Write add(a, b).",
                                 "tests": ["assert add(2, 3) == 5", "assert add(-1, 1) == 0"]},
     "def add(a, b):\n    return a + b",
     {"question": "Write neg(x).", "tests": ["assert neg(2) == -2"]},
     ["def neg(x):\n    return x", "def neg(x):\n    return abs(x)"]),
]


def scripts_for(right: str, wrong: list[str]) -> dict[str, list[str]]:
    return {
        "[RIGHT]": [
            "Checking first.\n<execute>\nprint(undefined_name)\n</execute>",
            "That name does not exist; I know the answer anyway.\n"
            f"<solution>{right}</solution>",
        ],
        "[WRONG]": [f"<solution>{w}</solution>" for w in wrong],
    }


@pytest.mark.parametrize("case", CASES, ids=[c[0].split(":")[0] for c in CASES])
def test_every_judge_through_the_cli(
    case: tuple[str, list[str], dict[str, Any], str, dict[str, Any], list[str]],
    loopback: Any,
    tmp_path: Path,
) -> None:
    require_isolation()
    spec, extra, right_row, right, wrong_row, wrong = case
    rows = [
        {**right_row, "id": "right", "question": f"{right_row['question']} [RIGHT]"},
        {**wrong_row, "id": "wrong", "question": f"{wrong_row['question']} [WRONG]"},
    ]
    data = tmp_path / "tasks.jsonl"
    data.write_text("".join(json.dumps(r) + "\n" for r in rows))
    loopback.set_policy(ScriptedPolicy(scripts_for(right, wrong)))
    opts = [x for pair in (["--source-opt", o] for o in ["id=id", f"judge={spec}", *extra])
            for x in pair]
    out = tmp_path / "out"
    proc = subprocess.run(
        [*TRAJKIT, "collect", "tasks", "--teacher", "openai:m", "--data", str(data),
         "--out", str(out), "--run", "r", "--concurrency", "2", *opts],
        env={**os.environ, **loopback.env()}, capture_output=True, text=True, timeout=180,
    )
    assert proc.returncode == 0, proc.stderr
    lines = (out / "runs" / "r" / "trajectories.jsonl").read_text().splitlines()
    recs = {r["task_id"]: r for r in map(json.loads, lines)}
    good, bad = recs["right"], recs["wrong"]
    assert good["termination"] == "solved" and good["success"] and good["self_corrected"]
    assert good["steps"][0]["observation"]["error"]["type"] == "NameError"
    assert good["steps"][1]["verdict"]["details"]["judge"] == spec
    assert bad["termination"] == "max_solutions" and not bad["success"]
    verdicts = [s["verdict"] for s in bad["steps"] if s.get("verdict")]
    assert [v["success"] for v in verdicts] == [False, False]
    assert all(v["details"]["judge"] == spec for v in verdicts)
