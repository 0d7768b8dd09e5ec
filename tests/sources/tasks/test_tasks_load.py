"""``tasks`` loading: every file format and the Hub path give the same tasks; field mapping,
templates, ids, metadata, ``--limit``/``--seed``; options split between source and judge."""

from __future__ import annotations

import csv
import json
from pathlib import Path
from typing import Any

import pytest

from trajkit.core.errors import ConfigError, DataError
from trajkit.schemas import Task
from trajkit.sources.base import LoadOptions, make_source
from trajkit.sources.tasks import SAMPLE_PATH, TasksSource
from trajkit.sources.tasks.rows import content_id

ROWS: list[dict[str, Any]] = [
    {"question": "What is 6 times 7?", "answer": "42", "level": "easy"},
    {"question": "Name the largest planet.", "answer": "Jupiter", "level": "easy"},
    {"question": "How many sides has a hexagon?", "answer": "6", "level": "medium"},
]


def write(path: Path, rows: list[dict[str, Any]]) -> Path:
    """``rows`` in the format ``path``'s extension names."""
    if path.suffix == ".jsonl":
        path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    elif path.suffix == ".json":
        path.write_text(json.dumps(rows))
    elif path.suffix == ".csv":
        with path.open("w", newline="") as fh:
            writer = csv.DictWriter(fh, fieldnames=list(rows[0]))
            writer.writeheader()
            writer.writerows(rows)
    else:
        import pyarrow as pa
        import pyarrow.parquet as pq

        pq.write_table(pa.Table.from_pylist(rows), path)
    return path


def load(source: TasksSource | None = None, **kwargs: Any) -> list[Task]:
    return (source or TasksSource()).load(LoadOptions(**kwargs))


def dumps(tasks: list[Task]) -> list[dict[str, Any]]:
    return [t.model_dump() for t in tasks]


@pytest.mark.parametrize("suffix", [".json", ".csv", ".parquet"])
def test_every_format_gives_the_same_tasks_as_jsonl(suffix: str, tmp_path: Path) -> None:
    expected = dumps(load(data=str(write(tmp_path / "t.jsonl", ROWS))))
    assert dumps(load(data=str(write(tmp_path / f"t{suffix}", ROWS)))) == expected
    first = expected[0]
    assert first["reference"] == "42" and first["metadata"] == {"level": "easy"}
    assert "Question: What is 6 times 7?" in first["prompt"] and "<solution>" in first["prompt"]
    assert first["task_id"] == content_id("tasks", "What is 6 times 7?", "42")
    assert first["task_id"].startswith("tasks-") and len(first["task_id"]) == len("tasks-") + 12


def test_json_values_survive_as_reference_and_metadata(tmp_path: Path) -> None:
    rows = [{"question": "q", "answer": [1, "one"], "choices": {"a": 1}, "n": 3, "ok": None}]
    (task,) = load(data=str(write(tmp_path / "t.jsonl", rows)))
    assert task.reference == [1, "one"]
    assert task.metadata == {"choices": {"a": 1}, "n": 3, "ok": None}


def test_csv_values_are_text_and_multiline_cells_keep_their_start_line(tmp_path: Path) -> None:
    path = tmp_path / "t.csv"
    path.write_text('question,answer\n"two\nlines",7\n,\n')
    with pytest.raises(DataError, match=rf"^{path}:4: field 'question' is empty$"):
        load(data=str(path))
    path.write_text('question,answer\n"two\nlines",7\n')
    (task,) = load(data=str(path))
    assert task.reference == "7" and "two\nlines" in task.prompt


def test_parquet_dates_and_decimals_become_json(tmp_path: Path) -> None:
    import datetime as dt
    import decimal

    import pyarrow as pa
    import pyarrow.parquet as pq

    table = pa.table({
        "question": ["When?"], "answer": [dt.date(2020, 5, 17)],
        "price": pa.array([decimal.Decimal("1.50")], pa.decimal128(5, 2)),
    })
    pq.write_table(table, tmp_path / "t.parquet")
    (task,) = load(data=str(tmp_path / "t.parquet"))
    assert task.reference == "2020-05-17" and task.metadata == {"price": "1.50"}
    json.dumps(task.model_dump())  # storable as a record


