"""The CodeAct protocol as the teacher sees it: prompts, actions, budget, observations."""

from __future__ import annotations

import pytest
from loop_fakes import CFG, TASK, FakeSandbox, FakeSource, check_consistency, play, user_feedback

from trajkit.collect.episode_record import trajectory_id
from trajkit.collect.loop import LoopConfig
from trajkit.collect.observation import NO_OUTPUT, RESTARTED
from trajkit.core.sandbox import CellResult
from trajkit.core.self_correction import is_self_correcting_steps
from trajkit.core.tools import Tool
from trajkit.schemas import ActionKind, ErrorInfo, ErrorKind, Termination, Usage


async def test_solve_directly() -> None:
    traj, teacher, sandbox = await play(["Easy.\n<solution>42</solution>"])
    assert traj.termination is Termination.SOLVED and traj.success and traj.score == 1.0
    assert traj.answer == "42" and traj.score_details == {"expected": "42"}
    assert not traj.self_corrected
    assert len(traj.messages) == 3 and len(traj.steps) == 1
    assert traj.steps[0].verdict is not None and traj.steps[0].observation is not None
    assert traj.steps[0].observation.error is None
    assert sandbox.closed == 1 and sandbox.codes == []
    assert teacher.stops[0] == ["</execute>", "</solution>"] and teacher.task_ids == ["t-1"]
    assert traj.id == trajectory_id("r1", "fake", "t-1") and len(traj.id) == 24
    assert traj.usage == Usage(input_tokens=10, output_tokens=5, calls=1)
    assert traj.teacher.model == "scripted" and traj.sandbox == "fake-sb"
    assert traj.task == TASK and traj.run == "r1" and traj.toolkit_version
    assert traj.timing.started_at.endswith("Z") and traj.timing.duration_s >= 0
    check_consistency(traj)


async def test_first_messages() -> None:
    _, teacher, _ = await play(["<solution>42</solution>"])
    system, user = teacher.calls[0]
    assert system.role == "system" and user.role == "user" and user.content == TASK.prompt
    for needle in (
        "<execute>",
        "</execute>",
        "<solution>",
        "</solution>",
        "persistent",
        "5 turns",
        "2 proposed solutions",
        "No extra tools",
    ):
        assert needle in system.content


async def test_tools_are_listed() -> None:
    def wiki(query: str, k: int = 3) -> str:
        """Search Wikipedia.

        Returns the top k summaries."""
        return ""

    tool = Tool.from_function(wiki)
    traj, _, _ = await play(["<solution>42</solution>"], source=FakeSource(tools=[tool]))
    system = traj.messages[0].content
    assert f"\n- {tool.signature}\n" in system and "k: " in tool.signature
    assert "    Search Wikipedia." in system and "No extra tools" not in system


async def test_error_then_fix_then_solve_is_self_corrected() -> None:
    turns = [
        "<execute>\nprint(6 * y)\n</execute>",
        "Define y.\n<execute>\ny = 7\nprint(6 * y)\n</execute>",
        "<solution>42</solution>",
    ]
    traj, _, sandbox = await play(turns)
    assert traj.termination is Termination.SOLVED and traj.self_corrected
    err = traj.steps[0].observation.error
    assert err is not None and err.kind is ErrorKind.EXCEPTION and err.type == "NameError"
    assert traj.steps[1].observation.text == "42\n"
    assert user_feedback(traj)[1].startswith("Observation:\n42\nYou have 3 steps left")
    assert sandbox.timeouts == [10.0, 10.0] and sandbox.closed == 1
    assert traj.usage.calls == 3 and traj.timing.sandbox_s > 0
    check_consistency(traj)


