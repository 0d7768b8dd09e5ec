"""``examples/plugin-source``: a separate package adds a source and a filter with no edit to trajkit.

The example is built and installed with pip into a folder of its own (``--target``) that the
commands below get on ``PYTHONPATH``: trajkit finds its entry points exactly as it would in a
virtualenv, and the test venv stays as it was. Everything runs through the real CLI and the
real Python API in fresh processes.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from support import require_isolation

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "plugin-source"


@pytest.fixture(scope="module")
def plugin_path(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The example, pip-installed (built from a copy, so the repository stays clean)."""
    work = tmp_path_factory.mktemp("plugin")
    source = work / "src"
    shutil.copytree(EXAMPLE, source, ignore=shutil.ignore_patterns("build", "*.egg-info"))
    target = work / "site"
    proc = subprocess.run(
        [sys.executable, "-m", "pip", "install", "-q", "--no-deps", "--no-build-isolation",
         "--target", str(target), str(source)],
        capture_output=True, text=True, timeout=300,
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    return target


def run(plugin_path: Path, *args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(plugin_path)}
    return subprocess.run(args, cwd=cwd, env=env, capture_output=True, text=True, timeout=240)


def trajkit(plugin_path: Path, *args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return run(plugin_path, sys.executable, "-m", "trajkit.cli", *args, cwd=cwd)


def test_the_plugin_is_listed_with_its_package_and_options(plugin_path: Path, tmp_path: Path) -> None:
    proc = trajkit(plugin_path, "plugins", "--json", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    found = {(p["kind"], p["name"]): p for p in json.loads(proc.stdout)}
    units = found["source", "units"]
    assert units["package"] == "trajkit-units" and units["status"] == "ok"
    assert units["options"] == {"tolerance": "1e-06"} and "demo_replay" in units["capabilities"]
    # Its own in-context demonstration is declared the way the built-ins declare theirs.
    assert "demonstration" in units["capabilities"]
    assert "demonstration" in found["source", "math"]["capabilities"]
    assert found["filter", "short-answer"]["options"] == {"max_chars": "40"}
    assert found["source", "math"]["package"] == "trajkit"  # the built-ins are listed the same way


def test_collect_filter_and_rebuild_from_the_command_line(plugin_path: Path, tmp_path: Path) -> None:
    require_isolation()
    replay = plugin_path / "trajkit_units" / "data" / "replay.jsonl"
    proc = trajkit(plugin_path, "collect", "units", "--teacher", f"replay:{replay}", "--run", "u",
                   "--source-opt", "tolerance=1e-3", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    records = [json.loads(line) for line in (tmp_path / "out/runs/u/trajectories.jsonl").read_text().splitlines()]
    assert len(records) == 4 and all(r["success"] for r in records)
    assert sum(r["self_corrected"] for r in records) == 3
    # The host-side tool answered from the sandbox, and its error came back as an observation.
    first = next(r for r in records if r["task_id"] == "u1")
    assert "unknown unit 'hours'" in first["steps"][0]["observation"]["text"]
    assert "150.0" in first["steps"][1]["observation"]["text"]
    # The teacher was shown the plugin's own demonstration, not trajkit's generic one.
    system = first["messages"][0]["content"]
    assert "A bag of flour weighs 2.5 pounds." in system and "2 to the power 100" not in system

    chain = tmp_path / "chain.toml"
    chain.write_text('[[filter]]\npreset = "default"\n\n[[filter]]\nname = "short-answer"\nmax_chars = 6\n')
    proc = trajkit(plugin_path, "filter", "out/runs/u", "--dataset", "units", "--config", str(chain), cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    manifest = json.loads((tmp_path / "out/datasets/units/v1/manifest.json").read_text())
    short = manifest["filters"][-1]
    assert short["name"] == "short-answer" and short["params"] == {"max_chars": 6}
    assert short["drop_reasons"] == {"answer_too_long": 1}  # "108,000 seconds"
    assert manifest["records"] == 2
    proc = trajkit(plugin_path, "verify", "out/datasets/units/v1", "--rebuild", cwd=tmp_path)
    assert proc.returncode == 0 and "identical bytes" in proc.stdout, proc.stdout + proc.stderr
    proc = trajkit(plugin_path, "filter", "out/runs/u", "--dataset", "keep", "--keep", "short-answer",
                   cwd=tmp_path)
    assert proc.returncode == 0 and "short-answer(max_chars=40)" in proc.stdout, proc.stderr
    proc = trajkit(plugin_path, "export", "out/datasets/units/v1", "--format", "openai", "--to",
                   "units.jsonl", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    rows = [json.loads(line) for line in (tmp_path / "units.jsonl").read_text().splitlines()]
    assert len(rows) == 2 and rows[0]["messages"][-1]["content"].endswith("</solution>")


def test_collect_filter_export_from_python(plugin_path: Path, tmp_path: Path) -> None:
    require_isolation()
    script = textwrap.dedent("""
        import json, trajkit
        from trajkit_units.short_answer import ShortAnswerFilter
        from trajkit_units.source import UnitsSource

        run = trajkit.collect("units", f"replay:{UnitsSource.demo_replay}", run="py", concurrency=2)
        version = trajkit.filter([run.path], dataset="units-py", keep=["success"],
                                 min_turns=2)
        mine = trajkit.filter([run.path], dataset="units-chain",
                              chain=[ShortAnswerFilter(max_chars=6)])
        exported = trajkit.export(mine.path, format="sharegpt", to="units.jsonl")
        print(json.dumps({"status": run.status, "counts": run.counts,
                          "kept": version.manifest.records, "mine": mine.manifest.records,
                          "rows": exported.rows, "records": len(list(run.records()))}))
    """)
    proc = run(plugin_path, sys.executable, "-c", script, cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    result = json.loads(proc.stdout.strip().splitlines()[-1])
    assert result == {"status": "completed", "counts": {"solved": 4}, "kept": 4, "mine": 2,
                      "rows": 2, "records": 4}  # "150" and "15840" fit in 6 characters


def test_a_bad_option_of_the_plugin_is_one_line_and_exit_2(plugin_path: Path, tmp_path: Path) -> None:
    proc = trajkit(plugin_path, "collect", "units", "--teacher", "replay:x.jsonl", "--source-opt",
                   "tolerance=2", cwd=tmp_path)
    assert proc.returncode == 2 and proc.stderr.count("\n") == 1, proc.stderr
    assert proc.stderr.startswith("error: --source-opt tolerance=2: Input should be less than or equal to 0.5")


def test_a_broken_plugin_does_not_break_the_builtins(plugin_path: Path, tmp_path: Path) -> None:
    """An installed package whose entry point cannot be imported is named, and only it fails."""
    broken = tmp_path / "broken-site"
    info = broken / "broken_plugin-1.0.dist-info"
    info.mkdir(parents=True)
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: broken-plugin\nVersion: 1.0\n")
    (info / "entry_points.txt").write_text("[trajkit.sources]\nbroken = no_such_module:Source\n")
    path = f"{broken}{os.pathsep}{plugin_path}"
    env = {**os.environ, "PYTHONPATH": path}
    cli = [sys.executable, "-m", "trajkit.cli"]
    listing = subprocess.run([*cli, "plugins", "source"], env=env, cwd=tmp_path,
                             capture_output=True, text=True, timeout=120)
    assert listing.returncode == 0 and "broken (broken-plugin)  broken:" in listing.stdout
    assert "units (trajkit-units)" in listing.stdout
    bad = subprocess.run([*cli, "collect", "broken", "--teacher", "replay:x.jsonl"], env=env,
                         cwd=tmp_path, capture_output=True, text=True, timeout=120)
    assert bad.returncode == 2 and bad.stderr.count("\n") == 1
    assert "trajkit.sources:broken = no_such_module:Source (package broken-plugin)" in bad.stderr
    estimate = subprocess.run([*cli, "collect", "math", "--teacher", "openai:gpt-4o-mini",
                               "--estimate", "--limit", "2"], env=env, cwd=tmp_path,
                              capture_output=True, text=True, timeout=120)
    assert estimate.returncode == 0 and "2 of 2 task(s) pending" in estimate.stdout, estimate.stderr


def test_a_judge_from_the_plugin_package_scores_tasks(plugin_path: Path, tmp_path: Path) -> None:
    """``trajkit collect tasks --source-opt judge=quantity``: the judge comes from the other
    package's ``trajkit.judges`` entry point, its option ``tolerance`` passes through the
    tasks source, and the plugin's function is the sandbox tool (``tools=``)."""
    require_isolation()
    proc = trajkit(plugin_path, "plugins", "judge", "--json", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    judges = {p["name"]: p for p in json.loads(proc.stdout)}
    assert judges["quantity"]["package"] == "trajkit-units" and judges["quantity"]["status"] == "ok"

    data = plugin_path / "trajkit_units" / "data"
    proc = trajkit(plugin_path, "collect", "tasks", "--data", str(data / "quantities.jsonl"),
                   "--teacher", f"replay:{data / 'quantities_replay.jsonl'}", "--run", "q",
                   "--source-opt", "id=id", "--source-opt", "judge=quantity",
                   "--source-opt", "tolerance=1e-3",
                   "--source-opt", "tools=trajkit_units.source:conversion_factor", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    lines = (tmp_path / "out/runs/q/trajectories.jsonl").read_text().splitlines()
    records = {r["task_id"]: r for r in map(json.loads, lines)}
    assert all(r["success"] for r in records.values())
    film = records["q1"]["steps"][0]["verdict"]  # "90 minutes" for "1.5 hours"
    assert film["details"]["judge"] == "quantity" and film["details"]["got"] == 1.5
    assert "as a number with its unit" in records["q1"]["task"]["prompt"]  # the judge's answer_format
    race = records["q2"]
    assert "unknown unit 'metres'" in race["steps"][0]["observation"]["text"] and race["self_corrected"]
    suitcase = [s["verdict"]["success"] for s in records["q3"]["steps"] if s["verdict"]]
    assert suitcase == [False, True]  # 22 kg is 10% off; 19.96 kg is within 1e-3

    proc = trajkit(plugin_path, "show", "q1", "--in", "out/runs/q", cwd=tmp_path)
    assert proc.returncode == 0 and "quantity: 1.5 hour vs 1.5 hour" in proc.stdout, proc.stdout

    proc = trajkit(plugin_path, "collect", "tasks", "--data", str(data / "quantities.jsonl"),
                   "--teacher", "openai:m", "--estimate", "--source-opt", "judge=quantity",
                   "--source-opt", "tolerance=0.9", cwd=tmp_path)
    assert proc.returncode == 2 and proc.stderr.count("\n") == 1, proc.stderr
    assert proc.stderr.startswith("error: --source-opt tolerance=0.9: Input should be less than or equal to 0.5")


async def test_the_plugins_own_demonstration_replays_with_its_real_tool(
    plugin_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The example's demonstration shows exactly what a real sandbox prints for its cells when
    they call the package's real ``conversion_factor``: an error, then the recovery."""
    require_isolation()
    monkeypatch.syspath_prepend(str(plugin_path))
    from demonstration_replay import replay
    from trajkit_units.demonstration import DEMONSTRATION
    from trajkit_units.source import UnitsSource, conversion_factor

    from trajkit.core.tools import Tool

    assert UnitsSource().demonstration() is DEMONSTRATION
    observations = await replay(DEMONSTRATION, make_tools=lambda _: [Tool.from_function(conversion_factor)])
    assert [o.text for o in observations] == [t.observation for t in DEMONSTRATION.turns[:2]]
    assert observations[0].error is not None and observations[1].error is None
