"""CLI-style chain names and the registry that rebuilds units from a manifest."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from trajkit.core.errors import ConfigError
from trajkit.filters.chain import FilterChain
from trajkit.filters.presets import build_chain, default_chain
from trajkit.filters.registry import chain_from_reports, known_filters, make_filter
from trajkit.filters.success import SuccessFilter


def test_default_chain_is_success_then_self_correct() -> None:
    assert default_chain().names == ["success", "self-correct"]


@pytest.mark.parametrize(
    ("names", "expected"),
    [
        (["success"], ["success"]),
        (["self-correct"], ["self-correct"]),
        (["self-correct", "success"], ["self-correct", "success"]),
        (["success,self-correct"], ["success", "self-correct"]),
        (["success", "success"], ["success"]),
        ([], ["success", "self-correct"]),
        (["all"], []),
    ],
)
def test_build_chain(names: list[str], expected: list[str]) -> None:
    assert build_chain(names).names == expected


@pytest.mark.parametrize("names", [["nope"], ["success", "bogus"], ["all", "success"]])
def test_build_chain_rejects_bad_names(names: list[str]) -> None:
    with pytest.raises(ConfigError) as info:
        build_chain(names)
    message = str(info.value)
    assert "--keep" in message and "\n" not in message


def test_unknown_name_lists_choices() -> None:
    with pytest.raises(ConfigError, match=r"choose from: all, balance, .*self-correct, success"):
        build_chain(["nope"])


def example_params(name: str, tmp_path: Path) -> dict[str, Any]:
    """Non-default params for every registered unit (offline: no tokenizer download)."""
    ref = tmp_path / "eval.txt"
    ref.write_text(" ".join(f"w{i}" for i in range(20)))
    return {
        "success": {"min_score": 0.5}, "self-correct": {}, "turns": {"min_turns": 2, "max_turns": 7},
        "tokens": {"max_tokens": 8192, "tokenizer": "chars4"}, "valid-format": {},
        "no-secrets": {}, "paper-heuristics": {}, "dedup": {"mode": "near", "threshold": 0.9},
        "decontaminate": {"paths": [str(ref)], "n": 8}, "balance": {"limits": {"*": 5}, "by": ["source"]},
    }[name]


def test_registry_round_trips_every_unit(tmp_path: Path) -> None:
    for name in known_filters():
        unit = make_filter(name, example_params(name, tmp_path))
        rebuilt = make_filter(name, unit.params)
        assert rebuilt.name == name and rebuilt.params == unit.params
        assert json.loads(json.dumps(unit.params)) == unit.params  # manifest-safe
    assert make_filter("success", {"min_score": 0.25}).params == {"min_score": 0.25}


def test_registry_errors_are_config_errors() -> None:
    with pytest.raises(ConfigError, match="unknown filter"):
        make_filter("nope", {})
    with pytest.raises(ConfigError, match="bad params"):
        make_filter("success", {"threshold": 1})


def test_chain_from_reports_rebuilds_in_order() -> None:
    chain = FilterChain([SuccessFilter(min_score=0.5), make_filter("self-correct")])
    rebuilt = chain_from_reports(chain.reports)
    assert rebuilt.spec() == chain.spec()
