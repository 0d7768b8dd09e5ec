"""``trajkit collect tasks --source-opt judge=llm`` end to end: a real CLI process, the real
OpenAI SDK over HTTP to the loopback server playing both the teacher and the grader, a real
isolated sandbox. Verdicts and rationales land on the records, a grader that fails ends only
its own episode (``judge_error``), the grader's cost is in ``run.json``'s cost at the grader's
price, a repeated run answers every judgement already made from the response cache, and an
unpriced grader under ``--max-cost`` stops the run before it starts."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from loopback_teacher import ScriptedPolicy
from support import require_isolation

from trajkit.sources.judges.llm_rubric import SYSTEM_PROMPT

TRAJKIT = [sys.executable, "-m", "trajkit.cli"]
TEACHER_PRICE, GRADER_PRICE = (1.0, 2.0), (100.0, 200.0)

ROWS = [
    {"id": "right", "question": "[RIGHT] What is the capital of France?", "answer": "Paris"},
    {"id": "retry", "question": "[RETRY] What is 2 + 2?", "answer": "4"},
    {"id": "garbled", "question": "[GARBLED] Name the smallest prime.", "answer": "2"},
    {"id": "down", "question": "[DOWN] What colour is a clear daytime sky?", "answer": "blue"},
]
SCRIPTS = {
    "[RIGHT]": ["It is Paris.\n<solution>paris</solution>"],
    "[RETRY]": ["<solution>5</solution>", "I slipped.\n<solution>4</solution>"],
    "[GARBLED]": ["<solution>2</solution>", "<solution>2</solution>"],
    "[DOWN]": ["<solution>blue</solution>"],
}


def between(tag: str, text: str) -> str:
    found = re.search(f"<{tag}>\n(.*?)\n</{tag}>", text, re.S)
    assert found is not None, text
    return found[1]


def grade(rubric: str) -> str:
    """The loopback grader: compares the proposed answer with the reference, case-blind."""
    if "[DOWN]" in rubric:
        raise LookupError("grader down")  # the server answers 500, x-should-retry: false
    if "[GARBLED]" in rubric:
        return "Seems plausible enough, I suppose."
    proposed, gold = between("proposed_answer", rubric), between("reference_answer", rubric)
    ok = proposed.strip().lower() == gold.strip().lower()
    return f"Compared {proposed!r} with {gold!r}.\nVERDICT: {'CORRECT' if ok else 'INCORRECT'}"


class TeacherAndGrader:
    """One loopback server, two roles: a request with the grader's system prompt is graded."""

    def __init__(self) -> None:
        self.teacher = ScriptedPolicy(SCRIPTS)
        self.graded: list[str] = []

    def __call__(self, messages: list[dict[str, str]]) -> str:
        if messages[0]["content"] == SYSTEM_PROMPT:
            self.graded.append(messages[1]["content"])
            return grade(messages[1]["content"])
        return self.teacher(messages)


def collect(out: Path, run: str, data: Path, *extra: str, env: dict[str, str]) -> Any:
    args = [
        "collect",
        "tasks",
        "--data",
        str(data),
        "--teacher",
        "openai:teacher-m",
        "--source-opt",
        "id=id",
        "--source-opt",
        "judge=llm",
        "--source-opt",
        "grader=openai:grader-m",
        "--price",
        "teacher-m=1,2",
        "--price",
        "grader-m=100,200",
        "--concurrency",
        "1",
        "--out",
        str(out),
        "--run",
        run,
        *extra,
    ]
    return subprocess.run([*TRAJKIT, *args], env=env, capture_output=True, text=True, timeout=180)


def records(run_dir: Path) -> dict[str, dict[str, Any]]:
    lines = (run_dir / "trajectories.jsonl").read_text().splitlines()
    return {r["task_id"]: r for r in map(json.loads, lines)}


def usage_cost(usage: dict[str, int], price: tuple[float, float]) -> float:
    return (usage["input_tokens"] * price[0] + usage["output_tokens"] * price[1]) / 1e6


def verdicts(record: dict[str, Any]) -> list[dict[str, Any]]:
    return [s["verdict"] for s in record["steps"] if s.get("verdict")]


