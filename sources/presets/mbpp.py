"""MBPP (Austin et al., 2021): short Python problems, each judged by its assert tests.

Layouts: the release's ``mbpp.jsonl`` (google-research ``mbpp/``: ``task_id``, ``text``,
``code``, ``test_list``, ``test_setup_code``, ``challenge_test_list``), the hand-verified
``sanitized-mbpp.json`` (a JSON list; ``prompt`` instead of ``text``, ``test_imports``
instead of ``test_setup_code``), a Parquet file of either, and the Hub dataset
``google-research-datasets/mbpp`` (formerly ``mbpp``; configs ``full`` and ``sanitized``,
splits ``train``/``test``/``validation``/``prompt``; default ``full``/``test``). With a local
file, ``--split`` selects the release's task-id ranges that the Hub splits are made of
(``prompt`` 1-10, ``test`` 11-510, ``validation`` 511-600, ``train`` 601-974); without it,
every row is kept.

The prompt is the problem text and the first of its tests, as the MBPP paper's prompt and
MINT show them (the teacher learns the function's name and signature from it), and says the
solution must define that function. The ``tests`` judge (``sources/judges/tests.py``) then
runs *every* test in a fresh sandbox: the solution, the setup code (``test_setup_code``, or
the sanitized variant's ``test_imports``), then one test. ``success`` is all tests passing,
``score`` the fraction passed. ``challenge_test_list`` is judged too with
``--source-opt challenge=true``.

Options: ``timeout`` (seconds per test, default 4), ``budget`` (seconds for all tests of one
solution, default 300), ``challenge`` (also judge the challenge tests, default false).
"""

from __future__ import annotations

import ast
import builtins
from pathlib import Path
from typing import Any, ClassVar

from pydantic import BaseModel, ConfigDict, Field

from trajkit.core.demonstration import Demonstration
from trajkit.core.errors import ConfigError, DataError
from trajkit.schemas import Task
from trajkit.sources.base import LoadOptions
from trajkit.sources.judges.tests import TestsJudge, TestsOptions
from trajkit.sources.judges.tests_suite import parse_suite
from trajkit.sources.presets import demonstrations
from trajkit.sources.presets.code_rows import field, load_rows
from trajkit.sources.presets.code_source import TestsJudgedSource
from trajkit.sources.sampling import sample_tasks

SAMPLES = Path(__file__).parent / "samples"
SAMPLE_PATH = SAMPLES / "mbpp_sample.jsonl"
DEMO_REPLAY = SAMPLES / "mbpp_demo_replay.jsonl"
HUB_ID = "google-research-datasets/mbpp"
#: The release's split of task ids (README of google-research ``mbpp/``), as the Hub splits.
SPLIT_IDS = {
    "prompt": range(1, 11),
    "test": range(11, 511),
    "validation": range(511, 601),
    "train": range(601, 975),
}

_PROMPT = """\
You are an expert Python programmer, and here is your task: {text}

Your code should pass this test:

```python
{test}
```

{name_line}You may try your code in the Python sandbox first. The judge runs this test and \
{more} more hidden test{s}, each limited to {timeout:g} seconds.

When you are confident, reply with the complete solution inside <solution></solution>: the \
function definition(s) and the imports they need, code only, without tests or example calls \
(a Markdown code fence is allowed and is removed)."""


class MBPPOptions(BaseModel):
    """The MBPP source's ``--source-opt`` settings."""

    model_config = ConfigDict(extra="forbid")

    timeout: float = Field(4.0, gt=0, le=600, description="seconds per test")
    budget: float = Field(300.0, gt=0, description="seconds for all tests of one solution")
    challenge: bool = Field(False, description="also judge challenge_test_list")


def function_name(test: str) -> str | None:
    """The function a test calls (``assert remove_Occ("hello","l") == "heo"`` → ``remove_Occ``):
    the first called name that is not a builtin."""
    try:
        tree = ast.parse(test)
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return None
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name):
            if not hasattr(builtins, node.func.id):
                return node.func.id
    return None


