"""GSM8K preset: the ``####`` answer, the release layout (file and ``data`` folder, socratic
variant), the Hub layout (``main``/``socratic`` configs) through ``datasets``, bad data, the
demo recording, and an end-to-end run over the real OpenAI SDK with the numeric judge.

The rows below were written for trajkit in the release's layout; none is a GSM8K item.
"""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from demo_replay_check import cell_errors, check_shape, episodes, solutions, step_errors
from loopback_teacher import ScriptedPolicy
from support import require_isolation

import trajkit
from trajkit.core.errors import DataError
from trajkit.schemas import Task
from trajkit.sources.base import LoadOptions, make_source
from trajkit.sources.presets.gsm8k import DEMO_REPLAY, GSM8KSource, final_answer

TRAJKIT = [sys.executable, "-m", "trajkit.cli"]

MAIN = [
    {"question": "Ana has 3 boxes of 12 pencils and gives away 10. How many pencils are left? [ERRFIX]",
     "answer": "She had 3 * 12 = <<3*12=36>>36 pencils.\nShe has 36 - 10 = <<36-10=26>>26 left.\n#### 26"},
    {"question": "A stadium sells 1,250 tickets at $8 each. How many dollars does it take in? [BIG]",
     "answer": "It takes in 1,250 * 8 = $<<1250*8=10000>>10,000.\n#### 10,000"},
    {"question": "A tank loses 4 liters a day from 30 liters. After how many days has it 2 liters left? [WRONG]",
     "answer": "It must lose 30 - 2 = <<30-2=28>>28 liters.\nThat takes 28 / 4 = <<28/4=7>>7 days.\n#### 7"},
]
SOCRATIC = [
    {"question": MAIN[0]["question"],
     "answer": "How many pencils did Ana have? ** She had 3 * 12 = <<3*12=36>>36 pencils.\n"
               "How many are left? ** She has 36 - 10 = <<36-10=26>>26 left.\n#### 26"},
]


