"""The CodeAct paper's comparison, reproduced on the user's own tasks through the CLI.

Four small runs of the same HotpotQA tasks by the same (scripted) teacher over the real
OpenAI SDK, one per action format: ``code`` (Python calling ``wikipedia_search``), ``tools``
(native function calls), ``json`` and ``text`` (the paper's two baselines). The script answers every
task correctly except where listed below, so each figure of ``trajkit compare`` follows by
hand. Then the tools run is filtered and exported to OpenAI's fine-tuning format, which must
pass the validator with its ``tools`` and ``tool_calls``.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from loopback_tools import Reply

from trajkit.core import registry
from trajkit.dataset.export_validate import validate_openai_jsonl
from trajkit.sources.base import LoadOptions

TRAJKIT = [sys.executable, "-m", "trajkit.cli"]
#: Task positions (in load order) each format answers wrongly.
WRONG = {"code": {0}, "tools": set(), "json": {1, 2}, "text": {1, 3}}


class FormatPolicy:
    """Searches once, then answers: in whichever format the request asks for."""

    wants_tools = True

    def __init__(self, answers: dict[str, tuple[int, str]]) -> None:
        self.answers = answers

    def __call__(self, messages: list[dict[str, Any]], tools: list[dict[str, Any]]) -> str | Reply:
        system, task = messages[0]["content"], messages[1]["content"]
        fmt = ("tools" if tools else "code" if "End Action" not in system
               else "json" if "JSON object" in system else "text")
        position, answer = self.answers[task]
        if position in WRONG[fmt]:
            answer = "Atlantis"
        if not any(m["role"] == "assistant" for m in messages):
            if fmt == "tools":
                return Reply(tool_calls=[("wikipedia_search", {"query": task[:40]})])
            if fmt == "json":
                return f'Thought: search.\nAction: {{"tool": "wikipedia_search", "args": [{json.dumps(task[:40])}]}} End Action'
            if fmt == "text":
                return f"Thought: search.\nAction: wikipedia_search, {json.dumps(task[:40])} End Action"
            return f"<execute>print(wikipedia_search({task[:40]!r}))</execute>"
        if fmt == "tools":
            return Reply(tool_calls=[("submit", {"answer": answer})])
        if fmt == "json":
            return f'Action: {{"tool": "submit", "args": [{json.dumps(answer)}]}} End Action'
        if fmt == "text":
            return f"Action: submit, {answer} End Action"
        return f"<solution>{answer}</solution>"


def _cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*TRAJKIT, *args], capture_output=True, text=True, timeout=300)


@pytest.fixture(scope="module")
def answers() -> dict[str, tuple[int, str]]:
    tasks = registry.instance("source", "hotpotqa").load(LoadOptions())
    return {t.prompt: (i, str(t.reference)) for i, t in enumerate(tasks)}


def test_four_formats_compared_and_the_tools_run_exported(
    loopback, tmp_path: Path, answers: dict[str, tuple[int, str]]  # type: ignore[no-untyped-def]
) -> None:
    loopback.set_policy(FormatPolicy(answers))
    out = tmp_path / "out"
    formats = ("code", "tools", "json", "text")
    for fmt in formats:
        done = _cli("collect", "hotpotqa", "--teacher", "openai:gpt-4o-mini", "--out", str(out),
                    "--run", fmt, "--action-format", fmt, "--concurrency", "3")
        assert done.returncode == 0, done.stderr
    runs = [str(out / "runs" / fmt) for fmt in formats]

    done = _cli("compare", *runs, "--json")
    assert done.returncode == 0, done.stderr
    table = json.loads(done.stdout)
    n = len(answers)
    assert table["matched_tasks"] == n
    assert [i["action_format"] for i in table["inputs"]] == list(formats)
    overall = table["overall"]
    assert [c["successes"] for c in overall] == [n - len(WRONG[fmt]) for fmt in formats]
    assert [c["episodes"] for c in overall] == [n] * 4
    # Search, then answer: 2 turns; a wrong answer is tried once more (--max-solutions 2).
    assert [c["turns_mean"] * n for c in overall] == pytest.approx(
        [2 * n + len(WRONG[fmt]) for fmt in formats])
    assert table["by_source"]["hotpotqa"] == overall
    flipped = {f["other"]: {t["task_id"] for t in f["tasks"]} for f in table["flips"]}
    ids = _task_ids(out / "runs" / "code")
    assert flipped == {1: {ids[0]}, 2: {ids[0], ids[1], ids[2]}, 3: {ids[0], ids[1], ids[3]}}

    shown = _cli("compare", *runs)
    assert shown.returncode == 0 and re.search(r"tools", shown.stdout) and "json" in shown.stdout

    # The native calls are shown by ``show`` (terminal) and ``view`` (HTML), not just stored.
    task_id = _task_ids(out / "runs" / "tools")[0]
    shown = _cli("show", task_id, "--in", runs[1])
    assert shown.returncode == 0 and "call wikipedia_search" in shown.stdout, shown.stderr
    report = tmp_path / "report"
    assert _cli("view", runs[1], "--out", str(report)).returncode == 0
    pages = " ".join(p.read_text() for p in report.rglob("*.js"))  # the pages load their data
    assert "call wikipedia_search" in pages and "call submit" in pages

    # The native run as a fine-tuning file: its successes (no episode here fails an action,
    # so the default self-correction filter would keep none), exported, checked by OpenAI's
    # rules.
    done = _cli("filter", runs[1], "--dataset", "native", "--out", str(out), "--keep", "success")
    assert done.returncode == 0, done.stderr + done.stdout
    target = tmp_path / "native.jsonl"
    done = _cli("export", str(out / "datasets" / "native"), "--format", "openai", "--to", str(target))
    assert done.returncode == 0, done.stderr
    assert validate_openai_jsonl(target) == []
    lines = [json.loads(line) for line in target.read_text().splitlines()]
    assert len(lines) == n
    first = lines[0]
    assert [t["function"]["name"] for t in first["tools"]] == ["wikipedia_search", "submit"]
    roles = [m["role"] for m in first["messages"]]
    assert roles == ["system", "user", "assistant", "tool", "assistant"]
    assert first["messages"][2]["tool_calls"][0]["function"]["name"] == "wikipedia_search"


def _task_ids(run: Path) -> list[str]:
    """The run's task ids in load order (the positions ``WRONG`` names)."""
    records = [json.loads(line) for line in (run / "trajectories.jsonl").read_text().splitlines()]
    by_prompt = {r["task"]["prompt"]: r["task_id"] for r in records}
    return [by_prompt[t.prompt] for t in registry.instance("source", "hotpotqa").load(LoadOptions())]
