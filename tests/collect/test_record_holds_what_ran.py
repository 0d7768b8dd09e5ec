"""A record holds only what ran: a server that ignores stop sequences writes on after the first
action, and the stored turn is cut where the stop sequence would have cut it (issue 21).

Real SDKs over HTTP to the loopback server with its stop handling switched off, both protocols,
a real isolated sandbox, through the CLI.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from math_tasks import task_number, write_problems
from support import require_isolation

AFTER = "\nNow I will also check:\n<execute>print('never ran')</execute>\n<solution>0</solution>"


def ignores_stop(messages: list[dict]) -> str:
    """Always writes past its action, as a server ignoring ``stop`` would."""
    n = sum(m["role"] == "assistant" for m in messages)
    task = task_number(messages)
    if n == 0:
        return f"<execute>print({task} + 1)</execute>{AFTER}"
    return f"<solution>{task + 1}</solution>{AFTER}"


@pytest.mark.parametrize("provider", ["openai", "anthropic"])
def test_turns_are_cut_after_the_action_that_ran(provider: str, loopback, tmp_path: Path) -> None:
    require_isolation()
    loopback.set_policy(ignores_stop)
    loopback.ignore_stop = True
    data = write_problems(tmp_path / "p.jsonl", 3)
    proc = subprocess.run(
        [sys.executable, "-m", "trajkit.cli", "collect", "math", "--teacher", f"{provider}:m",
         "--data", str(data), "--out", str(tmp_path / "out"), "--run", "r", "--no-cache"],
        env={**os.environ, **loopback.env()}, capture_output=True, text=True, timeout=240,
    )
    assert proc.returncode == 0, proc.stderr
    records = [json.loads(line) for line in
               (tmp_path / "out/runs/r/trajectories.jsonl").read_text().splitlines()]
    assert len(records) == 3 and all(r["success"] for r in records)
    for r in records:
        assistant = [m["content"] for m in r["messages"] if m["role"] == "assistant"]
        assert all(a.endswith(("</execute>", "</solution>")) for a in assistant)
        assert not any("never ran" in a for a in assistant)
        assert [s["cut_after_action"] for s in r["steps"]] == [len(AFTER), len(AFTER)]
        assert [s["assistant"] for s in r["steps"]] == assistant
        assert "never ran" not in json.dumps(r["steps"][0]["observation"])
    # Every request asked for the stop sequences the server then ignored.
    stop_key = "stop" if provider == "openai" else "stop_sequences"
    assert loopback.requests and all(
        "</execute>" in req.body[stop_key] for req in loopback.requests if isinstance(req.body, dict)
    )
