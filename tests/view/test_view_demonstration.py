"""The trajectory page and ``trajkit show`` fold the in-context demonstration away from the
system prompt, so the example episode is never read as this episode's first turns."""

from __future__ import annotations

import html
import re

from factories import make_trajectory
from rich.console import Console

from trajkit.collect.prompts import system_prompt
from trajkit.dataset.show import render_trajectory as show_trajectory
from trajkit.schemas import Message
from trajkit.sources.math.demonstration import DEMONSTRATION
from trajkit.view.model import make_row
from trajkit.view.render_trajectory import render_trajectory

BARE = system_prompt([], 5, 2)
SHOWN = system_prompt([], 5, 2, DEMONSTRATION)


def page(system: str) -> str:
    traj = make_trajectory("t1", ["exception", "solve"])
    traj = traj.model_copy(update={"messages": [Message(role="system", content=system), *traj.messages[1:]]})
    return render_trajectory(traj, make_row(0, traj))


def test_the_page_folds_the_demonstration_apart_and_before_the_task() -> None:
    body = page(SHOWN)
    [system] = re.findall(r'<details class="msg system">.*?</details></details>', body, re.S)
    summary = html.unescape(re.search(r"<summary[^>]*>(.*?)</summary>", system).group(1))
    assert summary == f"system prompt ({len(BARE):,} chars) + in-context demonstration " \
        f"({len(SHOWN) - len(BARE):,} chars)"
    prompt_part, demo_part = system.split('<details class="demonstration" id="demonstration">')
    assert html.unescape(prompt_part).endswith(f"<pre>{BARE}</pre>")
    assert DEMONSTRATION.task in html.unescape(demo_part) and "sp.solve returns a list" in demo_part
    # Folded (never open), before the task, and the episode's turns are its own.
    assert " open" not in system and body.index(system) < body.index('id="task"')
    assert 'id="turn-3"' not in body and "sp.solve returns a list" not in body.split('id="task"')[1]
    assert "in-context demonstration" not in page(BARE)


def test_show_puts_the_demonstration_in_its_own_panel() -> None:
    traj = make_trajectory("t1", ["exception", "solve"])
    traj = traj.model_copy(update={"messages": [Message(role="system", content=SHOWN), *traj.messages[1:]]})
    console = Console(record=True, width=200)
    show_trajectory(traj, console, system=True)
    text = console.export_text()
    assert "in-context demonstration (end of the system prompt; not this episode)" in text
    assert text.index("─ system prompt ─") < text.index("─ in-context demonstration") < text.index("─ task ─")
