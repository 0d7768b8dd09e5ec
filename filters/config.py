"""``--config chain.toml``: a chain written down, for chains too long for flags or kept in git.

Format: an array of ``[[filter]]`` tables, applied in file order. Each has ``name`` (a
registered unit) and that unit's params as keys, exactly as the manifest records them; or
``preset = "default" | "paper"`` to insert a preset's units::

    [[filter]]
    preset = "default"

    [[filter]]
    name = "tokens"
    max_tokens = 8192
    tokenizer = "chars4"

    [[filter]]
    name = "decontaminate"
    paths = ["evals/math500.jsonl"]   # relative to this file
    n = 13

Relative ``paths`` resolve against the file's directory, so a config works from any cwd.
Every error names the file, the table (``filter #3``, counting from 1) and the key.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from trajkit.core.config_files import read_toml
from trajkit.core.errors import ConfigError
from trajkit.filters.base import Filter, ParamError
from trajkit.filters.chain import FilterChain
from trajkit.filters.presets import PRESETS
from trajkit.filters.registry import build_unit, known_filters


def _entry_units(path: Path, k: int, entry: Any) -> list[Filter]:
    where = f"{path}: filter #{k}"
    if not isinstance(entry, dict):
        raise ConfigError(f"{where}: expected a [[filter]] table")
    if "preset" in entry:
        extra = sorted(set(entry) - {"preset"})
        if extra:
            raise ConfigError(f"{where}: key {extra[0]!r} cannot go with 'preset'")
        preset = entry["preset"]
        if preset not in PRESETS:
            raise ConfigError(f"{where}: preset: unknown {preset!r} (choose from: {', '.join(PRESETS)})")
        return PRESETS[preset]()
    name = entry.get("name")
    if name is None:
        raise ConfigError(f"{where}: missing key 'name' (or 'preset')")
    if not isinstance(name, str):
        raise ConfigError(f"{where}: name: expected a filter name in quotes, got {name!r}")
    if name not in known_filters():
        raise ConfigError(f"{where}: name: unknown filter {name!r} (known: {', '.join(known_filters())})")
    params = {key: value for key, value in entry.items() if key != "name"}
    if name == "decontaminate" and isinstance(params.get("paths"), list):
        params["paths"] = [str(path.parent / p) if isinstance(p, str) else p for p in params["paths"]]
    try:
        return [build_unit(name, params)]
    except ParamError as exc:
        raise ConfigError(f"{where} ({name}): {exc.param}: {exc.message}") from None


def chain_from_toml(path: Path) -> FilterChain:
    """The chain described by ``path`` (see the module docstring)."""
    path = Path(path)
    data = read_toml(path)
    extra = sorted(set(data) - {"filter"})
    if extra:
        raise ConfigError(f"{path}: unknown top-level key {extra[0]!r} (expected [[filter]] tables)")
    return chain_from_entries(path, data.get("filter"))


def chain_from_entries(path: Path, entries: Any) -> FilterChain:
    """The chain of already-parsed ``[[filter]]`` tables from ``path`` (also job files); a
    single ``[filter]`` table is a chain of one, as a single ``[export]`` is one export."""
    if isinstance(entries, dict):
        entries = [entries]
    if not isinstance(entries, list) or not entries:
        raise ConfigError(f"{path}: no [[filter]] tables (an empty chain is --keep all)")
    units: list[Filter] = []
    for k, entry in enumerate(entries, 1):
        units += _entry_units(path, k, entry)
    return FilterChain(units)
