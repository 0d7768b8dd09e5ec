"""Caps on stored teacher text (issue 19): a 5 MB reply used to become a 15 MB record.

``--teacher-turn-chars`` bounds what is kept of one turn and ``--teacher-record-chars`` of a
whole episode; the cut is marked like an observation's, falls in the prose around the action
first (so the action still parses and runs), and is deterministic, so the response cache
replays a capped episode exactly.
"""

from __future__ import annotations

import json
import os
import random
import subprocess
import sys
from pathlib import Path

import pytest
from loopback_teacher import LoopbackServer
from loopback_wire import huge_turn_policy
from math_tasks import task_number, write_problems
from support import require_isolation

from trajkit.collect.config import CollectConfig
from trajkit.collect.loop import LoopConfig
from trajkit.collect.runner import collect
from trajkit.collect.teachers.turn_text import cap_turn
from trajkit.core.actions import parse_action
from trajkit.schemas import Trajectory
from trajkit.sources.base import LoadOptions

MARKER = "characters truncated ...]"


def _records(run_dir: Path) -> list[Trajectory]:
    lines = (run_dir / "trajectories.jsonl").read_text().splitlines()
    return sorted((Trajectory.model_validate_json(line) for line in lines), key=lambda r: r.task_id)


def huge_then_answer(messages: list[dict]) -> str:
    """Task 0: 5 MB of prose before a small execute block; every task then answers."""
    if task_number(messages) == 0 and not any(m["role"] == "assistant" for m in messages):
        return huge_turn_policy(5_000_000)(messages)
    return f"<solution>{task_number(messages) + 1}</solution>"


def test_a_5mb_reply_is_capped_through_the_cli_and_its_action_still_runs(
    tmp_path: Path, loopback: LoopbackServer
) -> None:
    require_isolation()
    loopback.set_policy(huge_then_answer)
    data = write_problems(tmp_path / "p.jsonl", 2)
    proc = subprocess.run(
        [sys.executable, "-m", "trajkit.cli", "collect", "math", "--teacher", "openai:m",
         "--data", str(data), "--out", str(tmp_path / "out"), "--run", "big",
         "--max-tokens", "2000000", "--teacher-turn-chars", "20000", "--concurrency", "1"],
        env=dict(os.environ), capture_output=True, text=True, timeout=300,
    )
    assert proc.returncode == 0, proc.stderr
    run_dir = tmp_path / "out" / "runs" / "big"
    lines = (run_dir / "trajectories.jsonl").read_bytes().splitlines()
    assert max(len(line) for line in lines) < 80_000  # was ~15 MB: the reply stored 3 times
    big = _records(run_dir)[0]
    assert big.success and MARKER in big.steps[0].assistant
    assert len(big.steps[0].assistant) <= 20_000
    assert big.messages[2].content == big.steps[0].assistant
    assert big.steps[0].action.content == "print(40 + 2)"  # the whole block survived the cut
    assert big.steps[0].observation is not None and big.steps[0].observation.text.strip() == "42"
    resent = next(r for r in loopback.requests if len(r.messages) > 3)
    assert len(resent.messages[2]["content"]) <= 20_000  # the next request carries the cut text


def _config(tmp_path: Path, run: str, loop: LoopConfig, tasks: int = 1) -> CollectConfig:
    return CollectConfig(
        source="math", teacher="openai:m",
        teacher_params={"temperature": 0.0, "max_tokens": 2_000_000, "max_retries": 0},
        load=LoadOptions(data=str(write_problems(tmp_path / "p.jsonl", tasks))),
        out=tmp_path / "out", run=run, concurrency=1, loop=loop,
    )


async def test_a_code_block_too_big_for_the_cap_is_cut_inside_and_fails_visibly(
    tmp_path: Path, loopback: LoopbackServer
) -> None:
    require_isolation()
    loopback.set_policy(huge_turn_policy(100, code_chars=50_000, answer="1"))
    config = _config(tmp_path, "code", LoopConfig(teacher_turn_chars=5_000))
    await collect(config)
    (record,) = _records(config.run_dir)
    first = record.steps[0]
    assert len(first.assistant) <= 5_000 and first.assistant.endswith("</execute>")
    assert first.action.kind.value == "execute" and MARKER in first.action.content
    assert first.observation is not None and first.observation.error is not None
    assert record.success  # the episode went on: the teacher saw the cut and its error


def three_long_turns(messages: list[dict]) -> str:
    """Three turns of 4,000 characters of prose and a cell each, then the answer."""
    done = sum(m["role"] == "assistant" for m in messages)
    if done < 3:
        return "q" * 4_000 + f"\n<execute>print({done})</execute>"
    return f"<solution>{task_number(messages) + 1}</solution>"


async def test_the_record_cap_bounds_all_turns_and_a_cached_repeat_is_identical(
    tmp_path: Path, loopback: LoopbackServer
) -> None:
    require_isolation()
    loopback.set_policy(three_long_turns)
    loop = LoopConfig(max_turns=5, teacher_turn_chars=5_000, teacher_record_chars=9_000)
    config = _config(tmp_path, "rec", loop)
    await collect(config)
    (record,) = _records(config.run_dir)
    kept = [len(s.assistant) for s in record.steps]
    assert kept[:2] == [4_000 + len("\n<execute>print(0)</execute>")] * 2  # under both caps
    assert sum(kept[:3]) <= 9_000 and MARKER in record.steps[2].assistant
    assert record.steps[2].action.content == "print(2)"  # the third turn's action survived
    assert json.loads(Path(config.run_dir / "run.json").read_text())["config"]["loop"][
        "teacher_record_chars"] == 9_000

    calls = loopback.request_count
    await collect(config.model_copy(update={"run": "rec2"}))
    (again,) = _records(config.out / "runs" / "rec2")
    assert loopback.request_count == calls and again.messages == record.messages


def test_cap_turn_keeps_the_action_that_parse_action_finds() -> None:
    """Random turns, tags, limits: the kept text is bounded and parses to the same action
    whenever its block was kept whole, and to the same kind of action when cut inside."""
    rng = random.Random(7)
    tags = ["<execute>", "</execute>", "<solution>", "</solution>", "<EXECUTE>", "</SOLUTION>"]
    for _ in range(5_000):
        parts = [
            rng.choice(tags) if rng.random() < 0.4
            else "".join(rng.choice("ab \n<>/[.]") for _ in range(rng.choice([0, 9, 900, 4_000])))
            for _ in range(rng.randint(0, 7))
        ]
        text, limit = "".join(parts), rng.choice([1_000, 2_500, 6_000])
        kept, cut = cap_turn(text, limit)
        assert len(kept) <= limit and (cut > 0) == (len(text) > limit)
        full, short = parse_action(text), parse_action(kept)
        assert short.kind == full.kind or full.kind.value == "invalid", (text[:200], limit)
        if MARKER not in short.content:
            assert short == full


@pytest.mark.parametrize("field", ["teacher_turn_chars", "teacher_record_chars"])
def test_the_caps_are_options_with_one_line_errors(field: str) -> None:
    import trajkit

    with pytest.raises(trajkit.UserError, match=f"--{field.replace('_', '-')}"):
        trajkit.collect("math", "openai:m", **{field: 10})
