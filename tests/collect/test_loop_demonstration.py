"""The in-context demonstration as the loop sends it: at the end of the system prompt with
``shots=1`` (the default), absent with ``shots=0``, in exactly the protocol's words."""

from __future__ import annotations

from pathlib import Path

import pytest
from loop_fakes import TASK, FakeSandbox, FakeSource, FakeTeacher, check_consistency, play
from support import require_isolation

import trajkit
from trajkit.collect.demonstrations import GENERIC_DEMONSTRATION, demonstration_for
from trajkit.collect.loop import LoopConfig
from trajkit.collect.prompts import system_prompt
from trajkit.core.demonstration import (
    DEMONSTRATION_CLOSE,
    DEMONSTRATION_OPEN,
    Demonstration,
    DemoTurn,
    split_demonstration,
)
from trajkit.core.tools import EndEpisode

TURNS = ["<execute>\nprint(6 * y)\n</execute>", "<execute>\ny = 7\n</execute>", "<solution>42</solution>"]

#: The generic demonstration as the default budget (5 turns, 2 answers) renders it: written out
#: in full on purpose, since these words are part of every dataset collected with --shots 1.
GENERIC_SECTION = f"""

{DEMONSTRATION_OPEN}

Task:
What is the sum of the decimal digits of 2 to the power 100?

Give only the final answer inside <solution></solution>, e.g. <solution>42</solution>.

Assistant:
I'll compute 2**100 and add up its digits.
<execute>
n = 2 ** 100
print(sum(n))
</execute>

Observation:
TypeError                                 Traceback (most recent call last)
Cell In[1], line 2
----> 2 print(sum(n))
TypeError: 'int' object is not iterable
You have 4 steps left and 2 chances to propose solution left.

Assistant:
An int is not iterable: I'll go through the digits of its decimal string instead.
<execute>
print(n, sum(int(d) for d in str(n)))
</execute>

Observation:
1267650600228229401496703205376 115
You have 3 steps left and 2 chances to propose solution left.

Assistant:
The digits of 2**100 add up to 115.
<solution>115</solution>

{DEMONSTRATION_CLOSE}"""


async def test_shots_1_ends_the_system_prompt_with_the_demonstration_and_shots_0_leaves_it_out() -> None:
    shown, teacher1, _ = await play(TURNS)
    bare, teacher0, _ = await play(TURNS, config=LoopConfig(shots=0))
    base = system_prompt([], 5, 2)
    assert shown.messages[0].content == base + GENERIC_SECTION
    assert bare.messages[0].content == base
    assert DEMONSTRATION_OPEN not in bare.messages[0].content
    # The teacher was sent it on every turn; the rest of the conversation is the same.
    assert all(call[0].content == base + GENERIC_SECTION for call in teacher1.calls)
    assert all(call[0].content == base for call in teacher0.calls)
    assert [m.model_dump() for m in shown.messages[1:]] == [m.model_dump() for m in bare.messages[1:]]
    assert split_demonstration(shown.messages[0].content) == (base, GENERIC_SECTION)
    # The episode's own turns are what they were: the example is no step of it.
    assert len(shown.steps) == len(bare.steps) == 3 and shown.self_corrected == bare.self_corrected
    check_consistency(shown)


class OwnDemoSource(FakeSource):
    """A source declaring its own demonstration, one an environment ends on a code turn."""

    def demonstration(self) -> Demonstration:
        return Demonstration(
            task="Press the button.",
            turns=(
                DemoTurn("<execute>press(1)</execute>", "TypeError: press() takes no arguments"),
                DemoTurn("<execute>press()</execute>", "Pressed. The episode is over."),
            ),
        )


async def test_a_sources_own_demonstration_is_shown_counting_down_the_runs_budget() -> None:
    traj, _, _ = await play(["<solution>42</solution>"], source=OwnDemoSource(),
                            config=LoopConfig(max_turns=3, max_solutions=1))
    section = split_demonstration(traj.messages[0].content)[1]
    assert "Task:\nPress the button.\n\nAssistant:\n<execute>press(1)</execute>" in section
    assert "TypeError: press() takes no arguments\nYou have 2 steps left and 1 chances" in section
    # The last turn, ended by the environment, gets its observation and no budget line.
    assert section.endswith(
        f"Assistant:\n<execute>press()</execute>\n\nObservation:\nPressed. The episode is over."
        f"\n\n{DEMONSTRATION_CLOSE}"
    )
    assert "<solution>" not in section.split("Press the button.")[1]


async def test_a_run_with_fewer_turns_than_the_example_counts_from_the_examples_length() -> None:
    traj, _, _ = await play(["<solution>42</solution>"], config=LoopConfig(max_turns=2))
    section = split_demonstration(traj.messages[0].content)[1]
    assert "You have 2 steps left" in section and "You have 1 steps left" in section
    assert "This is your last turn" in section and "0 steps" not in section
    assert "2 turns in total" in traj.messages[0].content  # the run's own budget is unchanged


def test_a_source_without_its_own_gets_the_generic_one_and_a_wrong_type_is_named() -> None:
    assert demonstration_for(FakeSource()) is GENERIC_DEMONSTRATION
    assert demonstration_for(OwnDemoSource()).task == "Press the button."

    class Broken(FakeSource):
        demonstration = "an example"

    with pytest.raises(TypeError, match="the source's demonstration is a string, not a Demonstration"):
        demonstration_for(Broken())


async def test_an_interactive_sources_environment_tools_and_demonstration_both_reach_the_prompt() -> None:
    """The tool list comes from the episode's environment, the demonstration from the source."""

    class Env:
        outcome = None

        def tools(self) -> list:
            return []

        async def judge(self, answer: str):  # pragma: no cover - not reached
            raise EndEpisode("over")

        async def aclose(self) -> None:
            pass

    from trajkit.collect.loop import run_episode

    traj = await run_episode(TASK, OwnDemoSource(), FakeTeacher(["<execute>x = 1</execute>"]),
                             FakeSandbox(), LoopConfig(max_turns=1), run="r", sandbox_name="fake",
                             env=Env())  # type: ignore[arg-type]
    assert "Press the button." in traj.messages[0].content


def test_a_plugin_whose_demonstration_is_broken_loses_its_episodes_not_the_run(tmp_path: Path) -> None:
    """Each episode of it ends as ``internal_error`` naming the problem; the run completes."""
    require_isolation()
    from trajkit.core import registry
    from trajkit.sources.tasks import TasksSource

    class BrokenDemo(TasksSource):
        def demonstration(self) -> object:
            return {"task": "not a Demonstration"}

    registry.register("source", "broken-demo", BrokenDemo)
    try:
        run = trajkit.collect("broken-demo", f"replay:{TasksSource.demo_replay}", run="b",
                              out=tmp_path / "out", limit=2, concurrency=2)
    finally:
        registry.REGISTRY.unregister("source", "broken-demo")
    assert run.status == "completed" and run.counts == {"internal_error": 2}
    for record in run.records():
        assert record.termination_detail == (
            "TypeError: the source's demonstration is an object, not a Demonstration"
        )
