"""``tasks`` end to end, as a user runs it: ``trajkit collect tasks`` (real CLI process, real
OpenAI SDK over HTTP to the loopback server, isolated sandbox), with the ``exact`` and
``numeric`` judges, the user's own host functions as tools, and the same run from Python."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any, ClassVar

from loopback_teacher import ScriptedPolicy
from support import require_isolation

import trajkit
from trajkit.core import registry
from trajkit.schemas import Task, Verdict
from trajkit.sources.judges import BaseJudge
from trajkit.sources.judges.base import judged
from trajkit.sources.judges.text import ExactJudge
from trajkit.sources.reading import generic_summary

TRAJKIT = [sys.executable, "-m", "trajkit.cli"]

ROWS = [
    {"id": "primes", "question": "How many primes are below 30? [ERRFIX]", "answer": "10", "kind": "count"},
    {"id": "capital", "question": "What is the capital of Portugal? [DIRECT]", "answer": "Lisbon", "kind": "fact"},
    {"id": "wrong", "question": "What is 2 to the power 10? [WRONG]", "answer": 1024, "kind": "power"},
]
SCRIPTS = {
    "[ERRFIX]": [
        "I'll count them with a sieve.\n<execute>\nprint(len([n for n in range(2, 30) if is_prime(n)]))\n</execute>",
        "is_prime is not defined yet; defining it first.\n<execute>\n"
        "def is_prime(n):\n    return all(n % k for k in range(2, n))\n\n"
        "print(len([n for n in range(2, 30) if is_prime(n)]))\n</execute>",
        "There are 10 primes below 30.\n<solution>10</solution>",
    ],
    "[DIRECT]": ["Portugal's capital is Lisbon.\n<solution>Lisbon</solution>"],
    "[WRONG]": ["It is 1000.\n<solution>1000</solution>", "Let me recompute.\n<solution>1,000</solution>"],
}


def trajkit_cli(*args: str, env: dict[str, str], cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*TRAJKIT, *args], env=env, cwd=cwd, capture_output=True, text=True, timeout=180)


def records(run_dir: Path) -> dict[str, dict[str, Any]]:
    lines = (run_dir / "trajectories.jsonl").read_text().splitlines()
    return {json.loads(line)["task_id"]: json.loads(line) for line in lines if line.strip()}


def error_type(step: dict[str, Any]) -> str | None:
    error = (step.get("observation") or {}).get("error")
    return error["type"] if error else None


def data_file(tmp_path: Path, rows: list[dict[str, Any]] = ROWS) -> Path:
    path = tmp_path / "tasks.jsonl"
    path.write_text("".join(json.dumps(row) + "\n" for row in rows))
    return path


def test_collect_tasks_with_the_exact_judge_through_the_cli(loopback, tmp_path: Path) -> None:
    require_isolation()
    loopback.set_policy(ScriptedPolicy(SCRIPTS))
    env = {**os.environ, **loopback.env()}
    out = tmp_path / "out"
    proc = trajkit_cli("collect", "tasks", "--teacher", "openai:m", "--data", str(data_file(tmp_path)),
                       "--out", str(out), "--run", "ex", "--source-opt", "id=id", env=env)
    assert proc.returncode == 0, proc.stderr
    recs = records(out / "runs" / "ex")
    assert set(recs) == {"primes", "capital", "wrong"}

    errfix = recs["primes"]
    assert errfix["success"] and errfix["self_corrected"] and errfix["termination"] == "solved"
    assert [error_type(s) for s in errfix["steps"][:2]] == ["NameError", None]
    assert errfix["steps"][1]["observation"]["text"].strip() == "10"
    verdict = errfix["steps"][2]["verdict"]
    assert verdict["details"]["judge"] == "exact" and verdict["details"]["em"] == 1
    task = errfix["task"]
    assert task["reference"] == "10" and task["metadata"] == {"kind": "count"}
    assert task["source"] == "tasks" and "How many primes are below 30?" in task["prompt"]

    direct = recs["capital"]
    assert direct["success"] and not direct["self_corrected"] and len(direct["steps"]) == 1
    wrong = recs["wrong"]
    assert not wrong["success"] and wrong["termination"] == "max_solutions"
    assert [s["verdict"]["success"] for s in wrong["steps"]] == [False, False]

    proc = trajkit_cli("filter", str(out / "runs" / "ex"), "--dataset", "ex", "--out", str(out), env=env)
    assert proc.returncode == 0, proc.stderr
    kept = [json.loads(line) for line in (out / "datasets/ex/v1/data.jsonl").read_text().splitlines()]
    assert [r["task_id"] for r in kept] == ["primes"]

    proc = trajkit_cli("show", "primes", "--in", str(out / "runs" / "ex"), env=env)
    assert proc.returncode == 0, proc.stderr
    # The report line is the exact judge's own summary, found from the record alone.
    summary = ExactJudge.summary(Task(**task), Verdict(**verdict))
    assert summary != generic_summary(Task(**task), Verdict(**verdict))
    assert summary in proc.stdout


def test_collect_tasks_with_the_numeric_judge_and_its_option(loopback, tmp_path: Path) -> None:
    """``1,000`` vs 1024 fails at the default tolerance and passes with ``rel_tol=0.05``: the
    judge's own option reached it through ``--source-opt``."""
    require_isolation()
    loopback.set_policy(ScriptedPolicy(SCRIPTS))
    env = {**os.environ, **loopback.env()}
    out = tmp_path / "out"
    data = str(data_file(tmp_path, [r for r in ROWS if r["id"] != "capital"]))
    base = ["collect", "tasks", "--teacher", "openai:m", "--data", data, "--out", str(out),
            "--source-opt", "id=id", "--source-opt", "judge=numeric"]
    proc = trajkit_cli(*base, "--run", "strict", env=env)
    assert proc.returncode == 0, proc.stderr
    strict = records(out / "runs" / "strict")
    assert strict["primes"]["success"] and not strict["wrong"]["success"]
    assert strict["primes"]["steps"][-1]["verdict"]["details"]["judge"] == "numeric"
    proc = trajkit_cli(*base, "--run", "loose", "--source-opt", "rel_tol=0.05", env=env)
    assert proc.returncode == 0, proc.stderr
    loose = records(out / "runs" / "loose")
    assert loose["wrong"]["success"] and loose["wrong"]["steps"][0]["verdict"]["success"]