@pytest.fixture
def data(tmp_path: Path) -> Path:
    path = tmp_path / "tasks.jsonl"
    path.write_text("".join(json.dumps(row) + "\n" for row in ROWS))
    return path


def test_collect_tasks_with_the_llm_judge(loopback, tmp_path: Path, data: Path) -> None:
    require_isolation()
    policy = TeacherAndGrader()
    loopback.set_policy(policy)
    env = {**os.environ, **loopback.env()}
    out = tmp_path / "out"

    proc = collect(out, "one", data, env=env)
    assert proc.returncode == 1, proc.stderr  # partial: one judge_error episode
    got = records(out / "runs" / "one")
    assert {k: r["termination"] for k, r in got.items()} == {
        "right": "solved",
        "retry": "solved",
        "garbled": "max_solutions",
        "down": "judge_error",
    }
    right = verdicts(got["right"])[0]
    assert right["details"]["judge"] == "llm" and right["details"]["grader"] == "openai:grader-m"
    assert right["details"]["rationale"] == "Compared 'paris' with 'Paris'."
    assert [v["details"]["verdict"] for v in verdicts(got["retry"])] == ["incorrect", "correct"]
    assert got["retry"]["success"] and got["retry"]["score_details"]["verdict"] == "correct"
    garbled = verdicts(got["garbled"])
    assert [v["success"] for v in garbled] == [False, False]
    assert all("does not end with a line VERDICT" in v["details"]["reason"] for v in garbled)
    assert got["down"]["termination_detail"].startswith(
        "JudgeError: grader openai:grader-m: HTTP 500"
    )
    # the prompt the teacher saw says a grader reads the answer
    assert "a grader compares it with a reference answer" in got["right"]["task"]["prompt"]
    # temperature 0 for every grader request, whatever the teacher's
    graded = [r for r in loopback.requests if r.body and r.body.get("model") == "grader-m"]
    assert len(graded) == 5 and all(r.body["temperature"] == 0 for r in graded)
    # the same answer proposed twice is judged once: the second judgement is a cache hit
    assert [v["details"]["cached"] for v in garbled] == [False, True]
    assert garbled[0]["details"]["cost_usd"] > 0 and garbled[1]["details"]["cost_usd"] == 0

    # run.json's cost = teacher tokens at the teacher's price + every verdict's grader cost
    teacher = sum(usage_cost(s["usage"], TEACHER_PRICE) for r in got.values() for s in r["steps"])
    judged = [v["details"] for r in got.values() for v in verdicts(r)]
    grader = sum(d["cost_usd"] for d in judged)
    paid = [d for d in judged if not d["cached"]]
    assert grader == pytest.approx(sum(usage_cost(d["usage"], GRADER_PRICE) for d in paid))
    assert grader > 10 * teacher > 0
    manifest = json.loads((out / "runs" / "one" / "run.json").read_text())
    assert manifest["cost_usd"] == pytest.approx(teacher + grader, abs=1e-6)

    # Another run over the same output root: every turn and judgement made is in the cache;
    # only the judgement that failed is asked again (and fails again).
    asked = len(loopback.requests)
    proc = collect(out, "two", data, env=env)
    assert proc.returncode == 1, proc.stderr
    again = [r for r in loopback.requests[asked:]]
    assert len(again) == 1 and "[DOWN]" in again[0].body["messages"][1]["content"]
    repeat = records(out / "runs" / "two")
    assert all(v["details"]["cached"] for r in repeat.values() for v in verdicts(r))
    assert json.loads((out / "runs" / "two" / "run.json").read_text())["cost_usd"] == 0.0


