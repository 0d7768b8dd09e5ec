"""``--action-format tools`` on every built-in source, over both providers' real SDKs.

The loopback server speaks each provider's tool-calling wire and refuses (400) any tool
conversation the provider would refuse, so an episode that ends ``teacher_error`` here is a
conversation the loop got wrong. Each episode makes parallel calls in its first turn (a
malformed one, one to an unknown function, a good one), a good call, then ``submit``:
sources without tools of their own (MATH, APPS) act through ``execute_python`` in the
sandbox, HotpotQA through its search tool, WebShop and ALFWorld through their environments'
tools, WikiTQ through Python on the table its setup loads.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from support import require, require_isolation
from tools_tour_policy import ToolsTourPolicy

import trajkit
from trajkit.core import registry
from trajkit.schemas import ErrorKind, Termination
from trajkit.sources.alfworld import engine_available
from trajkit.sources.base import LoadOptions

#: What each source offers in the tools format, in order.
OFFERED = {
    "math": ["execute_python", "submit"],
    "apps": ["execute_python", "submit"],
    "hotpotqa": ["wikipedia_search", "submit"],
    "webshop": ["search", "click", "submit"],
    "alfworld": ["goto", "take_from", "put", "open_receptacle", "close_receptacle", "toggle",
                 "clean", "heat", "cool", "use", "look", "submit"],
    "wikitq": ["execute_python", "submit"],
}
#: Sources whose references are answers the policy can submit as they are.
ORACLE = ("math", "hotpotqa")
BROKEN = {Termination.TEACHER_ERROR, Termination.INTERNAL_ERROR, Termination.SANDBOX_ERROR,
          Termination.JUDGE_ERROR}


def _oracle(source: str) -> dict[str, str]:
    if source not in ORACLE:
        return {}
    tasks = registry.instance("source", source).load(LoadOptions(limit=2))
    return {t.prompt: str(t.reference) for t in tasks}


@pytest.mark.parametrize("provider", ["openai", "anthropic"])
@pytest.mark.parametrize("source", list(OFFERED))
def test_every_source_acts_through_native_calls(
    loopback, tmp_path: Path, source: str, provider: str  # type: ignore[no-untyped-def]
) -> None:
    if source == "alfworld":
        reason = engine_available()
        require(reason is None, f"ALFWorld engine unavailable: {reason}")
    elif OFFERED[source][0] == "execute_python":
        require_isolation()
    loopback.set_policy(ToolsTourPolicy(_oracle(source), "json" if provider == "openai" else "type"))
    result = trajkit.collect(source, f"{provider}:model-x", out=tmp_path, run="t", limit=2,
                             action_format="tools", concurrency=2)
    records = list(result.records())
    assert result.status == "completed" and len(records) == 2
    for traj in records:
        assert traj.action_format == "tools" and [t["name"] for t in traj.tools] == OFFERED[source]
        assert traj.termination not in BROKEN, (traj.termination, traj.termination_detail)
        first = traj.steps[0]
        assert len(first.calls) == 3 and first.observation is not None
        assert first.observation.error is not None and first.observation.error.kind is ErrorKind.BAD_CALL
        results = [m for m in traj.messages if m.role == "tool"]
        assert [m.is_error for m in results[:3]] == [True, True, False]  # the good call ran
        assert "no function named 'no_such_tool'" in results[1].content
        if source in ORACLE:
            assert traj.success and traj.self_corrected and traj.answer
    run_json = (result.path / "run.json").read_text()
    assert '"action_format": "tools"' in run_json
    requests = [r for r in loopback.requests if r.status == 200]
    assert requests and all(r.body.get("tools") for r in requests)
