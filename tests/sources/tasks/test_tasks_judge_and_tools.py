"""The ``tasks`` source's seams around its judge (delegation, attach/aclose, how a report reads
a verdict) and its host tools (``tools=`` parsing and importing)."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path
from typing import Any, ClassVar

import pytest

from trajkit.core import registry
from trajkit.core.errors import ConfigError
from trajkit.schemas import Task, Verdict
from trajkit.sources.base import make_source
from trajkit.sources.judges import BaseJudge
from trajkit.sources.judges.base import judged
from trajkit.sources.reading import ReferenceView, VerdictReader, generic_reference
from trajkit.sources.tasks import TasksSource
from trajkit.sources.tasks.tools import load_tools

TASK = Task(source="tasks", task_id="t", prompt="p", reference="4", metadata={"unit": "cm"})


class _Recording(BaseJudge):
    """A judge with every optional capability, recording what the source forwards."""

    name: ClassVar[str] = "recording"
    answer_format: ClassVar[str] = "Answer with a length in cm inside <solution></solution>."
    events: ClassVar[list[Any]] = []

    def attach(self, runtime: Any) -> None:
        self.events.append(("attach", runtime))

    async def aclose(self) -> None:
        self.events.append("aclose")

    async def judge(self, task: Task, answer: str) -> Verdict:
        self.events.append(("judge", task.task_id, answer))
        ok = answer.strip() == task.reference
        return judged(Verdict(success=ok, score=float(ok)), self.name)

    @classmethod
    def summary(cls, task: Task, verdict: Verdict) -> str:
        return f"recording: {'same' if verdict.success else 'different'} ({task.metadata['unit']})"

    @classmethod
    def reference_view(cls, task: Task, verdict: Verdict) -> ReferenceView:
        return ReferenceView((("length", f"{task.reference} {task.metadata['unit']}"),))


@pytest.fixture
def recording() -> Iterator[type[_Recording]]:
    _Recording.events.clear()
    registry.register("judge", "recording", _Recording, replace=True)
    yield _Recording
    registry.REGISTRY.unregister("judge", "recording")


def test_the_source_forwards_to_its_judge(recording: type[_Recording]) -> None:
    source = make_source("tasks", {"judge": "recording"})
    runtime = object()
    source.attach(runtime)  # type: ignore[attr-defined]
    verdict = asyncio.run(source.judge(TASK, " 4 "))
    asyncio.run(source.aclose())  # type: ignore[attr-defined]
    assert verdict.success and verdict.details == {"judge": "recording"}
    assert recording.events == [("attach", runtime), ("judge", "t", " 4 "), "aclose"]


def test_a_judge_without_attach_or_aclose_is_fine() -> None:
    source = TasksSource()  # exact: neither
    source.attach(object())  # type: ignore[arg-type]
    asyncio.run(source.aclose())


def test_the_default_prompt_takes_the_judges_answer_format(recording: type[_Recording], tmp_path: Path) -> None:
    data = tmp_path / "t.jsonl"
    data.write_text('{"question": "How long?", "answer": "4"}\n')
    from trajkit.sources.base import LoadOptions

    (task,) = make_source("tasks", {"judge": "recording"}).load(LoadOptions(data=str(data)))
    assert task.prompt.endswith("Answer with a length in cm inside <solution></solution>.")
    (plain,) = TasksSource().load(LoadOptions(data=str(data)))
    assert plain.prompt.endswith("e.g. <solution>42</solution>.")


def test_reports_read_a_verdict_through_the_recorded_judge(recording: type[_Recording]) -> None:
    verdict = judged(Verdict(success=True, score=1.0), "recording")
    reader = VerdictReader()
    assert reader.summary("tasks", TASK, verdict) == "recording: same (cm)"
    assert reader.reference("tasks", TASK, verdict).fields == (("length", "4 cm"),)


def test_a_verdict_from_a_judge_no_longer_installed_reads_generically() -> None:
    verdict = Verdict(success=False, score=0.0, details={"judge": "gone:x", "reason": "too far"})
    assert TasksSource.verdict_summary(TASK, verdict) == "too far"
    assert TasksSource.reference_view(TASK, verdict) == generic_reference(TASK, verdict)
    bare = Verdict(success=True, score=1.0)
    assert TasksSource.verdict_summary(TASK, bare) == ""


TOOLS = '''
def area(width: float, height: float = 1.0) -> float:
    """Width times height."""
    return width * height


async def fetch(key: str) -> str:
    """Look a key up."""
    return key.upper()


NOT_A_FUNCTION = 3
'''


def test_tools_from_a_file_and_a_module(tmp_path: Path) -> None:
    path = tmp_path / "my_tools.py"
    path.write_text(TOOLS)
    area, fetch, dumps = load_tools(f"{path}:area, {path}:fetch ,json:dumps")
    assert area.signature == "area(width: float, height: float = 1.0) -> float"
    assert area.doc == "Width times height." and fetch.doc == "Look a key up."
    assert asyncio.run(area.call([2.0], {"height": 3.0})) == 6.0
    assert asyncio.run(fetch.call(["k"], {})) == "K"
    assert dumps.name == "dumps" and asyncio.run(dumps.call([[1]], {})) == "[1]"
    assert load_tools(None) == [] and load_tools("") == []


def test_source_tools_are_the_same_for_every_task(tmp_path: Path) -> None:
    path = tmp_path / "my_tools.py"
    path.write_text(TOOLS)
    source = make_source("tasks", {"tools": f"{path}:area"})
    assert [t.name for t in source.tools(TASK)] == ["area"]
    assert TasksSource().tools(TASK) == []


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ("{path}:NOT_A_FUNCTION", "'NOT_A_FUNCTION' is not a function"),
        ("{path}:missing", "has no 'missing'"),
        ("{path}:area,{path}:area", "two tools named 'area'"),
        ("{dir}/nope.py:area", "no such file"),
        ("{dir}/broken.py:f", "importing"),
        (":area", "expected module:function"),
    ],
)
def test_bad_tool_specs_are_one_line_config_errors(spec: str, message: str, tmp_path: Path) -> None:
    path = tmp_path / "my_tools.py"
    path.write_text(TOOLS)
    (tmp_path / "broken.py").write_text("raise RuntimeError('boom')\n")
    with pytest.raises(ConfigError) as info:
        load_tools(spec.format(path=path, dir=tmp_path))
    assert message in str(info.value) and "\n" not in str(info.value)
    assert str(info.value).startswith("--source-opt tools=")
