"""``trajkit filter`` with every unit: flag order, dry runs, config files, errors, and two-pass
chains through ``build_version`` / ``rebuild_version`` (byte-identical rebuilds)."""

from __future__ import annotations

import json
import random
from pathlib import Path

import pytest
from factories import make_trajectory, write_run
from filter_helpers import episode, near_copy
from typer.testing import CliRunner

from trajkit.cli.app import app
from trajkit.dataset.verify import rebuild_version, verify_version
from trajkit.dataset.version import DATA_FILE, build_version, read_manifest
from trajkit.filters.balance import BalanceFilter
from trajkit.filters.chain import FilterChain
from trajkit.filters.decontaminate import DecontaminateFilter
from trajkit.filters.dedup import DedupFilter
from trajkit.filters.presets import default_units
from trajkit.filters.registry import chain_from_reports
from trajkit.schemas import Task, Trajectory

runner = CliRunner()
EVAL = "an evaluation problem about the number of ways to tile a board with dominoes of two colours"


def generated(rng: random.Random) -> list[Trajectory]:
    """40 self-correcting episodes over two sources, 6 planted near copies, 2 leaks."""
    trajs: list[Trajectory] = []
    for i in range(40):
        source = "math" if i % 4 else "apps"
        task = Task(source=source, task_id=f"t{i}", prompt=f"Solve problem {i}.")
        trajs.append(episode(f"t{i}", rng, source=source, task=task))
    for i in (3, 9, 14, 22, 27, 31):
        trajs.append(near_copy(trajs[i], f"copy/t{i}", rng))
    for i in (5, 6):
        leaked = trajs[i].task.model_copy(update={"prompt": f"Solve: {EVAL}."})
        trajs[i] = trajs[i].model_copy(update={"task": leaked})
    return trajs


@pytest.fixture
def setup(tmp_path: Path) -> tuple[Path, Path]:
    run = write_run(tmp_path / "runs" / "gen", generated(random.Random(5)))
    ref = tmp_path / "eval.jsonl"
    ref.write_text(json.dumps({"problem": EVAL}) + "\n")
    return run, ref


def invoke(*args: str) -> object:
    return runner.invoke(app, ["filter", *args])


def test_flags_build_the_chain_in_order(setup: tuple[Path, Path], tmp_path: Path) -> None:
    run, ref = setup
    res = invoke(str(run), "--dataset", "d", "--out", str(tmp_path / "out"), "--dedup", "near:0.8",
                 "--keep", "success", "--decontaminate", str(ref), "--keep", "self-correct",
                 "--balance", "source=20")
    assert res.exit_code == 0, res.output  # type: ignore[attr-defined]
    manifest = read_manifest(tmp_path / "out" / "datasets" / "d" / "v1")
    assert [f.name for f in manifest.filters] == ["dedup", "success", "decontaminate", "self-correct", "balance"]
    counts = {f.name: (f.seen, f.kept, dict(f.drop_reasons)) for f in manifest.filters}
    assert counts["dedup"] == (46, 40, {"near_duplicate": 6})
    assert counts["decontaminate"][2] == {f"ngram:prompt:{' '.join(EVAL.split()[:13])}": 2}
    assert counts["balance"] == (38, 30, {"balanced_out:math": 8})
    assert manifest.counts_by_source == {"apps": 10, "math": 20}
    assert verify_version(tmp_path / "out" / "datasets" / "d" / "v1") == []


def test_dry_run_with_every_unit_writes_nothing(setup: tuple[Path, Path], tmp_path: Path) -> None:
    run, ref = setup
    out = tmp_path / "out"
    res = invoke(str(run), "--dataset", "d", "--out", str(out), "--dry-run", "--preset", "paper",
                 "--keep", "self-correct", "--dedup", "exact", "--dedup", "near", "--min-turns", "1",
                 "--max-turns", "9", "--min-tokens", "1", "--max-tokens", "100000", "--tokenizer", "chars4",
                 "--no-secrets", "--valid-format", "--decontaminate", str(ref), "--ngram", "8",
                 "--balance", "source=30,seed=2")
    assert res.exit_code == 0, res.output  # type: ignore[attr-defined]
    text = res.stdout  # type: ignore[attr-defined]
    for unit in ("success", "turns", "paper-heuristics", "self-correct", "dedup", "tokens",
                 "no-secrets", "valid-format", "decontaminate", "balance"):
        assert unit in text, unit
    assert "dry run: would write" in text and not out.exists()


