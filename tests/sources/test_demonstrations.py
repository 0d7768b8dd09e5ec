"""Every built-in source's in-context demonstration really is an episode of the protocol.

For each source registered in trajkit's own ``pyproject.toml``: its actions parse as the loop
parses them; replayed in a real isolated sandbox, cell by cell (after its ``setup``, with the
source's real tools answering from its recorded replies), the first code turn raises an
exception, the next one recovers, and every observation it shows is exactly what the sandbox
printed; the tools it calls are that source's real tools, by their real names and signatures;
and its task is none of the source's bundled sample tasks.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import pytest
from demonstration_replay import ReplyQueue, replay
from support import require_isolation

from trajkit.collect.demonstrations import GENERIC_DEMONSTRATION
from trajkit.core.actions import parse_action
from trajkit.core.demonstration import Demonstration
from trajkit.core.tools import Tool
from trajkit.schemas import ActionKind, ErrorKind
from trajkit.sources.base import LoadOptions, make_source

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

PYPROJECT = Path(__file__).resolve().parents[2] / "pyproject.toml"
BUILT_INS = sorted(tomllib.loads(PYPROJECT.read_text())["project"]["entry-points"]["trajkit.sources"])
#: The tools each demonstration calls (a source not named here has none, and calls none).
TOOLS_OF = {
    "hotpotqa": {"wikipedia_search"},
    "webshop": {"search", "click"},
    "alfworld": {"goto", "take_from", "clean", "open_receptacle", "put"},
}

ToolSetup = tuple[Sequence[Tool], Callable[[ReplyQueue], Sequence[Tool]] | None]


async def real_tools(name: str, source: Any) -> ToolSetup:
    """The tools an episode of ``name`` gets (``make_tools`` where the real functions can run
    over a backend answering from the demonstration's replies)."""
    if name == "alfworld":
        from trajkit.sources.alfworld.env import household_tools

        return (), lambda queue: [Tool.from_function(fn) for fn in household_tools(queue.answer)]
    task = source.load(LoadOptions(limit=1))[0]
    if name == "webshop":
        env = await source.open_env(task)
        try:
            return list(env.tools()), None
        finally:
            await env.aclose()
    return list(source.tools(task)), None


def test_every_built_in_source_is_checked() -> None:
    assert {"math", "hotpotqa", "apps", "webshop", "alfworld", "tasks", "gsm8k", "mbpp",
            "humaneval", "wikitq"} <= set(BUILT_INS)


@pytest.mark.parametrize("name", BUILT_INS)
async def test_the_demonstration_replays_in_a_real_sandbox_to_what_it_shows(name: str) -> None:
    require_isolation()
    source = make_source(name)
    demo = source.demonstration()  # type: ignore[attr-defined]
    assert isinstance(demo, Demonstration) and demo is not GENERIC_DEMONSTRATION

    kinds = [parse_action(turn.assistant).kind for turn in demo.turns]
    assert kinds[0] is ActionKind.EXECUTE and ActionKind.INVALID not in kinds
    # An answer ends it, or (an interactive source) the environment did with the last cell.
    ends_in_env = any(reply.ends_episode for reply in demo.tool_replies)
    assert kinds[-1] is (ActionKind.EXECUTE if ends_in_env else ActionKind.SOLUTION)

    tools, make_tools = await real_tools(name, source)
    observations = await replay(demo, tools, make_tools)
    shown = [turn.observation for turn in demo.turns if parse_action(turn.assistant).kind is ActionKind.EXECUTE]
    assert [o.text for o in observations] == shown
    errors = [o.error for o in observations]
    assert errors[0] is not None and errors[0].kind is ErrorKind.EXCEPTION, "the first cell must raise"
    assert all(e is None for e in errors[1:]), "every later cell runs"

    built = make_tools(ReplyQueue(demo)) if make_tools is not None else tools
    available = {t.name for t in built}
    called = {reply.tool for reply in demo.tool_replies}
    assert called == TOOLS_OF.get(name, set()) and called <= available


@pytest.mark.parametrize("name", [n for n in BUILT_INS if n != "alfworld"])
def test_the_demonstration_is_none_of_the_bundled_tasks(name: str) -> None:
    """A demonstration solving a task the run also plays would hand the teacher its answer."""
    source = make_source(name)
    demo = source.demonstration()  # type: ignore[attr-defined]
    prompts = [task.prompt for task in source.load(LoadOptions())]
    assert prompts and demo.task not in prompts


async def test_the_generic_demonstration_replays_too() -> None:
    require_isolation()
    observations = await replay(GENERIC_DEMONSTRATION)
    assert [o.text for o in observations] == [t.observation for t in GENERIC_DEMONSTRATION.turns[:2]]
    assert observations[0].error is not None and observations[1].error is None
