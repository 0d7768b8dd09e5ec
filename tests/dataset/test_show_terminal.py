"""``trajkit show`` as a terminal receives it: record text that cannot drive the terminal, lone
surrogates that cannot crash it, teachers by name, and the report page's order."""

from __future__ import annotations

import io
import json
import re
from pathlib import Path

import pytest
from factories import make_step, make_trajectory, nested_line, write_jsonl
from rich.console import Console
from typer.testing import CliRunner

from trajkit.cli.app import app
from trajkit.dataset.show import find_trajectory, record_json, render_trajectory, terminal_text
from trajkit.schemas import ErrorInfo, ErrorKind, Observation, TeacherInfo, Trajectory

runner = CliRunner()

#: Clear screen, set the window title (OSC ... BEL), a one-byte CSI (C1), a bidi override.
EVIL = "\x1b[2J\x1b]0;owned\x07\x9b31m\u202e"
SGR = re.compile(r"\x1b\[[0-9;]*m")  # rich's own colours: the only sequences allowed


def hostile() -> Trajectory:
    """A self-correcting success carrying control sequences in every kind of text."""
    steps = [make_step(0, "exception", content=f"print('{EVIL}')"), make_step(1, "solve")]
    traj = make_trajectory(f"t{EVIL}", steps, run="r")
    data = traj.model_dump()
    data["task"]["prompt"] = data["messages"][1]["content"] = f"Task {EVIL}"
    data["steps"][0]["observation"] = Observation(
        text=f"out {EVIL}",
        error=ErrorInfo(kind=ErrorKind.EXCEPTION, type=f"Err{EVIL}", message=f"msg {EVIL}"),
    ).model_dump()
    data["score_details"] = {f"k{EVIL}": f"v{EVIL}"}
    data["answer"] = f"42{EVIL}"
    data["termination_detail"] = f"detail {EVIL}"
    data["teacher"] = {"provider": "openai", "model": f"m{EVIL}", "params": {}}
    return Trajectory.model_validate(data)


def printed(traj: Trajectory, width: int = 100) -> str:
    console = Console(
        file=io.StringIO(), force_terminal=True, color_system="truecolor", width=width
    )
    render_trajectory(traj, console)
    out = console.file.getvalue()
    assert isinstance(out, str)
    return out


def test_control_sequences_in_record_text_are_shown_not_sent() -> None:
    out = printed(hostile())
    bare = SGR.sub("", out)
    assert "\x1b" not in bare and "\x07" not in bare and "\x9b" not in bare, repr(bare[:300])
    assert "\u202e" not in bare
    text = re.sub(r"\s+", "", bare)  # rich wraps long lines; the escapes must still be there
    for shown in (
        "Task\\x1b[2J\\x1b]0;owned\\x07\\x9b31m\\u202e",
        "out\\x1b[2J",
        "Err\\x1b",
        "msg\\x1b",
        "42\\x1b",
        "detail\\x1b",
        "print('\\x1b[2J",
    ):
        assert shown in text, shown


def test_show_from_the_cli_sends_no_control_sequence(tmp_path: Path) -> None:
    path = write_jsonl(tmp_path / "t.jsonl", [hostile(), make_trajectory("other", run="r")])
    res = runner.invoke(app, ["show", "r/other", "--in", str(path)])
    assert res.exit_code == 0, res.output
    same_task = runner.invoke(app, ["show", "other", "--in", str(path)])
    assert same_task.exit_code == 0
    res = runner.invoke(app, ["show", f"r/t{EVIL}", "--in", str(path)])
    assert res.exit_code == 0, res.output
    assert not re.search("[\x00-\x08\x0b-\x1f\x7f-\x9f]", res.stdout), repr(res.stdout[:200])
    assert "\\x1b[2J" in res.stdout


def test_terminal_text_escapes_controls_only() -> None:
    assert terminal_text("a\tb\nc é 漢 \U0001f600") == "a\tb\nc é 漢 \U0001f600"
    assert terminal_text("\x1b[0m\x00\x7f\x85\r") == "\\x1b[0m\\x00\\x7f\\x85\\x0d"
    assert terminal_text("\u2066x\u2069") == "\\u2066x\\u2069"


def test_record_json_is_the_same_value_without_raw_controls() -> None:
    traj = hostile()
    text = record_json(traj)
    assert not re.search("[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e]", text)
    assert json.loads(text) == traj.model_dump(mode="json")


def test_a_lone_surrogate_is_replaced_not_a_crash(tmp_path: Path) -> None:
    """A record line as a JSON writer with ``ensure_ascii`` leaves it: ``\\ud800`` escaped."""
    traj = make_trajectory("s1", ["exception", "solve"], run="r")
    line = traj.model_dump_json().replace("ZeroDivisionError: division by zero", "bad \\ud800 here")
    (tmp_path / "t.jsonl").write_text(line + "\n", encoding="utf-8")
    found = find_trajectory("s1", tmp_path / "t.jsonl")
    assert "bad \ufffd here" in found.trajectory.steps[0].observation.text  # type: ignore[union-attr]
    res = runner.invoke(app, ["show", "s1", "--in", str(tmp_path / "t.jsonl")])
    assert res.exit_code == 0, res.output
    assert "bad \ufffd here" in res.stdout


def test_show_reads_in_the_report_order_with_a_compact_verdict() -> None:
    """Verdict line first (as the page's), the conversation next, the reference at the end;
    the teacher by its name, not the path of the recording on the collecting machine."""
    replay = TeacherInfo(provider="replay", model="/home/someone/secret-place/math_replay.jsonl")
    traj = make_trajectory("m1", ["exception", "solve"], run="r", teacher=replay)
    out = SGR.sub("", printed(traj))
    lines = out.splitlines()
    header = lines[: next(i for i, line in enumerate(lines) if "task" in line and "╭" in line)]
    assert len(header) <= 6, out  # the compact header: box, verdict line, who, ids, box
    assert "✓ success" in header[1] and "score 1" in header[1]
    assert "replay:math_replay.jsonl" in "".join(header) and "secret-place" not in out
    order = [out.index(s) for s in ("✓ success", "Solve problem m1", "turn 1", "turn 2", "result")]
    assert order == sorted(order)
    assert "✗ failed" in out and "self-correction: recovers from the failed action in turn 1" in out
    assert "reference" in out[out.index("result") :]


@pytest.mark.parametrize("depth", [201, 500, 900])
@pytest.mark.parametrize("as_json", [False, True], ids=["terminal", "json"])
def test_show_of_a_deeply_nested_record_is_one_line_error(tmp_path: Path, depth: int, as_json: bool) -> None:
    """Past 200 levels every reader refuses a line, ``show`` too (it used to read it, and then
    ``valid_tree`` or ``json.loads`` raised ``RecursionError``): ``FILE:LINE``, exit 2."""
    path = tmp_path / "deep.jsonl"
    path.write_text(nested_line(make_trajectory("deep-1"), depth), encoding="utf-8")
    res = runner.invoke(app, ["show", "deep-1", "--in", str(path), *(["--json"] if as_json else [])])
    assert res.exit_code == 2, res.output
    assert f"{path}:1: not valid JSON" in res.output
    assert "Traceback" not in res.output
