"""``decontaminate``: n-gram overlap with evaluation sets, reference formats, pinned hashes."""

from __future__ import annotations

import json
import random
import shutil
from pathlib import Path

import pytest
from factories import make_trajectory
from filter_helpers import episode, rewrite, sentence

from trajkit.core.errors import ConfigError
from trajkit.filters.base import KEEP, Drop, ParamError
from trajkit.filters.chain import FilterChain
from trajkit.filters.decontaminate import DecontaminateFilter, words
from trajkit.filters.registry import make_filter

PROBLEM = ("Let f(x) = 3x^2 - 5x + 2. Find the sum of all real values of x for which "
           "f(f(x)) equals zero, and express it as a common fraction.")


def test_words_lowercase_and_break_on_punctuation() -> None:
    assert words("F(x) = 3x^2, said_Bob!") == ["f", "x", "3x", "2", "said", "bob"]


@pytest.fixture
def refs(tmp_path: Path) -> dict[str, Path]:
    jsonl = tmp_path / "math500.jsonl"
    jsonl.write_text("\n".join(json.dumps({"problem": p, "answer": "1"}) for p in [PROBLEM, "short one"]) + "\n")
    as_json = tmp_path / "gsm.json"
    as_json.write_text(json.dumps({"data": [{"question": "A train leaves the station at noon going sixty miles per hour toward a town two hundred miles away"}]}))
    txt = tmp_path / "humaneval.txt"
    txt.write_text("def add(a, b):\n    \"\"\"Return the sum of a and b, both integers given as input to this function.\"\"\"\n")
    custom = tmp_path / "custom.jsonl"
    custom.write_text(json.dumps({"body": PROBLEM}) + "\n")
    return {"jsonl": jsonl, "json": as_json, "txt": txt, "custom": custom}


def with_prompt(prompt: str) -> object:
    traj = make_trajectory(steps=["exception", "solve"])
    return traj.model_copy(update={"task": traj.task.model_copy(update={"prompt": prompt})})


def test_leak_in_the_prompt_names_the_ngram(refs: dict[str, Path]) -> None:
    unit = DecontaminateFilter([str(refs["jsonl"])])
    leaked = with_prompt("Solve this. " + PROBLEM.upper().replace(",", " ;"))  # case/punctuation differ
    decision = unit.decide(leaked)  # type: ignore[arg-type]
    assert isinstance(decision, Drop)
    assert decision.reason == "ngram:prompt:let f x 3x 2 5x 2 find the sum of all real"
    assert unit.decide(with_prompt("Find the sum of all real roots of x^2 = 4.")) == KEEP  # type: ignore[arg-type]


def test_leak_in_assistant_text_and_n(refs: dict[str, Path]) -> None:
    traj = make_trajectory(steps=["exception", "solve"])
    recited = rewrite(traj, 0, f"I remember this one: {' '.join(words(PROBLEM)[4:18])}\n<execute>\nprint(1)\n</execute>")
    decision = DecontaminateFilter([str(refs["jsonl"])]).decide(recited)
    assert isinstance(decision, Drop) and decision.reason.startswith("ngram:assistant:")
    # 12 words of the problem in a row: a 13-gram does not match, a 10-gram does.
    twelve = rewrite(traj, 0, f"{' '.join(words(PROBLEM)[4:16])}\n<execute>\nprint(1)\n</execute>")
    assert DecontaminateFilter([str(refs["jsonl"])]).decide(twelve) == KEEP
    assert isinstance(DecontaminateFilter([str(refs["jsonl"])], n=10).decide(twelve), Drop)


@pytest.mark.parametrize(("kind", "text"), [
    ("json", "We know a train leaves the station at noon going sixty miles per hour toward a town"),
    ("txt", "the docstring says: return the sum of a and b, both integers given as input to this"),
])
def test_json_and_plain_text_references(refs: dict[str, Path], kind: str, text: str) -> None:
    assert isinstance(DecontaminateFilter([str(refs[kind])]).decide(with_prompt(text)), Drop)  # type: ignore[arg-type]


def test_field_selects_the_text(refs: dict[str, Path]) -> None:
    with pytest.raises(ParamError) as info:
        DecontaminateFilter([str(refs["custom"])])  # no problem/question/prompt/text key
    assert info.value.param == "field" and "custom.jsonl:1" in str(info.value)
    unit = DecontaminateFilter([str(refs["custom"])], field="body")
    assert isinstance(unit.decide(with_prompt(PROBLEM)), Drop)  # type: ignore[arg-type]
    assert unit.params["field"] == "body"


