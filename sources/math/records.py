"""One MATH record (from a file or a Hub row) → one ``Task``; the single conversion path.

Every input layout (original per-problem JSON, JSON/JSONL re-uploads, MATH-500, Hub rows)
goes through ``record_to_task`` so ids, references and metadata never depend on where a
problem came from.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping
from typing import Any

from trajkit.core.errors import ConfigError, DataError
from trajkit.schemas import Task
from trajkit.sources.math.boxed import last_boxed
from trajkit.sources.math.prompt import build_prompt

SOURCE_NAME = "math"

_LEVEL_RE = re.compile(r"^\s*(?:level\s*)?(\d+)\s*$", re.IGNORECASE)


def parse_level(value: Any) -> int | None:
    """Return the level as an int (``5``, ``"5"``, ``"Level 5"`` → 5), ``None`` if unknown.

    The original release has a few ``"Level ?"`` problems; they load with no level rather
    than failing, and are simply never selected by a level filter.
    """
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, str):
        m = _LEVEL_RE.match(value)
        if m:
            return int(m.group(1))
    return None


def parse_level_filter(values: list[str] | list[Any]) -> set[int]:
    """Normalise ``--levels`` values (``"5"``, ``"Level 5"``, ``5``, ``"4,5"``) to ints."""
    levels: set[int] = set()
    for raw in values:
        parts = raw.split(",") if isinstance(raw, str) else [raw]
        for part in parts:
            if isinstance(part, str) and not part.strip():
                continue
            level = parse_level(part)
            if level is None:
                raise ConfigError(f"levels: {part!r} is not a level (use 1-5 or 'Level 5')")
            levels.add(level)
    return levels


def type_key(value: str) -> str:
    """Canonical form of a subject so ``"Counting & Probability"`` matches the Hub config
    name ``counting_and_probability`` and ``"number theory"`` matches ``"Number Theory"``."""
    return re.sub(r"[^a-z0-9]+", "_", value.lower().replace("&", " and ")).strip("_")


def problem_hash_id(problem: str) -> str:
    """Content-derived id for records without one: stable across runs, files and machines."""
    digest = hashlib.sha1(problem.strip().encode("utf-8", "surrogatepass")).hexdigest()
    return f"math-{digest[:12]}"


def _text_field(obj: Mapping[str, Any], key: str, origin: str) -> str | None:
    value = obj.get(key)
    if value is None:
        return None
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return str(value)
    if not isinstance(value, str):
        raise DataError(f"{origin}: field '{key}' must be a string, got {type(value).__name__}")
    return value


def record_to_task(obj: Any, origin: str, id_hint: str | None = None) -> Task | None:
    """Convert one MATH-format record to a Task; ``None`` when no reference can be found.

    ``origin`` ("file:line", "file[3]", "hub-name[split][7]") is only used in error messages.
    ``id_hint`` is the file-relative id of the per-problem directory layout; a record's own
    ``unique_id`` wins over it, and the problem hash is the last resort, so a task keeps its
    id across runs (resume keys on it).
    """
    if not isinstance(obj, Mapping):
        raise DataError(f"{origin}: expected a JSON object, got {type(obj).__name__}")
    problem = _text_field(obj, "problem", origin)
    if problem is None or not problem.strip():
        raise DataError(f"{origin}: missing or empty 'problem'")
    solution = _text_field(obj, "solution", origin)
    answer = _text_field(obj, "answer", origin)
    if solution is None and answer is None:
        raise DataError(f"{origin}: record has neither 'solution' nor 'answer'")

    reference = answer.strip() if answer and answer.strip() else None
    if reference is None and solution is not None:
        reference = last_boxed(solution)
    if reference is None:
        return None

    unique_id = _text_field(obj, "unique_id", origin)
    if unique_id and unique_id.strip():
        task_id = unique_id.strip()
    elif id_hint:
        task_id = id_hint
    else:
        task_id = problem_hash_id(problem)

    subject = _text_field(obj, "type", origin) or _text_field(obj, "subject", origin)
    metadata: dict[str, Any] = {
        "problem": problem,
        "level": parse_level(obj.get("level")),
        "type": subject,
    }
    if solution is not None:
        metadata["solution"] = solution
    return Task(
        source=SOURCE_NAME,
        task_id=task_id,
        prompt=build_prompt(problem),
        reference=reference,
        metadata=metadata,
    )
