"""Issue 21: every dataset version records the sandbox environments its parents ran in (from
their ``run.json`` or the parent version's manifest), stats and the dataset card show them,
and ``filter`` warns when it merges runs whose environments differ."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from dataset_helpers import sample
from factories import write_jsonl, write_run
from rich.console import Console
from typer.testing import CliRunner

from trajkit.cli.app import app
from trajkit.dataset.card import CardInputs, render_card
from trajkit.dataset.stats import compute_stats, render_stats, stats_as_dict
from trajkit.dataset.summary import DataSummary
from trajkit.dataset.version import build_version, compute_fingerprint
from trajkit.filters.presets import default_chain
from trajkit.schemas import RunManifest
from trajkit.schemas.manifests import SandboxEnvironment

STACK = {"numpy": "2.2.6", "pandas": "2.3.3", "matplotlib": "3.10.8"}
LOCAL = SandboxEnvironment(
    backend="local", python="3.11.7", implementation="cpython", machine="x86_64",
    packages=STACK, content_sha256="a" * 64, stack="283ec7fd7587",
)
SAME_FILES_IN_DOCKER = LOCAL.model_copy(update={"backend": "docker", "image_id": "sha256:" + "d" * 64})
OLD_NUMPY = SandboxEnvironment(
    backend="docker", python="3.11.2", implementation="cpython", machine="x86_64",
    packages={**STACK, "numpy": "1.26.4"}, content_sha256="b" * 64, image_id="sha256:" + "e" * 64,
)


def run_with(run_dir: Path, run: str, *envs: SandboxEnvironment) -> Path:
    """A run directory whose ``run.json`` records ``envs`` (what ``RunStore`` writes)."""
    write_run(run_dir, sample(run=run))
    manifest = RunManifest.model_validate_json((run_dir / "run.json").read_text())
    manifest.sandbox_environments = list(envs)
    (run_dir / "run.json").write_text(manifest.model_dump_json(indent=2))
    return run_dir


@pytest.fixture
def out(tmp_path: Path) -> Path:
    return tmp_path / "out"


def test_a_version_records_its_parents_environment_outside_the_fingerprint(out: Path) -> None:
    run = run_with(out / "runs" / "a", "a", LOCAL)
    version = build_version([run], "d", out, default_chain())
    uses = version.manifest.sandbox_environments
    assert uses is not None and len(uses) == 1
    assert uses[0].environment == LOCAL and uses[0].parents == ["runs/a"]
    assert version.sandbox_warning is None
    written = json.loads((version.path / "manifest.json").read_text())
    assert written["sandbox_environments"][0]["environment"]["packages"]["numpy"] == "2.2.6"
    # Read from the parents: the fingerprint (inputs and chain) is unchanged by it.
    assert version.manifest.fingerprint == compute_fingerprint(
        [i.sha256 for i in version.manifest.inputs], default_chain().spec()
    )


def test_merging_runs_from_different_environments_warns(out: Path) -> None:
    a = run_with(out / "runs" / "a", "a", LOCAL)
    b = run_with(out / "runs" / "b", "b", OLD_NUMPY)
    version = build_version([a, b], "mix", out, default_chain())
    warning = version.sandbox_warning
    assert warning is not None
    assert "Python, numpy differ" in warning
    assert "run a: local · Python 3.11.7" in warning and "run b: docker · Python 3.11.2" in warning
    # trajkit filter says it, once, on stderr.
    result = CliRunner().invoke(app, ["filter", str(a), str(b), "--dataset", "mix2", "--out", str(out)])
    assert result.exit_code == 0 and result.output.count(warning) == 1
    assert warning.startswith("warning: ") and "warning: warning" not in result.output
    uses = version.manifest.sandbox_environments or []
    assert [(u.environment, u.parents) for u in uses] == [(LOCAL, ["runs/a"]), (OLD_NUMPY, ["runs/b"])]
    # Asking again for the same version (nothing written) still says it.
    assert build_version([a, b], "mix", out, default_chain()).sandbox_warning == warning


def test_the_same_files_on_both_backends_do_not_warn(out: Path) -> None:
    a = run_with(out / "runs" / "a", "a", LOCAL)
    b = run_with(out / "runs" / "b", "b", SAME_FILES_IN_DOCKER)
    version = build_version([a, b], "same", out, default_chain())
    assert version.sandbox_warning is None
    assert len(version.manifest.sandbox_environments or []) == 2  # both recorded, by backend


def test_unrecorded_parents_and_version_parents(out: Path) -> None:
    a = run_with(out / "runs" / "a", "a", LOCAL)
    old = write_run(out / "runs" / "old", sample(run="old"))  # run.json without environments
    loose = write_jsonl(out / "extra.jsonl", sample(run="x", source="hotpotqa"))
    v1 = build_version([a, old, loose], "d", out, default_chain())
    uses = v1.manifest.sandbox_environments or []
    assert [(u.environment, u.parents) for u in uses] == [
        (LOCAL, ["runs/a"]), (None, ["runs/old", "extra.jsonl"])
    ]
    assert v1.sandbox_warning is None  # unknown is not "different"
    v2 = build_version([v1.path], "d2", out, default_chain())  # a version as the parent
    assert [(u.environment, u.parents) for u in v2.manifest.sandbox_environments or []] == [
        (LOCAL, ["datasets/d/v1"]), (None, ["datasets/d/v1"])
    ]


def test_a_resumed_run_in_two_environments_lists_both(out: Path) -> None:
    a = run_with(out / "runs" / "a", "a", LOCAL, OLD_NUMPY)
    version = build_version([a], "d", out, default_chain())
    assert [u.environment for u in version.manifest.sandbox_environments or []] == [LOCAL, OLD_NUMPY]
    assert version.sandbox_warning is not None and "run a" in version.sandbox_warning


def test_stats_show_the_environment_of_a_run_and_a_version(out: Path) -> None:
    a = run_with(out / "runs" / "a", "a", LOCAL)
    b = run_with(out / "runs" / "b", "b", OLD_NUMPY)
    run_stats = compute_stats(a)
    assert [(u.environment, u.parents) for u in run_stats.sandbox_environments or []] == [(LOCAL, ["a"])]
    version = build_version([a, b], "mix", out, default_chain())
    stats = compute_stats(version.path)
    as_json = stats_as_dict(stats)["sandbox_environments"]
    assert [u["environment"]["python"] for u in as_json] == ["3.11.7", "3.11.2"]
    console = Console(record=True, width=200)
    render_stats(stats, console)
    text = console.export_text()
    assert "Sandbox environment" in text and "numpy 1.26.4" in text and "image eeeeeeeeeeee" in text
    assert "collected in different sandbox environments (Python, numpy differ)" in text
    loose = compute_stats(write_jsonl(out / "loose.jsonl", sample()))
    assert loose.sandbox_environments is None and stats_as_dict(loose)["sandbox_environments"] is None


def test_the_dataset_card_states_the_environment(out: Path) -> None:
    a = run_with(out / "runs" / "a", "a", LOCAL)
    b = run_with(out / "runs" / "b", "b", OLD_NUMPY)
    version = build_version([a, b], "mix", out, default_chain())
    export = CardInputs(split_rows={"train": 2}, skipped={}, shards=["data/train-0.parquet"])
    card = render_card(version.manifest, DataSummary(), export)
    section = card[card.index("## Sandbox environment"):card.index("## Filters")]
    assert "| local | 3.11.7 | numpy 2.2.6, pandas 2.3.3, matplotlib 3.10.8 | `env aaaaaaaaaaaa` (stack `283ec7fd7587`) | run a |" in section
    assert "| docker | 3.11.2 | numpy 1.26.4" in section and "`image eeeeeeeeeeee`" in section
    assert "(Python, numpy differ)" in section
    older = version.manifest.model_copy(update={"sandbox_environments": None})
    assert "Not recorded" in render_card(older, DataSummary(), export)
