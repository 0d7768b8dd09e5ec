"""How a local run starts: the teacher's SDK imported in the background while the run sets up,
and the first wave's episodes started one loop turn apart, so the first teacher requests go
out while later episodes are still being set up (issue 18's scale target).

The providers are plugins registered in this process, as a user's would be.
"""

from __future__ import annotations

import asyncio
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any, ClassVar

import pytest
from math_tasks import write_problems
from support import require_isolation

from trajkit.collect.config import CollectConfig
from trajkit.collect.runner import collect
from trajkit.collect.teacher_setup import preload_teacher
from trajkit.collect.teachers.base import Completion
from trajkit.collect.teachers.provider import TeacherProvider
from trajkit.core import registry
from trajkit.core.errors import ConfigError
from trajkit.schemas import Message, TeacherInfo, Usage
from trajkit.sources.base import LoadOptions

EPISODES = 6


class GatedPreload(TeacherProvider):
    """``preload`` waits until the test lets it go, noting the thread it ran on."""

    name = "gated"
    release = threading.Event()
    ran_on: ClassVar[list[str]] = []

    def preload(self) -> None:
        self.ran_on.append(threading.current_thread().name)
        self.release.wait(30)

    def make(self, model: str, params: dict[str, Any], **_: Any) -> Any:
        raise ConfigError("gated: no teacher here")


class BrokenPreload(TeacherProvider):
    """``preload`` raises; ``make`` says what is really wrong, as a user sees it."""

    name = "broken-preload"

    def preload(self) -> None:
        raise RuntimeError("preload exploded")

    def make(self, model: str, params: dict[str, Any], **_: Any) -> Any:
        raise ConfigError("broken-preload: set BROKEN_API_KEY")


class Interleaved:
    """Answers at once; notes how many episodes had asked by the time the first one's
    request got one loop turn of its own (a request on the wire needs that turn)."""

    def __init__(self, log: list[int]) -> None:
        self.asked = 0
        self.log = log

    @property
    def info(self) -> TeacherInfo:
        return TeacherInfo(provider="interleaved", model="m", params={})

    async def complete(self, messages: list[Message], stop: list[str], *, task_id: str,
                       tools: Any = None) -> Completion:
        self.asked += 1
        first = self.asked == 1
        await asyncio.sleep(0)  # the request's first wait
        if first:
            self.log.append(self.asked)
        return Completion(text="<solution>1</solution>", usage=Usage(calls=1))

    async def aclose(self) -> None:
        pass


class InterleavedProvider(TeacherProvider):
    name = "interleaved"
    log: ClassVar[list[int]] = []

    def make(self, model: str, params: dict[str, Any], **_: Any) -> Any:
        return Interleaved(self.log)


@pytest.fixture
def providers() -> Iterator[None]:
    for cls in (GatedPreload, BrokenPreload, InterleavedProvider):
        registry.register("teacher", cls.name, cls, replace=True)
    yield
    for cls in (GatedPreload, BrokenPreload, InterleavedProvider):
        registry.REGISTRY.unregister("teacher", cls.name)


def config(tmp_path: Path, teacher: str, **extra: Any) -> CollectConfig:
    return CollectConfig(
        source="math", teacher=teacher,
        load=LoadOptions(data=str(write_problems(tmp_path / "p.jsonl", EPISODES))),
        out=tmp_path / "out", run="r", concurrency=EPISODES, cache=False, **extra,
    )


def test_the_teachers_sdk_is_imported_in_the_background(tmp_path: Path, providers: None) -> None:
    GatedPreload.ran_on.clear()
    GatedPreload.release.clear()
    preload_teacher(config(tmp_path, "gated:m"))  # returns while the import still runs
    try:
        for _ in range(500):
            if GatedPreload.ran_on:
                break
            threading.Event().wait(0.01)
        assert GatedPreload.ran_on == ["trajkit-teacher-import"]
    finally:
        GatedPreload.release.set()
    # Ray workers build their own teachers: the driver imports nothing ahead.
    GatedPreload.ran_on.clear()
    preload_teacher(config(tmp_path, "gated:m", executor="ray"))
    assert GatedPreload.ran_on == []


async def test_a_failing_preload_leaves_the_error_to_the_teachers_construction(
    tmp_path: Path, providers: None
) -> None:
    with pytest.raises(ConfigError, match="set BROKEN_API_KEY"):
        await collect(config(tmp_path, "broken-preload:m"))


@pytest.mark.parametrize("provider", ["OpenAIProvider", "AnthropicProvider"])
def test_the_built_in_providers_preload_their_sdk(provider: str) -> None:
    """Errors in the background import are swallowed, so a wrong module name would go
    unnoticed: check, in a fresh interpreter, that it loads the SDK."""
    sdk = "openai" if provider == "OpenAIProvider" else "anthropic"
    code = (
        "import sys\n"
        f"from trajkit.collect.teachers.builtin_providers import {provider}\n"
        f"assert {sdk!r} not in sys.modules\n"
        f"{provider}().preload()\n"
        f"assert {sdk!r} in sys.modules\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


async def test_the_first_request_gets_a_turn_before_every_episode_is_set_up(
    tmp_path: Path, providers: None
) -> None:
    """All six episodes start together (concurrency 6); the first one's request got its
    loop turn while at most two episodes had asked. Started all at once, every episode had
    asked before any request got a turn (6)."""
    require_isolation()
    InterleavedProvider.log.clear()
    result = await collect(config(tmp_path, "interleaved:m"))
    assert result.manifest.counts.done == EPISODES
    assert InterleavedProvider.log and InterleavedProvider.log[0] <= 2, InterleavedProvider.log