def test_field_mapping_and_explicit_ids(tmp_path: Path) -> None:
    rows = [{"uid": 7, "problem": "2+3?", "gold": 5, "question": "kept as metadata"}]
    source = make_source("tasks", {"question": "problem", "answer": "gold", "id": "uid"})
    (task,) = load(source, data=str(write(tmp_path / "t.jsonl", rows)))
    assert task.task_id == "7" and task.reference == 5
    assert "Question: 2+3?" in task.prompt
    assert task.metadata == {"question": "kept as metadata"}


def test_content_ids_are_stable_across_order_and_repeats_are_numbered(tmp_path: Path) -> None:
    forward = load(data=str(write(tmp_path / "a.jsonl", ROWS)))
    backward = load(data=str(write(tmp_path / "b.jsonl", ROWS[::-1])))
    assert sorted(t.task_id for t in forward) == sorted(t.task_id for t in backward)
    twice = load(data=str(write(tmp_path / "c.jsonl", [ROWS[0], ROWS[1], ROWS[0]])))
    first = forward[0].task_id
    assert [t.task_id for t in twice] == [first, forward[1].task_id, f"{first}-2"]


def test_a_repeated_explicit_id_names_both_rows(tmp_path: Path) -> None:
    rows = [{"id": "a", "question": "q1", "answer": "1"}, {"id": "a", "question": "q2", "answer": "2"}]
    path = write(tmp_path / "t.jsonl", rows)
    with pytest.raises(DataError, match=rf"^{path}:2: field 'id': id 'a' also used at {path}:1$"):
        load(make_source("tasks", {"id": "id"}), data=str(path))


def test_template_fills_placeholders_from_the_row(tmp_path: Path) -> None:
    template = tmp_path / "prompt.txt"
    template.write_text("Level {level}: {question}\nOptions: {opts} {{literal}}\n")
    rows = [{"question": "Pick one.", "answer": "b", "level": "easy", "opts": ["a", "b"]}]
    source = make_source("tasks", {"template": str(template)})
    (task,) = load(source, data=str(write(tmp_path / "t.jsonl", rows)))
    assert task.prompt == 'Level easy: Pick one.\nOptions: ["a", "b"] {literal}'


def test_template_errors(tmp_path: Path) -> None:
    template = tmp_path / "prompt.txt"
    template.write_text("Q: {question} ({topic})")
    data = write(tmp_path / "t.jsonl", ROWS)
    source = make_source("tasks", {"template": str(template)})
    with pytest.raises(DataError) as info:
        load(source, data=str(data))
    assert str(info.value) == f"{template}: placeholder {{topic}}: {data}:1 has no field 'topic'"
    template.write_text("Q: {question} A: {answer}")
    with pytest.raises(ConfigError, match="is the answer field"):
        make_source("tasks", {"template": str(template)})
    template.write_text("no placeholder at all")
    with pytest.raises(ConfigError, match=r"no \{field\} placeholder"):
        make_source("tasks", {"template": str(template)})
    with pytest.raises(ConfigError, match=r"^--source-opt template=/nonexistent.txt: no such file$"):
        make_source("tasks", {"template": "/nonexistent.txt"})


def test_limit_and_seed_sample_like_every_source(tmp_path: Path) -> None:
    rows = [{"question": f"q{i}", "answer": str(i)} for i in range(20)]
    data = str(write(tmp_path / "t.jsonl", rows))
    five = load(data=data, limit=5, seed=1)
    assert len(five) == 5 and five == load(data=data, limit=5, seed=1)
    assert [t.reference for t in five] == sorted((t.reference for t in five), key=int)  # file order
    assert {t.task_id for t in five} <= {t.task_id for t in load(data=data, limit=8, seed=1)}
    assert five != load(data=data, limit=5, seed=2)


def test_the_bundled_sample_loads_without_flags() -> None:
    tasks = load()
    assert len(tasks) == 6 and SAMPLE_PATH.exists()
    assert {type(t.reference).__name__ for t in tasks} == {"int", "str", "list"}
    assert all(set(t.metadata) == {"topic", "needs_code"} for t in tasks)


def test_data_and_hf_together_is_a_config_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="mutually exclusive"):
        load(data="x.jsonl", hf="someone/tasks")


# --------------------------------------------------------------------------- the Hub path


