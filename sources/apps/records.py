"""One APPS record (a file line, a Parquet row or a Hub row) → one ``Task``; the single path.

APPS stores ``solutions`` and ``input_output`` as JSON *strings*; re-uploads sometimes hold
them already decoded, and both are accepted. ``input_output`` is ``{"inputs", "outputs"}``
plus ``fn_name`` for call-based problems (whose starter code may wrap the function in a
class, usually ``Solution``). The task's ``reference`` carries the tests themselves, so a
trajectory can be re-judged without the dataset.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from trajkit.core.errors import ConfigError, DataError, TrajkitError
from trajkit.core.jsonl import parse_json
from trajkit.schemas import Task
from trajkit.sources.apps.prompt import CALL_MODE, STDIN_MODE, build_prompt

SOURCE_NAME = "apps"
DIFFICULTIES = ("introductory", "interview", "competition")
MAX_EXAMPLES = 3
MAX_EXAMPLE_CHARS = 2000

_CLASS_RE = re.compile(r"^class\s+([A-Za-z_]\w*)", re.M)


@dataclass(frozen=True)
class PromptSettings:
    """What of the source's options shapes the prompt (fixed for a whole load)."""

    test_timeout: float = 4.0
    split_tests: bool = False


class SkippedRecord(TrajkitError):
    """A well-formed record the judge cannot use; ``reason`` is counted, not fatal."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def parse_difficulties(values: list[Any]) -> set[str]:
    """``--difficulty``/``--level`` values (repeatable, comma-separated) → canonical names."""
    wanted: set[str] = set()
    for raw in values:
        for part in str(raw).split(","):
            name = part.strip().lower()
            if not name:
                continue
            if name not in DIFFICULTIES:
                raise ConfigError(
                    f"--difficulty: {part.strip()!r} is not an APPS difficulty "
                    f"(use {', '.join(DIFFICULTIES)})"
                )
            wanted.add(name)
    return wanted


def _text(obj: Mapping[str, Any], key: str, origin: str) -> str | None:
    value = obj.get(key)
    if value is None or isinstance(value, str):
        return value
    raise DataError(f"{origin}: field '{key}' must be a string, got {type(value).__name__}")


def _json_field(obj: Mapping[str, Any], key: str, origin: str) -> Any:
    """A field APPS stores as a JSON string (or, in re-uploads, as the decoded value)."""
    value = obj.get(key)
    if not isinstance(value, str):
        return value
    if not value.strip():
        return None
    try:
        return parse_json(value)
    except ValueError as exc:
        reason = getattr(exc, "msg", None) or str(exc)
        raise DataError(f"{origin}: field '{key}' is not valid JSON ({reason})") from None


def _stdin_text(value: Any) -> str:
    """A stdin test input: APPS sometimes stores it as a list of lines."""
    if isinstance(value, list):
        return "\n".join(str(line) for line in value)
    return value if isinstance(value, str) else str(value)


def parse_tests(obj: Mapping[str, Any], origin: str) -> tuple[str, str | None, list, list]:
    """``(mode, fn_name, inputs, outputs)``; ``SkippedRecord`` if there are no usable tests."""
    io = _json_field(obj, "input_output", origin)
    if io is None or io == {}:
        raise SkippedRecord("no tests")
    if not isinstance(io, Mapping):
        raise DataError(f"{origin}: 'input_output' must be an object, got {type(io).__name__}")
    inputs, outputs = io.get("inputs"), io.get("outputs")
    for name, value in (("inputs", inputs), ("outputs", outputs)):
        if value is not None and not isinstance(value, list):
            raise DataError(f"{origin}: 'input_output.{name}' must be a list, got {type(value).__name__}")
    if not inputs or not outputs:
        raise SkippedRecord("no tests")
    if len(inputs) != len(outputs):
        raise SkippedRecord(f"{len(inputs)} inputs but {len(outputs)} outputs")
    fn_name = io.get("fn_name")
    if fn_name is not None and (not isinstance(fn_name, str) or not fn_name.isidentifier()):
        raise DataError(f"{origin}: 'input_output.fn_name' must be a function name, got {fn_name!r}")
    if fn_name:
        return CALL_MODE, fn_name, list(inputs), list(outputs)
    return STDIN_MODE, None, [_stdin_text(i) for i in inputs], list(outputs)


def entry_class(starter_code: str, fn_name: str) -> str | None:
    """The class holding ``fn_name`` in the starter code (``Solution``), ``None`` if the
    function is top-level: the last class defined before an indented ``def fn_name``."""
    match = re.search(rf"^([ \t]*)def\s+{re.escape(fn_name)}\b", starter_code, re.M)
    if match is None:
        classes = _CLASS_RE.findall(starter_code)
        return classes[-1] if classes else None
    if not match.group(1):
        return None
    classes = _CLASS_RE.findall(starter_code[: match.start()])
    return classes[-1] if classes else None


def _squash(text: str) -> str:
    return re.sub(r"\s+", "", text).replace("'", '"')


def example_indices(question: str, mode: str, inputs: list, outputs: list) -> list[int]:
    """Tests whose input and output both appear in the statement: the worked examples."""
    haystack = _squash(question)
    found = []
    for i, (test_input, expected) in enumerate(zip(inputs, outputs, strict=True)):
        if mode == STDIN_MODE:
            needles = [_squash(_stdin_text(test_input)), _squash(_stdin_text(expected))]
        else:
            args = test_input if isinstance(test_input, list) else [test_input]
            value = expected[0] if isinstance(expected, list) and len(expected) == 1 else expected
            needles = [_squash(json.dumps(a)) for a in args] + [_squash(json.dumps(value))]
        if all(needles) and all(n in haystack for n in needles):
            if len(json.dumps([test_input, expected])) <= MAX_EXAMPLE_CHARS:
                found.append(i)
        if len(found) == MAX_EXAMPLES:
            break
    return found


def problem_key(obj: Mapping[str, Any], question: str, origin: str) -> str:
    """``problem_id`` as text; a content hash when a re-upload dropped it (still stable)."""
    pid = obj.get("problem_id")
    if isinstance(pid, bool) or (pid is not None and not isinstance(pid, (int, str))):
        raise DataError(f"{origin}: 'problem_id' must be an integer or string, got {pid!r}")
    if pid is None or (isinstance(pid, str) and not pid.strip()):
        return "q-" + hashlib.sha1(question.strip().encode("utf-8", "surrogatepass")).hexdigest()[:12]
    return str(pid).strip()


def record_to_task(obj: Any, origin: str, settings: PromptSettings) -> Task:
    """Convert one APPS record; raises ``SkippedRecord`` for problems without usable tests
    and ``DataError`` (naming ``origin``, e.g. ``file:line`` or ``file[row 3]``) for bad data."""
    if not isinstance(obj, Mapping):
        raise DataError(f"{origin}: expected a JSON object, got {type(obj).__name__}")
    question = _text(obj, "question", origin)
    if not question or not question.strip():
        raise DataError(f"{origin}: missing or empty 'question'")
    starter = _text(obj, "starter_code", origin) or ""
    difficulty = _text(obj, "difficulty", origin)
    key = problem_key(obj, question, origin)
    mode, fn_name, inputs, outputs = parse_tests(obj, origin)
    class_name = entry_class(starter, fn_name) if fn_name else None
    solutions = _json_field(obj, "solutions", origin)
    examples = example_indices(question, mode, inputs, outputs) if settings.split_tests else []
    prompt = build_prompt(
        question, starter, mode, fn_name, class_name, settings.test_timeout,
        [(inputs[i], outputs[i]) for i in examples],
    )
    reference = {
        "mode": mode,
        "fn_name": fn_name,
        "class_name": class_name,
        "inputs": inputs,
        "outputs": outputs,
        "examples": examples,
    }
    metadata = {
        "problem_id": key,
        "question": question,
        "starter_code": starter,
        "difficulty": difficulty.strip().lower() if difficulty else None,
        "url": _text(obj, "url", origin),
        "mode": mode,
        "num_tests": len(inputs),
        "num_solutions": len(solutions) if isinstance(solutions, list) else 0,
    }
    return Task(
        source=SOURCE_NAME,
        task_id=f"{SOURCE_NAME}/{key}",
        prompt=prompt,
        reference=reference,
        metadata=metadata,
    )
