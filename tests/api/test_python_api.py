"""The Python API: the CLI's commands as functions, with the same options, defaults and errors.

Collections run for real (isolated local sandbox, replay teacher, the bundled MATH sample);
bad options are checked against the command line, so both front ends provably say the same.
"""

from __future__ import annotations

import asyncio
import importlib
import json
import subprocess
import sys
from pathlib import Path
from typing import ClassVar

import pytest
from support import require_isolation

import trajkit
from trajkit.core.errors import ConfigError, DataError, PluginError, UserError
from trajkit.filters.turns import TurnsFilter
from trajkit.sources.math import DEMO_REPLAY

TEACHER = f"replay:{DEMO_REPLAY}"


@pytest.fixture(scope="module")
def collected(tmp_path_factory: pytest.TempPathFactory) -> trajkit.RunResult:
    require_isolation()
    out = tmp_path_factory.mktemp("api")
    return trajkit.collect("math", TEACHER, out=out, run="m", concurrency=4)


def test_collect_returns_the_run(collected: trajkit.RunResult) -> None:
    records = list(collected.records())
    assert collected.path.name == "m" and (collected.path / "run.json").exists()
    assert collected.status == "completed" and collected.exit_code == 0
    assert sum(collected.counts.values()) == len(records) == collected.manifest.counts.done > 0
    assert {r.task.source for r in records} == {"math"}
    run_json = json.loads((collected.path / "run.json").read_text())
    assert run_json["config"]["concurrency"] == 4 and run_json["config"]["loop"]["max_turns"] == 5


def test_a_second_call_resumes_instead_of_paying_again(collected: trajkit.RunResult) -> None:
    again = trajkit.collect("math", TEACHER, out=collected.path.parent.parent, run="m")
    assert again.skipped == collected.manifest.counts.done and again.status == "completed"
    assert len(list(again.records())) == collected.manifest.counts.done


def test_filter_export_verify_stats(collected: trajkit.RunResult, tmp_path: Path) -> None:
    out = collected.path.parent.parent
    version = trajkit.filter([collected.path], dataset="api", out=out)
    assert isinstance(version, trajkit.DatasetVersion) and version.version >= 1
    kept = list(version.records())
    assert len(kept) == version.manifest.records > 0 and all(t.success and t.self_corrected for t in kept)
    assert [f.name for f in version.manifest.filters] == ["success", "self-correct"]  # the default
    same = trajkit.filter(collected.path, dataset="api", out=out)  # one path is a list of one
    assert same.existed and same.path == version.path
    assert trajkit.DatasetVersion.open(version.path).manifest == version.manifest

    exported = trajkit.export(version.path, format="openai", to=tmp_path / "train.jsonl")
    assert exported.rows == len(kept) == len((tmp_path / "train.jsonl").read_text().splitlines())
    (check,) = trajkit.verify(version.path, rebuild=True)
    assert check.ok and check.rebuilt and check.manifest is not None
    stats = trajkit.stats(version.path)
    assert stats.records == len(kept) and stats.kind == "dataset"


def test_chain_options_apply_in_keyword_order_as_flags_do(collected: trajkit.RunResult) -> None:
    out = collected.path.parent.parent
    a = trajkit.filter([collected.path], dataset="order-a", out=out, dedup="exact", keep="success")
    b = trajkit.filter([collected.path], dataset="order-b", out=out, keep="success", dedup="exact")
    assert [f.name for f in a.manifest.filters] == ["dedup", "success"]
    assert [f.name for f in b.manifest.filters] == ["success", "dedup"]
    c = trajkit.filter([collected.path], dataset="order-c", out=out, chain=[TurnsFilter(min_turns=2)])
    assert [f.name for f in c.manifest.filters] == ["turns"]


def test_an_unregistered_unit_is_refused_because_its_version_could_not_be_rebuilt(
    collected: trajkit.RunResult,
) -> None:
    class Mine:
        name = "not-registered"
        params: ClassVar[dict] = {}

        def decide(self, traj):  # pragma: no cover - never reached
            raise AssertionError

    with pytest.raises(ConfigError, match="cannot be rebuilt from the manifest"):
        trajkit.filter([collected.path], dataset="x", out=collected.path.parent.parent, chain=[Mine()])