async def test_variables_persist_and_empty_output_is_announced() -> None:
    traj, _, _ = await play(
        ["<execute>x = 41</execute>", "<execute>print(x + 1)</execute>", "<solution>42</solution>"]
    )
    assert traj.steps[0].observation.text == NO_OUTPUT
    assert user_feedback(traj)[0].startswith(f"Observation:\n{NO_OUTPUT}\n")
    assert traj.steps[1].observation.text == "42\n"


async def test_wrong_then_right() -> None:
    traj, _, _ = await play(["<solution>41</solution>", "<solution>42</solution>"])
    assert traj.termination is Termination.SOLVED and traj.success and not traj.self_corrected
    assert user_feedback(traj) == [
        "Observation:\nYour answer is wrong.\n"
        "You have 4 steps left and 1 chances to propose solution left."
    ]
    assert traj.steps[0].verdict.success is False and traj.steps[0].observation.text == (
        "Your answer is wrong."
    )
    check_consistency(traj)


async def test_wrong_twice_is_max_solutions() -> None:
    cfg = LoopConfig(wrong_answer_message="Nope.")
    traj, _, _ = await play(["<solution>1</solution>", "<solution>2</solution>"], config=cfg)
    assert traj.termination is Termination.MAX_SOLUTIONS
    assert not traj.success and traj.score == 0.0 and traj.answer == "2"
    assert user_feedback(traj)[0].startswith("Observation:\nNope.\n")
    assert traj.messages[-1].role == "assistant"
    check_consistency(traj)


async def test_never_answers_is_max_turns_with_exact_budget_lines() -> None:
    traj, teacher, _ = await play([f"<execute>print({i})</execute>" for i in range(5)])
    assert traj.termination is Termination.MAX_TURNS and len(traj.steps) == 5
    assert not traj.success and traj.score == 0.0 and traj.answer is None
    feedback = user_feedback(traj)
    assert len(feedback) == 4 and len(teacher.calls) == 5
    for i, msg in enumerate(feedback):
        left = 4 - i
        budget = f"You have {left} steps left and 2 chances to propose solution left."
        assert msg.startswith(f"Observation:\n{i}\n{budget}")
        assert ("last turn" in msg) == (left == 1)
    assert feedback[-1].endswith(
        "This is your last turn: give your final answer now, between <solution> and </solution>."
    )
    check_consistency(traj)


async def test_budget_counts_turns_and_proposals_together() -> None:
    cfg = LoopConfig(max_turns=3, max_solutions=3)
    traj, _, _ = await play(
        ["<solution>1</solution>", "<execute>1</execute>", "<solution>3</solution>"], config=cfg
    )
    assert traj.termination is Termination.MAX_TURNS
    assert [
        m.splitlines()[-1] if "last" not in m else m.splitlines()[-2] for m in user_feedback(traj)
    ] == [
        "You have 2 steps left and 2 chances to propose solution left.",
        "You have 1 steps left and 2 chances to propose solution left.",
    ]


async def test_invalid_turn_gets_corrective_message_and_costs_a_turn() -> None:
    traj, _, _ = await play(["The answer is 42.", "<execute></execute>", "<solution>42</solution>"])
    assert traj.termination is Termination.SOLVED
    kinds = [s.action.kind for s in traj.steps]
    assert kinds == [ActionKind.INVALID, ActionKind.INVALID, ActionKind.SOLUTION]
    first, second = user_feedback(traj)
    for msg in (first, second):
        assert "<execute>" in msg and "</execute>" in msg and "<solution>" in msg
    assert "You have 4 steps left" in first and "You have 3 steps left" in second
    assert "empty <execute> block" in second
    assert not traj.self_corrected
    check_consistency(traj)


async def test_a_turn_is_kept_up_to_its_first_complete_action() -> None:
    """A server that ignores stop sequences writes on after ``</execute>``; what it wrote next
    never ran, so the turn is cut where the stop sequence would have cut it (issue 21)."""
    traj, _, sandbox = await play(
        ["<execute>print(1)</execute><solution>42</solution>", "<solution>42</solution>"]
    )
    assert traj.termination is Termination.SOLVED and sandbox.codes == ["print(1)"]
    first = traj.steps[0]
    assert first.assistant == traj.messages[2].content == "<execute>print(1)</execute>"
    assert first.cut_after_action == len("<solution>42</solution>")
    assert traj.steps[1].cut_after_action == 0


