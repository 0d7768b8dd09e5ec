"""Job files as a scheduler runs them: one line, idempotent, documented exit codes, summaries."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from math_tasks import solve_after_one_error, write_problems
from support import require_isolation

from trajkit.api.jobs import load_job
from trajkit.core.errors import ConfigError
from trajkit.sources.math import DEMO_REPLAY

TRAJKIT = [sys.executable, "-m", "trajkit.cli"]


def trajkit(*args: str, cwd: Path, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(
        [*TRAJKIT, *args], cwd=cwd, env=env or dict(os.environ), capture_output=True, text=True,
        timeout=240,
    )






def write_job(path: Path, body: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(body)
    return path


REPLAY_JOB = f"""
name = "nightly"
out = "out"

[[collect]]
source = "math"
teacher = "replay:{DEMO_REPLAY}"
concurrency = 4

[dataset]
name = "nightly"

[[filter]]
preset = "default"

[[export]]
format = "openai"
to = "exports/nightly.jsonl"
"""


def test_run_collects_filters_exports_and_a_rerun_does_nothing(tmp_path: Path) -> None:
    require_isolation()
    job = write_job(tmp_path / "jobs" / "job.toml", REPLAY_JOB)
    elsewhere = tmp_path / "cwd"
    elsewhere.mkdir()
    first = trajkit("run", str(job), "--summary-json", "s1.json", cwd=elsewhere)
    assert first.returncode == 0, first.stderr
    export = tmp_path / "jobs" / "exports" / "nightly.jsonl"  # paths resolve against the job file
    rows = [json.loads(line) for line in export.read_text().splitlines()]
    summary = json.loads((elsewhere / "s1.json").read_text())
    assert summary["exit_code"] == 0 and summary["status"] == "done"
    assert summary["runs"][0]["run"] == "nightly-math" and summary["runs"][0]["new_episodes"] == 10
    assert summary["dataset"]["records"] == len(rows) > 0 and not summary["dataset"]["existed"]
    assert summary["exports"][0]["written"]
    mtime = export.stat().st_mtime_ns

    again = trajkit("run", str(job), "--summary-json", "s2.json", cwd=elsewhere)
    assert again.returncode == 0, again.stderr
    assert "nothing to do" in again.stdout and "unchanged" in again.stdout
    summary = json.loads((elsewhere / "s2.json").read_text())
    assert summary["nothing_to_do"] and summary["dataset"]["existed"]
    assert summary["runs"][0]["new_episodes"] == 0 and not summary["exports"][0]["written"]
    assert export.stat().st_mtime_ns == mtime
    assert not (tmp_path / "jobs" / "out" / "datasets" / "nightly" / "v2").exists()


def test_collect_config_takes_command_line_overrides_and_teacher_lists(tmp_path: Path, loopback) -> None:
    require_isolation()
    loopback.set_policy(solve_after_one_error)
    write_problems(tmp_path / "data" / "p.jsonl", 5)
    job = write_job(tmp_path / "job.toml", """
