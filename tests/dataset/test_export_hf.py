"""The ``hf`` export: ``datasets.load_dataset(PATH)`` reads it, the card carries the manifest's
numbers, shards are cut by size, and the same version always gives the same bytes."""

from __future__ import annotations

from pathlib import Path

import datasets
import pyarrow.parquet as pq
import pytest
import yaml
from factories import make_trajectory, write_run

from trajkit.dataset.card import size_category
from trajkit.dataset.changelog import CHANGELOG_FILE
from trajkit.dataset.export_hf import HF_SCHEMA
from trajkit.dataset.export_version import export_version
from trajkit.dataset.version import build_version
from trajkit.filters.presets import default_chain
from trajkit.schemas import TeacherInfo, Trajectory, Usage

GPT = TeacherInfo(provider="openai", model="gpt-4o-mini")
CLAUDE = TeacherInfo(provider="anthropic", model="claude-sonnet")


def run_of(run: str, source: str, teacher: TeacherInfo, n: int) -> list[Trajectory]:
    good = [make_trajectory(f"{source}-{i}", ["exception", "ok", "solve"], run=run, source=source,
                            teacher=teacher, usage=Usage(input_tokens=1000 + i, output_tokens=50, calls=3))
            for i in range(n)]
    return [*good, make_trajectory(f"{source}-x", ["ok", "solve"], run=run, source=source, teacher=teacher)]


@pytest.fixture
def version(tmp_path: Path) -> Path:
    a = write_run(tmp_path / "runs" / "math-gpt", run_of("math-gpt", "math", GPT, 4))
    b = write_run(tmp_path / "runs" / "apps-claude", run_of("apps-claude", "apps", CLAUDE, 3))
    return build_version([a, b], "codeact-mix", tmp_path / "out", default_chain()).path


def load(path: Path, cache: Path) -> datasets.DatasetDict:
    return datasets.load_dataset(str(path), cache_dir=str(cache))


def card_parts(path: Path) -> tuple[dict, str]:
    text = (path / "README.md").read_text(encoding="utf-8")
    assert text.startswith("---\n")
    _, meta, body = text.split("---\n", 2)
    return yaml.safe_load(meta), body


def test_load_dataset_reads_the_folder(version: Path, tmp_path: Path) -> None:
    res = export_version(version, "hf", tmp_path / "hf")
    assert res.rows == 7 and res.files == [
        CHANGELOG_FILE, "README.md", "data/train-00000-of-00001.parquet"]
    ds = load(tmp_path / "hf", tmp_path / "cache")
    assert list(ds) == ["train"]
    train = ds["train"]
    assert train.num_rows == 7
    assert train.column_names == HF_SCHEMA.names
    row = train[0]
    assert (row["id"], row["teacher"], row["source"]) == ("math-gpt/math-0", "openai:gpt-4o-mini", "math")
    assert (row["turns"], row["failed_actions"], row["self_corrected"]) == (3, 1, True)
    assert [m["role"] for m in row["messages"]] == ["system", "user", "assistant", "user",
                                                    "assistant", "user", "assistant"]
    assert train[6]["teacher"] == "anthropic:claude-sonnet"


def test_card_front_matter_and_manifest_numbers(version: Path, tmp_path: Path) -> None:
    export_version(version, "hf", tmp_path / "hf", license="cc-by-4.0")
    meta, body = card_parts(tmp_path / "hf")
    assert meta["license"] == "cc-by-4.0"
    assert meta["task_categories"] == ["text-generation"]
    assert meta["size_categories"] == ["n<1K"]
    assert meta["configs"] == [{"config_name": "default",
                                "data_files": [{"split": "train", "path": "data/train-*"}]}]
    from trajkit.dataset.version import read_manifest

    m = read_manifest(version)
    assert body.startswith("\n# codeact-mix v1\n")
    for fact in (m.fingerprint, m.data_sha256, m.created_at, f"| records | {m.records} |",
                 "| `openai:gpt-4o-mini` | 4 | 57.1% |", "| `anthropic:claude-sonnet` | 3 | 42.9% |",
                 "| `math` | 4 | 57.1% |", "| `solved` | 7 | 100.0% |",
                 "| run math-gpt | 5 |", "| run apps-claude | 4 |",
                 "| success | min_score=1.0 | 9 | 9 | 0 | - |",
                 "| self-correct | - | 9 | 7 | 2 | no_error_before_success (2) |",
                 f"| input | {m.usage.input_tokens} | {m.usage.input_tokens / 7:.1f} |",
                 f"| output | {m.usage.output_tokens} |",
                 "Chain: success(min_score=1.0) → self-correct.", "License: `cc-by-4.0`"):
        assert fact in body, fact
    assert str(tmp_path) not in body  # no local paths leak into a published card
    assert (tmp_path / "hf" / CHANGELOG_FILE).read_bytes() == (version / CHANGELOG_FILE).read_bytes()


