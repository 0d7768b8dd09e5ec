"""HotpotQA end to end: ``trajkit collect hotpotqa`` (real CLI process, real OpenAI SDK over
HTTP to the loopback server, isolated sandbox whose ``wikipedia_search`` calls back to the
host) → records → ``trajkit filter``; and the hand-written demo recording, checked cell by
cell in-process and replayed through the CLI to its intended verdicts."""

from __future__ import annotations

import asyncio
import contextlib
import io
import json
import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

from loopback_teacher import ScriptedPolicy
from support import require_isolation

from trajkit.sources.base import LoadOptions
from trajkit.sources.hotpotqa import DEMO_REPLAY, HotpotQASource, judge_answer

TRAJKIT = [sys.executable, "-m", "trajkit.cli"]
FIX = Path(__file__).resolve().parents[1] / "fixtures" / "hotpotqa"

SCRIPTS = {
    "Glass Harp Suite": [
        "I'll find out which orchestra premiered the suite.\n<execute>\n"
        'found = wikipedia_search("Glass Harp Suite")\nprint(fuond)\n</execute>',
        "Typo in the variable name. Printing it, then looking up the orchestra.\n<execute>\n"
        'print(found)\nprint(wikipedia_search("Harbour Orchestra"))\n</execute>',
        "The Harbour Orchestra is based in Tallinn.\n<solution>Tallinn</solution>",
    ],
    "Velvet Finch": ["Only one of them lives in Chile.\n<solution>no</solution>"],
}

# What each demo episode is meant to show: the error type of each <execute> block (None =
# runs cleanly) and whether each <solution> is right.
DEMO_INTENT: dict[str, tuple[list[str | None], list[bool]]] = {
    "trajkit-sample-01-austen": (["NameError", None, None], [True]),  # typo in the tool name
    "trajkit-sample-02-bach-handel": ([None], [True]),  # clean search
    "trajkit-sample-03-summits": (["ValueError", None], [True]),  # int("5,895")
    "trajkit-sample-04-turing-college": (["RuntimeError", None, None], [True]),  # bad tool argument
    "trajkit-sample-05-rivers": ([None, None], [False, True]),  # wrong guess, then checks
    "trajkit-sample-06-eiffel-river": ([], [True]),  # direct answer
}
EXEC_RE = re.compile(r"<execute>(.*?)</execute>", re.S)
SOL_RE = re.compile(r"<solution>(.*?)</solution>", re.S)