def hub_folder(root: Path) -> Path:
    """A local folder in the Hub's layout: ``default/{split}-00000-of-00001.parquet`` plus a
    README whose YAML names the config and its splits, as on huggingface.co."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    for split, rows in (("train", ROWS), ("test", ROWS[:1])):
        (root / "default").mkdir(parents=True, exist_ok=True)
        pq.write_table(pa.Table.from_pylist(rows), root / "default" / f"{split}-00000-of-00001.parquet")
    (root / "README.md").write_text(
        "---\nconfigs:\n- config_name: default\n  data_files:\n"
        "  - split: train\n    path: default/train-*\n  - split: test\n    path: default/test-*\n---\n"
    )
    return root


def test_hf_reads_a_hub_layout_folder_through_datasets(tmp_path: Path) -> None:
    repo = hub_folder(tmp_path / "hub")
    expected = dumps(load(data=str(write(tmp_path / "t.jsonl", ROWS))))
    assert dumps(load(hf=str(repo))) == expected  # split defaults to train
    assert dumps(load(hf=str(repo), hf_config="default", split="test")) == expected[:1]
    with pytest.raises(DataError) as info:
        load(hf=str(repo), split="validation")
    assert "\n" not in str(info.value) and "validation" in str(info.value)


def test_hf_reads_a_save_to_disk_folder(tmp_path: Path) -> None:
    import datasets

    where = tmp_path / "saved"
    datasets.DatasetDict({"train": datasets.Dataset.from_list(ROWS)}).save_to_disk(str(where))
    assert dumps(load(hf=str(where))) == dumps(load(data=str(write(tmp_path / "t.jsonl", ROWS))))
    with pytest.raises(DataError, match=r"no split 'test' \(available: train\)"):
        load(hf=str(where), split="test")


def test_an_unreachable_hub_id_is_one_line(monkeypatch: pytest.MonkeyPatch) -> None:
    import datasets

    def offline(*args: Any, **kwargs: Any) -> Any:
        raise ConnectionError("Couldn't reach 'someone/tasks' on the Hub (LocalEntryNotFoundError)\nmore")

    monkeypatch.setattr(datasets, "load_dataset", offline)
    with pytest.raises(DataError) as info:
        load(hf="someone/tasks", split="test")
    assert str(info.value) == (
        "hf someone/tasks: cannot load split 'test': ConnectionError: Couldn't reach "
        "'someone/tasks' on the Hub (LocalEntryNotFoundError)"
    )


# --------------------------------------------------------------------------- options


def test_options_not_the_sources_go_to_the_judge() -> None:
    source = make_source("tasks", {"judge": "numeric", "tol": "0.5"})
    assert type(source.judge_impl).__name__ == "NumericJudge"  # type: ignore[attr-defined]
    assert source.judge_impl.options.tol == 0.5  # type: ignore[attr-defined]


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        ({"tol": "0.5"}, "--source-opt tol: unknown option for tasks (known: question, answer, "
         "id, template, judge, tools) and for judge 'exact' (known: none)"),
        ({"judge": "numeric", "tolerance": "1"}, "--source-opt tolerance: unknown option for "
         "tasks (known: question, answer, id, template, judge, tools) and for judge 'numeric' "
         "(known: tol, rel_tol)"),
        ({"judge": "nosuch"}, "--source-opt judge=nosuch: unknown judge 'nosuch'"),
        ({"judge": "numeric", "tol": "abc"}, "--source-opt tol=abc:"),
        ({"question": ""}, "--source-opt question=: String should have at least 1 character"),
    ],
)
def test_bad_options_are_one_line(raw: dict[str, str], message: str) -> None:
    with pytest.raises(ConfigError) as info:
        make_source("tasks", raw)
    assert str(info.value).startswith(message) and "\n" not in str(info.value)


def test_level_and_type_select_on_the_rows_fields(tmp_path: Path) -> None:
    rows = [*ROWS, {"question": "q", "answer": "a", "level": "Hard", "type": "riddle"}]
    data = str(write(tmp_path / "t.jsonl", rows))
    assert [t.reference for t in load(data=data, levels=["easy"])] == ["42", "Jupiter"]
    assert [t.reference for t in load(data=data, levels=["medium", "hard"])] == ["6", "a"]
    assert [t.reference for t in load(data=data, types=["RIDDLE"])] == ["a"]
    assert load(data=data, levels=["easy"], types=["riddle"]) == []