@pytest.mark.parametrize(
    ("options", "flags"),
    [
        ({"limit": 0}, ["--limit", "0"]),
        ({"sandbox": "podman"}, ["--sandbox", "podman"]),
        ({"mode": "batch"}, ["--mode", "batch"]),
        ({"source_opt": ["nokey"]}, ["--source-opt", "nokey"]),
        ({"price": ["gpt=1"]}, ["--price", "gpt=1"]),
        ({"executor": "ray", "mode": "batch"}, ["--executor", "ray", "--mode", "batch"]),
        ({"temperature": -1}, ["--temperature", "-1"]),
        ({"temperature": float("nan")}, ["--temperature", "nan"]),
        ({"exec_timeout": float("inf")}, ["--exec-timeout", "inf"]),
        ({"max_cost": float("inf")}, ["--max-cost", "inf"]),
        ({"sandbox_opt": ["cpus=1e999"]}, ["--sandbox-opt", "cpus=1e999"]),
        ({"memory_mb": 99999999999999}, ["--memory-mb", "99999999999999"]),
    ],
)
def test_bad_options_raise_the_error_the_command_line_prints(
    options: dict, flags: list[str], tmp_path: Path
) -> None:
    with pytest.raises(UserError) as info:
        trajkit.collect("math", TEACHER, out=tmp_path, run="bad", **options)
    proc = subprocess.run(
        [sys.executable, "-m", "trajkit.cli", "collect", "math", "--teacher", TEACHER,
         "--out", str(tmp_path), "--run", "bad", *flags],
        capture_output=True, text=True, timeout=120,
    )
    assert proc.returncode == 2 and proc.stderr.strip() == f"error: {info.value}"
    assert not (tmp_path / "runs" / "bad").exists()  # nothing was touched


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"source_opt": 5}, "--source-opt: expected KEY=VALUE pairs"),
        ({"sandbox_opt": 5}, "--sandbox-opt: expected KEY=VALUE pairs"),
        ({"price": 5}, "--price: expected MODEL="),
        ({"price": [5]}, "--price: expected MODEL="),
        ({"out": "FILE"}, "--out: "),
        ({"temperature": float("nan")}, "--temperature: Input should be a finite number"),
        ({"temperature": -0.5}, "--temperature: Input should be greater than or equal to 0"),
        ({"batch_poll": float("inf")}, "--batch-poll: Input should be a finite number"),
        ({"max_cost": float("nan")}, "--max-cost: Input should be a finite number"),
        ({"sandbox_opt": {"cpus": "nan"}}, "--sandbox-opt cpus: Input should be a finite number"),
        ({"sandbox_opt": {"kill_grace_s": "inf"}}, "--sandbox-opt kill_grace_s: Input should be a finite"),
        ({"sandbox_opt": {"memory_mb": 10**14}}, "--sandbox-opt memory_mb: Input should be less than"),
        ({"memory_mb": 10**14}, "--memory-mb: Input should be less than or equal to 1048576"),
        # Past ~292 years the worker's timer overflows and every cell fails as if the teacher erred.
        ({"exec_timeout": 1e12}, "--exec-timeout: Input should be less than or equal to 86400"),
        ({"sandbox_opt": {"image": "BAD TAG!!"}}, "--sandbox-opt image: 'BAD TAG!!' is not a docker image"),
        ({"teacher": "openai:gpt-4o-mini", "temperature": 2.5}, "--temperature 2.5: --teacher openai:gpt-4o-mini"),
        ({"teacher": "anthropic:claude-x", "temperature": 1.5}, "--temperature 1.5: --teacher anthropic:claude-x"),
    ],
)
def test_wrong_types_and_a_file_as_out_raise_config_errors(
    options: dict, message: str, tmp_path: Path
) -> None:
    afile = tmp_path / "userfile"
    afile.write_text("mine\n")
    options = {k: afile if v == "FILE" else v for k, v in options.items()}
    options = {"teacher": TEACHER, **options}
    with pytest.raises(ConfigError) as info:
        trajkit.collect("math", **{"out": tmp_path, "run": "bad", **options})
    assert str(info.value).startswith(message), info.value
    assert not (tmp_path / "runs").exists()  # refused before anything was written
    with pytest.raises(ConfigError, match=r"^--out: .*userfile is not a directory"):
        trajkit.filter([tmp_path], dataset="d", out=afile)
    assert afile.read_text() == "mine\n"


def test_errors_are_raised_typed_never_printed(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(ConfigError, match="limt: unknown option"):
        trajkit.collect("math", TEACHER, out=tmp_path, limt=3)
    with pytest.raises(PluginError, match="unknown source 'gsm9k'"):
        trajkit.collect("gsm9k", TEACHER, out=tmp_path)
    with pytest.raises(DataError, match="no such dataset version"):
        trajkit.verify(tmp_path / "nope")
    assert capsys.readouterr().out == ""
    assert issubclass(UserError, trajkit.TrajkitError) and trajkit.UserError is UserError


def test_collect_from_a_running_event_loop_and_acollect(tmp_path: Path) -> None:
    require_isolation()

    async def notebook_cell() -> tuple[trajkit.RunResult, trajkit.RunResult]:
        blocking = trajkit.collect("math", TEACHER, out=tmp_path, run="a", limit=2)
        awaited = await trajkit.acollect("math", TEACHER, out=tmp_path, run="b", limit=2)
        return blocking, awaited

    blocking, awaited = asyncio.run(notebook_cell())
    assert blocking.status == awaited.status == "completed"
    assert len(list(blocking.records())) == len(list(awaited.records())) == 2


def test_estimate_calls_no_teacher(tmp_path: Path) -> None:
    est = trajkit.estimate("math", "openai:gpt-4o-mini", out=tmp_path, run="e", limit=3)
    assert est.pending == 3 and est.cost_usd is not None and "3 of 3 task(s) pending" in est.describe()
    assert not (tmp_path / "runs" / "e").exists()


def test_the_public_surface() -> None:
    for name in trajkit.__all__:
        assert getattr(trajkit, name) is not None, name
    assert trajkit.__version__ and callable(trajkit.collect)
    runner = importlib.import_module("trajkit.collect.runner")  # the package still imports
    assert trajkit.collect.runner is runner and runner.RunResult is trajkit.RunResult
    from trajkit.collect.loop import run_episode

    assert callable(run_episode) and callable(trajkit.collect)
    assert "api.collecting.collect" in (type(trajkit.collect).__call__.__doc__ or "")


def test_plugins_lists_judges_and_what_each_source_adds_to_the_defaults() -> None:
    """Judges are a plugin kind like the others, with their options; a source's capabilities
    include the methods it gives beyond ``BaseSource``'s defaults, plain methods too
    (``episode_setup``) and not only class methods (``verdict_summary``)."""
    found = {(p.kind, p.name): p for p in trajkit.plugins()}
    assert {"exact", "numeric", "tests", "llm"} <= {n for k, n in found if k == "judge"}
    assert all(found[("judge", n)].status == "ok" for k, n in found if k == "judge")
    assert "tol" in found[("judge", "numeric")].options
    assert "episode_setup" in found[("source", "wikitq")].capabilities
    assert "episode_setup" not in found[("source", "apps")].capabilities
    assert "verdict_summary" in found[("source", "apps")].capabilities
