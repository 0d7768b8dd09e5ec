"""``trajkit compare``: the paper-style table from three runs, numbers checked by hand.

Run ``a`` is collected for real (replay teacher, bundled MATH sample, isolated sandbox); ``b``
(JSON actions, another teacher, priced) and ``c`` (text actions, unpriced) are written through
the real ``RunStore`` from ``a``'s records with known changes, so every expected figure below
follows from ``a``'s records and those changes.
"""

from __future__ import annotations

import json
import math
import subprocess
import sys
from pathlib import Path

import pytest
from support import require_isolation

import trajkit
from trajkit.collect.run_store import RunStore
from trajkit.core.errors import ConfigError, DataError
from trajkit.dataset.compare import Comparison, wilson_interval
from trajkit.schemas import TeacherInfo, Trajectory
from trajkit.sources.math import DEMO_REPLAY

TRAJKIT = [sys.executable, "-m", "trajkit.cli"]
DROPPED = "sample/010-reciprocal-roots"  # not in b: left out of the table
B_FAILS = {"sample/001-dice-sum", "sample/002-smaller-root"}  # succeed in a, fail in b
A_FAILS = "sample/008-half-angle"  # fails in a (the replay's wrong answer), succeeds in b and c


def _write_run(path: Path, name: str, config: dict, records: list[Trajectory]) -> Path:
    store = RunStore(path, name, config, None, describe=False)
    for traj in records:
        store.append(traj)
    store.write_manifest("completed", len(records))
    store.close()
    return path


def _with_format(config: dict, run: str, fmt: str) -> dict:
    return {**config, "run": run, "loop": {**config["loop"], "action_format": fmt}}


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, Path, list[Trajectory]]:
    require_isolation()
    out = tmp_path_factory.mktemp("compare")
    a = trajkit.collect("math", f"replay:{DEMO_REPLAY}", out=out, run="a")
    records = list(a.records())
    assert a.status == "completed" and len(records) == 10
    assert [t.task_id for t in records if not t.success] == [A_FAILS]
    config = json.loads((a.path / "run.json").read_text())["config"]
    other_teacher = TeacherInfo(provider="openai", model="gpt-4o-mini")

    b_records = []
    for t in records:
        if t.task_id == DROPPED:
            continue
        ok = t.task_id not in B_FAILS
        b_records.append(t.model_copy(update={
            "id": t.id + "-b", "run": "b", "success": ok, "teacher": other_teacher, "cost_usd": 0.25,
            "action_format": "json"}))
    first = next(t for t in b_records if t.task_id == "sample/003-quadratic-inequality")
    # A second attempt and an escalation of one task: neither is compared (and both succeed,
    # where the first attempt's success is what counts).
    b_records.append(first.model_copy(update={"id": first.id + "-2", "attempt": 2, "success": False, "cost_usd": 9.0}))
    b_records.append(first.model_copy(update={"id": first.id + "-s1", "stage": 1, "success": False, "cost_usd": 9.0}))
    b = _write_run(out / "runs" / "b", "b", _with_format(config, "b", "json"), b_records)

    c_records = [t.model_copy(update={"id": t.id + "-c", "run": "c", "success": True, "cost_usd": None,
                                      "action_format": "text"})
                 for t in records]
    c = _write_run(out / "runs" / "c", "c", _with_format(config, "c", "text"), c_records)
    return a.path, b, c, records


def test_wilson_interval_matches_the_published_value() -> None:
    # 8 of 10 at 95 %: (0.4902, 0.9433), e.g. statsmodels' proportion_confint(8, 10, method="wilson").
    low, high = wilson_interval(8, 10)  # type: ignore[misc]
    assert (round(low, 4), round(high, 4)) == (0.4902, 0.9433)
    low, high = wilson_interval(0, 10)  # type: ignore[misc]
    assert low == 0.0 and round(high, 4) == 0.2775
    assert wilson_interval(0, 0) is None