def write_jsonl(path: Path, rows: list[dict[str, Any]]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return path


def load(**kwargs: Any) -> list[Task]:
    return GSM8KSource().load(LoadOptions(**kwargs))


@pytest.mark.parametrize(
    ("solution", "number"),
    [
        ("a\nb\n#### 72", "72"),
        ("#### 1,234", "1234"),
        ("x\n#### -3", "-3"),
        ("x\n####  0.5 ", "0.5"),
        ("####72", "72"),
        ("#### 1\nthen\n#### 2", "2"),
        ("no final line", None),
        ("#### seventy", None),
        ("the answer is #### 5 inline", None),
    ],
)
def test_final_answer_reads_the_number_after_the_hashes(solution: str, number: str | None) -> None:
    assert final_answer(solution) == number


def test_release_file_and_data_folder(tmp_path: Path) -> None:
    data = tmp_path / "grade_school_math" / "data"
    test = write_jsonl(data / "test.jsonl", MAIN)
    write_jsonl(data / "train.jsonl", MAIN[:1])
    write_jsonl(data / "test_socratic.jsonl", SOCRATIC)
    tasks = load(data=str(test))
    assert [t.reference for t in tasks] == ["26", "10000", "7"]
    first = tasks[0]
    assert first.source == "gsm8k" and first.task_id.startswith("gsm8k-")
    assert first.metadata == {"solution": MAIN[0]["answer"]}
    assert "Problem: Ana has 3 boxes" in first.prompt and "as a number without units" in first.prompt
    assert load(data=str(tmp_path), split="test") == tasks  # the release checkout's root
    assert load(data=str(data), split="test") == tasks
    assert [t.reference for t in load(data=str(data))] == ["26"]  # split defaults to train
    (socratic,) = load(data=str(data), split="test", hf_config="socratic")
    assert socratic.reference == "26" and "** She had" in socratic.metadata["solution"]
    with pytest.raises(DataError, match=r"no validation\.jsonl here"):
        load(data=str(data), split="validation")


def hub_folder(root: Path) -> Path:
    """``openai/gsm8k``'s layout: ``{main,socratic}/{split}-00000-of-00001.parquet`` and a README
    whose YAML declares the two configs."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    card = ["---", "configs:"]
    for config, rows in (("main", MAIN), ("socratic", SOCRATIC)):
        (root / config).mkdir(parents=True)
        for split in ("train", "test"):
            pq.write_table(pa.Table.from_pylist(rows), root / config / f"{split}-00000-of-00001.parquet")
        card += [f"- config_name: {config}", "  data_files:",
                 "  - split: train", f"    path: {config}/train-*",
                 "  - split: test", f"    path: {config}/test-*"]
    (root / "README.md").write_text("\n".join([*card, "---", "# GSM8K (test copy)"]) + "\n")
    return root


def test_hub_layout_through_datasets(tmp_path: Path) -> None:
    repo = hub_folder(tmp_path / "gsm8k")
    expected = load(data=str(write_jsonl(tmp_path / "test.jsonl", MAIN)))
    assert load(hf=str(repo), split="test") == expected  # config main by default
    assert load(hf=str(repo), hf_config="main", split="test") == expected
    (socratic,) = load(hf=str(repo), hf_config="socratic", split="test")
    assert socratic.reference == "26" and socratic.metadata["solution"].startswith("How many")


def test_hub_id_defaults_to_the_main_config(monkeypatch: pytest.MonkeyPatch) -> None:
    import datasets

    calls = []

    def fake(name: str, config: str | None = None, split: str | None = None) -> Any:
        calls.append((name, config, split))
        return datasets.Dataset.from_list(MAIN)

    monkeypatch.setattr(datasets, "load_dataset", fake)
    assert [t.reference for t in load(hf="openai/gsm8k", split="test")] == ["26", "10000", "7"]
    load(hf="openai/gsm8k", hf_config="socratic")
    assert calls == [("openai/gsm8k", "main", "test"), ("openai/gsm8k", "socratic", "train")]


def test_a_solution_without_its_final_line_is_one_line_and_exit_2(tmp_path: Path) -> None:
    write_jsonl(tmp_path / "test.jsonl", [MAIN[0], {"question": "q", "answer": "no hashes"}])
    env = {k: v for k, v in os.environ.items() if not k.endswith("_API_KEY")}
    proc = subprocess.run([*TRAJKIT, "collect", "gsm8k", "--teacher", "openai:m", "--estimate",
                           "--data", "test.jsonl"], cwd=tmp_path, env=env, capture_output=True,
                          text=True, timeout=120)
    assert proc.returncode == 2 and proc.stderr.count("\n") == 1, proc.stderr
    assert proc.stderr == "error: test.jsonl:2: field 'answer' has no final '#### <number>' line\n"


def test_judge_options_pass_through_and_judge_can_be_changed() -> None:
    source = make_source("gsm8k", {"tol": "0.5"})
    assert type(source.judge_impl).__name__ == "NumericJudge"  # type: ignore[attr-defined]
    assert type(make_source("gsm8k", {"judge": "exact"}).judge_impl).__name__ == "ExactJudge"  # type: ignore[attr-defined]


# --------------------------------------------------------------------------- demo recording

INTENT: dict[str, tuple[list[str | None], list[bool]]] = {
    "92": (["NameError", None], [True]),  # misspelt variable
    "300": ([None], [True]),
    "2": ([None, None], [False, True]),  # 1.875 buses, then rounds up
    "40": ([], [True]),  # direct answer
    "120": (["ValueError", None], [True]),  # int("$120.0")
    "28800": ([None], [True]),  # answered "28,800"
}


def test_the_demo_recording_does_what_it_means() -> None:
    source = GSM8KSource()
    tasks = {t.task_id: t for t in source.load(LoadOptions())}
    eps = episodes(DEMO_REPLAY)
    assert [e["task_id"] for e in eps] == list(tasks)
    got = {}
    for ep in eps:
        check_shape(ep)
        task = tasks[ep["task_id"]]
        verdicts = [asyncio.run(source.judge(task, a)).success for a in solutions(ep["turns"])]
        got[task.reference] = (cell_errors(ep["turns"]), verdicts)
    assert got == INTENT


def test_the_demo_replays_through_the_python_api(tmp_path: Path) -> None:
    require_isolation()
    run = trajkit.collect("gsm8k", f"replay:{DEMO_REPLAY}", out=tmp_path / "out", run="demo",
                          concurrency=3)
    assert run.status == "completed" and run.counts == {"solved": 6}
    for rec in run.records():
        errors, verdicts = INTENT[rec.task.reference]
        assert step_errors(json.loads(rec.model_dump_json())) == errors
        assert [s.verdict.success for s in rec.steps if s.verdict] == verdicts
        assert rec.self_corrected == any(errors)


# --------------------------------------------------------------------------- end to end

SCRIPTS = {
    "[ERRFIX]": [
        "Pencils left.\n<execute>\nprint(3 * 12 - ten)\n</execute>",
        "ten is not defined; using the number.\n<execute>\nprint(3 * 12 - 10)\n</execute>",
        "26 pencils are left.\n<solution>26</solution>",
    ],
    "[BIG]": ["1,250 tickets at $8 make $10,000.\n<solution>$10,000</solution>"],
    "[WRONG]": ["It loses 4 a day for 30 liters.\n<solution>7.5</solution>",
                "It only has to lose 28 liters: 28 / 4 days.\n<solution>7</solution>"],
}


def test_collect_gsm8k_end_to_end_over_the_openai_sdk(loopback, tmp_path: Path) -> None:
    require_isolation()
    data = write_jsonl(tmp_path / "grade_school_math" / "data" / "test.jsonl", MAIN)
    loopback.set_policy(ScriptedPolicy(SCRIPTS))
    env = {**os.environ, **loopback.env()}
    out = tmp_path / "out"
    proc = subprocess.run([*TRAJKIT, "collect", "gsm8k", "--teacher", "openai:m", "--data",
                           str(data.parent), "--split", "test", "--out", str(out), "--run", "g"],
                          env=env, capture_output=True, text=True, timeout=180)
    assert proc.returncode == 0, proc.stderr
    lines = (out / "runs/g/trajectories.jsonl").read_text().splitlines()
    recs = {r["task"]["reference"]: r for r in map(json.loads, lines)}
    errfix, big, wrong = recs["26"], recs["10000"], recs["7"]
    assert errfix["success"] and errfix["self_corrected"]
    assert step_errors(errfix) == ["NameError", None]
    verdict = errfix["steps"][-1]["verdict"]
    assert verdict["details"]["judge"] == "numeric" and verdict["score"] == 1
    assert big["success"] and len(big["steps"]) == 1  # "$10,000" read as 10000
    assert wrong["success"] and [s["verdict"]["success"] for s in wrong["steps"]] == [False, True]
    assert errfix["task"]["metadata"]["solution"].endswith("#### 26")


def upstream_extract(solution: str) -> str | None:
    """The release's rule (``grade_school_math/dataset.py``, ``extract_answer``), restated:
    the first ``#### `` followed by sign/digits/points/commas, commas removed."""
    import re

    match = re.search(r"#### (\-?[0-9\.\,]+)", solution)
    return match.group(1).strip().replace(",", "") if match else None


@pytest.mark.parametrize(
    "solution",
    ["a\n#### 72", "x\n#### 70,000", "x\n#### -3", "x\n#### 0.5", "x <<2*3=6>>6\n#### 6",
     *[row["answer"] for row in MAIN + SOCRATIC]],
)
def test_the_reference_is_what_the_release_extracts(solution: str) -> None:
    assert final_answer(solution) == upstream_extract(solution)


@pytest.mark.parametrize(
    ("solution", "upstream", "ours"),
    [
        ("####72", None, "72"),  # no space: the release's pattern needs one
        ("see #### 5 below\nthen 6", "5", None),  # not a final-answer line: no reference
        ("#### 5.", "5.", "5"),  # a sentence's full stop is no part of the number
    ],
)
def test_deliberate_differences_from_the_release_rule(solution: str, upstream: str | None, ours: str | None) -> None:
    assert upstream_extract(solution) == upstream and final_answer(solution) == ours
