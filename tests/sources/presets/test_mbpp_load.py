"""MBPP: the release layouts (``mbpp.jsonl``, ``sanitized-mbpp.json``), Parquet, the Hub's
layout (configs ``full``/``sanitized``), the release's split by task id, the prompt, and the
bundled sample's reference solutions judged in a real sandbox."""

from __future__ import annotations

import json
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from support import require_isolation

from trajkit.collect.sandbox.local import LocalSandbox
from trajkit.core.errors import ConfigError, DataError
from trajkit.sources.base import LoadOptions, SourceRuntime, make_source
from trajkit.sources.presets.mbpp import SAMPLE_PATH, MBPPOptions, MBPPSource, function_name

ROWS = [json.loads(line) for line in SAMPLE_PATH.read_text().splitlines()]
FULL_FIELDS = {"task_id", "text", "code", "test_list", "test_setup_code", "challenge_test_list"}
HUB_README = """\
---
configs:
- config_name: full
  data_files:
  - split: train
    path: full/train-*
  - split: test
    path: full/test-*
  default: true
- config_name: sanitized
  data_files:
  - split: test
    path: sanitized/test-*
---
"""


def sanitized(row: dict) -> dict:
    """A full-layout row in the sanitized layout (``prompt``, ``test_imports``)."""
    imports = [row["test_setup_code"]] if row["test_setup_code"] else []
    return {"source_file": "trajkit", "task_id": row["task_id"], "prompt": row["text"], "code": row["code"],
            "test_imports": imports, "test_list": row["test_list"]}


def load(**flags: object) -> list:
    return MBPPSource().load(LoadOptions(**flags))  # type: ignore[arg-type]


def test_the_bundled_sample_is_in_the_release_layout_and_loads() -> None:
    assert all(set(row) == FULL_FIELDS for row in ROWS) and len(ROWS) == 5
    tasks = load()
    assert [t.task_id for t in tasks] == [f"mbpp/{row['task_id']}" for row in ROWS]
    fractions = tasks[3]
    assert fractions.reference == {"tests": ROWS[3]["test_list"], "setup": "from fractions import Fraction"}
    assert tasks[4].metadata == {"mbpp_task_id": 1005, "layout": "full", "shown_test": ROWS[4]["test_list"][0], "challenge_tests": 2}


def test_the_prompt_shows_the_text_and_only_the_first_test() -> None:
    task = load()[2]
    assert task.prompt.startswith("You are an expert Python programmer, and here is your task: Write a function to check")
    assert ROWS[2]["test_list"][0] in task.prompt
    assert not any(test in task.prompt for test in ROWS[2]["test_list"][1:])
    assert "Define the function `is_leap` as the test calls it." in task.prompt
    assert "this test and 3 more hidden tests, each limited to 4 seconds" in task.prompt
    assert function_name("assert set(similar(a, b)) == set((4, 5))") == "similar"  # builtins skipped


def test_challenge_tests_are_judged_only_when_asked() -> None:
    plain, challenge = load()[4], MBPPSource(MBPPOptions(challenge=True)).load(LoadOptions())[4]
    assert len(plain.reference["tests"]) == 3 and len(challenge.reference["tests"]) == 5
    assert make_source("mbpp", {"challenge": "true", "timeout": "2"}).options == MBPPOptions(challenge=True, timeout=2)


def test_the_sanitized_json_and_parquet_files_load_the_same_tasks(tmp_path: Path) -> None:
    as_json = tmp_path / "sanitized-mbpp.json"
    as_json.write_text(json.dumps([sanitized(row) for row in ROWS]))
    as_parquet = tmp_path / "test-00000-of-00001.parquet"
    pq.write_table(pa.Table.from_pylist(ROWS), as_parquet)
    base = load()
    for path, layout in ((as_json, "sanitized"), (as_parquet, "full")):
        tasks = load(data=str(path))
        assert [(t.task_id, t.prompt, t.reference) for t in tasks] == [(t.task_id, t.prompt, t.reference) for t in base]
        assert {t.metadata["layout"] for t in tasks} == {layout}


