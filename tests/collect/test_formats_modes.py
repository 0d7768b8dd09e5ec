"""Every action format through the rest of the machinery: batch mode, the response cache,
resume, the flags' checks (``--shots``, a teacher without native tool calling), job files.

Real CLI processes and the real SDKs over HTTP to the loopback server, whose batch endpoints
answer each batch line as its live endpoint would (tool calls included).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from support import require_isolation
from tools_tour_policy import ToolsTourPolicy

import trajkit
from trajkit.api.collecting import collect_config
from trajkit.core import registry
from trajkit.core.errors import ConfigError
from trajkit.sources.base import LoadOptions

TRAJKIT = [sys.executable, "-m", "trajkit.cli"]


def _cli(server: Any, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, **server.env()}
    return subprocess.run([*TRAJKIT, *args], env=env, capture_output=True, text=True, timeout=240)


def _oracle() -> dict[str, str]:
    tasks = registry.instance("source", "hotpotqa").load(LoadOptions(limit=3))
    return {t.prompt: str(t.reference) for t in tasks}


def _records(run: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in (run / "trajectories.jsonl").read_text().splitlines()]


@pytest.mark.parametrize("provider", ["openai", "anthropic"])
def test_batch_mode_plays_native_calls_like_sync_mode(loopback, tmp_path: Path, provider: str) -> None:  # type: ignore[no-untyped-def]
    malformed = "json" if provider == "openai" else "type"
    loopback.set_policy(ToolsTourPolicy(_oracle(), malformed))
    common = ["collect", "hotpotqa", "--teacher", f"{provider}:model-x", "--limit", "3",
              "--action-format", "tools", "--out", str(tmp_path)]
    sync = _cli(loopback, *common, "--run", "sync")
    assert sync.returncode == 0, sync.stderr
    loopback.reset()
    loopback.set_policy(ToolsTourPolicy(_oracle(), malformed))
    batch = _cli(loopback, *common, "--run", "batch", "--mode", "batch", "--batch-poll", "0.02",
                 "--no-cache")
    assert batch.returncode == 0, batch.stderr
    assert [len(b.requests) for b in loopback.batch.batches] == [3, 3, 3]  # one batch per turn
    # the loopback numbers its calls' ids across the server's life: only they differ
    strip = ("id", "tool_call_id", "run", "timing", "teacher_latency_s", "duration_s")
    runs = [{r["task_id"]: _without(r, strip) for r in _records(tmp_path / "runs" / name)}
            for name in ("sync", "batch")]
    assert runs[0] == runs[1]
    assert all(r["success"] and r["self_corrected"] for r in runs[1].values())


def _without(value: Any, keys: tuple[str, ...]) -> Any:
    if isinstance(value, dict):
        return {k: _without(v, keys) for k, v in value.items() if k not in keys}
    if isinstance(value, list):
        return [_without(v, keys) for v in value]
    return value


def test_native_turns_come_from_the_response_cache_on_a_second_run(loopback, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    loopback.set_policy(ToolsTourPolicy(_oracle()))
    first = trajkit.collect("hotpotqa", "openai:model-x", out=tmp_path, run="one", limit=3,
                            action_format="tools")
    calls = len(loopback.requests)
    second = trajkit.collect("hotpotqa", "openai:model-x", out=tmp_path, run="two", limit=3,
                             action_format="tools")
    assert len(loopback.requests) == calls  # nothing was asked again
    one, two = (sorted(run.records(), key=lambda t: t.task_id) for run in (first, second))
    assert [t.messages for t in one] == [t.messages for t in two]
    assert all(t.usage.cached_calls == t.usage.calls > 0 for t in two)


def test_a_run_resumes_only_in_its_own_format(loopback, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    loopback.set_policy(ToolsTourPolicy(_oracle()))
    base = ["collect", "hotpotqa", "--teacher", "openai:m", "--limit", "2", "--out", str(tmp_path),
            "--run", "r"]
    assert _cli(loopback, *base, "--action-format", "tools").returncode == 0
    again = _cli(loopback, *base, "--action-format", "json")
    assert again.returncode == 2 and "Traceback" not in again.stderr
    assert "--action-format json: run r was collected with --action-format tools" in again.stderr
    same = _cli(loopback, *base, "--action-format", "tools")
    assert same.returncode == 0, same.stderr
    run = json.loads((tmp_path / "runs" / "r" / "run.json").read_text())
    assert run["config"]["loop"]["action_format"] == "tools" and run["config"]["loop"]["shots"] == 0


def test_flag_errors_are_one_line(loopback, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    base = ["collect", "math", "--teacher", "openai:m", "--out", str(tmp_path)]
    for args, says in (
        (["--action-format", "xml"], "--action-format: unknown action format 'xml' (available: code, json, text, tools)"),
        (["--action-format", "tools", "--shots", "1"], "--shots 1: the sources' demonstrations are code-format"),
    ):
        done = _cli(loopback, *base, *args)
        assert done.returncode == 2 and says in done.stderr, done.stderr
        assert len(done.stderr.strip().splitlines()) == 1


def test_a_teacher_without_native_calls_is_refused_for_tools(tmp_path: Path) -> None:
    class PlainProvider:
        """A plugin provider that never declared ``supports_tools``."""

        cacheable = False

        def make(self, model: str, params: dict[str, Any], **_: Any) -> Any:
            raise AssertionError("never built: the flags are refused first")

    registry.register("teacher", "plain", PlainProvider(), replace=True)
    try:
        with pytest.raises(ConfigError, match="cannot call functions natively"):
            trajkit.collect("math", "plain:m", out=tmp_path, action_format="tools")
        config = collect_config("math", "plain:m", out=tmp_path, action_format="json")
        assert config.loop.action_format == "json"  # written calls need no native support
    finally:
        registry.REGISTRY.unregister("teacher", "plain")


def test_job_file_and_math_through_execute_python(loopback, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    require_isolation()
    tasks = registry.instance("source", "math").load(LoadOptions(limit=2))
    loopback.set_policy(ToolsTourPolicy({t.prompt: str(t.reference) for t in tasks}, "type"))
    job = tmp_path / "job.toml"
    job.write_text(
        f'name = "native"\nout = "{tmp_path}"\n\n[[collect]]\nsource = "math"\n'
        'teacher = "anthropic:claude-x"\nlimit = 2\naction_format = "tools"\nrun = "job"\n'
    )
    done = _cli(loopback, "run", str(job))
    assert done.returncode == 0, done.stderr
    records = _records(tmp_path / "runs" / "job")
    assert len(records) == 2 and all(r["success"] and r["action_format"] == "tools" for r in records)
    assert all(r["tools"][0]["name"] == "execute_python" for r in records)