TOOLS_PY = '''
"""The user's own API, called from the sandbox."""

RATES = {"EUR": 1.25, "JPY": 0.0067}


def exchange_rate(currency: str) -> float:
    """How many US dollars one unit of `currency` buys (EUR, JPY)."""
    if currency not in RATES:
        raise KeyError(f"no rate for {currency!r}")
    return RATES[currency]


async def shout(text: str, times: int = 1) -> str:
    """`text` in capitals, repeated `times` times."""
    return " ".join([text.upper()] * times)
'''

TOOL_SCRIPTS = {
    "[TOOLS]": [
        "I'll ask the rate API.\n<execute>\nprint(exchange_rate('GBP'))\n</execute>",
        "No GBP rate; the question is about euros anyway.\n<execute>\n"
        "print(round(80 * exchange_rate('EUR'), 2), shout('done', times=2))\n</execute>",
        "80 euros buy 100 dollars.\n<solution>100</solution>",
    ],
}


def test_host_functions_are_tools_the_sandbox_calls(loopback, tmp_path: Path) -> None:
    require_isolation()
    (tmp_path / "user_api.py").write_text(TOOLS_PY)
    data = tmp_path / "t.csv"
    data.write_text("question,answer\nHow many US dollars do 80 euros buy? [TOOLS],100\n")
    loopback.set_policy(ScriptedPolicy(TOOL_SCRIPTS))
    env = {**os.environ, **loopback.env(), "PYTHONPATH": str(tmp_path)}
    out = tmp_path / "out"
    proc = trajkit_cli("collect", "tasks", "--teacher", "openai:m", "--data", str(data), "--out",
                       str(out), "--run", "tools", "--source-opt", "judge=numeric",
                       "--source-opt", "tools=user_api:exchange_rate,./user_api.py:shout",
                       env=env, cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    (rec,) = records(out / "runs" / "tools").values()
    system = rec["messages"][0]["content"]
    assert "- exchange_rate(currency: str) -> float" in system
    assert "How many US dollars one unit of `currency` buys (EUR, JPY)." in system
    assert "- shout(text: str, times: int = 1) -> str" in system
    first, second = rec["steps"][0]["observation"], rec["steps"][1]["observation"]
    assert "no rate for 'GBP'" in first["text"] and first["error"]
    assert second["text"].strip() == "100.0 DONE DONE" and not second["error"]
    assert rec["success"] and rec["self_corrected"]


class _NearJudge(BaseJudge):
    """A notebook's own judge: right when the answer's number is within 5 of the reference."""

    name: ClassVar[str] = "near"

    async def judge(self, task: Task, answer: str) -> Verdict:
        try:
            ok = abs(float(answer.replace(",", "")) - float(task.reference)) <= 5  # type: ignore[arg-type]
        except ValueError:
            ok = False
        return judged(Verdict(success=ok, score=float(ok)), "near")

    @classmethod
    def summary(cls, task: Task, verdict: Verdict) -> str:
        return "near: within 5" if verdict.success else "near: too far"


def test_the_python_api_collects_tasks_with_a_judge_registered_at_run_time(loopback, tmp_path: Path) -> None:
    require_isolation()
    loopback.set_policy(ScriptedPolicy(SCRIPTS))
    registry.register("judge", "near", _NearJudge, replace=True)
    try:
        numbers = [r for r in ROWS if r["id"] != "capital"]
        run = trajkit.collect("tasks", "openai:m", data=str(data_file(tmp_path, numbers)), out=tmp_path / "out",
                              run="py", source_opt={"id": "id", "judge": "near"}, concurrency=2)
    finally:
        registry.REGISTRY.unregister("judge", "near")
    assert run.status == "completed" and run.counts == {"solved": 1, "max_solutions": 1}
    by_id = {r.task.task_id: r for r in run.records()}
    assert by_id["primes"].success and by_id["primes"].self_corrected
    wrong = by_id["wrong"]  # 1000 vs 1024: too far for "near"
    assert not wrong.success and all(s.verdict and s.verdict.details["judge"] == "near" for s in wrong.steps)
