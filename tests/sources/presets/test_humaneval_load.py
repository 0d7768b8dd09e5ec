"""HumanEval: the release layout (``HumanEval.jsonl.gz``), Parquet, the Hub's layout
(``openai/openai_humaneval``), the prompt, and solutions judged in a real sandbox: the sample's
canonical completions (bodies, as the benchmark's are), full functions, and wrong ones."""

from __future__ import annotations

import asyncio
import gzip
import json
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from support import require_isolation

from trajkit.collect.sandbox.local import LocalSandbox
from trajkit.core.errors import DataError
from trajkit.schemas import Task, Verdict
from trajkit.sources.base import LoadOptions, SourceRuntime
from trajkit.sources.presets.humaneval import SAMPLE_PATH, HumanEvalSource

ROWS = [json.loads(line) for line in SAMPLE_PATH.read_text().splitlines()]
FIELDS = {"task_id", "prompt", "canonical_solution", "test", "entry_point"}
HUB_README = """\
---
configs:
- config_name: openai_humaneval
  data_files:
  - split: test
    path: openai_humaneval/test-*
---
"""


def load(**flags: object) -> list[Task]:
    return HumanEvalSource().load(LoadOptions(**flags))  # type: ignore[arg-type]


def test_the_bundled_sample_is_in_the_release_layout_and_loads() -> None:
    assert all(set(row) == FIELDS for row in ROWS) and len(ROWS) == 5
    tasks = load()
    assert [t.task_id for t in tasks] == [f"humaneval/{row['task_id']}" for row in ROWS]
    first = tasks[0]
    assert first.reference == {"prompt": ROWS[0]["prompt"], "test": ROWS[0]["test"], "entry_point": "clamp"}
    assert first.metadata == {"humaneval_task_id": "TrajkitEval/0", "entry_point": "clamp"}
    assert ROWS[0]["prompt"].strip() in first.prompt and "reply with the complete function inside <solution>" in first.prompt
    assert "canonical" not in json.dumps(first.model_dump()) and ROWS[0]["canonical_solution"].strip() not in first.prompt


def test_the_gzipped_release_parquet_and_hub_layout_load_the_same_tasks(tmp_path: Path) -> None:
    gz = tmp_path / "HumanEval.jsonl.gz"
    with gzip.open(gz, "wt", encoding="utf-8") as fh:
        fh.writelines(json.dumps(row) + "\n" for row in ROWS)
    hub = tmp_path / "openai_humaneval"
    (hub / "openai_humaneval").mkdir(parents=True)
    pq.write_table(pa.Table.from_pylist(ROWS), hub / "openai_humaneval" / "test-00000-of-00001.parquet")
    (hub / "README.md").write_text(HUB_README)
    base = [(t.task_id, t.prompt, t.reference) for t in load()]
    for flags in ({"data": str(gz)}, {"data": str(hub / "openai_humaneval" / "test-00000-of-00001.parquet")}, {"hf": str(hub)}):
        assert [(t.task_id, t.prompt, t.reference) for t in load(**flags)] == base, flags
    assert len(load(hf=str(hub), limit=2, seed=3)) == 2


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"entry_point": None}, "HumanEval.jsonl:2: missing field 'entry_point'"),
        ({"test": "assert clamp(1, 0, 2) == 1"}, "HumanEval.jsonl:2 field 'test': no tests (and no check(candidate) defined to call pairwise_diffs)"),
        ({"test": "def check(candidate):\n    assert candidate(1) =="}, "HumanEval.jsonl:2 field 'test': unparsable tests: setup line 2"),
        ({"prompt": 3}, "HumanEval.jsonl:2: field 'prompt' must be str, got int"),
    ],
)
def test_bad_rows_are_one_line_errors_naming_file_line_and_field(tmp_path: Path, change: dict, message: str) -> None:
    path = tmp_path / "HumanEval.jsonl"
    path.write_text(json.dumps(ROWS[0]) + "\n" + json.dumps({**ROWS[1], **change}) + "\n")
    with pytest.raises(DataError) as info:
        load(data=str(path))
    assert message in str(info.value) and "\n" not in str(info.value)


def test_a_torn_gzip_file_is_a_data_error(tmp_path: Path) -> None:
    path = tmp_path / "HumanEval.jsonl.gz"
    path.write_bytes(gzip.compress(SAMPLE_PATH.read_bytes())[:60])
    with pytest.raises(DataError, match=r"HumanEval\.jsonl\.gz: not a readable gzip file"):
        load(data=str(path))


def judge_all(answers: list[tuple[int, str]]) -> list[Verdict]:
    async def run() -> list[Verdict]:
        source = HumanEvalSource()
        source.attach(SourceRuntime(sandbox_factory=lambda tools: LocalSandbox()))
        try:
            tasks = source.load(LoadOptions())
            return [await source.judge(tasks[i], answer) for i, answer in answers]
        finally:
            await source.aclose()

    return asyncio.run(run())


def test_canonical_bodies_full_functions_and_wrong_ones() -> None:
    require_isolation()
    canonical = [(i, row["canonical_solution"]) for i, row in enumerate(ROWS)]
    full = [(1, "```python\nfrom typing import List\n\ndef pairwise_diffs(numbers: List[int]) -> List[int]:\n"
                "    return [b - a for a, b in zip(numbers, numbers[1:])]\n```")]
    # Uses List from the stub's imports without importing it: the stub always comes first.
    full_no_import = [(1, "def pairwise_diffs(numbers: List[int]) -> List[int]:\n    return [numbers[i + 1] - numbers[i] for i in range(len(numbers) - 1)]")]
    wrong = [(2, "def is_sentence_palindrome(text):\n    return text == text[::-1]"), (4, "    return items[k:] + items[:k]")]
    verdicts = judge_all(canonical + full + full_no_import + wrong)
    assert [v.success for v in verdicts] == [True] * 7 + [False, False]
    assert HumanEvalSource.verdict_summary(None, verdicts[0]) == "1/1 tests passed"  # type: ignore[arg-type]
    palindrome, rotate = verdicts[7].details["tests"][0], verdicts[8].details["tests"][0]
    assert palindrome["test"] == "check(is_sentence_palindrome)" and palindrome["status"] == "fail"
    assert palindrome["error"] == "AssertionError (at setup line 10: assert candidate('Never odd or even.') is True)"
    assert rotate["error"].startswith("AssertionError (at setup line 11: assert candidate([1, 2, 3], 5) == [3, 1, 2])")
