"""Chains from CLI flags (in the order given) and from ``--config chain.toml``."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from trajkit.core.errors import ConfigError
from trajkit.filters.config import chain_from_toml
from trajkit.filters.flags import ChainFlags, chain_from_flags, parse_balance, parse_dedup


def flags(*pairs: tuple[str, object]) -> ChainFlags:
    """ChainFlags from (option, value) occurrences, as the CLI would fill them."""
    f = ChainFlags()
    for option, value in pairs:
        f.order.append(option)
        current = getattr(f, option)
        if isinstance(current, list):
            current.append(value)
        else:
            setattr(f, option, value)
    return f


def names(f: ChainFlags) -> list[str]:
    return chain_from_flags(f).names


def test_no_flags_is_the_default_chain() -> None:
    assert names(ChainFlags()) == ["success", "self-correct"]


def test_order_is_the_order_given() -> None:
    f = flags(("dedup", "exact"), ("keep", "success"), ("min_turns", "3"), ("keep", "self-correct"),
              ("valid_format", True), ("max_turns", "9"), ("no_secrets", True))
    chain = chain_from_flags(f)
    assert chain.names == ["dedup", "success", "turns", "self-correct", "valid-format", "no-secrets"]
    assert chain.spec()[2] == {"name": "turns", "params": {"min_turns": 3, "max_turns": 9}}


def test_default_preset_comes_first_unless_keep_or_preset() -> None:
    assert names(flags(("dedup", "near"))) == ["success", "self-correct", "dedup"]
    assert names(flags(("keep", "all"), ("dedup", "near"))) == ["dedup"]
    assert names(flags(("no_secrets", True), ("preset", "paper"))) == [
        "no-secrets", "success", "turns", "paper-heuristics"]
    # A unit equal to an earlier one (same name and params) is not repeated.
    assert names(flags(("keep", "success"), ("preset", "default"))) == ["success", "self-correct"]


def test_modifier_flags_configure_their_unit() -> None:
    f = flags(("keep", "all"), ("max_tokens", "8192"), ("min_tokens", "10"))
    f.tokenizer = "whitespace"
    assert chain_from_flags(f).spec() == [
        {"name": "tokens", "params": {"min_tokens": 10, "max_tokens": 8192, "tokenizer": "whitespace"}}]


def test_parse_dedup_and_balance() -> None:
    assert parse_dedup("exact") == {"mode": "exact"}
    assert parse_dedup("near") == {"mode": "near"}
    assert parse_dedup("near:0.9") == {"mode": "near", "threshold": 0.9}
    assert parse_balance(["source=100"]) == {"limits": {"*": 100}, "by": ["source"]}
    assert parse_balance(["source:math=0.5,source:apps=20", "seed=3"]) == {
        "limits": {"math": 0.5, "apps": 20}, "by": ["source"], "seed": 3}
    assert parse_balance(["source+level:math/Level 5=7"]) == {
        "limits": {"math/Level 5": 7}, "by": ["source", "level"]}


@pytest.mark.parametrize(("pairs", "flag"), [
    ([("keep", "nope")], "--keep"),
    ([("keep", "all,success")], "--keep"),
    ([("preset", "strict")], "--preset"),
    ([("dedup", "fuzzy")], "--dedup"),
    ([("dedup", "near:x")], "--dedup"),
    ([("dedup", "near:1.5")], "--dedup"),
    ([("min_turns", "three")], "--min-turns"),
    ([("min_turns", "-1")], "--min-turns"),
    ([("min_turns", "5"), ("max_turns", "2")], "--max-turns"),
    ([("max_tokens", "x")], "--max-tokens"),
    ([("max_tokens", "100"), ("tokenizer", "nope_base")], "--tokenizer"),
    ([("tokenizer", "chars4")], "--tokenizer"),
    ([("ngram", "13")], "--ngram"),
    ([("decontaminate", Path("/nonexistent/eval.jsonl"))], "--decontaminate"),
    ([("balance", "source")], "--balance"),
    ([("balance", "source=lots")], "--balance"),
    ([("balance", "source=-3")], "--balance"),
    ([("balance", "source=10,level=5")], "--balance"),
])
def test_bad_flags_are_one_line_naming_the_flag(pairs: list[tuple[str, object]], flag: str) -> None:
    with pytest.raises(ConfigError) as info:
        chain_from_flags(flags(*pairs))
    message = str(info.value)
    assert message.startswith(flag) and "\n" not in message, message


# --- TOML ------------------------------------------------------------------------------------

def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "chain.toml"
    path.write_text(text)
    return path


def test_toml_chain_in_file_order(tmp_path: Path) -> None:
    (tmp_path / "evals").mkdir()
    (tmp_path / "evals" / "e.txt").write_text(" ".join(f"w{i}" for i in range(30)))
    path = write(tmp_path, """
