"""Bad input to ``trajkit collect tasks`` is one line naming file, line (or row) and field,
exit code 2, through the real CLI (``--estimate`` loads the tasks and calls no teacher)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

TRAJKIT = [sys.executable, "-m", "trajkit.cli"]
GOOD = '{"question": "What is 6 times 7?", "answer": "42"}\n'


def collect(tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.endswith("_API_KEY")}
    return subprocess.run(
        [*TRAJKIT, "collect", "tasks", "--teacher", "openai:m", "--estimate", "--out",
         str(tmp_path / "out"), *args],
        cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120,
    )


def one_line_error(proc: subprocess.CompletedProcess[str]) -> str:
    assert proc.returncode == 2, proc.stdout + proc.stderr
    assert proc.stderr.count("\n") == 1 and "Traceback" not in proc.stderr, proc.stderr
    assert proc.stderr.startswith("error: ")
    return proc.stderr[len("error: "):].rstrip("\n")


BAD_JSONL = {
    "missing-question": (
        '{"prompt": "6 x 7?", "answer": "42"}\n',
        "t.jsonl:2: missing field 'question' (the question; --source-opt question=FIELD names another)",
    ),
    "missing-answer": (
        '{"question": "6 x 7?"}\n',
        "t.jsonl:2: missing field 'answer' (the reference answer; --source-opt answer=FIELD names another)",
    ),
    "empty-answer": ('{"question": "6 x 7?", "answer": "  "}\n', "t.jsonl:2: field 'answer' is empty (every task needs an answer)"),
    "null-answer": ('{"question": "6 x 7?", "answer": null}\n', "t.jsonl:2: field 'answer' is empty (every task needs an answer)"),
    "empty-list-answer": ('{"question": "6 x 7?", "answer": []}\n', "t.jsonl:2: field 'answer' is empty (every task needs an answer)"),
    "empty-question": ('{"question": "", "answer": "1"}\n', "t.jsonl:2: field 'question' is empty"),
    "question-not-text": ('{"question": 67, "answer": "1"}\n', "t.jsonl:2: field 'question' must be text, got int"),
    "not-an-object": ('["6 x 7?", "42"]\n', "t.jsonl:2: expected an object of fields, got list"),
    "not-json": ('{"question": "6 x 7?", "answer": 42\n', "t.jsonl:2: not valid JSON"),
    "torn-last-line": ('{"question": "6 x 7?", "ans', "t.jsonl:2: not valid JSON (truncated last line)"),
}


@pytest.mark.parametrize("case", list(BAD_JSONL))
def test_bad_jsonl_rows(case: str, tmp_path: Path) -> None:
    second, message = BAD_JSONL[case]
    (tmp_path / "t.jsonl").write_text(GOOD + second)
    assert one_line_error(collect(tmp_path, "--data", "t.jsonl")).startswith(message)


def test_a_zero_answer_is_not_empty(tmp_path: Path) -> None:
    (tmp_path / "t.jsonl").write_text('{"question": "6 - 6?", "answer": 0}\n')
    proc = collect(tmp_path, "--data", "t.jsonl")
    assert proc.returncode == 0 and "1 of 1 task(s) pending" in proc.stdout, proc.stderr


def test_bad_files(tmp_path: Path) -> None:
    cases = {
        "nothing.jsonl": "nothing.jsonl: no such file",
        "folder": "folder: is a directory (expected a .jsonl, .json, .csv, .parquet file)",
        "t.txt": "t.txt: unsupported format (expected .jsonl, .json, .csv or .parquet)",
        "obj.json": "obj.json: expected a JSON list of task objects, got dict",
        "list.json": "list.json[1]: field 'answer' is empty (every task needs an answer)",
        "wide.csv": "wide.csv:3: more values than the header has columns",
        "latin1.csv": "latin1.csv: not UTF-8 text",
        "blank.csv": "blank.csv: empty CSV file (expected a header line)",
        "junk.parquet": "junk.parquet: not a readable Parquet file",
    }
    (tmp_path / "folder").mkdir()
    (tmp_path / "t.txt").write_text(GOOD)
    (tmp_path / "obj.json").write_text('{"question": "q", "answer": "a"}')
    (tmp_path / "list.json").write_text('[{"question": "q", "answer": "a"}, {"question": "r", "answer": ""}]')
    (tmp_path / "wide.csv").write_text("question,answer\nq,a\nr,b,c\n")
    (tmp_path / "latin1.csv").write_bytes("question,answer\ncaf\xe9,a\n".encode("latin-1"))
    (tmp_path / "blank.csv").write_text("")
    (tmp_path / "junk.parquet").write_bytes(b"not parquet at all")
    for name, message in cases.items():
        assert one_line_error(collect(tmp_path, "--data", name)).startswith(message), name


def test_a_bad_parquet_row_names_its_row(tmp_path: Path) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    pq.write_table(pa.table({"question": ["q", "r"], "gold": ["a", "b"]}), tmp_path / "t.parquet")
    message = one_line_error(collect(tmp_path, "--data", "t.parquet"))
    assert message.startswith("t.parquet[row 0]: missing field 'answer'")
    proc = collect(tmp_path, "--data", "t.parquet", "--source-opt", "answer=gold")
    assert proc.returncode == 0 and "2 of 2 task(s) pending" in proc.stdout, proc.stderr


def test_bad_options_and_templates(tmp_path: Path) -> None:
    (tmp_path / "t.jsonl").write_text(GOOD)
    (tmp_path / "prompt.txt").write_text("{question} (about {topic})")
    cases = [
        (["--source-opt", "template=prompt.txt"], "prompt.txt: placeholder {topic}: t.jsonl:1 has no field 'topic'"),
        (["--source-opt", "tools=no_such_module_xyz:fn"], "--source-opt tools=no_such_module_xyz:fn: cannot import module 'no_such_module_xyz'"),
        (["--source-opt", "tools=json"], "--source-opt tools=json: expected module:function"),
        (["--source-opt", "tools=json:no_such_fn"], "--source-opt tools=json:no_such_fn: 'json' has no 'no_such_fn'"),
        (["--source-opt", "colour=red"], "--source-opt colour: unknown option for tasks"),
        (["--source-opt", "judge=f1>=x"], "--source-opt"),
    ]
    for args, message in cases:
        assert one_line_error(collect(tmp_path, "--data", "t.jsonl", *args)).startswith(message), args


#: A gold the chosen judge can never read: refused while loading (one line naming the file and
#: line, before any teacher is paid), not a ``judge_error`` per episode after the teacher ran.
UNREADABLE_GOLDS = {
    "exact-nested-list": (
        [], '{"question": "Q?", "answer": [["a"]]}\n',
        "t.jsonl:2: the gold answer must be a string, a number or a list of them (got list)",
    ),
    "numeric-no-number": (
        ["--source-opt", "judge=numeric"], '{"question": "Q?", "answer": "many"}\n', "t.jsonl:2: ",
    ),
    "choice-names-no-option": (
        ["--source-opt", "judge=choice"],
        '{"question": "Q?", "answer": "E", "choices": ["a", "b", "c"]}\n', "t.jsonl:2: ",
    ),
    "choice-without-options": (
        ["--source-opt", "judge=choice"], '{"question": "Q?", "answer": "A"}\n', "t.jsonl:2: ",
    ),
    "tests-not-python": (
        ["--source-opt", "judge=tests"], '{"question": "Q?", "answer": "assert (("}\n',
        "t.jsonl:2: ",
    ),
}


@pytest.mark.parametrize("case", list(UNREADABLE_GOLDS))
def test_a_gold_the_judge_cannot_read_is_refused_while_loading(case: str, tmp_path: Path) -> None:
    flags, second, message = UNREADABLE_GOLDS[case]
    first = {"choice": '{"question": "Q?", "answer": "A", "choices": ["a", "b"]}\n',
             "tests": '{"question": "Q?", "answer": "assert True"}\n'}
    judge = next((f.split("=")[1] for f in flags if f.startswith("judge=")), "exact")
    good = first.get(judge, GOOD if judge == "exact" else '{"question": "Q?", "answer": "7"}\n')
    (tmp_path / "t.jsonl").write_text(good + second)
    assert one_line_error(collect(tmp_path, "--data", "t.jsonl", *flags)).startswith(message)


def test_lone_surrogates_in_a_row_load_with_a_stable_id(tmp_path: Path) -> None:
    """A JSON ``\\ud800`` escape in the question or answer is outside text, not an error:
    the content-hash id is computed from it as it is (it used to be a UnicodeEncodeError
    traceback), and the same row gets the same id on every load."""
    from trajkit.sources.base import LoadOptions
    from trajkit.sources.tasks import TasksSource

    (tmp_path / "t.jsonl").write_text('{"question": "What \\ud800?", "answer": "x\\udc00"}\n')
    proc = collect(tmp_path, "--data", "t.jsonl")
    assert proc.returncode == 0 and "Traceback" not in proc.stderr, proc.stderr
    load = LoadOptions(data=str(tmp_path / "t.jsonl"))
    first, again = TasksSource().load(load), TasksSource().load(load)
    assert first[0].task_id == again[0].task_id and first[0].task_id.startswith("tasks-")
    assert "\ufffd" in first[0].prompt  # the prompt is valid text
