"""One HotpotQA record → one ``Task``, for both layouts, through a single conversion path.

The original release stores ``supporting_facts`` as ``[[title, sent_id], ...]`` and
``context`` as ``[[title, [sentences]], ...]`` with the id in ``_id``; the Hugging Face
``hotpot_qa`` rows use ``id`` and column-shaped dicts (``{"title": [...], "sent_id": [...]}``,
``{"title": [...], "sentences": [[...]]}``). Both are read into the same Task, so an item
keeps its id and metadata wherever it was loaded from.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from typing import Any

from trajkit.core.errors import ConfigError, DataError
from trajkit.schemas import Task
from trajkit.sources.hotpotqa.prompt import build_prompt

SOURCE_NAME = "hotpotqa"
LEVELS = ("easy", "medium", "hard")
TYPES = ("comparison", "bridge")


def question_hash_id(question: str) -> str:
    """Content-derived id for records without ``_id``/``id``: stable across runs and files."""
    return "hotpotqa-" + hashlib.sha1(question.strip().encode("utf-8", "surrogatepass")).hexdigest()[:12]


def parse_choices(values: list[str], allowed: tuple[str, ...], flag: str) -> set[str]:
    """Normalise ``--level``/``--type`` values (case, commas); an unknown one is a typo."""
    chosen: set[str] = set()
    for raw in values:
        for part in str(raw).split(","):
            word = part.strip().lower()
            if not word:
                continue
            if word not in allowed:
                raise ConfigError(f"{flag}: {part.strip()!r} is not one of {', '.join(allowed)}")
            chosen.add(word)
    return chosen


def _text(obj: Mapping[str, Any], key: str, origin: str, required: bool = True) -> str | None:
    value = obj.get(key)
    if value is None:
        if required:
            raise DataError(f"{origin}: missing '{key}'")
        return None
    if not isinstance(value, str):
        raise DataError(f"{origin}: field '{key}' must be a string, got {type(value).__name__}")
    return value


def _columns(
    value: Mapping[str, Any], keys: tuple[str, str], origin: str, field: str
) -> list[list[Any]]:
    """A Hub column dict (``{"title": [...], "sentences": [...]}``) as a list of pairs."""
    a, b = (value.get(k) for k in keys)
    if not isinstance(a, list) or not isinstance(b, list) or len(a) != len(b):
        raise DataError(f"{origin}: '{field}' needs equal-length lists {keys[0]!r} and {keys[1]!r}")
    return [[x, y] for x, y in zip(a, b, strict=True)]


def read_context(value: Any, origin: str) -> list[list[Any]]:
    """``[[title, [sentence, ...]], ...]`` from either layout, checked."""
    if isinstance(value, Mapping):
        value = _columns(value, ("title", "sentences"), origin, "context")
    if not isinstance(value, list):
        raise DataError(f"{origin}: 'context' must be a list of [title, sentences] pairs")
    out: list[list[Any]] = []
    for i, pair in enumerate(value):
        if (
            not isinstance(pair, (list, tuple))
            or len(pair) != 2
            or not isinstance(pair[0], str)
            or not isinstance(pair[1], list)
            or not all(isinstance(s, str) for s in pair[1])
        ):
            raise DataError(f"{origin}: context[{i}] must be [title, [sentence, ...]]")
        out.append([pair[0], list(pair[1])])
    return out


def read_supporting_facts(value: Any, origin: str) -> list[list[Any]]:
    """``[[title, sent_id], ...]`` from either layout (empty when absent, as in test sets)."""
    if value is None:
        return []
    if isinstance(value, Mapping):
        value = _columns(value, ("title", "sent_id"), origin, "supporting_facts")
    if not isinstance(value, list):
        raise DataError(f"{origin}: 'supporting_facts' must be a list of [title, sent_id] pairs")
    out: list[list[Any]] = []
    for i, pair in enumerate(value):
        ok = isinstance(pair, (list, tuple)) and len(pair) == 2 and isinstance(pair[0], str)
        if not ok or isinstance(pair[1], bool) or not isinstance(pair[1], int):
            raise DataError(f"{origin}: supporting_facts[{i}] must be [title, sentence index]")
        out.append([pair[0], pair[1]])
    return out


def record_to_task(obj: Any, origin: str) -> Task | None:
    """Convert one record; ``None`` when it has no answer (the fullwiki test split).

    ``origin`` ("file:line", "file[3]", "hub-name[split][7]") only appears in error messages.
    The context paragraphs go into ``metadata`` because the ``context`` search backend and
    any later re-judging need nothing but the record.
    """
    if not isinstance(obj, Mapping):
        raise DataError(f"{origin}: expected a JSON object, got {type(obj).__name__}")
    question = _text(obj, "question", origin)
    assert question is not None
    if not question.strip():
        raise DataError(f"{origin}: empty 'question'")
    answer = _text(obj, "answer", origin, required=False)
    context = read_context(obj.get("context", []), origin)
    facts = read_supporting_facts(obj.get("supporting_facts"), origin)
    if answer is None or not answer.strip():
        return None
    raw_id = obj.get("_id", obj.get("id"))
    if raw_id is not None and not isinstance(raw_id, (str, int)):
        raise DataError(f"{origin}: '_id' must be a string")
    task_id = str(raw_id).strip() if raw_id is not None and str(raw_id).strip() else None
    level = _text(obj, "level", origin, required=False)
    qtype = _text(obj, "type", origin, required=False)
    return Task(
        source=SOURCE_NAME,
        task_id=task_id or question_hash_id(question),
        prompt=build_prompt(question),
        reference=answer.strip(),
        metadata={
            "question": question.strip(),
            "type": qtype.strip().lower() if qtype else None,
            "level": level.strip().lower() if level else None,
            "supporting_facts": facts,
            "context": context,
        },
    )