def test_config_file_through_the_cli(setup: tuple[Path, Path], tmp_path: Path) -> None:
    run, ref = setup
    config = tmp_path / "chain.toml"
    config.write_text(f'[[filter]]\npreset = "default"\n[[filter]]\nname = "dedup"\nmode = "near"\n'
                      f'threshold = 0.8\n[[filter]]\nname = "decontaminate"\npaths = ["{ref.name}"]\n')
    res = invoke(str(run), "--dataset", "d", "--out", str(tmp_path / "out"), "--config", str(config))
    assert res.exit_code == 0, res.output  # type: ignore[attr-defined]
    manifest = read_manifest(tmp_path / "out" / "datasets" / "d" / "v1")
    assert [f.name for f in manifest.filters] == ["success", "self-correct", "dedup", "decontaminate"]
    assert manifest.records == 38


@pytest.mark.parametrize("args", [
    ["--min-turns", "abc"], ["--dedup", "fuzzy"], ["--keep", "nope"], ["--preset", "strict"],
    ["--balance", "source=lots"], ["--ngram", "5"], ["--decontaminate", "/nonexistent.jsonl"],
    ["--max-tokens", "10", "--tokenizer", "nope_base"], ["--config", "/nonexistent.toml"],
    ["--config", "chain.toml", "--keep", "success"],
])
def test_bad_flags_exit_2_with_one_line(setup: tuple[Path, Path], tmp_path: Path, args: list[str]) -> None:
    run, _ = setup
    res = invoke(str(run), "--dataset", "d", "--out", str(tmp_path / "out"), *args)
    assert res.exit_code == 2, res.output  # type: ignore[attr-defined]
    err = res.stderr.strip().splitlines()  # type: ignore[attr-defined]
    assert len(err) == 1 and err[0].startswith("error: --"), err


@pytest.mark.parametrize(
    ("table", "param"),
    [
        ('name = "dedup"\nmode = "near"\nnum_perm = 99999999999\n', "num_perm"),
        ('name = "dedup"\nmode = "near"\nseed = 99999999999999999999\n', "seed"),
        ('name = "success"\nmin_score = "x"\n', "min_score"),
        ('name = "success"\nmin_score = nan\n', "min_score"),
        ('name = "success"\nmin_score = inf\n', "min_score"),
        ('name = "success"\nmin_score = -inf\n', "min_score"),
        # each said something unrelated before: "params: 'int' object is not iterable",
        # "missing key 'name'", "3 digests for 1 paths", "no such file" for a directory
        ('name = "balance"\nlimits = {math = 1}\nby = 5\n', "by"),
        ('name = "decontaminate"\npaths = 5\n', "paths"),
        ('name = 5\n', "name"),
        ('name = "decontaminate"\npaths = ["ref.jsonl"]\nsha256 = ["abc", "def"]\n', "sha256"),
        ('name = "decontaminate"\npaths = ["."]\n', "paths"),
    ],
)
def test_bad_config_params_exit_2_before_anything_is_written(
    setup: tuple[Path, Path], tmp_path: Path, table: str, param: str
) -> None:
    config = tmp_path / "chain.toml"
    config.write_text(f"[[filter]]\n{table}")
    out = tmp_path / "out"
    res = invoke(str(setup[0]), "--dataset", "d", "--out", str(out), "--config", str(config))
    assert res.exit_code == 2, res.output  # type: ignore[attr-defined]
    err = res.stderr.strip().splitlines()  # type: ignore[attr-defined]
    assert len(err) == 1 and "chain.toml: filter #1" in err[0] and f": {param}: " in err[0], err
    assert not (out / "datasets").exists()


def test_a_config_that_is_not_utf8_is_one_line(setup: tuple[Path, Path], tmp_path: Path) -> None:
    config = tmp_path / "chain.toml"
    config.write_bytes(b"\xff\xfe[[filter]]\n")
    res = invoke(str(setup[0]), "--dataset", "d", "--out", str(tmp_path / "out"), "--config", str(config))
    assert res.exit_code == 2, res.output  # type: ignore[attr-defined]
    err = res.stderr.strip().splitlines()  # type: ignore[attr-defined]
    assert err == [f"error: {config}: invalid TOML: not UTF-8 text (byte 0)"], err