def test_the_hub_layout_loads_each_config_and_split(tmp_path: Path) -> None:
    hub = tmp_path / "mbpp"
    for config, split, rows in (("full", "test", ROWS), ("full", "train", ROWS[4:]), ("sanitized", "test", [sanitized(r) for r in ROWS[:2]])):
        (hub / config).mkdir(parents=True, exist_ok=True)
        pq.write_table(pa.Table.from_pylist(rows), hub / config / f"{split}-00000-of-00001.parquet")
    (hub / "README.md").write_text(HUB_README)
    assert [t.task_id for t in load(hf=str(hub))] == [t.task_id for t in load()]  # full/test by default
    assert [t.task_id for t in load(hf=str(hub), split="train")] == ["mbpp/1005"]
    san = load(hf=str(hub), hf_config="sanitized")
    assert [t.metadata["layout"] for t in san] == ["sanitized"] * 2
    with pytest.raises(DataError, match=r"\(full\): cannot load split 'validation'"):
        load(hf=str(hub), split="validation")


def test_split_selects_the_release_task_id_ranges_in_a_local_file(tmp_path: Path) -> None:
    ids = [1, 10, 11, 510, 511, 600, 601, 974]
    path = tmp_path / "mbpp.jsonl"
    path.write_text("".join(json.dumps({**ROWS[0], "task_id": i}) + "\n" for i in ids))
    picked = {split: [t.metadata["mbpp_task_id"] for t in load(data=str(path), split=split)]
              for split in ("prompt", "test", "validation", "train")}
    assert picked == {"prompt": [1, 10], "test": [11, 510], "validation": [511, 600], "train": [601, 974]}
    assert len(load(data=str(path))) == 8 and len(load(data=str(path), limit=3, seed=1)) == 3
    with pytest.raises(ConfigError, match="--split dev: MBPP splits are prompt, test, validation, train"):
        load(data=str(path), split="dev")


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"test_list": []}, "mbpp.jsonl:2: field 'test_list' must be a non-empty list of test strings"),
        ({"text": None}, "mbpp.jsonl:2: missing field 'text'"),
        ({"test_list": ["assert f(1) =="]}, "mbpp.jsonl:2: unparsable tests: test 1 line 1: invalid syntax"),
        ({"test_setup_code": 7}, "mbpp.jsonl:2: field 'test_setup_code' must be str, got int"),
    ],
)
def test_bad_rows_are_one_line_errors_naming_file_line_and_field(tmp_path: Path, change: dict, message: str) -> None:
    path = tmp_path / "mbpp.jsonl"
    path.write_text(json.dumps(ROWS[0]) + "\n" + json.dumps({**ROWS[1], **change}) + "\n")
    with pytest.raises(DataError) as info:
        load(data=str(path))
    assert str(info.value).endswith(message) and "\n" not in str(info.value)


def test_the_sample_reference_solutions_pass_and_a_wrong_one_fails() -> None:
    require_isolation()
    import asyncio

    async def judge_all() -> list:
        source = MBPPSource(MBPPOptions(challenge=True))
        source.attach(SourceRuntime(sandbox_factory=lambda tools: LocalSandbox()))
        try:
            tasks = source.load(LoadOptions())
            verdicts = [await source.judge(t, row["code"]) for t, row in zip(tasks, ROWS, strict=True)]
            wrong = await source.judge(tasks[4], "def second_largest(nums):\n    return sorted(nums)[-2]\n")
            return [*verdicts, wrong]
        finally:
            await source.aclose()

    *verdicts, wrong = asyncio.run(judge_all())
    assert [v.success for v in verdicts] == [True] * 5
    assert MBPPSource.verdict_summary(None, verdicts[4]) == "5/5 tests passed"  # type: ignore[arg-type]
    assert [e["status"] for e in wrong.details["tests"]] == ["fail", "pass", "fail", "fail", "fail"]
    assert MBPPSource.verdict_summary(None, wrong) == "1/5 tests passed: 4 failed"  # type: ignore[arg-type]
