"""WikiTableQuestions end to end: ``trajkit collect wikitq`` (real CLI process, real OpenAI SDK
over HTTP to the loopback server, isolated sandbox holding the table as ``df``) on a release
layout → records → ``trajkit filter``; the hand-written demo recording, checked cell by cell
in-process and replayed through the CLI (and on Ray workers) to its intended verdicts."""

from __future__ import annotations

import asyncio
import contextlib
import importlib.util
import io
import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

from loopback_teacher import ScriptedPolicy
from support import require, require_isolation

from trajkit.sources.base import LoadOptions
from trajkit.sources.wikitq import DEMO_REPLAY, SAMPLE_ROOT, WikiTQSource

TRAJKIT = [sys.executable, "-m", "trajkit.cli"]
EXEC_RE = re.compile(r"<execute>(.*?)</execute>", re.S)
SOL_RE = re.compile(r"<solution>(.*?)</solution>", re.S)

# What each demo episode is meant to show: the error type of each <execute> block (None =
# runs cleanly) and whether each <solution> is right.
DEMO_INTENT: dict[str, tuple[list[str | None], list[bool]]] = {
    "sa-0": (["KeyError", None, None], [True]),  # df["Height"]: the column is "Height (m)"
    "sa-1": ([None], [True]),
    "sa-2": (["TypeError", None], [True]),  # a text column compared with 5
    "sa-3": ([None], [False, True]),  # the wrong runner first
    "sa-4": (["ValueError", None], [True]),  # int("1,200,000"); answers 1200000
    "sa-5": ([None], [True]),  # answers 2001-10-09 for October 9, 2001
    "sa-6": ([None], [True]),  # reads the CSV file itself; a list literal for "Left|Right"
}

SCRIPTS = {
    "which lighthouse is the tallest": [
        "I'll take the tallest.\n<execute>\nprint(df.loc[df['Height'].idxmax(), 'Name'])\n</execute>",
        "Wrong column name; checking.\n<execute>\nprint(list(df.columns))\n"
        "print(df.loc[df['Height (m)'].idxmax(), 'Name'])\n</execute>",
        "<solution>Saltmere</solution>",
    ],
    "which nations had more than one runner": [
        "<execute>\nc = df[pd.to_numeric(df['Rank'], errors='coerce') <= 5]['Nation']"
        ".value_counts()\nprint('|'.join(c[c > 1].index))\n</execute>",
        "<solution>Ethiopia | kenya</solution>",
    ],
}


def trajkit(*args: str, env: dict[str, str], timeout: int = 240) -> subprocess.CompletedProcess:
    return subprocess.run([*TRAJKIT, *args], env=env, capture_output=True, text=True, timeout=timeout)