def test_shards_by_size_and_deterministic_bytes(version: Path, tmp_path: Path) -> None:
    export_version(version, "hf", tmp_path / "a", max_shard_bytes=5_000)
    export_version(version, "hf", tmp_path / "b", max_shard_bytes=5_000)
    shards = sorted(p.name for p in (tmp_path / "a" / "data").iterdir())
    n = len(shards)
    assert n > 1 and shards == [f"train-{i:05d}-of-{n:05d}.parquet" for i in range(n)]
    for rel in sorted(p.relative_to(tmp_path / "a") for p in (tmp_path / "a").rglob("*") if p.is_file()):
        assert (tmp_path / "a" / rel).read_bytes() == (tmp_path / "b" / rel).read_bytes(), rel
    assert sum(pq.ParquetFile(tmp_path / "a" / "data" / s).metadata.num_rows for s in shards) == 7
    train = load(tmp_path / "a", tmp_path / "cache")["train"]
    assert [r["id"] for r in train][:2] == ["math-gpt/math-0", "math-gpt/math-1"] and train.num_rows == 7
    _, body = card_parts(tmp_path / "a")
    assert all(f"`data/{s}`" in body for s in shards)


def test_force_replaces_a_folder_whole(version: Path, tmp_path: Path) -> None:
    target = tmp_path / "hf"
    export_version(version, "hf", target, max_shard_bytes=5_000)
    export_version(version, "hf", target, force=True)
    assert sorted(p.name for p in (target / "data").iterdir()) == ["train-00000-of-00001.parquet"]
    assert sorted(p.name for p in tmp_path.iterdir() if p.name.startswith(".")) == []


def test_an_empty_version_still_loads(tmp_path: Path) -> None:
    run = write_run(tmp_path / "run", [make_trajectory("t", ["ok", "solve"])])
    v = build_version([run], "none", tmp_path / "out", default_chain()).path
    res = export_version(v, "hf", tmp_path / "hf")
    assert res.rows == 0 and res.files[-1] == "data/train-00000-of-00001.parquet"
    assert pq.ParquetFile(tmp_path / "hf" / res.files[-1]).schema_arrow == HF_SCHEMA


@pytest.mark.parametrize(("n", "label"), [(0, "n<1K"), (999, "n<1K"), (1000, "1K<n<10K"),
                                          (250_000, "100K<n<1M"), (10**8, "100M<n<1B")])
def test_size_category(n: int, label: str) -> None:
    assert size_category(n) == label


def test_a_count_no_int64_column_holds_is_named_not_an_overflow(tmp_path: Path) -> None:
    """A record that bypassed the schema (an old file, an object built in code) with 10**30
    tokens: the row is refused with the record and field named, before pyarrow overflows."""
    from trajkit.core.errors import DataError
    from trajkit.dataset.export_chat import conversation
    from trajkit.dataset.export_hf import ShardWriter, hf_row

    good = make_trajectory("t1", ["exception", "solve"], usage=Usage(input_tokens=2**63 - 1))
    huge = good.model_copy(update={"id": "r/huge", "usage": Usage.model_construct(
        input_tokens=10**30, output_tokens=5, calls=1, cached_calls=0)})
    writer = ShardWriter(tmp_path / "data")
    writer.add(hf_row(good, conversation(good)), 100)
    with pytest.raises(DataError, match=r"r/huge: usage\.input_tokens = 10{30} does not fit"):
        writer.add(hf_row(huge, conversation(huge)), 100)
    [shard] = writer.close()
    assert pq.read_table(shard).column("input_tokens").to_pylist() == [2**63 - 1]