[[filter]]
preset = "default"

[[filter]]
name = "tokens"
max_tokens = 8192
tokenizer = "chars4"

[[filter]]
name = "dedup"
mode = "near"
threshold = 0.9

[[filter]]
name = "decontaminate"
paths = ["evals/e.txt"]
n = 8

[[filter]]
name = "balance"
by = ["source"]
limits = { "*" = 100, math = 0.5 }
""")
    chain = chain_from_toml(path)
    assert chain.names == ["success", "self-correct", "tokens", "dedup", "decontaminate", "balance"]
    # Relative to the chain file (the hash is that file's), recorded by name, not by path.
    e_txt = hashlib.sha256((tmp_path / "evals" / "e.txt").read_bytes()).hexdigest()
    assert chain.spec()[4]["params"]["paths"] == ["e.txt"]
    assert chain.spec()[4]["params"]["sha256"] == [e_txt]
    assert chain.spec()[5]["params"]["limits"] == {"*": 100, "math": 0.5}


@pytest.mark.parametrize(("text", "expected"), [
    ("[[filter]]\nname = 'turns'\nmin_turnz = 3\n", "filter #1 (turns): min_turnz: unknown parameter"),
    ("[[filter]]\nname = 'turns'\nmin_turns = 'three'\n", "filter #1 (turns): min_turns: must be"),
    ("[[filter]]\nname = 'success'\n[[filter]]\nname = 'nope'\n", "filter #2: name: unknown filter 'nope'"),
    ("[[filter]]\nmin_turns = 3\n", "filter #1: missing key 'name'"),
    ("[[filter]]\npreset = 'strict'\n", "filter #1: preset: unknown 'strict'"),
    ("[[filter]]\npreset = 'paper'\nname = 'x'\n", "filter #1: key 'name' cannot go with 'preset'"),
    ("[[filter]]\nname = 'tokens'\nmax_tokens = 9\ntokenizer = 'nope_base'\n", "filter #1 (tokens): tokenizer:"),
    ("[[filter]]\nname = 'decontaminate'\n", "filter #1 (decontaminate): params:"),
    ("filters = 1\n", "unknown top-level key 'filters'"),
    ("", "no [[filter]] tables"),
    ("[[filter]\n", "invalid TOML"),
])
def test_toml_errors_name_the_file_and_key(tmp_path: Path, text: str, expected: str) -> None:
    path = write(tmp_path, text)
    with pytest.raises(ConfigError) as info:
        chain_from_toml(path)
    message = str(info.value)
    assert message.startswith(str(path)) and expected in message and "\n" not in message, message


def test_one_filter_table_in_single_brackets_is_a_chain_of_one(tmp_path: Path) -> None:
    chain = chain_from_toml(write(tmp_path, "[filter]\nname = 'turns'\nmin_turns = 2\n"))
    assert [u.name for u in chain.filters] == ["turns"]


def test_missing_toml_file(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"--config .*no such file"):
        chain_from_toml(tmp_path / "absent.toml")
