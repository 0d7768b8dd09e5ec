"""HumanEval (Chen et al., 2021): complete a Python function from its signature and docstring.

Layouts: the release's ``HumanEval.jsonl.gz`` (openai/human-eval ``data/``; one row per
problem: ``task_id``, ``prompt``, ``canonical_solution``, ``test``, ``entry_point``), the same
file un-gzipped or as Parquet, and the Hub dataset ``openai/openai_humaneval`` (formerly
``openai_humaneval``; one split, ``test``).

The prompt shows the stub (the ``prompt`` field: imports, signature, docstring) and asks for
the complete function in ``<solution>``. The ``tests`` judge runs, in a fresh sandbox, what
the official harness runs: the stub, the solution, the ``test`` code (which defines
``check(candidate)``), then ``check(<entry_point>)``. The stub always comes first, so its
imports are there; a solution that defines ``entry_point`` replaces the stub's function, and
a solution that does not (only the body, as the benchmark's completions are) is indented
under the stub, as the official harness's ``prompt + completion`` does. One check, so
``score`` is 0 or 1, as pass@1 counts it.

Options: ``timeout`` (seconds for the check, default 4; the official harness uses 3).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, ClassVar

from pydantic import BaseModel, ConfigDict, Field

from trajkit.core.demonstration import Demonstration
from trajkit.core.errors import DataError
from trajkit.schemas import Task
from trajkit.sources.base import LoadOptions
from trajkit.sources.judges.tests import TestsJudge, TestsOptions
from trajkit.sources.judges.tests_suite import parse_suite
from trajkit.sources.presets import demonstrations
from trajkit.sources.presets.code_rows import field, load_rows
from trajkit.sources.presets.code_source import TestsJudgedSource
from trajkit.sources.sampling import sample_tasks

SAMPLES = Path(__file__).parent / "samples"
SAMPLE_PATH = SAMPLES / "humaneval_sample.jsonl"
DEMO_REPLAY = SAMPLES / "humaneval_demo_replay.jsonl"
HUB_ID = "openai/openai_humaneval"

_PROMPT = """\
Complete the following Python function.

```python
{stub}
```

You may try your code in the Python sandbox first. The judge calls `{entry_point}` in hidden \
tests, limited to {timeout:g} seconds.

When you are confident, reply with the complete function inside <solution></solution>: its \
whole definition, with any imports and helper functions it needs, code only, without tests \
or example calls (a Markdown code fence is allowed and is removed)."""


class HumanEvalOptions(BaseModel):
    """The HumanEval source's ``--source-opt`` settings."""

    model_config = ConfigDict(extra="forbid")

    timeout: float = Field(4.0, gt=0, le=600, description="seconds for the check")


def build_prompt(stub: str, entry_point: str, timeout: float) -> str:
    """The first user message: the stub as given, and the answer's shape."""
    return _PROMPT.format(stub=stub.strip("\n"), entry_point=entry_point, timeout=timeout)


#: The in-context demonstration, phrased with this prompt.
DEMONSTRATION = demonstrations.humaneval(build_prompt)


def row_to_task(origin: str, row: Any, options: HumanEvalOptions) -> Task:
    """One HumanEval row as a Task; one-line ``DataError`` for a missing field, a ``test``
    without ``check`` or an unparsable one."""
    task_id = field(row, origin, "task_id", str)
    stub = field(row, origin, "prompt")
    test = field(row, origin, "test")
    entry_point = field(row, origin, "entry_point")
    reference = {"prompt": stub, "test": test, "entry_point": entry_point}
    # A ``test`` that does not parse, or defines no check(candidate): one line, said now.
    parse_suite(reference, f"{origin} field 'test'")
    return Task(
        source="humaneval",
        task_id=f"humaneval/{task_id}",
        prompt=build_prompt(stub, entry_point, options.timeout),
        reference=reference,
        metadata={"humaneval_task_id": task_id, "entry_point": entry_point},
    )


class HumanEvalSource(TestsJudgedSource):
    """HumanEval as a trajkit source (see the module doc)."""

    name: ClassVar[str] = "humaneval"
    benchmark: ClassVar[str] = "HumanEval"
    options_model = HumanEvalOptions
    demo_replay = DEMO_REPLAY
    typical_episode = (3.0, 300.0, 120.0)

    def demonstration(self) -> Demonstration:
        """The in-context example episode (``--shots 1``): ``demonstrations.py``."""
        return DEMONSTRATION

    def __init__(self, options: HumanEvalOptions | None = None) -> None:
        super().__init__(options)
        assert isinstance(self.options, HumanEvalOptions)
        self._judge = TestsJudge(TestsOptions(timeout=self.options.timeout))

    def load(self, options: LoadOptions) -> list[Task]:
        """Rows from ``--data``, ``--hf`` (default ``openai/openai_humaneval``, split
        ``test``) or the bundled sample; then ``--limit``/``--seed``."""
        assert isinstance(self.options, HumanEvalOptions)
        origin, rows = load_rows(options, SAMPLE_PATH, None, options.split or "test", "HumanEval problems")
        tasks = [row_to_task(o, r, self.options) for o, r in rows]
        if not tasks:
            raise DataError(f"{origin}: no HumanEval problems")
        return sample_tasks(tasks, options.limit, options.seed)
