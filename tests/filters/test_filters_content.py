"""Single-pass content units: turns, tokens, valid-format, no-secrets, paper-heuristics."""

from __future__ import annotations

import hashlib

import pytest
from factories import make_step, make_trajectory
from filter_helpers import rewrite

from trajkit.core import tokenizers
from trajkit.filters.base import KEEP, Drop, Filter, ParamError
from trajkit.filters.no_secrets import PATTERNS, NoSecretsFilter, find_secret
from trajkit.filters.paper import PaperHeuristicsFilter
from trajkit.filters.registry import make_filter
from trajkit.filters.tokens import TokensFilter
from trajkit.filters.turns import TurnsFilter
from trajkit.filters.valid_format import ValidFormatFilter
from trajkit.schemas import Message


def test_units_satisfy_protocol() -> None:
    for unit in (TurnsFilter(1), TokensFilter(tokenizer="chars4"), ValidFormatFilter(),
                 NoSecretsFilter(), PaperHeuristicsFilter()):
        assert isinstance(unit, Filter) and isinstance(unit.params, dict)


# --- turns -----------------------------------------------------------------------------------

def test_turns_bounds_and_reasons() -> None:
    two, four = make_trajectory(steps=["exception", "solve"]), make_trajectory(steps=["ok"] * 3 + ["solve"])
    unit = TurnsFilter(min_turns=3, max_turns=3)
    assert unit.decide(two) == Drop("too_few_turns")
    assert unit.decide(four) == Drop("too_many_turns")
    assert unit.decide(make_trajectory(steps=["ok", "ok", "solve"])) == KEEP
    assert TurnsFilter().decide(four) == KEEP  # unbounded
    assert TurnsFilter(max_turns=5).params == {"max_turns": 5}


@pytest.mark.parametrize(("kw", "param"), [({"min_turns": -1}, "min_turns"), ({"max_turns": "3"}, "max_turns"),
                                            ({"min_turns": 4, "max_turns": 2}, "max_turns")])
def test_turns_rejects_bad_params(kw: dict, param: str) -> None:
    with pytest.raises(ParamError) as info:
        TurnsFilter(**kw)
    assert info.value.param == param


# --- tokens ----------------------------------------------------------------------------------

