"""JSONL exports (openai, sharegpt, codeact): valid rows, weights, skipped records, determinism,
atomic writes and overwrite protection. Every openai export is checked with the validator."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from factories import make_step, make_trajectory, write_run

from trajkit.core.errors import ConfigError, DataError
from trajkit.dataset import export_version as export_mod
from trajkit.dataset.export_chat import Unexportable, conversation
from trajkit.dataset.export_validate import openai_example_problems, validate_openai_jsonl
from trajkit.dataset.export_version import export_version
from trajkit.dataset.version import DATA_FILE, build_version
from trajkit.filters.presets import build_chain
from trajkit.schemas import Message, Observation, Step, TeacherInfo, Trajectory


def invalid(index: int) -> Step:
    """A turn with no action, answered by a corrective message as the CodeAct loop does."""
    return make_step(index, "invalid").model_copy(update={"observation": Observation(text="Use a tag.")})


def episodes() -> list[Trajectory]:
    claude = TeacherInfo(provider="anthropic", model="claude-sonnet")
    t2 = ["ok", "wrong", "syntax", invalid(3), "solve"]
    return [
        make_trajectory("t1", ["exception", "solve"]),
        make_trajectory("t2", t2, source="apps", teacher=claude),
        make_trajectory("t3", ["timeout", "wrong"], success=False),  # ends on "Your answer is wrong."
        make_trajectory("t4", ["solve"], source="hotpotqa", teacher=claude),
    ]


@pytest.fixture
def version(tmp_path: Path) -> Path:
    run = write_run(tmp_path / "runs" / "r", episodes())
    return build_version([run], "ds", tmp_path / "out", build_chain(["all"])).path


def rows(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


def test_openai_export_is_valid_and_ends_with_the_assistant(version: Path, tmp_path: Path) -> None:
    res = export_version(version, "openai", tmp_path / "ft.jsonl")
    assert (res.rows, res.skipped) == (4, {})
    assert validate_openai_jsonl(tmp_path / "ft.jsonl") == []
    examples = rows(tmp_path / "ft.jsonl")
    assert [set(e) for e in examples] == [{"messages"}] * 4
    first = examples[0]["messages"]
    assert [m["role"] for m in first] == ["system", "user", "assistant", "user", "assistant"]
    assert first[3]["content"].startswith("Observation: ZeroDivisionError")
    assert "weight" not in json.dumps(examples)
    # t3 ran out of turns: its trailing "Your answer is wrong." is not a training target.
    assert [m["role"] for m in examples[2]["messages"]][-1] == "assistant"
    assert examples[2]["messages"][-1]["content"] == "<solution>41</solution>"


def test_weights_and_masking_failed_actions(version: Path, tmp_path: Path) -> None:
    export_version(version, "openai", tmp_path / "w.jsonl", weights=True)
    weighted = rows(tmp_path / "w.jsonl")
    assert {m["weight"] for e in weighted for m in e["messages"] if m["role"] == "assistant"} == {1}
    assert all("weight" not in m for e in weighted for m in e["messages"] if m["role"] != "assistant")

    res = export_version(version, "openai", tmp_path / "m.jsonl", mask_failed=True)
    assert validate_openai_jsonl(tmp_path / "m.jsonl") == []
    masked = rows(tmp_path / "m.jsonl")
    # t2: ok (1), wrong answer (0), syntax error (0), no action (0), accepted answer (1).
    t2 = [m["weight"] for m in masked[1]["messages"] if m["role"] == "assistant"]
    assert t2 == [1, 0, 0, 0, 1]
    assert [m["weight"] for m in masked[0]["messages"] if m["role"] == "assistant"] == [0, 1]
    # t3 failed at every turn: nothing left to train on, so it is skipped and counted.
    assert (res.rows, res.skipped) == (3, {"nothing_to_train": 1})


def test_sharegpt_and_codeact_layouts(version: Path, tmp_path: Path) -> None:
    export_version(version, "sharegpt", tmp_path / "s.jsonl")
    export_version(version, "codeact", tmp_path / "c.jsonl")
    share, code = rows(tmp_path / "s.jsonl"), rows(tmp_path / "c.jsonl")
    assert share[0]["id"] == code[0]["id"] == "run-1/t1"
    assert [c["from"] for c in share[0]["conversations"]] == ["system", "human", "gpt", "human", "gpt"]
    assert [sorted(c) for c in share[0]["conversations"]] == [["from", "value"]] * 5
    assert [set(r) for r in code] == [{"id", "conversations"}] * 4
    assert [c["role"] for c in code[1]["conversations"]][:3] == ["system", "user", "assistant"]
    assert all(sorted(c) == ["content", "role"] for c in code[1]["conversations"])
    assert share[1]["conversations"][2]["value"] == code[1]["conversations"][2]["content"]


def test_records_that_cannot_be_conversations_are_skipped(tmp_path: Path) -> None:
    empty = make_trajectory("empty", [make_step(0, "invalid", content=" ")])
    empty.messages[2] = Message(role="assistant", content=" ")
    doubled = make_trajectory("doubled", ["ok", "solve"])
    doubled.messages.insert(2, Message(role="user", content="again"))
    no_answer = make_trajectory("silent", [])
    run = write_run(tmp_path / "run", [empty, doubled, no_answer, make_trajectory("fine")])
    v = build_version([run], "ds", tmp_path / "out", build_chain(["all"])).path
    res = export_version(v, "codeact", tmp_path / "c.jsonl")
    assert res.rows == 1
    assert res.skipped == {"empty_message": 1, "no_assistant_turn": 1, "roles_do_not_alternate": 1}
    with pytest.raises(Unexportable, match="roles_do_not_alternate"):
        conversation(doubled)


@pytest.mark.parametrize(
    ("example", "problem"),
    [
        ([], "not a JSON object"),
        ({"messages": []}, "missing or empty"),
        ({"messages": [{"role": "user", "content": "q"}, {"role": "assistant", "content": "a"}], "id": 1},
         "unknown key 'id'"),
        ({"messages": [{"role": "tool", "content": "q"}, {"role": "assistant", "content": "a"}]}, "role 'tool'"),
        ({"messages": [{"role": "user", "content": "  "}, {"role": "assistant", "content": "a"}]}, "non-empty string"),
        ({"messages": [{"role": "user", "content": "q"}, {"role": "assistant", "content": 3}]}, "non-empty string"),
        ({"messages": [{"role": "user", "content": "q"}, {"role": "user", "content": "r"},
                       {"role": "assistant", "content": "a"}]}, "must alternate"),
        ({"messages": [{"role": "assistant", "content": "a"}]}, "must alternate"),
        ({"messages": [{"role": "user", "content": "q"}]}, "last message must be from the assistant"),
        ({"messages": [{"role": "user", "content": "q"}, {"role": "assistant", "content": "a"},
                       {"role": "system", "content": "s"}]}, "system message may only come first"),
        ({"messages": [{"role": "user", "content": "q", "weight": 1}, {"role": "assistant", "content": "a"}]},
         "only allowed on assistant"),
        ({"messages": [{"role": "user", "content": "q"}, {"role": "assistant", "content": "a", "weight": 0.5}]},
         "weight must be 0 or 1"),
        ({"messages": [{"role": "user", "content": "q"}, {"role": "assistant", "content": "a", "weight": 0}]},
         "nothing to train on"),
    ],
)
def test_validator_rejects(example: object, problem: str) -> None:
    assert any(problem in p for p in openai_example_problems(example)), openai_example_problems(example)


def test_validator_accepts_and_numbers_lines(tmp_path: Path) -> None:
    good = {"messages": [{"role": "system", "content": "s"}, {"role": "user", "content": "q"},
                         {"role": "assistant", "content": "a", "weight": 1}]}
    assert openai_example_problems(good) == []
    path = tmp_path / "f.jsonl"
    path.write_text(json.dumps(good) + "\n{nope\n" + json.dumps({"messages": []}) + "\n")
    problems = validate_openai_jsonl(path)
    assert problems[0].startswith("line 2: not JSON") and problems[1] == "line 3: messages: missing or empty"


def test_exports_are_deterministic(version: Path, tmp_path: Path) -> None:
    for fmt in ("openai", "sharegpt", "codeact"):
        export_version(version, fmt, tmp_path / f"{fmt}-1.jsonl", mask_failed=fmt == "openai")
        export_version(version, fmt, tmp_path / f"{fmt}-2.jsonl", mask_failed=fmt == "openai")
        assert (tmp_path / f"{fmt}-1.jsonl").read_bytes() == (tmp_path / f"{fmt}-2.jsonl").read_bytes()


def test_existing_target_needs_force_and_stays_whole_on_failure(
    version: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    target = tmp_path / "exports" / "ft.jsonl"
    target.parent.mkdir()
    target.write_text("old\n")
    with pytest.raises(ConfigError, match=r"--to .*ft\.jsonl: already exists \(use --force"):
        export_version(version, "openai", target)
    assert target.read_text() == "old\n"

    def boom(*args: object, **kwargs: object) -> dict:
        raise RuntimeError("disk on fire")

    monkeypatch.setattr(export_mod, "openai_row", boom)
    with pytest.raises(RuntimeError):
        export_version(version, "openai", target, force=True)
    assert target.read_text() == "old\n"
    assert [p.name for p in target.parent.iterdir()] == ["ft.jsonl"]  # no temp left behind
    monkeypatch.undo()
    res = export_version(version, "openai", target, force=True)
    assert res.rows == 4 and validate_openai_jsonl(target) == []
    assert [p.name for p in target.parent.iterdir()] == ["ft.jsonl"]


def test_bad_requests_are_refused(version: Path, tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="--format: unknown format 'alpaca'"):
        export_version(version, "alpaca", tmp_path / "x")
    with pytest.raises(ConfigError, match="only for --format openai"):
        export_version(version, "sharegpt", tmp_path / "x", weights=True)
    for hf_only in ({"license": "mit"}, {"max_shard_bytes": 5_000}):  # were silently ignored
        with pytest.raises(ConfigError, match=r"^--license/--max-shard-mb: only for --format hf$"):
            export_version(version, "openai", tmp_path / "x", **hf_only)
    with pytest.raises(ConfigError, match="does not exist"):
        export_version(version, "openai", tmp_path / "no" / "dir" / "x.jsonl")
    with pytest.raises(DataError, match="no such dataset version"):
        export_version(tmp_path / "nope", "openai", tmp_path / "x")
    data = version / DATA_FILE
    os.chmod(data, 0o644)
    data.write_bytes(data.read_bytes().replace(b"Let me", b"let me", 1))
    with pytest.raises(DataError, match=r"fails verification: .*sha256.*trajkit verify"):
        export_version(version, "openai", tmp_path / "x")
    assert not (tmp_path / "x").exists()
