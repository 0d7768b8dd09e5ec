"""The models the collector lends a run's plugins (``SourceRuntime.make_teacher``): named as the
user wrote them (never a path), priced at their own price (an unknown price under
``--max-cost`` is one line before the run), malformed specs one line naming the flag. The
``llm`` judge's tests (``tests/sources/judges``) ask them through the loopback server."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

from trajkit.collect.config import CollectConfig
from trajkit.collect.lent_teachers import teacher_lender
from trajkit.core.errors import ConfigError


def config_for(tmp_path: Path, **overrides: Any) -> CollectConfig:
    values: dict[str, Any] = {
        "source": "tasks", "teacher": "openai:teacher-m", "out": tmp_path / "out", "run": "r",
    }
    return CollectConfig(**{**values, **overrides})


def test_an_unpriced_grader_under_max_cost_is_one_line(tmp_path: Path, loopback) -> None:
    lend = teacher_lender(config_for(tmp_path, max_cost=1.0))
    with pytest.raises(ConfigError) as info:
        lend("openai:mystery-model", flag="--source-opt grader")
    assert str(info.value) == (
        "--max-cost: no list price known for --source-opt grader=openai:mystery-model; give "
        "one with --price mystery-model=IN,OUT (USD per million tokens)"
    )


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ("openai", "--source-opt grader=openai: malformed, expected PROVIDER:MODEL"),
        ("nosuch:model", "--source-opt grader=nosuch:model"),
    ],
)
def test_a_bad_grader_spec_is_one_line_at_attach(tmp_path: Path, spec: str, message: str) -> None:
    lend = teacher_lender(config_for(tmp_path))
    with pytest.raises(ConfigError) as info:
        lend(spec, flag="--source-opt grader")
    assert str(info.value).startswith(message) and "\n" not in str(info.value)


def test_a_recording_grader_is_named_without_its_path(tmp_path: Path) -> None:
    recording = tmp_path / "deep" / "grades.jsonl"
    recording.parent.mkdir()
    recording.write_text('{"task_id": "t-paris", "turns": ["VERDICT: CORRECT"]}\n')
    model = teacher_lender(config_for(tmp_path))(f"replay:{recording}", flag="--source-opt grader")
    assert model.name == "replay:grades.jsonl"
    assert not re.search(re.escape(str(tmp_path)), model.name)