def test_an_unpriced_grader_under_max_cost_stops_before_the_run(
    loopback, tmp_path: Path, data: Path
) -> None:
    env = {**os.environ, **loopback.env()}
    proc = subprocess.run(
        [
            *TRAJKIT,
            "collect",
            "tasks",
            "--data",
            str(data),
            "--teacher",
            "openai:gpt-4o-mini",
            "--source-opt",
            "judge=llm",
            "--source-opt",
            "grader=openai:mystery-grader",
            "--max-cost",
            "1",
            "--out",
            str(tmp_path / "out"),
            "--run",
            "r",
        ],
        env=env,
        capture_output=True,
        text=True,
        timeout=180,
    )
    assert proc.returncode == 2
    assert (
        proc.stderr.strip()
        .splitlines()[-1]
        .endswith(
            "--max-cost: no list price known for --source-opt grader=openai:mystery-grader; give "
            "one with --price mystery-grader=IN,OUT (USD per million tokens)"
        )
    )
    assert "Traceback" not in proc.stderr and loopback.request_count == 0
    assert not (tmp_path / "out" / "runs" / "r").exists()


async def test_a_ray_worker_lends_the_grader_too(loopback, tmp_path: Path, data: Path) -> None:
    """The Ray actor class itself (without Ray) attaches its own source with a lender: its
    episodes are judged by the grader, at temperature 0, with the cost on the verdict."""
    require_isolation()
    from trajkit.collect.config import CollectConfig
    from trajkit.collect.executors.ray_worker import EpisodeWorker
    from trajkit.sources.base import LoadOptions, make_source

    loopback.set_policy(TeacherAndGrader())
    options = {"id": "id", "judge": "llm", "grader": "openai:grader-m"}
    config = CollectConfig(
        source="tasks",
        source_options=options,
        teacher="openai:teacher-m",
        load=LoadOptions(data=str(data)),
        out=tmp_path / "out",
        run="w",
        executor="ray",
        prices={"grader-m": GRADER_PRICE},
    )
    worker = EpisodeWorker(config.model_dump(mode="json"), os.getcwd())
    try:
        task = next(
            t for t in make_source("tasks", options).load(config.load) if t.task_id == "right"
        )
        traj = await worker.play(task)
    finally:
        await worker.aclose()
    (verdict,) = [s.verdict for s in traj.steps if s.verdict is not None]
    assert traj.success and verdict.details["grader"] == "openai:grader-m"
    assert verdict.details["cost_usd"] == pytest.approx(
        usage_cost(verdict.details["usage"], GRADER_PRICE)
    )
    assert loopback.last_request.body["model"] == "grader-m"


def test_max_cost_counts_the_graders_spend(loopback, tmp_path: Path, data: Path) -> None:
    """Teacher tokens alone (~$0.0001 an episode here) would never reach $0.01; the grader's
    (~$0.03 a judgement at its price) does after the first episode, so the run stops there.
    (Without the in-context demonstration, which would make the teacher's share ~2 %.)"""
    require_isolation()
    loopback.set_policy(TeacherAndGrader())
    env = {**os.environ, **loopback.env()}
    out = tmp_path / "out"
    proc = collect(out, "budget", data, "--max-cost", "0.01", "--shots", "0", env=env)
    assert proc.returncode == 3, proc.stderr
    manifest = json.loads((out / "runs" / "budget" / "run.json").read_text())
    assert manifest["status"] == "budget_reached" and manifest["counts"]["done"] == 1
    (only,) = records(out / "runs" / "budget").values()
    grader = sum(v["details"]["cost_usd"] for v in verdicts(only))
    assert grader > 0.01 and manifest["cost_usd"] == pytest.approx(grader, rel=0.01)


def test_a_grader_that_can_never_answer_stops_the_run_at_once(
    loopback, tmp_path: Path, data: Path
) -> None:
    """An unknown grader model (or a bad key) fails every judgement the same way: the run
    stops at the first one, exit 2, one line naming the grader, ``run.json`` failed — instead
    of paying every other episode's teacher for a verdict that can never come."""
    require_isolation()
    loopback.set_policy(TeacherAndGrader())
    loopback.models = {"teacher-m"}  # the grader's model is unknown to the server
    out = tmp_path / "out"
    proc = collect(out, "fatal", data, env={**os.environ, **loopback.env()})
    assert proc.returncode == 2, proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and "grader openai:grader-m" in lines[0], lines
    manifest = json.loads((out / "runs" / "fatal" / "run.json").read_text())
    assert manifest["status"] == "failed"
    taught = [r for r in loopback.requests if r.body and r.body.get("model") == "teacher-m"]
    assert len(taught) == 1  # one episode's first turn, then the stop