def test_default_tokenizer_offline_names_the_flag(setup: tuple[Path, Path], tmp_path: Path,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    import tiktoken

    from trajkit.core.tokenizers import load_tokenizer

    def offline(name: str) -> None:
        raise OSError("no network")

    load_tokenizer.cache_clear()
    monkeypatch.setattr(tiktoken, "get_encoding", offline)
    res = invoke(str(setup[0]), "--dataset", "d", "--out", str(tmp_path / "out"), "--max-tokens", "8192")
    load_tokenizer.cache_clear()
    assert res.exit_code == 2
    assert res.stderr.startswith("error: --tokenizer: cannot load 'o200k_base'")  # type: ignore[attr-defined]
    assert len(res.stderr.strip().splitlines()) == 1  # type: ignore[attr-defined]


def test_two_pass_chain_rebuilds_byte_identical(setup: tuple[Path, Path], tmp_path: Path) -> None:
    run, ref = setup
    extra = write_run(tmp_path / "runs" / "other", [make_trajectory("t1", ["exception", "solve"], run="other")])
    chain = FilterChain([DedupFilter("exact"), *default_units(), DedupFilter("near", threshold=0.8),
                         DecontaminateFilter([str(ref)]), BalanceFilter({"math": 0.5}, seed=4)])
    result = build_version([run, extra], "d", tmp_path / "out", chain)
    assert result.manifest.records > 0 and verify_version(result.path) == []
    assert chain_from_reports(result.manifest.filters).spec() == chain.spec()
    # The runs lie outside the output root, so the manifest names them without a place.
    sha = rebuild_version(result.path, tmp_path / "rebuilt", [run, extra])
    assert sha == result.manifest.data_sha256
    assert (tmp_path / "rebuilt" / DATA_FILE).read_bytes() == (result.path / DATA_FILE).read_bytes()
    # The same request reports the existing version; a dry run gives the same counts.
    again = build_version([run, extra], "d", tmp_path / "out", chain)
    assert again.existed and again.version == result.version
    dry = build_version([run, extra], "d2", tmp_path / "out", chain, dry_run=True)
    assert dry.manifest.data_sha256 == result.manifest.data_sha256
    assert [f.drop_reasons for f in dry.manifest.filters] == [f.drop_reasons for f in result.manifest.filters]


@pytest.mark.parametrize("args", [["--no-secrets=1"], ["--bogus"], ["--dedup"], ["--dataset"]])
def test_parser_level_errors_are_one_line_too(setup: tuple[Path, Path], args: list[str]) -> None:
    res = invoke(str(setup[0]), *args)
    assert res.exit_code == 2, res.output  # type: ignore[attr-defined]
    err = res.stderr.strip().splitlines()  # type: ignore[attr-defined]
    assert len(err) == 1 and err[0].startswith("error: "), err


def test_reference_file_mistakes_say_what_is_wrong(tmp_path: Path) -> None:
    from trajkit.filters.base import ParamError
    from trajkit.filters.decontaminate import DecontaminateFilter

    with pytest.raises(ParamError, match="a directory; give the reference file"):
        DecontaminateFilter(paths=[str(tmp_path)])
    with pytest.raises(ParamError, match="/dev/null: not a regular file"):  # was 'no such file'
        DecontaminateFilter(paths=["/dev/null"])
    ref = tmp_path / "ref.jsonl"
    ref.write_text('{"text": "a b c d e f g h i j k l m n"}\n')
    with pytest.raises(ParamError, match="sha256"):  # one digest, not one per character
        DecontaminateFilter(paths=[str(ref)], sha256="0" * 64)


def test_balance_by_a_field_no_record_has_is_one_line_and_writes_nothing(
    setup: tuple[Path, Path], tmp_path: Path
) -> None:
    res = invoke(str(setup[0]), "--dataset", "d", "--out", str(tmp_path / "out"),
                 "--balance", "difficulty=3")
    assert res.exit_code == 2, res.output  # type: ignore[attr-defined]
    err = res.stderr.strip().splitlines()  # type: ignore[attr-defined]
    assert len(err) == 1 and "balance by 'difficulty': no record has this field" in err[0], err
    assert not (tmp_path / "out" / "datasets" / "d").exists()