def trajkit(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess:
    return subprocess.run([*TRAJKIT, *args], env=env, capture_output=True, text=True, timeout=180)


def read_records(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def error_type(step: dict[str, Any]) -> str | None:
    error = (step.get("observation") or {}).get("error")
    return error["type"] if error else None


def test_collect_hotpotqa_end_to_end(loopback, tmp_path: Path) -> None:
    require_isolation()
    items = json.loads((FIX / "hotpot_format.json").read_text())[:2]
    data = tmp_path / "two.json"
    data.write_text(json.dumps(items))
    loopback.set_policy(ScriptedPolicy(SCRIPTS))
    env = {**os.environ, **loopback.env()}
    out = tmp_path / "out"
    proc = trajkit(
        "collect",
        "hotpotqa",
        "--teacher",
        "openai:m",
        "--data",
        str(data),
        "--out",
        str(out),
        "--run",
        "hq",
        "--source-opt",
        "search=context",
        env=env,
    )
    assert proc.returncode == 0, proc.stderr
    run_dir = out / "runs" / "hq"
    records = {r["task_id"]: r for r in read_records(run_dir / "trajectories.jsonl")}
    assert set(records) == {"fx-bridge-1", "fx-comparison-1"}

    errfix = records["fx-bridge-1"]
    assert errfix["success"] and errfix["self_corrected"] and errfix["termination"] == "solved"
    assert "wikipedia_search(query: str) -> str" in errfix["messages"][0]["content"]
    assert [error_type(s) for s in errfix["steps"][:2]] == ["NameError", None]
    seen = errfix["steps"][1]["observation"]["text"]
    assert (
        "Page: Glass Harp Suite" in seen and "Page: Harbour Orchestra" in seen and "Tallinn" in seen
    )
    verdict = errfix["steps"][2]["verdict"]
    assert verdict["details"]["em"] == 1 and verdict["details"]["f1"] == 1 and verdict["score"] == 1
    direct = records["fx-comparison-1"]
    assert direct["success"] and not direct["self_corrected"]

    proc = trajkit("filter", str(run_dir), "--dataset", "hq", "--out", str(out), env=env)
    assert proc.returncode == 0, proc.stderr
    kept = read_records(out / "datasets" / "hq" / "v1" / "data.jsonl")
    assert [r["task_id"] for r in kept] == ["fx-bridge-1"]


# --------------------------------------------------------------------------- demo recording


def demo_episodes() -> list[dict[str, Any]]:
    return read_records(DEMO_REPLAY)


def test_demo_recording_shape() -> None:
    episodes = demo_episodes()
    assert [e["task_id"] for e in episodes] == [
        t.task_id for t in HotpotQASource().load(LoadOptions())
    ]
    assert [e["task_id"] for e in episodes] == list(DEMO_INTENT)
    for ep in episodes:
        assert set(ep) == {"task_id", "note", "turns"} and "not produced by a model" in ep["note"]
        for turn in ep["turns"]:
            assert len(EXEC_RE.findall(turn)) + len(SOL_RE.findall(turn)) == 1, turn
            assert not turn.lstrip().startswith("<")
        assert SOL_RE.search(ep["turns"][-1]) and len(ep["turns"]) <= 5
    with_search = [ep for ep in episodes if "wikipedia_search(" in "".join(ep["turns"])]
    assert len(with_search) >= 4


def test_demo_cells_run_as_intended_against_the_context_backend() -> None:
    """Every cell runs in one namespace per episode, with a ``wikipedia_search`` that behaves
    like the sandbox stub (host errors arrive as RuntimeError)."""
    source = HotpotQASource()
    tasks = {t.task_id: t for t in source.load(LoadOptions())}
    got: dict[str, tuple[list[str | None], list[bool]]] = {}
    for ep in demo_episodes():
        task = tasks[ep["task_id"]]
        (tool,) = source.tools(task)

        def stub(*args: Any, _tool: Any = tool, **kwargs: Any) -> Any:
            try:
                return asyncio.run(_tool.call(list(args), kwargs))
            except Exception as exc:
                raise RuntimeError(
                    f"wikipedia_search() failed: {type(exc).__name__}: {exc}"
                ) from None

        namespace: dict[str, Any] = {"wikipedia_search": stub}
        kinds: list[str | None] = []
        for code in (c.strip() for turn in ep["turns"] for c in EXEC_RE.findall(turn)):
            try:
                with contextlib.redirect_stdout(io.StringIO()):
                    exec(compile(code, "<cell>", "exec"), namespace)
                kinds.append(None)
            except Exception as exc:
                kinds.append(type(exc).__name__)
        answers = [a.strip() for turn in ep["turns"] for a in SOL_RE.findall(turn)]
        got[ep["task_id"]] = (
            kinds,
            [judge_answer(str(task.reference), a).success for a in answers],
        )
    assert got == DEMO_INTENT


def test_demo_replays_through_the_cli(tmp_path: Path) -> None:
    require_isolation()
    env = {k: v for k, v in os.environ.items() if not k.endswith("_API_KEY")}
    out = tmp_path / "out"
    proc = trajkit(
        "collect",
        "hotpotqa",
        "--teacher",
        f"replay:{DEMO_REPLAY}",
        "--out",
        str(out),
        "--run",
        "demo",
        env=env,
    )
    assert proc.returncode == 0, proc.stderr
    run_dir = out / "runs" / "demo"
    records = {r["task_id"]: r for r in read_records(run_dir / "trajectories.jsonl")}
    for task_id, (errors, verdicts) in DEMO_INTENT.items():
        rec = records[task_id]
        steps = rec["steps"]
        assert [error_type(s) for s in steps if s["action"]["kind"] == "execute"] == errors, task_id
        assert [s["verdict"]["success"] for s in steps if s["verdict"]] == verdicts, task_id
        assert rec["success"] and rec["self_corrected"] == any(errors), task_id
    turing = records["trajkit-sample-04-turing-college"]["steps"][0]["observation"]["text"]
    assert "unexpected keyword argument 'top_k'" in turing
    proc = trajkit("filter", str(run_dir), "--dataset", "demo-hotpotqa", "--out", str(out), env=env)
    assert proc.returncode == 0, proc.stderr
    kept = read_records(out / "datasets" / "demo-hotpotqa" / "v1" / "data.jsonl")
    assert sorted(r["task_id"] for r in kept) == sorted(
        t for t, (e, _) in DEMO_INTENT.items() if any(e)
    )