[[collect]]
source = "math"
teachers = ["openai:model-a", "anthropic:model-b"]
data = "data/p.jsonl"
source_opt = {}
level = "Level 1"
concurrency = 3
""")
    proc = trajkit("collect", "--config", str(job), "--limit", "2", "--summary-json", "s.json", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    summary = json.loads((tmp_path / "s.json").read_text())
    assert [r["run"] for r in summary["runs"]] == ["job-math-openai-model-a", "job-math-anthropic-model-b"]
    for entry in summary["runs"]:
        assert entry["counts"]["done"] == 2 and entry["counts"]["succeeded"] == 2
        config = json.loads((tmp_path / entry["dir"] / "run.json").read_text())["config"]
        assert config["load"]["limit"] == 2 and config["concurrency"] == 3
        assert config["load"]["levels"] == ["Level 1"]


def test_exit_code_1_for_a_partial_run(tmp_path: Path, loopback) -> None:
    require_isolation()
    loopback.set_policy(solve_after_one_error)
    loopback.fail_next(1, 400, "bad_request")  # one episode ends as teacher_error
    data = write_problems(tmp_path / "p.jsonl", 3)
    proc = trajkit(
        "collect", "math", "--teacher", "openai:m", "--data", str(data), "--concurrency", "1",
        "--run", "r", "--summary-json", "s.json", cwd=tmp_path,
    )
    assert proc.returncode == 1, proc.stderr
    assert "partial" in proc.stderr
    summary = json.loads((tmp_path / "s.json").read_text())
    assert summary["status"] == "partial" and summary["exit_code"] == 1
    assert summary["runs"][0]["counts"]["by_termination"]["teacher_error"] == 1


def test_estimate_calls_no_teacher_and_prices_the_pending_tasks(tmp_path: Path, loopback) -> None:
    data = write_problems(tmp_path / "p.jsonl", 4)
    proc = trajkit(
        "collect", "math", "--teacher", "openai:gpt-4o-mini", "--data", str(data), "--run", "e",
        "--estimate", cwd=tmp_path,
    )
    assert proc.returncode == 0, proc.stderr
    assert "4 of 4 task(s) pending" in proc.stdout and "cost $" in proc.stdout
    assert "typical figures for math" in proc.stdout
    assert loopback.request_count == 0
    assert not (tmp_path / "out" / "runs" / "e" / "trajectories.jsonl").exists()


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ('[[collect]]\nsource = "math"\nteacher = "replay:x"\nlimt = 3\n', "collect #1: unknown key 'limt'"),
        ('[[collect]]\nsource = "math"\nteacher = "replay:x"\nlimit = "many"\n', "collect #1: limit:"),
        ('[[collect]]\nsource = "math"\n', "collect #1: missing key 'teacher'"),
        ('[[collect]]\nsource = "math"\nteacher = "a:b"\nout = "x"\n', "set out at the top"),
        ('[[collect]]\nsource = "math"\nteacher = "a:b"\n[[collect]]\nsource = "math"\nteacher = "c:d"\n',
         "two collections write run 'job-math'"),
        ('colect = 1\n', "unknown top-level key 'colect'"),
        ('[[collect]]\nsource = "math"\nteacher = "a:b"\n[[export]]\nformat = "openai"\nto = "x"\n',
         "export/publish need a [dataset]"),
        ('[[collect]]\nsource = "math"\nteacher = "a:b"\n[dataset]\nname = "d"\n[[filter]]\nname = "nope"\n',
         "filter #1: name: unknown filter 'nope'"),
        ('[[collect]\n', "invalid TOML"),
        ('[[collect]]\nsource = "math"\nteacher = "replay:x"\nsource_opt = 5\n',
         "collect #1: source_opt: expected KEY=VALUE pairs"),
        ('[[collect]]\nsource = "math"\nteacher = "replay:x"\nsandbox_opt = 5\n',
         "collect #1: sandbox_opt: expected KEY=VALUE pairs"),
        ('[[collect]]\nsource = "math"\nteacher = "replay:x"\nprice = 5\n', "collect #1: price: expected MODEL="),
        ('[[collect]]\nsource = "math"\nteacher = "replay:x"\nprice = [5]\n', "collect #1: price: expected MODEL="),
        ('[[collect]]\nsource = "math"\nteacher = 5\n', "collect #1: teacher: Input should be a valid string"),
        ('out = "job.toml"\n[[collect]]\nsource = "math"\nteacher = "replay:x"\n', "out: "),
        ('[[collect]]\nsource = "math"\nteacher = "replay:x"\ntemperature = nan\n',
         "collect #1: temperature: Input should be a finite number"),
        ('[[collect]]\nsource = "math"\nteacher = "replay:x"\nexec_timeout = inf\n',
         "collect #1: exec_timeout: Input should be a finite number"),
        ('[[collect]]\nsource = "math"\nteacher = "replay:x"\n[dataset]\nname = "d"\n'
         '[[export]]\nformat = "bogus"\nto = "x.jsonl"\n',
         "export #1: format: unknown format 'bogus'"),
        ('[[collect]]\nsource = "math"\nteacher = "replay:x"\n[dataset]\nname = "d"\n'
         '[publish]\nrepo_id = "bad"\n', "[publish]: repo_id: 'bad' is not ORG/NAME"),
    ],
)
def test_bad_job_files_name_file_table_and_key(tmp_path: Path, body: str, message: str) -> None:
    job = write_job(tmp_path / "job.toml", body)
    with pytest.raises(ConfigError, match=r"job\.toml") as info:
        load_job(job)
    assert message in str(info.value) and "\n" not in str(info.value)


@pytest.mark.parametrize(
    ("table", "message"),
    [
        ('[[export]]\nformat = "bogus"\nto = "x.jsonl"\n', "export #1: format: unknown format 'bogus'"),
        ('[publish]\nrepo_id = "bad"\n', "[publish]: repo_id: 'bad' is not ORG/NAME"),
        ('[[export]]\nformat = "openai"\nto = "x.jsonl"\nlicense = "mit"\n',
         "export #1: --license/--max-shard-mb: only for --format hf"),
    ],
)
def test_a_bad_export_or_publish_table_fails_before_anything_is_collected(
    tmp_path: Path, table: str, message: str
) -> None:
    job = write_job(tmp_path / "job.toml", REPLAY_JOB.replace(
        '[[export]]\nformat = "openai"\nto = "exports/nightly.jsonl"\n', table))
    proc = trajkit("run", str(job), cwd=tmp_path)
    assert proc.returncode == 2 and "Traceback" not in proc.stderr, proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and "job.toml" in lines[0] and message in lines[0], lines
    assert not (tmp_path / "out").exists()  # no collection ran, nothing was paid for


def test_bad_job_file_is_one_line_and_exit_2_on_the_command_line(tmp_path: Path) -> None:
    job = write_job(tmp_path / "job.toml", '[[collect]]\nsource = "math"\nteacher = "a:b"\nlimt = 3\n')
    proc = trajkit("run", str(job), "--summary-json", "s.json", cwd=tmp_path)
    assert proc.returncode == 2 and "Traceback" not in proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1 and "unknown key 'limt'" in proc.stderr
    summary = json.loads((tmp_path / "s.json").read_text())
    assert summary["exit_code"] == 2 and "limt" in summary["error"]


@pytest.mark.parametrize(
    "body",
    [
        b"\xff\xfe[[collect]]\n",
        b'[[collect]]\nsource = "math"\nteacher = 5\n',
        b'[[collect]]\nsource = "math"\nteacher = "replay:x"\nprice = [5]\n',
        b'out = "job.toml"\n[[collect]]\nsource = "math"\nteacher = "replay:x"\n',
    ],
)
def test_wrong_types_and_bytes_in_a_job_file_exit_2_with_one_line(tmp_path: Path, body: bytes) -> None:
    job = tmp_path / "job.toml"
    job.write_bytes(body)
    proc = trajkit("run", str(job), cwd=tmp_path)
    assert proc.returncode == 2 and "Traceback" not in proc.stderr, proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and "job.toml" in lines[0], lines


def test_job_relative_paths_and_defaults(tmp_path: Path) -> None:
    job = load_job(write_job(tmp_path / "sub" / "j.toml", """
