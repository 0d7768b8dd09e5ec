"""The attack battery's harness: real episodes on both sandbox backends, a watched host.

Each attack is the first code action of a scripted teacher inside a real CodeAct episode
(``play_task``): the battery checks the attack's own cell result, that the episode goes on
(the next action prints normally), that a fresh episode afterwards runs normally, and that
the host is unchanged (canaries intact, no connection to the host's listener, no secret
in any observation). ``TRAJKIT_SECURITY_REPORT=FILE`` appends each measured outcome as a
JSON line, from which ``SECURITY.md``'s table is written.
"""

from __future__ import annotations

import json
import os
import socket
import threading
import uuid
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from loop_fakes import FakeTeacher
from support import require_backend

from trajkit.collect.loop import LoopConfig
from trajkit.collect.play import play_task
from trajkit.collect.sandbox.backend import sandbox_factory
from trajkit.collect.sandbox.config import SandboxConfig
from trajkit.core.sandbox import CellResult
from trajkit.core.tools import Tool
from trajkit.schemas import Task, Trajectory, Verdict

SECRET = "sk-test-" + uuid.uuid4().hex
BACKENDS = ("local", "docker")
#: Limits the battery runs under (both backends): small enough to hit quickly.
CONFIG = SandboxConfig(kill_grace_s=1.0, memory_mb=1024, label="security-battery")


class Recording:
    """A real sandbox whose cell results the test keeps (the observation is capped)."""

    def __init__(self, inner: object, results: list[CellResult]) -> None:
        self.inner = inner
        self.results = results
        self.config = getattr(inner, "config", None)

    async def start(self) -> None:
        await self.inner.start()  # type: ignore[attr-defined]

    async def run(self, code: str, timeout: float) -> CellResult:
        result = await self.inner.run(code, timeout)  # type: ignore[attr-defined]
        self.results.append(result)
        return result

    async def close(self) -> None:
        await self.inner.close()  # type: ignore[attr-defined]


class TrivialSource:
    """One task whose answer is 2, and a host-side tool: the tool bridge stays in play."""

    name = "battery"

    def load(self, options: object) -> list[Task]:
        return []

    def tools(self, task: Task) -> Sequence[Tool]:
        def echo(text: str) -> str:
            """Return the text (answered on the host)."""
            return text

        return [Tool.from_function(echo)]

    async def judge(self, task: Task, answer: str) -> Verdict:
        ok = answer.strip() == "2"
        return Verdict(success=ok, score=float(ok))


@dataclass
class Host:
    """What must not change: canaries with the secret, a listener nobody may reach."""

    home_canary: Path
    out_dir: Path
    out_canary: Path
    tcp_port: int
    tcp_hits: list[str] = field(default_factory=list)

    def assert_unchanged(self) -> None:
        assert self.home_canary.read_text() == SECRET
        assert self.out_canary.read_text() == SECRET
        assert self.tcp_hits == [], "the sandbox reached the host's listener"
        for path in ("/usr/trajkit-pwned", "/etc/trajkit-pwned", "/trajkit-pwned"):
            assert not Path(path).exists(), path


@pytest.fixture
def host(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Host]:
    monkeypatch.setenv("OPENAI_API_KEY", SECRET)
    monkeypatch.setenv("ANTHROPIC_API_KEY", SECRET)
    home_canary = Path.home() / ".config" / f"trajkit-canary-{uuid.uuid4().hex}"
    home_canary.parent.mkdir(parents=True, exist_ok=True)
    home_canary.write_text(SECRET)
    out_dir = tmp_path / "out" / "runs" / "battery"
    out_dir.mkdir(parents=True)
    out_canary = out_dir / "trajectories.jsonl"
    out_canary.write_text(SECRET)
    server = socket.socket()
    server.bind(("0.0.0.0", 0))
    server.listen()
    server.settimeout(0.2)
    stop = threading.Event()
    state = Host(home_canary, out_dir, out_canary, server.getsockname()[1])

    def serve() -> None:
        while not stop.is_set():
            try:
                conn, _ = server.accept()
            except OSError:
                continue
            state.tcp_hits.append("connected")
            conn.close()

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    try:
        yield state
        state.assert_unchanged()
    finally:
        stop.set()
        thread.join()
        server.close()
        home_canary.unlink(missing_ok=True)