def test_params_name_the_reference_files_by_name_and_hash(
    refs: dict[str, Path], reference_store: Path
) -> None:
    """The manifest gets file names and sha256, never the building machine's paths; a copy
    of each file is kept in the reference store, so rebuilding from the params reads the
    same bytes even after the original was edited, and the edited file is a new recipe."""
    unit = DecontaminateFilter([str(refs["jsonl"]), str(refs["txt"])])
    params = unit.params
    assert params["paths"] == [refs["jsonl"].name, refs["txt"].name]
    assert str(refs["jsonl"].parent) not in json.dumps(params)
    assert len(params["sha256"]) == 2 and all(len(h) == 64 for h in params["sha256"])
    for name, digest in zip(params["paths"], params["sha256"], strict=True):
        assert (reference_store / digest / name).is_file()
    assert make_filter("decontaminate", params).params == params  # rebuildable from a manifest
    before = FilterChain([unit]).spec()
    refs["txt"].write_text(refs["txt"].read_text() + "# edited\n")
    edited = DecontaminateFilter([str(refs["jsonl"]), str(refs["txt"])])
    assert FilterChain([edited]).spec() != before
    rebuilt = make_filter("decontaminate", params)  # the store still has the recorded bytes
    assert rebuilt._ngrams == unit._ngrams and rebuilt.params == params


def test_a_recorded_reference_that_is_gone_is_refused_in_one_line(
    refs: dict[str, Path], reference_store: Path
) -> None:
    """On a machine without the store's copy: the recorded file at hand must have the
    recorded content, and a missing one is named with its hash and where to put it."""
    params = DecontaminateFilter([str(refs["jsonl"])]).params
    shutil.rmtree(reference_store)
    with pytest.raises(ConfigError, match=r"no copy with sha256 [0-9a-f]{12}… in the reference store"):
        make_filter("decontaminate", params)
    pinned = {**params, "paths": [str(refs["jsonl"])]}
    assert make_filter("decontaminate", pinned).params == params  # the original is still there
    shutil.rmtree(reference_store)
    refs["jsonl"].write_text(refs["jsonl"].read_text() + '"another evaluation text"\n')
    with pytest.raises(ConfigError, match="changed since it was recorded"):
        make_filter("decontaminate", pinned)


@pytest.mark.parametrize("bad", [{"paths": []}, {"paths": ["/nonexistent.jsonl"]}, {"n": 0}])
def test_bad_params(refs: dict[str, Path], bad: dict) -> None:
    params = {"paths": [str(refs["jsonl"])], **bad}
    with pytest.raises(ParamError):
        DecontaminateFilter(**params)


def test_reference_shorter_than_n_is_an_error(tmp_path: Path) -> None:
    tiny = tmp_path / "tiny.txt"
    tiny.write_text("only five words in here")
    with pytest.raises(ParamError, match="no reference text has 13 words"):
        DecontaminateFilter([str(tiny)])


def test_catches_planted_leaks_in_a_generated_run(tmp_path: Path) -> None:
    rng = random.Random(11)
    evals = [sentence(rng, 30) for _ in range(20)]
    ref = tmp_path / "eval.jsonl"
    ref.write_text("".join(json.dumps({"question": q}) + "\n" for q in evals))
    trajs = [episode(f"t{i}", rng, words=80) for i in range(80)]
    leaky = set(rng.sample(range(80), 8))
    for i in leaky:
        leak = " ".join(rng.choice(evals).split()[5:20])
        if i % 2:
            trajs[i] = trajs[i].model_copy(update={"task": trajs[i].task.model_copy(update={"prompt": f"Q: {leak}?"})})
        else:
            trajs[i] = rewrite(trajs[i], 0, f"{leak}\n{trajs[i].messages[2].content}")
    chain = FilterChain([DecontaminateFilter([str(ref)])])
    kept = {t.task_id for t in chain.run(trajs)}
    assert kept == {f"t{i}" for i in range(80) if i not in leaky}
    assert chain.reports[0].dropped == 8


@pytest.mark.parametrize("name", ["deep.jsonl", "deep.json"])
def test_a_reference_too_deep_to_read_is_a_param_error(tmp_path: Path, name: str) -> None:
    """Python's ``json`` raises ``RecursionError`` on JSON nested ~1000 deep: the reference
    file is unreadable, said in one line, not a traceback."""
    path = tmp_path / name
    path.write_text("[" * 100_000 + "]" * 100_000 + "\n")
    with pytest.raises(ParamError, match=rf"{name}: cannot read \(NestingError: nested more than 200 deep"):
        DecontaminateFilter([str(path)])
