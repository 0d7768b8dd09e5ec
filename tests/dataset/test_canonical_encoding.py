"""The fast canonical encoder writes exactly the reference encoder's bytes, or refuses alike.

Published versions are verified byte for byte, so ``canonical_bytes`` may never differ from
``json.dumps(sort_keys, compact, ensure_ascii=False, allow_nan=False)``: every code point,
key order, floats of every magnitude, integers past 64 bits, non-finite numbers.
"""

from __future__ import annotations

import math
import random
import re
import struct
from pathlib import Path
from typing import Any, get_args, get_origin

import pytest
from factories import make_trajectory, trajectory_line, write_jsonl
from pydantic import BaseModel

from trajkit.core.errors import DataError
from trajkit.dataset import canonical
from trajkit.dataset.canonical import canonical_bytes, canonical_line, reference_bytes
from trajkit.dataset.version import build_version
from trajkit.filters.presets import build_chain
from trajkit.schemas import Trajectory


def same(obj: Any) -> None:
    assert canonical_bytes(obj) == reference_bytes(obj)


def test_every_code_point_in_values_and_keys() -> None:
    chars = [chr(c) for c in range(0x110000) if not 0xD800 <= c < 0xE000]
    same({"text": "".join(chars)})
    rng = random.Random(0)
    keys = {"".join(rng.choice(chars) for _ in range(rng.randint(0, 3))): i for i in range(3000)}
    keys.update({c: 0 for c in chars[:256]})  # every escape and the ASCII order
    same({"k": keys, "list": [keys]})


def _floats(rng: random.Random) -> list[float]:
    picked = [0.0, -0.0, 1.0, 1e-4, -1e-4, 9.999999999999999e-05, 1e-5, 5e-324, 1e15, 1e16,
              1.7976931348623157e308, 2.2250738585072014e-308, 0.1, 1 / 3]
    for exponent in range(-324, 309):
        for mantissa in (1.0, 1.5, 9.999999999999999, 1.2345678901234567):
            try:
                picked.append(mantissa * 10.0**exponent)
            except OverflowError:
                pass
    while len(picked) < 40_000:
        value = struct.unpack("<d", rng.getrandbits(64).to_bytes(8, "little"))[0]
        if math.isfinite(value):
            picked.append(value)
    return [f for f in picked if math.isfinite(f)]


def test_floats_of_every_magnitude() -> None:
    floats = _floats(random.Random(1))
    for start in range(0, len(floats), 50):  # small records: a tiny float sends only its own
        same({"x": floats[start : start + 50], "n": {"deep": [floats[start]]}})


def test_integers_past_64_bits_and_non_string_keys() -> None:
    same({"big": [2**63 - 1, 2**63, 2**64 - 1, 2**64, -(2**63), -(2**63) - 1, 10**40]})
    same({"d": {1: "a", 2: "b"}})
    same([True, False, None, [], {}, [[]], ""])


@pytest.mark.parametrize("bad", [math.nan, math.inf, -math.inf])
def test_non_finite_numbers_are_refused(bad: float) -> None:
    for obj in ({"x": bad}, {"a": [1, {"b": bad}]}):
        with pytest.raises(ValueError):
            reference_bytes(obj)
        with pytest.raises(ValueError, match="not JSON compliant"):
            canonical_bytes(obj)


def test_lone_surrogate_is_refused_like_the_reference() -> None:
    with pytest.raises(ValueError):
        reference_bytes({"s": "\ud800"})
    with pytest.raises(ValueError):
        canonical_bytes({"s": "\ud800"})


def test_a_plain_record_takes_the_fast_path(monkeypatch: pytest.MonkeyPatch) -> None:
    """The speed is the point: a typical record must not fall back to the reference encoder."""
    traj = make_trajectory("t1", ["exception", "ok", "solve"])
    expected = reference_bytes(traj.model_dump(mode="json"))

    def refuse(obj: Any) -> bytes:
        raise AssertionError("fell back to the reference encoder")

    monkeypatch.setattr(canonical, "reference_bytes", refuse)
    assert canonical_line(traj) == expected