@dataclass
class Outcome:
    """One attack episode and the follow-up episode, as the test measured them."""

    backend: str
    attack: CellResult
    after: CellResult
    episode: Trajectory
    next_episode: Trajectory


class Battery:
    def __init__(self, backend: str) -> None:
        self.backend = backend
        self.results: list[CellResult] = []
        pool = 2 if backend == "docker" else 0  # warm containers keep the docker half fast
        inner = sandbox_factory(backend, CONFIG.model_copy(update={"pool": pool}))
        self.factory = lambda tools: Recording(inner(tools), self.results)

    async def episode(self, turns: list[str], exec_timeout: float) -> Trajectory:
        task = Task(source="battery", task_id=f"t-{uuid.uuid4().hex[:8]}", prompt="What is 1+1?")
        loop = LoopConfig(max_turns=len(turns), exec_timeout=exec_timeout)
        return await play_task(
            task, TrivialSource(), FakeTeacher(turns), self.factory, loop,
            run="battery", sandbox_name=self.backend,
        )

    async def attack(self, code: str, timeout: float = 10.0) -> Outcome:
        """The attack as action 1, a normal action 2 and the answer; then a new episode."""
        first = await self.episode(
            [f"<execute>\n{code}\n</execute>", "<execute>print(echo('still alive'))</execute>",
             "<solution>2</solution>"],
            timeout,
        )
        attack, after = self.results[0], self.results[1]
        second = await self.episode(
            ["<execute>print(6 * 7)</execute>", "<solution>2</solution>"], 10.0
        )
        assert first.success and second.success, (first.termination, second.termination)
        assert "still alive" in after.output and after.error is None, after.output[:300]
        assert self.results[2].output == "42\n", self.results[2].output[:300]
        for traj in (first, second):
            for message in traj.messages:
                assert SECRET not in message.content
        return Outcome(self.backend, attack, after, first, second)


@pytest.fixture(params=BACKENDS)
def battery(request: pytest.FixtureRequest, host: Host) -> Battery:
    require_backend(request.param)
    return Battery(request.param)


def report(outcome: Outcome, attack: str, verdict: str) -> None:
    """Append the measured outcome (for SECURITY.md) when ``TRAJKIT_SECURITY_REPORT`` is set."""
    path = os.environ.get("TRAJKIT_SECURITY_REPORT")
    if not path:
        return
    r = outcome.attack
    line = {
        "attack": attack, "backend": outcome.backend, "verdict": verdict,
        "error": r.error.type if r.error else None, "restarted": r.restarted,
        "duration_s": round(r.duration_s, 2), "output": r.output[:160],
    }
    with open(path, "a") as fh:
        fh.write(json.dumps(line) + "\n")


def render_table(path: str) -> str:
    """SECURITY.md's table from a ``TRAJKIT_SECURITY_REPORT`` file (one row per attack)."""
    rows: dict[str, dict[str, str]] = {}
    for line in Path(path).read_text().splitlines():
        entry = json.loads(line)
        rows.setdefault(entry["attack"], {})[entry["backend"]] = entry["verdict"]
    lines = ["| attack | local | docker |", "|---|---|---|"]
    for attack, by_backend in rows.items():
        cells = [by_backend.get(b, "not run").replace("|", "\\|") for b in BACKENDS]
        lines.append(f"| {attack} | {' | '.join(cells)} |")
    return "\n".join(lines)


if __name__ == "__main__":  # python tests/security/battery.py REPORT.jsonl
    import sys

    print(render_table(sys.argv[1]))
