"""Loading WikiTableQuestions: the release layout (splits, one .tsv, tagged targetCanon, the
TSV escapes, the CSV dialect, the .tsv table variant), the Hub's row layout from a local
folder, seeded --limit, and one-line errors for bad data."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from trajkit.core.errors import ConfigError, DataError
from trajkit.sources.base import LoadOptions, make_source
from trajkit.sources.wikitq import SAMPLE_ROOT, WikiTQOptions, WikiTQSource
from trajkit.sources.wikitq.tables import read_release_csv
from trajkit.sources.wikitq.tsv import unescape, unescape_list

HEADER = "id\tutterance\tcontext\ttargetValue\n"
# A release-dialect CSV: every field quoted, \" and \\ escapes, a newline inside a cell.
TRICKY_CSV = (
    '"Name","Quote","Path"\n'
    '"A","He said \\"hi\\"","C:\\\\dir"\n'
    '"B","two\nlines","x|y"\n'
)


def load(**kwargs: object) -> list:
    return WikiTQSource().load(LoadOptions(**kwargs))


def release(tmp_path: Path) -> Path:
    root = tmp_path / "WikiTableQuestions"
    (root / "data").mkdir(parents=True)
    (root / "csv" / "203-csv").mkdir(parents=True)
    (root / "csv" / "203-csv" / "1.csv").write_text(TRICKY_CSV, encoding="utf-8")
    (root / "csv" / "203-csv" / "2.tsv").write_text(
        "Team\tScore\nLeft\\pRight\t1,000\nBack\\\\slash\t2\n", encoding="utf-8"
    )
    (root / "data" / "training.tsv").write_text(
        HEADER
        + "nt-0\twhat is\\nthe quote?\tcsv/203-csv/1.csv\tHe said \"hi\"\n"
        + "nt-1\twhich teams?\tcsv/203-csv/2.csv\tLeft\\pRight|Back\\\\slash\n"
        + "nt-2\thow many points?\tcsv/203-csv/2.csv\t17 years\n",
        encoding="utf-8",
    )
    (root / "data" / "pristine-unseen-tables.tsv").write_text(
        HEADER + "nu-0\twho?\tcsv/203-csv/1.csv\tA\n", encoding="utf-8"
    )
    return root


def test_tsv_escapes() -> None:
    assert unescape("a\\nb\\pc\\\\d") == "a\nb|c\\d"
    assert unescape("\\\\n") == "\\n"  # an escaped backslash, then a plain n
    assert unescape("keep \\t as is") == "keep \\t as is"
    assert unescape_list("Left\\pRight|Back\\\\slash") == ["Left|Right", "Back\\slash"]


def test_release_csv_dialect(tmp_path: Path) -> None:
    path = tmp_path / "t.csv"
    path.write_text(TRICKY_CSV, encoding="utf-8")
    table = read_release_csv(path)
    assert table.header == ["Name", "Quote", "Path"]
    assert table.rows == [["A", 'He said "hi"', "C:\\dir"], ["B", "two\nlines", "x|y"]]
    # The sandbox gets standard CSV: doubled quotes, which pd.read_csv reads by default.
    assert '"He said ""hi"""' in table.csv_text()


def test_release_root_with_split_and_tables(tmp_path: Path) -> None:
    root = release(tmp_path)
    tasks = load(data=str(root))  # --split defaults to training
    assert [t.task_id for t in tasks] == ["nt-0", "nt-1", "nt-2"]
    first, second, _ = tasks
    assert first.source == "wikitq" and first.reference == ['He said "hi"']
    assert first.metadata["question"] == "what is\nthe quote?"
    assert "Question: what is the quote?" in first.prompt
    assert 'pd.read_csv("csv/203-csv/1.csv")' in first.prompt and "(2 rows, 3 columns)" in first.prompt
    assert first.metadata["table"]["rows"][1] == ["B", "two\nlines", "x|y"]
    assert first.metadata["target_canon"] is None and first.metadata["split"] == "training"
    # csv/203-csv/2.csv is missing: its .tsv variant is read, with the TSV escapes.
    assert second.metadata["table"] == {
        "header": ["Team", "Score"],
        "rows": [["Left|Right", "1,000"], ["Back\\slash", "2"]],
    }
    assert second.metadata["table_path"] == "csv/203-csv/2.csv"
    assert second.reference == ["Left|Right", "Back\\slash"]
    other = load(data=str(root), split="pristine-unseen-tables")
    assert [t.task_id for t in other] == ["nu-0"]
    one_file = load(data=str(root / "data" / "training.tsv"))
    assert one_file == tasks


