"""Names, never paths: how published files (manifest counts, CHANGELOG, dataset card, exports)
and reports refer to teachers and to files the collecting machine used.

Datasets are published; a path of the machine that collected or filtered them names its user
and its layout, and identifies nothing for anyone else. So wherever a teacher or a parameter
could hold such a path, it is shown by its last component instead: a ``replay:PATH`` teacher
recorded before replays were named by file and content hash, a model served from
``/models/llama-3``, a decontamination reference file, an ``hf:/…/tokenizer.json``. One
definition keeps the manifest's counts, the changelog, the card, the exports and the HTML
report naming the same teacher the same way.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import PurePosixPath, PureWindowsPath
from typing import Any

from trajkit.core import registry


def is_absolute(path: str) -> bool:
    """An absolute POSIX or Windows path (a drive letter or a UNC share)."""
    return PurePosixPath(path).is_absolute() or PureWindowsPath(path).is_absolute()


def last_component(path: str) -> str:
    """The file or folder name ``path`` ends in (``path`` itself if it has none)."""
    name = PureWindowsPath(path).name if "\\" in path else PurePosixPath(path).name
    return name or path


@lru_cache(maxsize=1024)
def teacher_name(provider: str, model: str) -> str:
    """``provider:model`` as the user would name the teacher, never a path of the machine
    that collected it: a provider whose model is a file (``model_is_path``, e.g. ``replay``)
    is named by the file's name, and so is any model given as an absolute path (a vLLM server
    serving ``/models/llama-3``). A provider that is not installed here is judged by the
    path rule alone. Idempotent, so a name already shown this way stays as it is (a replay's
    ``file.jsonl@sha256:…`` has no directory to drop)."""
    try:
        is_path = bool(getattr(registry.get("teacher", provider), "model_is_path", False))
    except Exception:
        is_path = False
    if is_path or is_absolute(model):
        model = last_component(model)
    return f"{provider}:{model}"


def teacher_key_name(key: str) -> str:
    """A ``provider:model`` count key (as older manifests stored it) named by
    :func:`teacher_name`."""
    provider, sep, model = key.partition(":")
    return teacher_name(provider, model) if sep else key


def public_value(value: Any) -> Any:
    """``value`` with every absolute path shown by its last component, also behind a
    ``scheme:`` prefix (``hf:/home/a/tok.json`` → ``hf:tok.json``), inside lists and dicts.

    For display only (filter parameters in a changelog or card): the manifest keeps the
    values a rebuild needs.
    """
    if isinstance(value, str):
        if is_absolute(value):
            return last_component(value)
        prefix, sep, rest = value.partition(":")
        if sep and rest and prefix.isidentifier() and is_absolute(rest):
            return f"{prefix}:{last_component(rest)}"
        return value
    if isinstance(value, list):
        return [public_value(v) for v in value]
    if isinstance(value, tuple):
        return tuple(public_value(v) for v in value)
    if isinstance(value, dict):
        return {k: public_value(v) for k, v in value.items()}
    return value
