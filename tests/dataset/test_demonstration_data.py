"""The in-context demonstration in datasets: exports cut it out exactly by default and keep it
on request, the card says which, the manifest records each parent's ``--shots``, ``filter``
warns when they differ, and the tokens and turns filters count the episode's own text only."""

from __future__ import annotations

import json
from pathlib import Path

import pyarrow.parquet as pq
import pytest
from factories import make_trajectory, write_run
from typer.testing import CliRunner

import trajkit
from trajkit.cli.app import app
from trajkit.collect.demonstrations import GENERIC_DEMONSTRATION
from trajkit.collect.prompts import system_prompt
from trajkit.core.demonstration import DEMONSTRATION_CLOSE
from trajkit.dataset.version import build_version
from trajkit.filters.base import KEEP
from trajkit.filters.presets import build_chain
from trajkit.filters.tokens import TokensFilter
from trajkit.filters.turns import assistant_turns
from trajkit.schemas import Message, Trajectory
from trajkit.schemas.manifests import ShotsUse
from trajkit.sources.math.demonstration import DEMONSTRATION as MATH_DEMO

runner = CliRunner()
BARE = system_prompt([], 5, 2)
SHOWN = system_prompt([], 5, 2, MATH_DEMO)


def episode(task_id: str, system: str, run: str) -> Trajectory:
    traj = make_trajectory(task_id, ["exception", "ok", "solve"], run=run)
    return traj.model_copy(update={"messages": [Message(role="system", content=system), *traj.messages[1:]]})


def run_dir(root: Path, name: str, system: str, loop: dict | None) -> Path:
    path = write_run(root / "runs" / name, [episode(f"{name}-{i}", system, name) for i in range(2)])
    manifest = json.loads((path / "run.json").read_text())
    manifest["config"] = {} if loop is None else {"loop": loop}
    (path / "run.json").write_text(json.dumps(manifest))
    return path


@pytest.fixture
def mixed(tmp_path: Path) -> tuple[Path, Path, Path]:
    """Three runs: collected with --shots 1, with --shots 0, and before --shots existed."""
    root = tmp_path / "out"
    return (
        run_dir(root, "shown", SHOWN, {"max_turns": 5, "shots": 1}),
        run_dir(root, "bare", BARE, {"max_turns": 5, "shots": 0}),
        run_dir(root, "old", BARE, {"max_turns": 5}),
    )


def test_the_manifest_records_each_parents_shots_and_filter_warns_when_they_differ(
    mixed: tuple[Path, Path, Path], tmp_path: Path
) -> None:
    shown, bare, old = mixed
    out = tmp_path / "out"
    version = trajkit.filter([shown, bare, old], dataset="mix", out=out, keep=["all"])
    assert version.manifest.shots == [
        ShotsUse(shots=1, parents=["runs/shown"]), ShotsUse(shots=0, parents=["runs/bare", "runs/old"]),
    ]
    assert version.shots_warning is not None
    assert "run shown: --shots 1" in version.shots_warning
    assert "run bare, run old: --shots 0" in version.shots_warning
    # A version as a parent passes its record on; agreeing parents (or silent ones) are no warning.
    again = build_version([version.path], "again", out, build_chain(["all"]))
    assert again.manifest.shots == [ShotsUse(shots=1, parents=["datasets/mix/v1"]),
                                     ShotsUse(shots=0, parents=["datasets/mix/v1"])]
    assert again.shots_warning is not None and "version mix v1: --shots 1" in again.shots_warning
    same = trajkit.filter([bare, old], dataset="same", out=out, keep=["all"])
    assert same.manifest.shots == [ShotsUse(shots=0, parents=["runs/bare", "runs/old"])]
    assert same.shots_warning is None
    silent = run_dir(out, "silent", SHOWN, None)
    quiet = trajkit.filter([shown, silent], dataset="quiet", out=out, keep=["all"])
    assert quiet.manifest.shots == [ShotsUse(shots=1, parents=["runs/shown"]),
                                    ShotsUse(shots=None, parents=["runs/silent"])]
    assert quiet.shots_warning is None

    result = runner.invoke(app, ["filter", str(shown), str(bare), "--dataset", "cli", "--out",
                                 str(out), "--keep", "all"])
    assert result.exit_code == 0, result.output
    assert "collected with different in-context demonstrations (--shots differ)" in result.stderr


