"""MATH source: reference extraction, loading every layout, selection, sampling, errors.

Judge tests (math-verify, worker pool, timeouts, demo recordings) are in test_math_judge.py.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path

import pytest

from trajkit.core.errors import ConfigError, DataError
from trajkit.core.registry import names
from trajkit.sources.base import LoadOptions, make_source
from trajkit.sources.math import SAMPLE_PATH, MathSource, last_boxed
from trajkit.sources.math.boxed import whole_box
from trajkit.sources.math.records import parse_level, problem_hash_id, type_key

FIX = Path(__file__).resolve().parents[1] / "fixtures" / "math"


def load(**kw: object) -> list:
    return MathSource().load(LoadOptions(**kw))


# --------------------------------------------------------------------------- boxed


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (r"so $\boxed{5}$.", "5"),
        (r"$\boxed{\frac{\sqrt{2}}{2}}$", r"\frac{\sqrt{2}}{2}"),
        (r"first \boxed{1} then \boxed{\dfrac{7}{10}}", r"\dfrac{7}{10}"),
        (r"$2^3 = \fbox{8}$", "8"),
        (r"\boxed{3} and \fbox{4}", "3"),  # \boxed first, as MATH's grader looks
        (r"It is $\boxed 6$.", "6"),
        (r"\boxed{\{1, 2\}}", r"\{1, 2\}"),
        (r"\boxed{ (2, -1) }", "(2, -1)"),
        (r"\boxed{\text{(B)}}", r"\text{(B)}"),
        ("no box here", None),
        (r"\boxed{\frac{1}{2}", None),  # unbalanced: never fall back to an earlier box
        (r"\boxed{}", None),
        (r"\boxedfoo{3}", None),
    ],
)
def test_last_boxed(text: str, expected: str | None) -> None:
    assert last_boxed(text) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (r"\boxed{\$18.90}", r"\$18.90"),
        (r"\fbox{7}", "7"),
        (r"\boxed {\frac{1}{2}}", r"\frac{1}{2}"),
        (r"\boxed{\{1, 2\}}", r"\{1, 2\}"),
        (r"\boxed{1} and \boxed{2}", None),  # two boxes, not one
        (r"\boxed{5} cm", None),  # something after the box
        (r"so \boxed{5}", None),  # something before it
        (r"\boxed{\frac{1}{2}", None),  # unbalanced
        (r"\boxed 5", None),  # brace-less: only ``last_boxed`` reads it
    ],
)
def test_whole_box(text: str, expected: str | None) -> None:
    assert whole_box(text) == expected


def test_level_and_type_normalisation() -> None:
    assert parse_level("Level 5") == parse_level("5") == parse_level(5) == 5
    assert parse_level("Level ?") is None
    assert type_key("Counting & Probability") == type_key("counting_and_probability")
    assert type_key("number theory") == type_key("Number Theory")


# --------------------------------------------------------------------------- loading


def test_bundled_sample_loads_with_stable_ids() -> None:
    tasks = load()
    assert len(tasks) == 10
    assert [t.task_id for t in tasks] == [t.task_id for t in load()]
    assert all(t.task_id.startswith("sample/") for t in tasks)
    assert all(t.source == "math" and t.reference for t in tasks)
    # The problem is in the prompt; its worked solution never is.
    first = tasks[0]
    assert first.metadata["problem"] in first.prompt
    assert first.metadata["solution"] not in first.prompt


def test_math_format_jsonl(caplog: pytest.LogCaptureFixture) -> None:
    src = MathSource()
    with caplog.at_level(logging.WARNING):
        tasks = src.load(LoadOptions(data=str(FIX / "math_format.jsonl")))
    refs = [t.reference for t in tasks]
    # Last box wins, \fbox and the brace-less form count; the unboxed problem is skipped.
    assert refs == ["5", r"\frac{7}{10}", r"\frac{\sqrt{2}}{2}", "8", "6"]
    assert src.last_report is not None
    assert src.last_report.skipped_no_reference == 1 and src.last_report.read == 6
    warnings = [r for r in caplog.records if "skipped 1 of 6" in r.getMessage()]
    assert len(warnings) == 1 and "math_format.jsonl:4" in warnings[0].getMessage()
    assert tasks[0].task_id == problem_hash_id("What is $2 + 3$?")
    assert tasks[-1].metadata["level"] is None  # "Level ?" loads, with no level


def test_math500_layout_uses_answer_and_unique_id() -> None:
    tasks = load(data=str(FIX / "math500_format.jsonl"))
    assert [t.task_id for t in tasks] == [
        "test/algebra/9001.json",
        "test/prealgebra/9002.json",
        "test/intermediate_algebra/9003.json",
    ]
    # ``answer`` wins over the boxed solution (\frac34 in the solution, \frac{3}{4} here).
    assert [t.reference for t in tasks] == ["4", r"\frac{3}{4}", "(-2,2)"]
    assert tasks[2].metadata == {
        "problem": r"Solve $x^2 < 4$.",
        "level": 4,
        "type": "Intermediate Algebra",
        "solution": r"So $\boxed{(-2, 2)}$.",
    }


def test_directory_layout_ids_are_relative_paths_in_natural_order() -> None:
    tasks = load(data=str(FIX / "tree"))
    assert [t.task_id for t in tasks] == [
        "train/algebra/1",
        "train/algebra/2",
        "train/algebra/10",
        "train/geometry/3",
    ]
    assert next(t.task_id for t in load(data=str(FIX / "tree" / "train"))) == "algebra/1"


def test_json_file_single_record_and_list(tmp_path: Path) -> None:
    rec = {
        "problem": "What is $3+4$?",
        "solution": r"$\boxed{7}$",
        "level": "Level 1",
        "type": "Algebra",
    }
    single = tmp_path / "one.json"
    single.write_text(json.dumps(rec))
    many = tmp_path / "many.json"
    many.write_text(json.dumps([rec, {**rec, "problem": "What is $1+6$?"}]))
    assert [t.reference for t in load(data=str(single))] == ["7"]
    tasks = load(data=str(many))
    assert len(tasks) == 2 and tasks[0].task_id == load(data=str(single))[0].task_id


def test_duplicate_problems_get_distinct_stable_ids(tmp_path: Path) -> None:
    rec = {"problem": "Same?", "solution": r"$\boxed{1}$"}
    path = tmp_path / "dup.jsonl"
    path.write_text((json.dumps(rec) + "\n") * 3)
    ids = [t.task_id for t in load(data=str(path))]
    base = problem_hash_id("Same?")
    assert ids == [base, f"{base}-2", f"{base}-3"]


# --------------------------------------------------------------------------- selection + sampling


def test_level_selection_accepts_every_spelling() -> None:
    data = str(FIX / "math_format.jsonl")
    for spelling in (["5"], ["Level 5"], [5], ["level 5"], ["4,5"]):
        # model_construct: LoadOptions types levels as strings, the loader also takes ints
        options = LoadOptions.model_construct(
            **{**LoadOptions(data=data).model_dump(), "levels": spelling}
        )
        tasks = MathSource().load(options)
        assert {t.metadata["level"] for t in tasks} == {5}, spelling
    with pytest.raises(ConfigError, match="levels"):
        load(data=data, levels=["hard"])


def test_type_selection_is_case_insensitive_and_matches_subject() -> None:
    tasks = load(data=str(FIX / "math_format.jsonl"), types=["algebra"])
    assert {t.metadata["type"] for t in tasks} == {"Algebra"}
    tasks = load(data=str(FIX / "math_format.jsonl"), types=["counting_and_probability"])
    assert [t.reference for t in tasks] == ["8"]
    tasks = load(
        data=str(FIX / "math500_format.jsonl"), types=["INTERMEDIATE ALGEBRA"], levels=["4"]
    )
    assert [t.task_id for t in tasks] == ["test/intermediate_algebra/9003.json"]
    with pytest.raises(
        ConfigError, match=r"types: no task has type 'Algbra' \(data has: .*Algebra"
    ):
        load(data=str(FIX / "math_format.jsonl"), types=["Algbra"])


def test_seeded_sampling_is_deterministic_nested_and_in_file_order() -> None:
    all_ids = [t.task_id for t in load()]
    a = [t.task_id for t in load(limit=4, seed=7)]
    assert a == [t.task_id for t in load(limit=4, seed=7)]
    assert len(a) == 4 and a == [i for i in all_ids if i in a]  # file order
    assert set(a) <= {t.task_id for t in load(limit=6, seed=7)}  # raising the limit keeps them
    others = {tuple(t.task_id for t in load(limit=4, seed=s)) for s in range(8)}
    assert len(others) > 1
    assert [t.task_id for t in load(limit=100)] == all_ids
    assert load(limit=0) == []
    with pytest.raises(ConfigError, match="limit"):
        load(limit=-1)


# --------------------------------------------------------------------------- Hugging Face path


ROWS = [
    {
        "problem": "What is $6 \\div 3$?",
        "solution": r"$\boxed{2}$",
        "level": "Level 1",
        "type": "Prealgebra",
    },
    {"problem": "No box here.", "solution": "It is 4.", "level": "Level 2", "type": "Algebra"},
    {
        "problem": "Evaluate $\\frac{1}{2}+\\frac{1}{4}$.",
        "solution": r"$\boxed{\frac{3}{4}}$",
        "level": "Level 2",
        "type": "Algebra",
    },
]


def test_hf_rows_and_local_file_give_identical_tasks(tmp_path: Path) -> None:
    datasets = pytest.importorskip("datasets")
    jsonl = tmp_path / "rows.jsonl"
    jsonl.write_text("".join(json.dumps(r) + "\n" for r in ROWS))
    # save_to_disk → load_from_disk
    datasets.DatasetDict({"train": datasets.Dataset.from_list(ROWS)}).save_to_disk(
        str(tmp_path / "saved")
    )
    # a local data directory → datasets.load_dataset, the call used for the Hub
    hub_like = tmp_path / "hub_like"
    hub_like.mkdir()
    datasets.Dataset.from_list(ROWS).to_parquet(str(hub_like / "test.parquet"))
    datasets.Dataset.from_list(ROWS[:1]).to_parquet(str(hub_like / "train.parquet"))

    from_file = load(data=str(jsonl))
    from_disk = load(hf=str(tmp_path / "saved"))  # default split "train"
    from_hub_path = load(hf=str(hub_like), split="test")
    assert len(from_file) == 2
    assert from_disk == from_file and from_hub_path == from_file
    assert len(load(hf=str(hub_like))) == 1  # default split is train
    assert [t.task_id for t in load(hf=str(hub_like), split="test", types=["algebra"])] == [
        from_file[1].task_id
    ]
    with pytest.raises(DataError, match=r"no split 'test' \(available: train\)"):
        load(hf=str(tmp_path / "saved"), split="test")
    with pytest.raises(DataError, match="cannot load split"):
        load(hf=str(tmp_path / "missing"))


def test_default_split() -> None:
    from trajkit.sources.math.load import default_split

    assert default_split("HuggingFaceH4/MATH-500") == "test"
    assert default_split("EleutherAI/hendrycks_math") == "train"


# --------------------------------------------------------------------------- errors


def one_line(exc: pytest.ExceptionInfo[BaseException]) -> str:
    msg = str(exc.value)
    assert "\n" not in msg
    return msg


def test_malformed_jsonl_names_file_and_line() -> None:
    with pytest.raises(DataError) as exc:
        load(data=str(FIX / "malformed.jsonl"))
    assert f"{FIX / 'malformed.jsonl'}:2: not valid JSON" in one_line(exc)


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        (
            '{"problem": "p", "solution": "\\\\boxed{1}"}\n{"solution": "x"}\n',
            ":2: missing or empty 'problem'",
        ),
        ('{"problem": "p"}\n', ":1: record has neither 'solution' nor 'answer'"),
        ('["not", "an", "object"]\n', ":1: expected a JSON object, got list"),
        (
            '{"problem": "p", "solution": 3, "answer": ["x"]}\n',
            ":1: field 'answer' must be a string",
        ),
        (
            '{"problem": "p", "solution": "\\\\boxed{1}"}\n{"problem": "q", "sol',
            ":2: not valid JSON (truncated",
        ),
    ],
)
def test_bad_records_name_file_and_line(tmp_path: Path, content: str, expected: str) -> None:
    path = tmp_path / "bad.jsonl"
    path.write_text(content)
    with pytest.raises(DataError) as exc:
        load(data=str(path))
    assert one_line(exc).startswith(f"{path}{expected}")


def test_bad_json_and_paths(tmp_path: Path) -> None:
    bad = tmp_path / "bad.json"
    bad.write_text('[\n {"problem": "p",\n  oops}\n]')
    with pytest.raises(DataError) as exc:
        load(data=str(bad))
    assert one_line(exc).startswith(f"{bad}:3: not valid JSON")
    listed = tmp_path / "list.json"
    listed.write_text('[{"problem": "p", "solution": "\\\\boxed{1}"}, {"problem": ""}]')
    with pytest.raises(DataError, match=r"list\.json\[1\]: missing or empty 'problem'"):
        load(data=str(listed))
    with pytest.raises(DataError, match=r"nope\.jsonl: no such file or directory"):
        load(data=str(tmp_path / "nope.jsonl"))
    (tmp_path / "data.csv").write_text("a,b\n")
    with pytest.raises(DataError, match="unsupported format"):
        load(data=str(tmp_path / "data.csv"))
    (tmp_path / "empty").mkdir()
    with pytest.raises(DataError, match=r"no \.json problem files"):
        load(data=str(tmp_path / "empty"))
    with pytest.raises(ConfigError, match="mutually exclusive"):
        load(data=str(SAMPLE_PATH), hf="x")


# --------------------------------------------------------------------------- registry


def test_registry() -> None:
    src = make_source("math")
    assert isinstance(src, MathSource) and src.name == "math"
    assert src.tools(load()[0]) == []
    assert "math" in names("source")
    with pytest.raises(ConfigError) as exc:
        make_source("gsm9k")
    assert one_line(exc) == f"unknown source 'gsm9k' (available: {', '.join(names('source'))})"
    assert {"apps", "hotpotqa", "math"} <= set(names("source"))


@pytest.mark.parametrize("name", ["deep.jsonl", "deep.json"])
def test_json_too_deep_to_read_names_file_and_line(tmp_path: Path, name: str) -> None:
    """Python's ``json`` raises ``RecursionError`` on JSON nested ~1000 deep; a task file like
    that is malformed: one line naming the file and the line where it goes too deep."""
    deep = "[" * 5000 + "]" * 5000
    first = '{"problem": "p", "solution": "\\\\boxed{1}"}'
    path = tmp_path / name
    path.write_text(f"{first}\n{deep}\n" if name.endswith(".jsonl") else f"[{first},\n{deep}]\n")
    with pytest.raises(DataError) as exc:
        load(data=str(path))
    assert one_line(exc).startswith(f"{path}:2: not valid JSON (nested more than 200 deep")