def build_prompt(text: str, tests: list[str], timeout: float) -> str:
    """The first user message: the problem, its first test shown, the answer's shape."""
    name = function_name(tests[0])
    name_line = f"Define the function `{name}` as the test calls it.\n\n" if name else ""
    more = len(tests) - 1
    return _PROMPT.format(
        text=" ".join(text.split()), test=tests[0].strip(), name_line=name_line, more=more,
        s="" if more == 1 else "s", timeout=timeout,
    )


#: The in-context demonstration, phrased with this prompt.
DEMONSTRATION = demonstrations.mbpp(build_prompt)


def row_to_task(origin: str, row: Any, options: MBPPOptions) -> Task:
    """One MBPP row (full or sanitized layout) as a Task; one-line ``DataError`` naming the
    row and field when something is missing or the tests do not parse."""
    task_id = field(row, origin, "task_id", (int, str))
    sanitized = "text" not in row and "prompt" in row
    text = field(row, origin, "prompt" if sanitized else "text")
    tests = list(field(row, origin, "test_list", list))
    if not tests or not all(isinstance(t, str) for t in tests):
        raise DataError(f"{origin}: field 'test_list' must be a non-empty list of test strings")
    if sanitized:
        imports = field(row, origin, "test_imports", list, required=False) or []
        setup = "\n".join(str(line) for line in imports)
    else:
        setup = field(row, origin, "test_setup_code", str, required=False) or ""
    challenge = list(field(row, origin, "challenge_test_list", list, required=False) or [])
    judged = tests + (challenge if options.challenge else [])
    reference: dict[str, Any] = {"tests": judged}
    if setup.strip():
        reference["setup"] = setup
    parse_suite(reference, origin)  # unparsable tests are bad data, said now
    return Task(
        source="mbpp",
        task_id=f"mbpp/{task_id}",
        prompt=build_prompt(text, tests, options.timeout),
        reference=reference,
        metadata={
            "mbpp_task_id": task_id,
            "layout": "sanitized" if sanitized else "full",
            "shown_test": tests[0],
            "challenge_tests": len(challenge),
        },
    )


class MBPPSource(TestsJudgedSource):
    """MBPP as a trajkit source (see the module doc)."""

    name: ClassVar[str] = "mbpp"
    benchmark: ClassVar[str] = "MBPP"
    options_model = MBPPOptions
    demo_replay = DEMO_REPLAY
    typical_episode = (3.0, 300.0, 120.0)

    def demonstration(self) -> Demonstration:
        """The in-context example episode (``--shots 1``): ``demonstrations.py``."""
        return DEMONSTRATION

    def __init__(self, options: MBPPOptions | None = None) -> None:
        super().__init__(options)
        opts = self.opts
        self._judge = TestsJudge(TestsOptions(timeout=opts.timeout, budget=opts.budget))

    @property
    def opts(self) -> MBPPOptions:
        assert isinstance(self.options, MBPPOptions)
        return self.options

    def load(self, options: LoadOptions) -> list[Task]:
        """Rows from ``--data``, ``--hf`` (default ``google-research-datasets/mbpp``, config
        ``full``, split ``test``) or the bundled sample; then ``--limit``/``--seed``."""
        origin, rows = load_rows(options, SAMPLE_PATH, "full", options.split or "test", "MBPP problems")
        from_file = bool(options.data) or not options.hf
        if from_file and options.split:
            if options.split not in SPLIT_IDS:
                raise ConfigError(f"--split {options.split}: MBPP splits are {', '.join(SPLIT_IDS)}")
            ids = SPLIT_IDS[options.split]
            rows = [(o, r) for o, r in rows if _task_number(o, r) in ids]
        tasks = [row_to_task(o, r, self.opts) for o, r in rows]
        if not tasks:
            raise DataError(f"{origin}: no MBPP problems" + (f" in split {options.split!r}" if options.split else ""))
        return sample_tasks(tasks, options.limit, options.seed)


def _task_number(origin: str, row: Any) -> int | None:
    value = field(row, origin, "task_id", (int, str))
    try:
        return int(value)
    except ValueError:
        return None