def test_tokens_counts_every_message_with_the_named_tokenizer() -> None:
    traj = make_trajectory(steps=["exception", "solve"])
    words = sum(len(m.content.split()) for m in traj.messages)
    chars = sum((len(m.content) + 3) // 4 for m in traj.messages)
    assert TokensFilter(tokenizer="whitespace").count(traj) == words
    assert TokensFilter(tokenizer="chars4").count(traj) == chars
    unit = TokensFilter(min_tokens=words + 1, tokenizer="whitespace")
    assert unit.decide(traj) == Drop("too_few_tokens")
    assert TokensFilter(max_tokens=words - 1, tokenizer="whitespace").decide(traj) == Drop("too_many_tokens")
    assert TokensFilter(min_tokens=words, max_tokens=words, tokenizer="whitespace").decide(traj) == KEEP
    assert unit.params == {"min_tokens": words + 1, "tokenizer": "whitespace"}


def test_unloadable_tokenizer_is_one_line_naming_the_fix(monkeypatch: pytest.MonkeyPatch) -> None:
    import tiktoken

    def offline(name: str) -> None:
        raise ConnectionError("Max retries exceeded\nwith url: /encodings/o200k_base.tiktoken")

    tokenizers.load_tokenizer.cache_clear()
    monkeypatch.setattr(tiktoken, "get_encoding", offline)
    try:
        with pytest.raises(ParamError) as info:
            TokensFilter(max_tokens=10)  # default tokenizer: o200k_base
    finally:
        tokenizers.load_tokenizer.cache_clear()
    assert info.value.param == "tokenizer"
    message = str(info.value)
    assert "\n" not in message and "'o200k_base'" in message and "ConnectionError" in message
    assert "chars4" in message and "TIKTOKEN_CACHE_DIR" in message


@pytest.mark.parametrize("name", ["nope_base", "hf:", ""])
def test_unknown_tokenizer_names(name: str) -> None:
    with pytest.raises(ParamError) as info:
        TokensFilter(max_tokens=10, tokenizer=name)
    assert info.value.param == "tokenizer" and "\n" not in str(info.value)


def test_hf_tokenizer_from_a_local_file(tmp_path) -> None:  # type: ignore[no-untyped-def]
    tk = pytest.importorskip("tokenizers")
    tok = tk.Tokenizer(tk.models.WordLevel({"[UNK]": 0, "solve": 1}, unk_token="[UNK]"))
    tok.pre_tokenizer = tk.pre_tokenizers.Whitespace()
    tok.save(str(tmp_path / "tokenizer.json"))
    unit = TokensFilter(tokenizer=f"hf:{tmp_path / 'tokenizer.json'}")
    assert unit.count(make_trajectory()) > 0
    # Recorded by name and content, not by this machine's path, and rebuilt from that record
    # after the file is gone (the reference store keeps its bytes).
    digest = hashlib.sha256((tmp_path / "tokenizer.json").read_bytes()).hexdigest()
    assert unit.params["tokenizer"] == f"hf:tokenizer.json@sha256:{digest}"
    (tmp_path / "tokenizer.json").unlink()
    tokenizers.load_tokenizer.cache_clear()
    rebuilt = make_filter("tokens", unit.params)
    assert rebuilt.params == unit.params and rebuilt.count(make_trajectory()) == unit.count(make_trajectory())


# --- valid-format ----------------------------------------------------------------------------

def test_valid_format_keeps_loop_shaped_episodes() -> None:
    for steps in (["exception", "ok", "solve"], ["wrong", "solve"], ["solve"], ["ok", "ok", "solve"]):
        assert ValidFormatFilter().decide(make_trajectory(steps=steps)) == KEEP, steps


def test_valid_format_reasons() -> None:
    unit = ValidFormatFilter()
    good = make_trajectory(steps=["exception", "solve"])
    no_system = good.model_copy(update={"messages": good.messages[1:]})
    assert unit.decide(no_system) == Drop("bad_preamble")
    assert unit.decide(good.model_copy(update={"messages": good.messages[:2]})) == Drop("no_assistant_turn")
    doubled = [*good.messages[:3], good.messages[2], *good.messages[3:]]
    assert unit.decide(good.model_copy(update={"messages": doubled})) == Drop("roles_not_alternating")
    trailing = [*good.messages, Message(role="user", content="Observation: done")]
    assert unit.decide(good.model_copy(update={"messages": trailing})) == Drop("ends_with_user")
    # The messages are re-parsed (stored steps are not trusted): the turn's text decides.
    assert unit.decide(rewrite(good, 0, "I am thinking.")) == Drop("invalid_action")
    assert unit.decide(rewrite(good, 0, "<execute>   </execute>")) == Drop("invalid_action")
    # Out of turns after an execute: the loop records no final observation.
    cut = make_trajectory(steps=["ok", "exception"], success=False)
    cut = cut.model_copy(update={"messages": cut.messages[:-1]})
    assert unit.decide(cut) == Drop("last_turn_not_final")


def test_valid_format_accepts_a_winning_execute() -> None:
    # A source that judges executed code: the accepted step is an execute, not a <solution>.
    won = make_step(1, "ok").model_copy(update={"verdict": make_step(1, "solve").verdict})
    traj = make_trajectory(steps=["exception", won], success=True)
    traj = traj.model_copy(update={"messages": traj.messages[:-1]})  # solved: no observation
    assert ValidFormatFilter().decide(traj) == KEEP
    lost = traj.model_copy(update={"success": False})
    assert ValidFormatFilter().decide(lost) == Drop("last_turn_not_final")


# --- no-secrets ------------------------------------------------------------------------------

SECRETS = {
    "openai-key": "sk-" + "Ab3dEf6hIj9kLm2nOp5qRs8tUv1wXy4z" + "AbCdEfGhIjKlMnOp",
    "openai-project-key": "sk-proj-" + "a1B2c3D4e5F6g7H8i9J0" * 3,
    "anthropic-key": "sk-ant-api03-" + "x9Y_z8W-" * 12,
    "huggingface-token": "hf_" + "aBcDeFgHiJkLmNoPqRsTuVwXyZaBcDeFgH",
    "aws-access-key-id": "AKIAIOSFODNN7EXAMPLE",
    "github-token": "ghp_" + "A1b2C3d4E5f6G7h8I9j0K1l2M3n4O5p6Q7r8",
    "github-pat": "github_pat_11ABCDEFG0123456789_abcdefghijklmnopqrstuvwxyz",
    "slack-token": "xoxb-123456789012-1234567890123-AbCdEfGhIjKlMnOpQrStUvWx",
    "google-api-key": "AIza" + "SyA1bC2dE3fG4hI5jK6lM7nO8pQ9rS0tU1v",
    "jwt": "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.dozjgNryP4J3jVmNHl0w5N_XgL0n3I9PlFUP0THsR8U",
    "private-key": "-----BEGIN RSA PRIVATE KEY-----\nMIIEowIBAAKCAQEA\n-----END RSA PRIVATE KEY-----",
}


def test_every_pattern_has_a_sample() -> None:
    assert {name for name, _ in PATTERNS} - {"stripe-key"} == set(SECRETS)


@pytest.mark.parametrize("kind", sorted(SECRETS))
@pytest.mark.parametrize("where", ["observation", "assistant", "answer", "metadata"])
def test_no_secrets_finds_each_pattern_anywhere_in_the_record(kind: str, where: str) -> None:
    secret = SECRETS[kind]
    traj = make_trajectory(steps=["exception", "solve"])
    if where == "observation":
        msgs = [*traj.messages]
        msgs[3] = Message(role="user", content=f"Observation: key loaded\n{secret}\nok")
        traj = traj.model_copy(update={"messages": msgs})
    elif where == "assistant":
        traj = rewrite(traj, 0, f"<execute>\nKEY = '{secret}'\n</execute>")
    elif where == "answer":
        traj = traj.model_copy(update={"answer": secret})
    else:
        traj = traj.model_copy(update={"task": traj.task.model_copy(update={"metadata": {"env": secret}})})
    decision = NoSecretsFilter().decide(traj)
    assert decision == Drop(f"secret:{kind}")
    assert secret[:12] not in decision.reason  # the reason never carries the secret


@pytest.mark.parametrize("text", [
    # Near-misses are assembled at run time so repository secret scanners don't flag them.
    "a risk-averse-strategy-for-everyone-involved", "task-" + "1234567890abcdefghijklmnop",
    "hf_dataset_loader_function_name", "ghp_short", "use eyJ in docs", "AKIA-style ids",
    "sk-short", "the disk-" + "AbcdefghijklmnopqrstuvwXyz1234 label",
])
def test_no_secrets_ignores_lookalikes(text: str) -> None:
    assert find_secret(text) is None
    traj = rewrite(make_trajectory(steps=["exception", "solve"]), 0, f"<execute>\nprint('{text}')\n</execute>")
    assert NoSecretsFilter().decide(traj) == KEEP


# --- paper-heuristics ------------------------------------------------------------------------

def test_paper_heuristics_reasons() -> None:
    unit = PaperHeuristicsFilter()
    assert unit.decide(make_trajectory(steps=["invalid", "invalid", "solve"])) == Drop("all_nonfinal_invalid")
    assert unit.decide(make_trajectory(steps=["exception", "syntax", "solve"])) == Drop("only_solutions_or_errors")
    assert unit.decide(make_trajectory(steps=["wrong", "solve"])) == Drop("only_solutions_or_errors")
    assert unit.decide(make_trajectory(steps=["exception", "ok", "solve"])) == KEEP
    assert unit.decide(make_trajectory(steps=["invalid", "exception", "solve"])) == KEEP  # as stated
    assert unit.decide(make_trajectory(steps=["ok", "solve"])) == KEEP