def test_exports_cut_the_demonstration_exactly_unless_asked_to_keep_it(
    mixed: tuple[Path, Path, Path], tmp_path: Path
) -> None:
    shown, bare, _ = mixed
    version = trajkit.filter([shown, bare], dataset="ex", out=tmp_path / "out", keep=["all"])
    records = list(version.records())
    for fmt in ("openai", "sharegpt", "codeact"):
        for keep in (False, True):
            to = tmp_path / f"{fmt}-{keep}.jsonl"
            result = trajkit.export(version.path, format=fmt, to=to, keep_demonstration=keep)
            assert result.rows == 4 and result.demonstrations == 2
            for traj, line in zip(records, to.read_text().splitlines(), strict=True):
                row = json.loads(line)
                turns = row.get("messages") or row["conversations"]
                texts = [t.get("content", t.get("value")) for t in turns]
                system = traj.messages[0].content if keep else BARE
                # Byte for byte: the cut system prompt is the --shots 0 one, the rest unchanged.
                assert texts == [system, *(m.content for m in traj.messages[1:])]

    cli = runner.invoke(app, ["export", str(version.path), "--format", "openai", "--to",
                              str(tmp_path / "kept.jsonl"), "--keep-demonstration"])
    assert cli.exit_code == 0, cli.output
    assert "the in-context demonstration kept in 2 system prompt(s)" in cli.stdout
    first = json.loads((tmp_path / "kept.jsonl").read_text().splitlines()[0])
    assert first["messages"][0]["content"] == SHOWN


def test_the_hf_export_and_its_card_say_whether_the_demonstration_is_in_messages(
    mixed: tuple[Path, Path, Path], tmp_path: Path
) -> None:
    shown, bare, _ = mixed
    version = trajkit.filter([shown, bare], dataset="hf", out=tmp_path / "out", keep=["all"])
    for keep in (False, True):
        to = tmp_path / f"hf-{keep}"
        trajkit.export(version.path, format="hf", to=to, keep_demonstration=keep)
        rows = pq.read_table(next((to / "data").glob("*.parquet"))).to_pylist()
        systems = [r["messages"][0]["content"] for r in rows]
        assert systems == ([SHOWN, SHOWN, BARE, BARE] if keep else [BARE] * 4)
        card = (to / "README.md").read_text()
        assert "## In-context demonstration" in card and "In 2 of the 4 rows" in card
        assert "(`--shots 1`: run shown)" in card
        assert ("It is kept" in card) is keep and ("It is not in `messages`" in card) is not keep
    plain = trajkit.filter([bare], dataset="plain", out=tmp_path / "out", keep=["all"])
    trajkit.export(plain.path, format="hf", to=tmp_path / "plain")
    assert "In-context demonstration" not in (tmp_path / "plain" / "README.md").read_text()


def test_the_tokens_and_turns_filters_count_only_the_episodes_own_text() -> None:
    shown, bare = episode("t", SHOWN, "r"), episode("t", BARE, "r")
    count = TokensFilter(tokenizer="whitespace")
    assert count.count(shown) == count.count(bare)
    assert sum(len(m.content.split()) for m in shown.messages) > count.count(shown) + 100
    assert assistant_turns(shown) == assistant_turns(bare) == 3
    # A bound between the two sizes keeps the record whatever it was shown.
    limit = count.count(bare)
    assert TokensFilter(max_tokens=limit, tokenizer="whitespace").decide(shown) is KEEP
    assert SHOWN.endswith(DEMONSTRATION_CLOSE) and GENERIC_DEMONSTRATION.task not in SHOWN