async def test_missing_closing_tag_runs_the_rest() -> None:
    traj, _, sandbox = await play(["<execute>\nprint(6 * 7)\n", "<solution>42</solution>"])
    assert sandbox.codes == ["print(6 * 7)"]
    assert traj.steps[0].observation.text == "42\n"
    assert traj.messages[2].content == "<execute>\nprint(6 * 7)\n"  # recorded as returned


async def test_huge_output_is_bounded() -> None:
    huge = "HEAD" + "x" * 5_000_000 + "TAIL"
    sandbox = FakeSandbox([CellResult(output=huge, error=None, duration_s=0.2)])
    traj, teacher, _ = await play(
        ["<execute>spam()</execute>", "<solution>42</solution>"], sandbox=sandbox
    )
    obs = traj.steps[0].observation
    assert len(obs.text) <= 2000 and obs.text.startswith("HEAD") and obs.text.endswith("TAIL")
    assert f"[... {obs.truncated_chars} characters truncated ...]" in obs.text
    assert len(teacher.calls[1][-1].content) < 2200


async def test_observation_chars_is_configurable() -> None:
    sandbox = FakeSandbox([CellResult(output="y" * 1000, error=None, duration_s=0.0)])
    traj, _, _ = await play(
        ["<execute>f()</execute>", "<solution>42</solution>"],
        sandbox=sandbox,
        config=LoopConfig(observation_chars=300),
    )
    assert len(traj.steps[0].observation.text) <= 300


async def test_restarted_result_says_state_was_lost() -> None:
    err = ErrorInfo(kind=ErrorKind.TIMEOUT, type="TimeoutError", message="10s")
    sandbox = FakeSandbox(
        [CellResult(output="Timed out after 10s", error=err, duration_s=10.0, restarted=True)]
    )
    traj, _, _ = await play(
        ["<execute>while True: pass</execute>", "<solution>42</solution>"], sandbox=sandbox
    )
    assert user_feedback(traj)[0].startswith(f"Observation:\n{RESTARTED}\nTimed out after 10s")
    assert traj.self_corrected  # a timeout is a failed action
    assert traj.steps[0].observation.duration_s == 10.0


async def test_trajectory_id_is_deterministic() -> None:
    a, _, _ = await play(["<solution>42</solution>"])
    b, _, _ = await play(["<solution>41</solution>", "<solution>1</solution>"])
    assert a.id == b.id == trajectory_id("r1", "fake", "t-1")
    assert trajectory_id("r2", "fake", "t-1") != a.id


def test_config_defaults_and_dump() -> None:
    assert CFG.model_dump() == {
        "max_turns": 5,
        "max_solutions": 2,
        "exec_timeout": 10.0,
        "observation_chars": 2000,
        "wrong_answer_message": "Your answer is wrong.",
        "shots": 1,  # run.json says whether the teacher saw the in-context demonstration
    }
    with pytest.raises(ValueError):
        LoopConfig(max_turns=0)
    with pytest.raises(ValueError):
        LoopConfig(shots=2)


async def test_self_correction_rule_ignores_errors_after_success() -> None:
    traj, _, _ = await play(["<execute>1/0</execute>", "<solution>42</solution>"])
    assert traj.self_corrected and is_self_correcting_steps(traj.steps, True)
    assert not is_self_correcting_steps(traj.steps, False)
    assert not is_self_correcting_steps(list(reversed(traj.steps)), True)
    wrong_then_right, _, _ = await play(["<solution>4</solution>", "<solution>42</solution>"])
    assert not wrong_then_right.self_corrected