def test_a_disagreeing_orjson_is_not_used(monkeypatch: pytest.MonkeyPatch) -> None:
    """Another orjson release writing floats differently must not change a dataset's bytes."""
    assert canonical._orjson_agrees()
    real = canonical.orjson.dumps

    def drifted(obj: Any, option: int = 0) -> bytes:
        return real(obj, option=option).replace(b"1e+16", b"1e16")

    monkeypatch.setattr(canonical.orjson, "dumps", drifted)
    canonical._orjson_agrees.cache_clear()
    try:
        assert not canonical._orjson_agrees()
        same({"x": [1e16, 2.0]})
    finally:
        monkeypatch.undo()
        canonical._orjson_agrees.cache_clear()


def _line_with_metadata(task_id: str, success: bool, value: str) -> str:
    line = trajectory_line(make_trajectory(task_id, success=success))
    return line.replace('"metadata":{}', f'"metadata":{{"weight":{value}}}', 1)


@pytest.mark.parametrize("value", ["NaN", "-Infinity", "1e400", "[1, {\"x\": NaN}]"])
@pytest.mark.parametrize("success", [True, False])
def test_non_finite_in_a_free_form_field_is_refused_with_file_and_line(
    tmp_path: Path, value: str, success: bool
) -> None:
    """Kept or dropped alike: the run holds something that is not JSON."""
    ok = trajectory_line(make_trajectory("t0"))
    path = write_jsonl(tmp_path / "t.jsonl", [], tail=ok + _line_with_metadata("t1", success, value))
    assert '"weight":' + value in path.read_text()
    with pytest.raises(DataError, match=rf"{re.escape(str(path))}:2: not valid JSON \(a non-finite "
                       r"number at task\.metadata\.weight"):
        build_version([path], "ds", tmp_path / "out", build_chain(["success"]))
    assert not list((tmp_path / "out").rglob("data.jsonl"))


def _free_form_paths(model: type[BaseModel], prefix: str = "") -> set[str]:
    """Every ``dict[str, Any]`` field reachable from ``model`` (list items as ``*``)."""
    found = set()
    for name, field in model.model_fields.items():
        where = f"{prefix}{name}"
        annotation = field.annotation
        if get_origin(annotation) is dict and get_args(annotation)[1] is Any:
            found.add(where)
        for inner in _models_in(annotation):
            star = ".*" if get_origin(annotation) is list else ""
            found |= _free_form_paths(inner, f"{where}{star}.")
    return found


def _models_in(annotation: Any) -> list[type[BaseModel]]:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return [annotation]
    return [m for arg in get_args(annotation) for m in _models_in(arg)]


def test_free_form_fields_lists_every_free_form_dict() -> None:
    """A new ``dict[str, Any]`` field must join ``free_form_fields`` or NaN slips through."""
    traj = make_trajectory("t1", ["exception", "wrong", "solve"])
    listed = {re.sub(r"\.\d+\.", ".*.", where) for where, _ in traj.free_form_fields()}
    assert listed == _free_form_paths(Trajectory)


@pytest.mark.parametrize("value", ['"nan"', '"-inf"', "1e400", "NaN"])
def test_non_finite_typed_field_is_refused_with_file_and_line(tmp_path: Path, value: str) -> None:
    line = trajectory_line(make_trajectory("t1")).replace('"score":1.0', f'"score":{value}', 1)
    path = write_jsonl(tmp_path / "t.jsonl", [], tail=line)
    with pytest.raises(DataError, match=rf"{re.escape(str(path))}:1: "):
        build_version([path], "ds", tmp_path / "out", build_chain(["all"]))


def test_a_trajectory_cannot_be_built_with_a_non_finite_score() -> None:
    with pytest.raises(ValueError, match="finite"):
        make_trajectory("t1", score=math.nan)
    assert isinstance(make_trajectory("t1", score=0.5), Trajectory)