def test_table_numbers_by_hand(runs: tuple[Path, Path, Path, list[Trajectory]]) -> None:
    a, b, c, records = runs
    result = trajkit.compare([a, b, c])
    assert isinstance(result, Comparison) and result.matched == 9
    labels = [(i.name, i.teacher.split(":")[0], i.action_format) for i in result.inputs]
    assert labels == [("a", "replay", "code"), ("b", "openai", "json"), ("c", "replay", "text")]
    assert result.inputs[1].teacher == "openai:gpt-4o-mini"
    assert [i.unmatched for i in result.inputs] == [1, 0, 1]
    assert [i.ignored for i in result.inputs] == [0, 2, 0]

    kept = [t for t in records if t.task_id != DROPPED]
    turns = sum(len(t.steps) for t in kept)
    tokens = sum(t.usage.input_tokens + t.usage.output_tokens for t in kept)
    ca, cb, cc = result.overall
    assert (ca.episodes, ca.successes) == (9, 8)
    assert (cb.episodes, cb.successes) == (9, 7)  # 001 and 002 fail, 008 succeeds
    assert (cc.episodes, cc.successes) == (9, 9)
    assert ca.turns_mean == cb.turns_mean == cc.turns_mean == turns / 9
    assert ca.tokens_per_success == tokens / 8 and cb.tokens_per_success == tokens / 7
    assert ca.cost_per_success == 0.0  # the replay teacher is priced at zero
    assert cb.cost_per_success == pytest.approx(9 * 0.25 / 7)  # every episode's cost, over successes
    assert cc.cost_per_success is None  # unpriced
    # Wilson by hand for 7 of 9.
    z, n, p = 1.959963984540054, 9, 7 / 9
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    assert cb.ci95 == pytest.approx((centre - half, centre + half))
    assert result.by_source.keys() == {"math"}
    assert [x.successes for x in result.by_source["math"]] == [8, 7, 9]

    ab, ac = result.flips
    assert (ab.other, ab.shared, ac.other, ac.shared) == (1, 9, 2, 10)
    assert {(f.task_id, f.first, f.other) for f in ab.tasks} == {
        ("sample/001-dice-sum", True, False), ("sample/002-smaller-root", True, False), (A_FAILS, False, True)}
    assert [(f.task_id, f.first, f.other) for f in ac.tasks] == [(A_FAILS, False, True)]


def _cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*TRAJKIT, "compare", *args], capture_output=True, text=True, timeout=60)


def test_cli_table_json_and_markdown(runs: tuple[Path, Path, Path, list[Trajectory]]) -> None:
    a, b, c, _ = runs
    table = _cli(str(a), str(b), str(c))
    assert table.returncode == 0, table.stderr
    text = table.stdout
    assert "88.9% (8)" in text and "77.8% (7)" in text and "100.0% (9)" in text
    assert "45.3%–93.7%" in text  # Wilson 7 of 9
    assert "$0.3214" in text and "first attempt of stage 0" in text
    assert "sample/001-dice-sum: success → failure" in text and f"{A_FAILS}: failure → success" in text
    assert "2 other episode(s)" in text

    js = _cli(str(a), str(b), str(c), "--json")
    assert js.returncode == 0, js.stderr
    data = json.loads(js.stdout)
    assert [i["action_format"] for i in data["inputs"]] == ["code", "json", "text"]
    assert [x["successes"] for x in data["overall"]] == [8, 7, 9]
    assert data["overall"][2]["cost_per_success"] is None and data["matched_tasks"] == 9
    assert len(data["flips"][0]["tasks"]) == 3 and data["flips"][1]["shared"] == 10

    md = _cli(str(a), str(b), "--markdown")
    assert md.returncode == 0, md.stderr
    lines = md.stdout.splitlines()
    assert lines[0].startswith("| Source | Metric | a · replay:") and lines[0].endswith("openai:gpt-4o-mini · json |")
    assert lines[1] == "|:---|:---|---:|---:|"
    assert "| math | episodes | 9 | 9 |" in lines
    assert "| all | episodes | 9 | 9 |" in lines
    assert any(line.startswith("- flipped between a and b: 3 of 9") for line in lines)


@pytest.mark.parametrize(
    ("args", "says"),
    [
        (["{a}"], "RUN_OR_VERSION: give two or more"),
        (["{a}", "{missing}"], "no such run directory or dataset version"),
        (["{a}", "{notrun}"], "not a run directory or dataset version"),
        (["{a}", "{b}", "--json", "--markdown"], "choose --json or --markdown"),
    ],
)
def test_bad_input_is_one_line_exit_2(
    runs: tuple[Path, Path, Path, list[Trajectory]], tmp_path: Path, args: list[str], says: str
) -> None:
    a, b, _, _ = runs
    (tmp_path / "notrun").mkdir()
    paths = {"a": a, "b": b, "missing": tmp_path / "nope", "notrun": tmp_path / "notrun"}
    proc = _cli(*(arg.format(**paths) for arg in args))
    lines = [line for line in proc.stderr.splitlines() if line.strip()]
    assert proc.returncode == 2 and len(lines) == 1 and says in lines[0], proc.stderr
    assert "Traceback" not in proc.stderr


def test_python_api_raises_the_same_errors(runs: tuple[Path, Path, Path, list[Trajectory]], tmp_path: Path) -> None:
    a = runs[0]
    with pytest.raises(ConfigError, match="give two or more"):
        trajkit.compare([a])
    with pytest.raises(DataError, match="not a run directory"):
        trajkit.compare([a, tmp_path])


def test_a_dataset_version_is_an_input(runs: tuple[Path, Path, Path, list[Trajectory]], tmp_path: Path) -> None:
    a, b, _, _ = runs
    version = trajkit.filter([a], dataset="all-a", out=tmp_path / "out", keep="all")
    result = trajkit.compare([version.path, b])
    assert (result.inputs[0].kind, result.inputs[0].name, result.inputs[0].action_format) == ("dataset", "all-a v1", "code")
    assert [x.successes for x in result.overall] == [8, 7] and len(result.flips[0].tasks) == 3
