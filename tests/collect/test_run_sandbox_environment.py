"""Issue 21: ``run.json`` records the sandbox environment the run's code ran in (Python, the
stack's versions, the local environment's content hash or the docker image id), read inside
it once per run; a resume in another environment adds it and says so."""

from __future__ import annotations

import json
import logging
import subprocess
import sys
from pathlib import Path

import pytest
from support import require_docker, require_isolation

from trajkit.collect.run_store import RUN_JSON, RunStore
from trajkit.collect.sandbox import stack
from trajkit.collect.sandbox.cgroup import cgroup_scope
from trajkit.schemas import RunManifest
from trajkit.schemas.manifests import SandboxEnvironment
from trajkit.sources.math import MathSource

TRAJKIT = [sys.executable, "-m", "trajkit.cli"]


def collect(out: Path, run: str, *extra: str) -> RunManifest:
    proc = subprocess.run(
        [*TRAJKIT, "collect", "math", "--teacher", f"replay:{MathSource.demo_replay}", "--run", run,
         "--out", str(out), "--concurrency", "4", "--limit", "2", *extra],
        capture_output=True, text=True, timeout=300,
    )
    assert proc.returncode == 0, proc.stderr
    return RunManifest.model_validate_json((out / "runs" / run / RUN_JSON).read_text())


def test_a_local_run_records_its_environment(tmp_path: Path) -> None:
    require_isolation()
    manifest = collect(tmp_path / "out", "local")
    [env] = manifest.sandbox_environments
    assert env.backend == "local" and env.stack == stack.STACK_ID and env.image_id is None
    assert env.packages == stack.STACK
    assert env.python == ".".join(map(str, sys.version_info[:3]))
    assert len(env.content_sha256) == 64
    scope = cgroup_scope()  # what bounds the whole sandbox on this machine (its cgroup)
    assert env.per_sandbox_limits == ["memory"] * scope.memory + ["cpus"] * scope.cpu
    again = collect(tmp_path / "out", "local")  # a resume in the same environment: still one
    assert again.sandbox_environments == [env]


def test_an_unisolated_run_records_no_per_sandbox_limit(tmp_path: Path) -> None:
    """``--no-isolation`` puts no worker in a cgroup, whatever the machine allows."""
    [env] = collect(tmp_path / "out", "open", "--no-isolation").sandbox_environments
    assert env.backend == "local" and env.per_sandbox_limits == []


def test_a_docker_run_records_its_image(tmp_path: Path) -> None:
    require_docker()
    manifest = collect(tmp_path / "out", "docker", "--sandbox", "docker")
    [env] = manifest.sandbox_environments
    assert env.backend == "docker" and env.packages == stack.STACK
    assert env.image_id is not None and env.image_id.startswith("sha256:")
    assert env.per_sandbox_limits == ["memory", "cpus"]  # the container's cgroup
    raw = json.loads((tmp_path / "out" / "runs" / "docker" / RUN_JSON).read_text())
    assert raw["sandbox_environments"][0]["image_id"] == env.image_id


def _env(python: str, numpy: str) -> SandboxEnvironment:
    return SandboxEnvironment(
        backend="local", python=python, packages={"numpy": numpy}, content_sha256=python + numpy
    )


def _resume_in(
    tmp_path: Path, caplog: pytest.LogCaptureFixture, first: SandboxEnvironment, second: SandboxEnvironment
) -> tuple[RunManifest, str]:
    """Run ``r`` interrupted in ``first``, resumed in ``second``: its manifest, the warning."""
    store = RunStore(tmp_path / "r", "r", {"source": "math"}, sandbox_environment=first)
    store.write_manifest("interrupted", 3)
    store.close()
    with caplog.at_level(logging.WARNING):
        store = RunStore(tmp_path / "r", "r", {"source": "math"}, sandbox_environment=second)
        manifest = store.write_manifest("completed", 3)
        store.close()
    [warning] = [r.getMessage() for r in caplog.records]
    return manifest, warning


def test_a_resume_in_another_environment_keeps_both_and_says_so(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    first, second = _env("3.11.7", "2.2.6"), _env("3.12.3", "1.26.4")
    manifest, warning = _resume_in(tmp_path, caplog, first, second)
    assert manifest.sandbox_environments == [first, second]
    assert "resumes in another sandbox environment" in warning and "numpy 1.26.4" in warning
    store = RunStore(tmp_path / "r", "r", {"source": "math"}, sandbox_environment=first)
    assert store.write_manifest("completed", 3).sandbox_environments == [first, second]
    store.close()


def test_a_resume_on_a_machine_bounding_sandboxes_otherwise_says_so(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """The same Python on a machine where the local sandbox has no cgroup: a memory-hungry
    cell can end differently, so the run records both and the warning names the difference."""
    bounded = _env("3.11.7", "2.2.6").model_copy(update={"per_sandbox_limits": ["memory", "cpus"]})
    unbounded = bounded.model_copy(update={"per_sandbox_limits": []})
    manifest, warning = _resume_in(tmp_path, caplog, bounded, unbounded)
    assert manifest.sandbox_environments == [bounded, unbounded]
    assert "limits per process only" in warning and "memory and cpus per sandbox" in warning


def test_a_config_without_a_sandbox_records_none(tmp_path: Path) -> None:
    store = RunStore(tmp_path / "r", "r", {"source": "math"})
    assert store.write_manifest("completed", 0).sandbox_environments == []
    store.close()


@pytest.mark.parametrize("manifest", ["missing", "unreadable"])
def test_without_run_json_the_records_keep_another_source_out(tmp_path: Path, manifest: str) -> None:
    """With ``run.json`` gone or torn, a resume under another source once appended its
    episodes to this run's (a mixed run, then a mixed dataset); the records now decide."""
    from factories import make_trajectory, write_run

    from trajkit.collect.run_store import RunStore
    from trajkit.core.errors import ConfigError

    run = write_run(tmp_path / "r", [make_trajectory("t1", ["solve"]), make_trajectory("t2", ["solve"])])
    if manifest == "missing":
        (run / "run.json").unlink()
    else:
        (run / "run.json").write_text("{")
    data = (run / "trajectories.jsonl").read_bytes()
    with pytest.raises(ConfigError, match=r"trajectories.jsonl:1 was collected with source 'math', not 'hotpotqa'"):
        RunStore(run, "r", {"source": "hotpotqa"}, describe=False)
    with pytest.raises(ConfigError, match=r"with action format 'code', not 'tools'"):
        RunStore(run, "r", {"source": "math", "loop": {"action_format": "tools"}}, describe=False)
    assert (run / "trajectories.jsonl").read_bytes() == data
    store = RunStore(run, "r", {"source": "math"}, describe=False)
    assert store.counts.done == 2
    store.close()


def test_a_run_with_no_records_does_not_pin_its_configuration(tmp_path: Path) -> None:
    """A start refused over a typo (``--teacher replay:nonexist``) leaves a run.json and no
    record; the corrected command under the same ``--run`` was then refused as another
    teacher's run. With nothing collected there is nothing to mix."""
    first = RunStore(tmp_path / "r", "r", {"source": "math", "teacher": "replay:typo"}, describe=False)
    first.write_manifest("failed", 0)
    first.close()
    assert (tmp_path / "r" / RUN_JSON).is_file()
    again = RunStore(tmp_path / "r", "r", {"source": "hotpotqa", "teacher": "replay:ok"}, describe=False)
    again.close()
