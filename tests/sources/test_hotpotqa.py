"""HotpotQA source: both data layouts (file and Hub), selection, sampling, errors, options.

Judge metrics are in test_hotpotqa_judge.py, search backends in test_hotpotqa_search.py, the
CLI end to end and the demo recording in test_hotpotqa_e2e.py.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path

import pytest

from trajkit.core.errors import ConfigError, DataError
from trajkit.core.registry import names
from trajkit.sources.base import LoadOptions, make_source
from trajkit.sources.hotpotqa import SAMPLE_PATH, HotpotQAOptions, HotpotQASource, SuccessRule
from trajkit.sources.hotpotqa.records import question_hash_id

FIX = Path(__file__).resolve().parents[1] / "fixtures" / "hotpotqa"
ORIGINAL = FIX / "hotpot_format.json"


def load(**kw: object) -> list:
    return HotpotQASource().load(LoadOptions(**kw))


def to_hub_row(item: dict) -> dict:
    """The same item in the Hugging Face ``hotpot_qa`` layout (``id``, column dicts)."""
    return {
        "id": item["_id"],
        "question": item["question"],
        "answer": item.get("answer", ""),
        "type": item["type"],
        "level": item["level"],
        "supporting_facts": {
            "title": [t for t, _ in item["supporting_facts"]],
            "sent_id": [i for _, i in item["supporting_facts"]],
        },
        "context": {
            "title": [t for t, _ in item["context"]],
            "sentences": [s for _, s in item["context"]],
        },
    }


# --------------------------------------------------------------------------- layouts


def test_bundled_sample_has_both_types_and_ten_paragraphs() -> None:
    tasks = load()
    assert len(tasks) >= 5 and [t.task_id for t in tasks] == [t.task_id for t in load()]
    assert {t.metadata["type"] for t in tasks} == {"bridge", "comparison"}
    assert {t.metadata["level"] for t in tasks} == {"easy", "medium", "hard"}
    assert {"yes", "no"} <= {t.reference for t in tasks}
    for task in tasks:
        titles = [title for title, _ in task.metadata["context"]]
        assert len(titles) == 10 and len(set(titles)) == 10
        gold = {title for title, _ in task.metadata["supporting_facts"]}
        assert len(gold) == 2 and gold <= set(titles)
        for title, sent_id in task.metadata["supporting_facts"]:
            assert sent_id < len(dict(task.metadata["context"])[title])
        assert task.metadata["question"] in task.prompt and "wikipedia_search" in task.prompt
        assert task.reference not in task.prompt.split("Question:")[0]


def test_original_json_layout() -> None:
    src = HotpotQASource()
    tasks = src.load(LoadOptions(data=str(ORIGINAL)))
    assert [t.task_id for t in tasks] == [
        "fx-bridge-1",
        "fx-comparison-1",
        "fx-comparison-2",
        "fx-bridge-2",
    ]
    first = tasks[0]
    assert first.source == "hotpotqa" and first.reference == "Tallinn"
    assert first.metadata["supporting_facts"] == [["Glass Harp Suite", 0], ["Harbour Orchestra", 1]]
    assert first.metadata["context"][1] == [
        "Harbour Orchestra",
        ["The Harbour Orchestra is a chamber ensemble founded in 1961.", "It is based in Tallinn."],
    ]
    # The unanswered (test-split style) item is skipped and counted.
    assert src.last_report is not None
    assert src.last_report.read == 5 and src.last_report.skipped_no_answer == 1
    assert src.last_report.skipped_examples == [f"{ORIGINAL}[4]"]


def test_jsonl_and_hub_rows_give_the_same_tasks(tmp_path: Path) -> None:
    items = json.loads(ORIGINAL.read_text())
    jsonl = tmp_path / "items.jsonl"
    jsonl.write_text("".join(json.dumps(to_hub_row(i)) + "\n" for i in items))
    expected = [t.model_dump() for t in load(data=str(ORIGINAL))]
    assert [t.model_dump() for t in load(data=str(jsonl))] == expected


@pytest.mark.parametrize("storage", ["save_to_disk", "parquet", "json"])
def test_hf_layout_through_datasets(storage: str, tmp_path: Path) -> None:
    """The Hub path (``datasets.load_dataset``) on local data, the same conversion code."""
    import datasets

    rows = [to_hub_row(i) for i in json.loads(ORIGINAL.read_text())]
    ds = datasets.Dataset.from_list(rows)
    where = tmp_path / "hub"
    if storage == "save_to_disk":
        datasets.DatasetDict({"train": ds, "validation": ds.select([0])}).save_to_disk(str(where))
    elif storage == "parquet":
        where.mkdir()
        ds.to_parquet(str(where / "train.parquet"))
    else:
        where.mkdir()
        ds.to_json(str(where / "train.jsonl"))
    src = HotpotQASource()
    tasks = src.load(LoadOptions(hf=str(where)))
    expected = [t.model_dump() for t in load(data=str(ORIGINAL))]
    assert [t.model_dump() for t in tasks] == expected
    assert src.last_report is not None and src.last_report.origin == f"hf:{where}"
    if storage == "save_to_disk":
        only = load(hf=str(where), split="validation")
        assert [t.task_id for t in only] == ["fx-bridge-1"]
        with pytest.raises(DataError, match="no split 'test'"):
            load(hf=str(where), split="test")


def test_hub_defaults_and_unreachable_hub() -> None:
    from trajkit.sources.hotpotqa.load import hf_defaults

    assert hf_defaults("hotpotqa/hotpot_qa", None, None) == ("distractor", "train")
    assert hf_defaults("hotpotqa/hotpot_qa", "fullwiki", "validation") == ("fullwiki", "validation")
    assert hf_defaults(str(FIX), None, None) == (None, "train")  # local folders take no config
    with pytest.raises(DataError) as err:
        load(hf=str(FIX / "missing-dir"))
    assert "\n" not in str(err.value) and "missing-dir" in str(err.value)


def test_missing_id_uses_question_hash_and_duplicates_are_numbered(tmp_path: Path) -> None:
    item = json.loads(ORIGINAL.read_text())[0]
    del item["_id"]
    path = tmp_path / "dupes.json"
    path.write_text(json.dumps([item, item]))
    ids = [t.task_id for t in load(data=str(path))]
    assert ids == [question_hash_id(item["question"]), question_hash_id(item["question"]) + "-2"]


# --------------------------------------------------------------------------- selection


def test_level_and_type_selection() -> None:
    assert [t.task_id for t in load(data=str(ORIGINAL), levels=["hard"])] == [
        "fx-comparison-2",
        "fx-bridge-2",
    ]
    assert [t.task_id for t in load(data=str(ORIGINAL), types=["Bridge"])] == [
        "fx-bridge-1",
        "fx-bridge-2",
    ]
    both = load(data=str(ORIGINAL), levels=["easy,hard"], types=["comparison"])
    assert [t.task_id for t in both] == ["fx-comparison-2"]
    with pytest.raises(ConfigError, match="'expert' is not one of easy, medium, hard"):
        load(data=str(ORIGINAL), levels=["expert"])
    with pytest.raises(ConfigError, match="--type"):
        load(data=str(ORIGINAL), types=["multihop"])


def test_seeded_sampling_is_stable_nested_and_in_file_order() -> None:
    everything = [t.task_id for t in load(data=str(ORIGINAL))]
    two = [t.task_id for t in load(data=str(ORIGINAL), limit=2, seed=7)]
    three = [t.task_id for t in load(data=str(ORIGINAL), limit=3, seed=7)]
    assert two == [t.task_id for t in load(data=str(ORIGINAL), limit=2, seed=7)]
    assert set(two) <= set(three) and two == [i for i in everything if i in two]
    assert (
        len({tuple(t.task_id for t in load(data=str(ORIGINAL), limit=2, seed=s)) for s in range(8)})
        > 1
    )
    assert [t.task_id for t in load(data=str(ORIGINAL), limit=None)] == everything


# --------------------------------------------------------------------------- errors


def test_missing_file_and_bad_format(tmp_path: Path) -> None:
    with pytest.raises(DataError, match="no such file"):
        load(data=str(tmp_path / "nope.json"))
    (tmp_path / "x.csv").write_text("a,b\n")
    with pytest.raises(DataError, match="unsupported format"):
        load(data=str(tmp_path / "x.csv"))
    with pytest.raises(ConfigError, match="mutually exclusive"):
        load(data=str(ORIGINAL), hf="hotpotqa/hotpot_qa")


def test_bad_records_name_file_and_line(tmp_path: Path) -> None:
    with pytest.raises(DataError) as err:
        load(data=str(FIX / "malformed.jsonl"))
    assert str(err.value).startswith(f"{FIX / 'malformed.jsonl'}:2: context[0]")

    broken = tmp_path / "broken.json"
    broken.write_text('[\n {"question": "q",\n  "answer": }\n]\n')
    with pytest.raises(DataError, match=r"broken\.json:3: not valid JSON"):
        load(data=str(broken))

    cases = {
        "no question": ({"answer": "x"}, "missing 'question'"),
        "list answer": ({"question": "q", "answer": ["x"]}, "'answer' must be a string"),
        "bad facts": (
            {"question": "q", "answer": "x", "supporting_facts": [["T", "0"]]},
            r"supporting_facts\[0\]",
        ),
        "ragged hub": (
            {"question": "q", "answer": "x", "context": {"title": ["A"], "sentences": []}},
            "equal-length",
        ),
    }
    for name, (record, message) in cases.items():
        path = tmp_path / f"{name.replace(' ', '_')}.jsonl"
        path.write_text("\n" + json.dumps(record) + "\n")
        with pytest.raises(DataError, match=message) as err:
            load(data=str(path))
        assert str(err.value).startswith(f"{path}:2:"), name

    torn = tmp_path / "torn.jsonl"
    torn.write_text(json.dumps(json.loads(ORIGINAL.read_text())[0]) + '\n{"question": "q", "ans')
    with pytest.raises(DataError, match=r"torn\.jsonl:2: .*truncated"):
        load(data=str(torn))


def test_unanswered_items_are_logged(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING):
        load(data=str(ORIGINAL))
    assert any("skipped 1 of 5" in r.getMessage() for r in caplog.records)


# --------------------------------------------------------------------------- options + registry


def test_registry_and_source_options(tmp_path: Path) -> None:
    assert "hotpotqa" in names("source")
    plain = make_source("hotpotqa")
    assert isinstance(plain, HotpotQASource) and plain.options == HotpotQAOptions()
    corpus = FIX / "corpus.jsonl"
    src = make_source(
        "hotpotqa",
        {
            "search": "corpus",
            "corpus": str(corpus),
            "cache": str(tmp_path),
            "top_k": "2",
            "summary_chars": "200",
            "success": "f1 >= 0.5",
        },
    )
    assert isinstance(src, HotpotQASource)
    opts = src.options
    assert (opts.search, opts.corpus, opts.cache, opts.top_k, opts.summary_chars) == (
        "corpus",
        corpus,
        tmp_path,
        2,
        200,
    )
    assert opts.success == SuccessRule("f1", 0.5) and str(opts.success) == "f1>=0.5"
    live = HotpotQAOptions.parse(
        {"search": "live", "api": "http://127.0.0.1:9/w/api.php", "rate": "0.5"}
    )
    assert (live.api, live.rate) == ("http://127.0.0.1:9/w/api.php", 0.5)
    assert HotpotQAOptions().cache.parts[-2:] == ("trajkit", "hotpotqa")


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        ({"serch": "live"}, "--source-opt serch: unknown option"),
        ({"search": "bing"}, "search='bing'"),
        ({"search": "corpus"}, "needs corpus=PATH"),
        ({"search": "corpus", "corpus": "/no/such/file.jsonl"}, "no such file"),
        ({"corpus": str(FIX / "corpus.jsonl")}, "only used with search=corpus"),
        ({"rate": "3"}, "only used with search=live"),
        ({"search": "live", "rate": "fast"}, "rate='fast': expected a float"),
        ({"search": "live", "rate": "0"}, "must be between"),
        ({"search": "live", "api": "ftp://x"}, "expected an http"),
        ({"top_k": "0"}, "top_k=0: must be between 1 and 10"),
        ({"success": "f1>=2"}, "success='f1>=2'"),
        ({"success": "loose"}, "use em, contains or f1>=T"),
    ],
)
def test_bad_options_are_one_line_config_errors(raw: dict, message: str) -> None:
    with pytest.raises(ConfigError) as err:
        make_source("hotpotqa", raw)
    assert message in str(err.value) and "\n" not in str(err.value)


def test_sample_path_is_the_original_layout() -> None:
    items = json.loads(SAMPLE_PATH.read_text())
    assert isinstance(items, list) and all(
        "_id" in i and isinstance(i["context"], list) for i in items
    )
