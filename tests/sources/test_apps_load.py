"""APPS source: loading every format (JSONL, JSON, Parquet, the Hub path), dropping problems
without tests, difficulty selection, seeded sampling, errors naming file and line/row,
options, the prompt and program extraction.

Judge tests are in test_apps_judge*.py; comparison rules in test_apps_compare.py.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path

import pytest

from trajkit.core.errors import ConfigError, DataError
from trajkit.sources.apps import SAMPLE_PATH, AppsSource, extract_program
from trajkit.sources.apps.load import pick_split_files
from trajkit.sources.apps.records import entry_class
from trajkit.sources.base import LoadOptions, make_source

FIX = Path(__file__).resolve().parents[1] / "fixtures" / "apps"
FORMAT = FIX / "apps_format.jsonl"


def load(source: AppsSource | None = None, **kw: object) -> list:
    return (source or AppsSource()).load(LoadOptions(**kw))


def rows(path: Path = FORMAT) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def write_parquet(path: Path, records: list[dict]) -> Path:
    import pyarrow as pa
    import pyarrow.parquet as pq

    pq.write_table(pa.Table.from_pylist(records), path)
    return path


# --------------------------------------------------------------------------- the sample


def test_bundled_sample_covers_both_modes_and_all_difficulties() -> None:
    tasks = load()
    assert len(tasks) == 7
    assert all(t.task_id == f"apps/{t.metadata['problem_id']}" for t in tasks)
    modes = {t.task_id: (t.reference["mode"], t.reference["class_name"]) for t in tasks}
    assert modes["apps/sample-05-balanced-prefixes"] == ("call", "Solution")
    assert modes["apps/sample-06-shift-letters"] == ("call", None)
    assert sum(m == "stdin" for m, _ in modes.values()) == 4
    assert {t.metadata["difficulty"] for t in tasks} == {"introductory", "interview", "competition"}
    assert all(len(t.reference["inputs"]) >= 3 for t in tasks)


def test_prompt_states_the_io_mode_starter_code_and_what_to_submit() -> None:
    tasks = {t.task_id: t.prompt for t in load()}
    stdin, call = tasks["apps/sample-01-pair-sums"], tasks["apps/sample-05-balanced-prefixes"]
    assert "reads from standard input and writes to standard output" in stdin
    assert "Starter code" not in stdin
    assert "Complete the provided starter code; your function will be called with the test inputs" in call
    assert "Solution().countBalancedPrefixes(...)" in call
    assert "class Solution:\n    def countBalancedPrefixes(self, s: str) -> int:" in call
    assert "shift_letters(...)" in tasks["apps/sample-06-shift-letters"]
    for prompt in (stdin, call):
        assert "sandbox" in prompt and "complete final program inside <solution></solution>" in prompt
        assert "code only" in prompt and "4 seconds" in prompt
        assert '"outputs"' not in prompt  # hidden tests stay hidden


# --------------------------------------------------------------------------- formats


def test_jsonl_drops_problems_without_tests_and_warns_once(caplog) -> None:
    source = AppsSource()
    with caplog.at_level(logging.WARNING, logger="trajkit.sources.apps.load"):
        tasks = load(source, data=str(FORMAT))
    assert [t.task_id for t in tasks] == ["apps/101", "apps/102", "apps/103", "apps/107"]
    report = source.last_report
    assert report is not None and (report.read, report.skipped_no_tests, report.selected) == (7, 3, 4)
    warnings = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 1 and "skipped 3 of 7" in warnings[0].getMessage()
    assert "apps_format.jsonl:4 (no tests)" in warnings[0].getMessage()


def test_records_convert_every_field() -> None:
    by_id = {t.task_id: t for t in load(data=str(FORMAT))}
    stdin = by_id["apps/101"]
    assert stdin.reference == {
        "mode": "stdin", "fn_name": None, "class_name": None,
        "inputs": ["4\n", "0\n", "-7\n"], "outputs": ["8\n", "0\n", "-14\n"], "examples": [],
    }
    assert stdin.metadata["url"] == "https://example.org/101" and stdin.metadata["num_solutions"] == 1
    assert by_id["apps/102"].reference["class_name"] == "Solution"
    assert by_id["apps/102"].reference["inputs"] == [["banana"], ["xyz"]]
    lines = by_id["apps/103"].reference
    assert lines["inputs"] == ["first\nsecond", "a\nb"]  # a list of lines is one stdin text
    assert by_id["apps/107"].reference["fn_name"] == "add"
    assert by_id["apps/107"].reference["class_name"] is None


def test_parquet_and_json_give_the_same_tasks_as_jsonl(tmp_path: Path) -> None:
    expected = load(data=str(FORMAT))
    parquet = write_parquet(tmp_path / "apps.parquet", rows())
    as_json = tmp_path / "apps.json"
    as_json.write_text(json.dumps(rows()))
    assert load(data=str(parquet)) == expected
    assert load(data=str(as_json)) == expected


def test_decoded_input_output_and_missing_problem_id_are_accepted(tmp_path: Path) -> None:
    record = dict(rows()[0], input_output={"inputs": ["1\n"], "outputs": ["2\n"]})
    del record["problem_id"]
    path = tmp_path / "decoded.jsonl"
    path.write_text(json.dumps(record) + "\n" + json.dumps(record) + "\n")
    first, second = load(data=str(path))
    assert first.task_id.startswith("apps/q-") and second.task_id == first.task_id + "-2"
    assert first.reference["inputs"] == ["1\n"]


# --------------------------------------------------------------------------- the Hub path


def test_hf_reads_a_local_directory_laid_out_like_the_repository(tmp_path: Path) -> None:
    repo = tmp_path / "apps_repo"
    repo.mkdir()
    (repo / "train.jsonl").write_text(FORMAT.read_text())
    (repo / "test.jsonl").write_text(json.dumps(rows()[0]) + "\n")
    assert load(hf=str(repo)) == load(data=str(FORMAT))  # split defaults to train
    assert [t.task_id for t in load(hf=str(repo), split="test")] == ["apps/101"]
    with pytest.raises(DataError, match=r"no \.jsonl/\.parquet data files for split 'validation'"):
        load(hf=str(repo), split="validation")


def test_hf_parquet_export_layout_with_configs(tmp_path: Path) -> None:
    repo = tmp_path / "export"
    for config, recs in (("all", rows()), ("introductory", [rows()[1]])):
        (repo / config / "train").mkdir(parents=True)
        write_parquet(repo / config / "train" / "0000.parquet", recs)
    assert len(load(hf=str(repo))) == 4  # "all" when no config is named
    assert [t.task_id for t in load(hf=str(repo), hf_config="introductory")] == ["apps/102"]


def test_hf_dataset_id_goes_through_hub_download_then_the_same_readers(monkeypatch, tmp_path: Path) -> None:
    import huggingface_hub

    calls: list[tuple] = []
    parquet = write_parquet(tmp_path / "train-00000-of-00001.parquet", rows())

    def list_repo_files(repo_id: str, repo_type: str | None = None, revision: str | None = None) -> list[str]:
        calls.append(("list", repo_id, repo_type, revision))
        return ["README.md", "apps.py", "data/train-00000-of-00001.parquet", "data/test-00000-of-00001.parquet"]

    def hf_hub_download(repo_id: str, filename: str, repo_type: str | None = None, revision: str | None = None) -> str:
        calls.append(("download", repo_id, filename, repo_type))
        return str(parquet)

    monkeypatch.setattr(huggingface_hub, "list_repo_files", list_repo_files)
    monkeypatch.setattr(huggingface_hub, "hf_hub_download", hf_hub_download)
    assert load(hf="codeparrot/apps") == load(data=str(FORMAT))
    assert calls == [
        ("list", "codeparrot/apps", "dataset", None),
        ("download", "codeparrot/apps", "data/train-00000-of-00001.parquet", "dataset"),
    ]

    def offline(*args: object, **kwargs: object) -> list[str]:
        raise OSError("Network is unreachable\nmore detail")

    monkeypatch.setattr(huggingface_hub, "list_repo_files", offline)
    with pytest.raises(DataError, match=r"^hf codeparrot/apps: cannot list the dataset's files: OSError: Network is unreachable$"):
        load(hf="codeparrot/apps")


@pytest.mark.parametrize(
    ("files", "split", "config", "expected"),
    [
        (["train.jsonl", "test.jsonl", "apps.py"], "train", None, ["train.jsonl"]),
        (["data/test-00001.parquet", "data/test-00000.parquet"], "test", None,
         ["data/test-00000.parquet", "data/test-00001.parquet"]),
        (["all/train/0000.parquet", "interview/train/0000.parquet"], "train", None, ["all/train/0000.parquet"]),
        (["all/train/0000.parquet", "interview/train/0000.parquet"], "train", "interview",
         ["interview/train/0000.parquet"]),
        ([".cache/train.jsonl", "training_notes.json"], "train", None, []),
    ],
)
def test_pick_split_files(files: list[str], split: str, config: str | None, expected: list[str]) -> None:
    assert pick_split_files(files, split, config) == expected


def test_hf_config_on_files_without_configs_is_a_config_error() -> None:
    with pytest.raises(ConfigError, match=r"--hf-config introductory: .*--difficulty"):
        pick_split_files(["train.jsonl"], "train", "introductory")


# --------------------------------------------------------------------------- selection


def test_difficulty_selection() -> None:
    assert [t.task_id for t in load(data=str(FORMAT), levels=["introductory"])] == ["apps/102", "apps/107"]
    both = load(data=str(FORMAT), levels=["Interview, competition"])
    assert [t.task_id for t in both] == ["apps/101", "apps/103"]
    with pytest.raises(ConfigError, match="'expert' is not an APPS difficulty"):
        load(levels=["expert"])
    with pytest.raises(ConfigError, match="--type: APPS problems have no types"):
        load(types=["Algebra"])


def test_seeded_sampling_keeps_file_order_and_grows_as_a_superset() -> None:
    all_ids = [t.task_id for t in load()]
    three = [t.task_id for t in load(limit=3, seed=1)]
    assert three == [t.task_id for t in load(limit=3, seed=1)]
    assert three == sorted(three, key=all_ids.index)
    assert set(three) <= {t.task_id for t in load(limit=5, seed=1)}
    assert three != [t.task_id for t in load(limit=3, seed=2)]
    assert [t.task_id for t in load(limit=None)] == all_ids


# --------------------------------------------------------------------------- errors


@pytest.mark.parametrize(
    ("path", "pattern"),
    [
        (FIX / "malformed.jsonl", r"malformed\.jsonl:2: not valid JSON"),
        (FIX / "bad_input_output.jsonl", r"bad_input_output\.jsonl:2: field 'input_output' is not valid JSON"),
        (FIX / "missing.jsonl", r"missing\.jsonl: no such file"),
        (Path(__file__), r"test_apps_load\.py: unsupported format \(expected .jsonl, .json or .parquet\)"),
        (FIX, r"apps: no \.jsonl/\.parquet data files for split 'train' and no APPS problem folders; accepted: "),
    ],
)
def test_bad_files_are_one_line_data_errors(path: Path, pattern: str) -> None:
    with pytest.raises(DataError, match=pattern):
        load(data=str(path))


@pytest.mark.parametrize(
    ("change", "pattern"),
    [
        ({"question": "  "}, r"\[row 1\]: missing or empty 'question'"),
        ({"input_output": '{"inputs": "1", "outputs": ["1"]}'}, r"\[row 1\]: 'input_output.inputs' must be a list"),
        ({"input_output": '{"inputs": ["1"], "outputs": ["1"], "fn_name": "not a name"}'}, r"fn_name' must be a function name"),
        ({"input_output": "[1, 2]"}, r"'input_output' must be an object"),
    ],
)
def test_bad_rows_name_the_parquet_row(tmp_path: Path, change: dict, pattern: str) -> None:
    good = rows()[0]
    path = write_parquet(tmp_path / "bad.parquet", [good, dict(good, **change)])
    with pytest.raises(DataError, match=pattern):
        load(data=str(path))


def test_unreadable_parquet_and_torn_jsonl(tmp_path: Path) -> None:
    junk = tmp_path / "junk.parquet"
    junk.write_bytes(b"not parquet at all")
    with pytest.raises(DataError, match=r"junk\.parquet: not a readable Parquet file"):
        load(data=str(junk))
    torn = tmp_path / "torn.jsonl"
    torn.write_text(FORMAT.read_text().splitlines()[0] + "\n" + '{"problem_id": 1, "quest')
    with pytest.raises(DataError, match=r"torn\.jsonl:2: not valid JSON \(truncated last line\)"):
        load(data=str(torn))


def test_data_and_hf_are_exclusive() -> None:
    with pytest.raises(ConfigError, match="mutually exclusive"):
        load(data=str(FORMAT), hf="codeparrot/apps")


# --------------------------------------------------------------------------- options, prompt


def test_source_options_through_the_registry() -> None:
    source = make_source("apps", {"test_timeout": "1.5", "split_tests": "true", "judge_budget": "60"})
    assert isinstance(source, AppsSource)
    assert source.limits.test_timeout == 1.5 and source.limits.budget_s == 60
    assert source.limits.output_limit_bytes == 4 * 1024 * 1024
    with pytest.raises(ConfigError, match=r"^--source-opt timeout: unknown option for apps \(known: test_timeout"):
        make_source("apps", {"timeout": "3"})
    with pytest.raises(ConfigError, match=r"^--source-opt test_timeout=-1: "):
        make_source("apps", {"test_timeout": "-1"})
    assert isinstance(make_source("apps"), AppsSource)


def test_split_tests_shows_the_statement_examples_only() -> None:
    source = AppsSource.from_options({"split_tests": "yes"})
    tasks = {t.task_id: t for t in load(source)}
    pair_sums = tasks["apps/sample-01-pair-sums"]
    assert pair_sums.reference["examples"] == [0]
    assert "Example test cases (the hidden tests include these):\nInput:\n2\n1 2\n-5 5\nExpected output:\n3\n0" in pair_sums.prompt
    assert "1000000000 1000000000" not in pair_sums.prompt
    balanced = tasks["apps/sample-05-balanced-prefixes"]
    assert balanced.reference["examples"] == [0, 1]
    assert 'Arguments: ["()()"]\nExpected return value: 2' in balanced.prompt
    assert all(t.reference["examples"] == [] for t in load())  # off by default


@pytest.mark.parametrize(
    ("answer", "program"),
    [
        ("print(1)", "print(1)\n"),
        ("\n```python\nprint(1)\n```\n", "print(1)\n"),
        ("Here it is:\n```py\nx = 1\n\nprint(x)\n```\nDone.", "x = 1\n\nprint(x)\n"),
        ("```text\nnotes\n```\n```python\nprint(2)\n```", "print(2)\n"),
        ("```\nprint(3)", "print(3)\n"),  # an unclosed fence
        ("    import sys\n    print(sys.argv)\n", "import sys\nprint(sys.argv)\n"),
    ],
)
def test_extract_program(answer: str, program: str) -> None:
    assert extract_program(answer) == program


@pytest.mark.parametrize(
    ("starter", "expected"),
    [
        ("class Solution:\n    def f(self, x):\n        ", "Solution"),
        ("# class TreeNode:\n#     pass\nclass Solution:\n    def f(self, root):\n", "Solution"),
        ("class Helper:\n    pass\n\ndef f(x):\n\t", None),
        ("", None),
    ],
)
def test_entry_class(starter: str, expected: str | None) -> None:
    assert entry_class(starter, "f") == expected


async def test_judging_without_attach_is_a_clear_error() -> None:
    source = AppsSource()
    task = load(source)[0]
    with pytest.raises(RuntimeError, match=r"call attach\(SourceRuntime"):
        await source.judge(task, "print(3)")


def test_sample_file_is_the_default() -> None:
    source = AppsSource()
    load(source)
    assert source.last_report is not None and source.last_report.origin == str(SAMPLE_PATH)