def test_tagged_target_canon_is_used_when_present(tmp_path: Path) -> None:
    root = release(tmp_path)
    (root / "tagged" / "data").mkdir(parents=True)
    (root / "tagged" / "data" / "training.tagged").write_text(
        "id\tutterance\tcontext\ttargetValue\ttokens\ttargetCanon\ttargetCanonType\n"
        "nt-2\thow many points?\tcsv/203-csv/2.csv\t17 years\thow\t17.0\tnumber\n",
        encoding="utf-8",
    )
    source = WikiTQSource()
    tasks = {t.task_id: t for t in source.load(LoadOptions(data=str(root)))}
    assert tasks["nt-2"].metadata["target_canon"] == ["17.0"]
    assert tasks["nt-1"].metadata["target_canon"] is None
    import asyncio

    verdict = asyncio.run(source.judge(tasks["nt-2"], "17"))
    assert verdict.success and verdict.details["canon"] == "targetCanon"


def test_bundled_sample_is_the_release_layout() -> None:
    tasks = load()
    assert [t.task_id for t in tasks] == [f"sa-{i}" for i in range(7)]
    assert (SAMPLE_ROOT / "data" / "sample.tsv").is_file()
    for stem in ("csv/200-csv/0", "csv/200-csv/1", "csv/201-csv/0"):
        for suffix in (".csv", ".tsv", ".table"):
            assert (SAMPLE_ROOT / (stem + suffix)).is_file()
    lighthouses = tasks[0].metadata["table"]["rows"]
    assert lighthouses[1][0] == 'Cape "Old" Light'  # the \" escape of the release CSV
    assert tasks[6].reference == ["Left|Right"]  # the \p escape of targetValue


def test_seeded_limit() -> None:
    picked = [t.task_id for t in load(limit=3, seed=1)]
    assert len(picked) == 3 and picked == [t.task_id for t in load(limit=3, seed=1)]
    assert set(picked) <= {t.task_id for t in load(limit=5, seed=1)}
    assert {tuple(t.task_id for t in load(limit=3, seed=s)) for s in range(6)} != {tuple(picked)}


def hub_row(i: int) -> dict:
    return {
        "id": f"nt-{i}",
        "question": "which teams?",
        "answers": ["Left|Right", "Back"],
        "table": {
            "header": ["Team", "Score"],
            "rows": [["Left|Right", "1,000"], ["Back", "2"]],
            "name": "csv/203-csv/2.csv",
        },
    }


def test_hub_layout_from_a_local_folder(tmp_path: Path) -> None:
    repo = tmp_path / "wikitablequestions"
    repo.mkdir()
    (repo / "train.jsonl").write_text("".join(json.dumps(hub_row(i)) + "\n" for i in range(3)))
    (repo / "test.jsonl").write_text(json.dumps(hub_row(9)) + "\n")
    tasks = load(hf=str(repo))  # split defaults to train
    assert [t.task_id for t in tasks] == ["nt-0", "nt-1", "nt-2"]
    assert tasks[0].reference == ["Left|Right", "Back"]
    assert tasks[0].metadata["table"]["rows"][0] == ["Left|Right", "1,000"]
    assert tasks[0].metadata["table_path"] == "csv/203-csv/2.csv"
    assert tasks[0].metadata["split"] == "train"
    assert [t.task_id for t in load(hf=str(repo), split="test")] == ["nt-9"]
    # The same question from the release layout makes the same prompt.
    root = release(tmp_path)
    (root / "data" / "training.tsv").write_text(
        HEADER + "nt-0\twhich teams?\tcsv/203-csv/2.csv\tLeft\\pRight|Back\n"
    )
    (root / "csv" / "203-csv" / "2.tsv").write_text("Team\tScore\nLeft\\pRight\t1,000\nBack\t2\n")
    assert load(data=str(root))[0].prompt == tasks[0].prompt


def test_hub_script_dataset_is_read_from_its_parquet_export(monkeypatch, tmp_path: Path) -> None:
    """``Stanford/wikitablequestions`` has a loading script current ``datasets`` refuses; the
    loader then reads the ``refs/convert/parquet`` branch (``CONFIG/SPLIT/0000.parquet``). The
    Hub is simulated by pointing ``datasets`` at a local folder in that layout."""
    import datasets
    import pyarrow as pa
    import pyarrow.parquet as pq

    export = tmp_path / "export"
    for config, ids in (("random-split-1", [0, 1]), ("random-split-2", [5])):
        for split in ("train", "test"):
            (export / config / split).mkdir(parents=True)
            rows = [hub_row(i + (100 if split == "test" else 0)) for i in ids]
            pq.write_table(pa.Table.from_pylist(rows), export / config / split / "0000.parquet")
    real = datasets.load_dataset
    calls: list[tuple] = []

    def load_dataset(name: str, *args: object, **kwargs: object) -> object:
        calls.append((name, args, dict(kwargs)))
        if kwargs.get("revision") != "refs/convert/parquet":
            raise RuntimeError("Dataset scripts are no longer supported, but found wikitablequestions.py")
        kwargs.pop("revision")
        return real(str(export), *args, **kwargs)

    monkeypatch.setattr(datasets, "load_dataset", load_dataset)
    tasks = load(hf="Stanford/wikitablequestions")
    assert [t.task_id for t in tasks] == ["nt-0", "nt-1"]
    assert calls[-1] == (
        "Stanford/wikitablequestions", (),
        {"data_dir": "random-split-1", "revision": "refs/convert/parquet", "split": "train"},
    )
    assert tasks[0].metadata["table"]["rows"][0] == ["Left|Right", "1,000"]
    assert [t.task_id for t in load(hf="Stanford/wikitablequestions", hf_config="random-split-2",
                                     split="test")] == ["nt-105"]
    monkeypatch.setattr(datasets, "load_dataset", lambda *a, **k: (_ for _ in ()).throw(OSError("offline")))
    with pytest.raises(DataError, match=r"^hf Stanford/wikitablequestions: cannot load split 'train': OSError: offline$"):
        load(hf="Stanford/wikitablequestions")