def read_records(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def error_type(step: dict[str, Any]) -> str | None:
    error = (step.get("observation") or {}).get("error")
    return error["type"] if error else None


def release_copy(tmp_path: Path) -> Path:
    """The sample as a release root with a ``training`` split of two questions."""
    root = tmp_path / "WikiTableQuestions"
    shutil.copytree(SAMPLE_ROOT / "csv", root / "csv")
    (root / "data").mkdir()
    lines = (SAMPLE_ROOT / "data" / "sample.tsv").read_text().splitlines()
    keep = [lines[0]] + [line for line in lines[1:] if line.split("\t")[0] in ("sa-0", "sa-2")]
    (root / "data" / "training.tsv").write_text("\n".join(keep) + "\n")
    return root


def test_collect_wikitq_end_to_end(loopback, tmp_path: Path) -> None:
    require_isolation()
    loopback.set_policy(ScriptedPolicy(SCRIPTS))
    env = {**os.environ, **loopback.env()}
    out = tmp_path / "out"
    proc = trajkit(
        "collect", "wikitq", "--teacher", "openai:m", "--data", str(release_copy(tmp_path)),
        "--split", "training", "--out", str(out), "--run", "wq", env=env,
    )
    assert proc.returncode == 0, proc.stderr
    run_dir = out / "runs" / "wq"
    records = {r["task_id"]: r for r in read_records(run_dir / "trajectories.jsonl")}
    assert set(records) == {"sa-0", "sa-2"}
    errfix = records["sa-0"]
    assert errfix["success"] and errfix["self_corrected"] and errfix["termination"] == "solved"
    assert [error_type(s) for s in errfix["steps"][:2]] == ["KeyError", None]
    assert errfix["steps"][1]["observation"]["text"].splitlines()[-1] == "Saltmere"
    assert "pandas DataFrame named `df`" in errfix["messages"][1]["content"]
    assert errfix["task"]["metadata"]["table"]["header"][2] == "Height (m)"
    multi = records["sa-2"]
    assert multi["success"] and not multi["self_corrected"]
    assert multi["steps"][0]["observation"]["text"].strip() == "Kenya|Ethiopia"
    assert multi["steps"][1]["verdict"]["details"]["matched"] == [True, True]

    proc = trajkit("filter", str(run_dir), "--dataset", "wq", "--out", str(out), env=env)
    assert proc.returncode == 0, proc.stderr
    kept = read_records(out / "datasets" / "wq" / "v1" / "data.jsonl")
    assert [r["task_id"] for r in kept] == ["sa-0"]


def test_bad_data_is_one_line_exit_2(tmp_path: Path) -> None:
    root = release_copy(tmp_path)
    (root / "data" / "training.tsv").write_text(
        "id\tutterance\tcontext\ttargetValue\nsa-0\tq\tcsv/200-csv/7.csv\tA\n"
    )
    proc = trajkit("collect", "wikitq", "--teacher", f"replay:{DEMO_REPLAY}", "--data", str(root),
                   "--out", str(tmp_path / "out"), env=dict(os.environ), timeout=120)
    assert proc.returncode == 2
    assert proc.stderr.strip().count("\n") == 0, proc.stderr
    assert "training.tsv:2: context csv/200-csv/7.csv: no table at" in proc.stderr


# --------------------------------------------------------------------------- demo recording


def test_demo_recording_shape() -> None:
    episodes = read_records(DEMO_REPLAY)
    assert [e["task_id"] for e in episodes] == [t.task_id for t in WikiTQSource().load(LoadOptions())]
    assert [e["task_id"] for e in episodes] == list(DEMO_INTENT)
    for ep in episodes:
        assert set(ep) == {"task_id", "note", "turns"} and "not produced by a model" in ep["note"]
        for turn in ep["turns"]:
            assert len(EXEC_RE.findall(turn)) + len(SOL_RE.findall(turn)) == 1, turn
        assert SOL_RE.search(ep["turns"][-1]) and len(ep["turns"]) <= 5


def test_demo_cells_run_as_intended_in_process(tmp_path: Path, monkeypatch) -> None:
    """Every cell runs after the episode's setup, in one namespace per episode."""
    monkeypatch.chdir(tmp_path)
    source = WikiTQSource()
    tasks = {t.task_id: t for t in source.load(LoadOptions())}
    got: dict[str, tuple[list[str | None], list[bool]]] = {}
    for ep in read_records(DEMO_REPLAY):
        task = tasks[ep["task_id"]]
        namespace: dict[str, Any] = {}
        exec(source.episode_setup(task), namespace)
        kinds: list[str | None] = []
        for code in (c.strip() for turn in ep["turns"] for c in EXEC_RE.findall(turn)):
            try:
                with contextlib.redirect_stdout(io.StringIO()):
                    exec(compile(code, "<cell>", "exec"), namespace)
                kinds.append(None)
            except Exception as exc:
                kinds.append(type(exc).__name__)
        answers = [a.strip() for turn in ep["turns"] for a in SOL_RE.findall(turn)]
        got[ep["task_id"]] = (kinds, [asyncio.run(source.judge(task, a)).success for a in answers])
    assert got == DEMO_INTENT


def check_demo_run(run_dir: Path) -> None:
    records = {r["task_id"]: r for r in read_records(run_dir / "trajectories.jsonl")}
    assert set(records) == set(DEMO_INTENT)
    for task_id, (errors, verdicts) in DEMO_INTENT.items():
        rec = records[task_id]
        steps = rec["steps"]
        assert [error_type(s) for s in steps if s["action"]["kind"] == "execute"] == errors, task_id
        assert [s["verdict"]["success"] for s in steps if s["verdict"]] == verdicts, task_id
        assert rec["success"], task_id
    assert "KeyError: 'Height'" in records["sa-0"]["steps"][0]["observation"]["text"]


def test_demo_replays_through_the_cli(tmp_path: Path) -> None:
    require_isolation()
    env = {k: v for k, v in os.environ.items() if not k.endswith("_API_KEY")}
    out = tmp_path / "out"
    proc = trajkit("collect", "wikitq", "--teacher", f"replay:{DEMO_REPLAY}", "--out", str(out),
                   "--run", "demo", env=env)
    assert proc.returncode == 0, proc.stderr
    check_demo_run(out / "runs" / "demo")
    proc = trajkit("filter", str(out / "runs" / "demo"), "--dataset", "demo-wikitq", "--out",
                   str(out), env=env)
    assert proc.returncode == 0, proc.stderr
    kept = read_records(out / "datasets" / "demo-wikitq" / "v1" / "data.jsonl")
    assert {r["task_id"] for r in kept} >= {"sa-0", "sa-2", "sa-4"}


def test_demo_replays_on_ray_workers(tmp_path: Path) -> None:
    require(importlib.util.find_spec("ray") is not None, "ray is not installed")
    require_isolation()
    env = {k: v for k, v in os.environ.items() if not k.endswith("_API_KEY")}
    out = tmp_path / "out"
    proc = trajkit("collect", "wikitq", "--teacher", f"replay:{DEMO_REPLAY}", "--out", str(out),
                   "--run", "ray", "--executor", "ray", "--ray-workers", "1", env=env, timeout=400)
    assert proc.returncode == 0, proc.stderr
    assert "ray: 1 worker(s)" in proc.stderr
    check_demo_run(out / "runs" / "ray")


def test_trajkit_demo_collects_wikitq() -> None:
    from trajkit.cli.demo_command import demo_sources

    assert ("wikitq", DEMO_REPLAY, None) in demo_sources()