name = "n1"
[[collect]]
source = "math"
teacher = "replay:turns.jsonl"
data = "d.jsonl"
[dataset]
name = "ds"
"""))
    (call,) = job.collects
    assert call.run == "n1-math" and call.data == str(tmp_path / "sub" / "d.jsonl")
    assert call.teacher == f"replay:{tmp_path / 'sub' / 'turns.jsonl'}"
    assert call.concurrency == 8 and call.max_turns == 5  # the collect command's defaults
    assert job.out == tmp_path / "sub" / "out"
    assert [u.name for u in job.chain.filters] == ["success", "self-correct"]  # default preset


def test_one_collect_or_filter_table_in_single_brackets_is_one_entry(tmp_path: Path) -> None:
    """``[collect]`` and ``[filter]`` (one table) mean one entry, as ``[export]`` already did;
    they were refused as 'no [[collect]] tables' / 'no [[filter]] tables'."""
    job = load_job(write_job(tmp_path / "j.toml", f"""
[collect]
source = "math"
teacher = "replay:{DEMO_REPLAY}"
[dataset]
name = "ds"
[filter]
name = "turns"
min_turns = 2
[export]
format = "openai"
to = "x.jsonl"
"""))
    assert [c.source for c in job.collects] == ["math"]
    assert [u.name for u in job.chain.filters] == ["turns"] and len(job.exports) == 1