def test_hub_row_errors_name_the_row_and_field(tmp_path: Path) -> None:
    repo = tmp_path / "bad"
    repo.mkdir()
    row = hub_row(0)
    row["answers"] = []
    (repo / "train.jsonl").write_text(json.dumps(row) + "\n")
    with pytest.raises(DataError, match=r"\[train\]\[0\]: answers: expected a non-empty list"):
        load(hf=str(repo))


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ("nt-0\tq\tcsv/203-csv/1.csv", r"training\.tsv:2: expected 4 tab-separated fields, got 3"),
        ("nt-0\tq\tcsv/203-csv/1.csv\t", r"training\.tsv:2: empty targetValue"),
        ("\tq\tcsv/203-csv/1.csv\tA", r"training\.tsv:2: empty id"),
        ("nt-0\tq\tcsv/203-csv/9.csv\tA", r"training\.tsv:2: context csv/203-csv/9\.csv: no table at"),
        ("nt-0\tq\t../../etc/passwd\tA", r"training\.tsv:2: context '\.\./\.\./etc/passwd': expected a relative"),
        ("nt-0\tq\t/etc/passwd\tA", r"training\.tsv:2: context '/etc/passwd'"),
    ],
)
def test_bad_rows_are_one_line_errors(tmp_path: Path, line: str, message: str) -> None:
    root = release(tmp_path)
    (root / "data" / "training.tsv").write_text(HEADER + line + "\n")
    with pytest.raises(DataError, match=message) as info:
        load(data=str(root))
    assert "\n" not in str(info.value)


def test_other_data_errors(tmp_path: Path) -> None:
    root = release(tmp_path)
    with pytest.raises(DataError, match=r"no such split file for --split dev \(available: pristine-unseen-tables, training\)"):
        load(data=str(root), split="dev")
    (root / "data" / "training.tsv").write_text("id\tquestion\tcontext\ttargetValue\n")
    with pytest.raises(DataError, match=r"training\.tsv:1: header has no 'utterance' column"):
        load(data=str(root))
    (root / "data" / "training.tsv").write_text(
        HEADER + "nt-0\tq\tcsv/203-csv/1.csv\tA\nnt-0\tq\tcsv/203-csv/1.csv\tB\n"
    )
    with pytest.raises(DataError, match=r"training\.tsv:3: id 'nt-0' already on line 2"):
        load(data=str(root))
    (root / "csv" / "203-csv" / "1.csv").write_text('"a","b"\n"1","2","3"\n')
    (root / "data" / "training.tsv").write_text(HEADER + "nt-0\tq\tcsv/203-csv/1.csv\tA\n")
    with pytest.raises(DataError, match=r"1\.csv: row 1 has 3 cells, the header 2"):
        load(data=str(root))
    with pytest.raises(DataError, match=r"no such file or directory"):
        load(data=str(tmp_path / "missing"))
    with pytest.raises(ConfigError, match="mutually exclusive"):
        load(data=str(root), hf="x")
    with pytest.raises(ConfigError, match="--level/--type"):
        load(data=str(root), levels=["hard"])


def test_table_size_is_bounded_never_truncated(tmp_path: Path) -> None:
    root = release(tmp_path)
    rows = "".join(f'"{i}","{"x" * 100}"\n' for i in range(30))
    (root / "csv" / "203-csv" / "1.csv").write_text('"n","text"\n' + rows)
    (root / "data" / "training.tsv").write_text(HEADER + "nt-0\tq\tcsv/203-csv/1.csv\tA\n")
    small = WikiTQSource(WikiTQOptions(max_table_kb=2))
    with pytest.raises(DataError, match=r"1\.csv: table is 3,\d{3} characters as CSV, over the limit of 2,000 \(--source-opt max_table_kb=N raises it\)"):
        small.load(LoadOptions(data=str(root)))
    big = make_source("wikitq", {"max_table_kb": "4"})
    (task,) = big.load(LoadOptions(data=str(root)))
    assert len(task.metadata["table"]["rows"]) == 30
    with pytest.raises(ConfigError, match=r"--source-opt max_table_kb=0"):
        make_source("wikitq", {"max_table_kb": "0"})
    with pytest.raises(ConfigError, match=r"--source-opt colour: unknown option"):
        make_source("wikitq", {"colour": "red"})
