"""WebShop end to end, as a user runs it: ``trajkit collect webshop`` (real CLI process, real
OpenAI SDK over HTTP to the loopback teacher, isolated sandbox whose ``search``/``click``
calls come back to the host's environment) with scripted teachers that win, buy the wrong
item, make an invalid click and recover, and loop until the step cap; episodes run
concurrently and each record must show its own session's actions. Then the same against a
loopback WebShop *server* (``backend=server``), and the hand-written demo replayed."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from loopback_teacher import ScriptedPolicy
from support import require_isolation
from webshop_helpers import EXEC_RE, play_cells, read_records
from webshop_server import WebShopServer

from trajkit.sources.base import LoadOptions
from trajkit.sources.webshop import DEMO_REPLAY, SAMPLE_DIR, WebShopSource, load_catalogue

TRAJKIT = [sys.executable, "-m", "trajkit.cli"]
SAMPLE = {name: json.loads((SAMPLE_DIR / name).read_text()) for name in (
    "items_shuffle_sample.json", "items_ins_v2_sample.json", "items_human_ins.json", "reviews.json")}


def X(code: str) -> str:
    return f"Acting.\n<execute>\n{code}\n</execute>"


SCRIPTS = {
    "i need a low sugar granola": [  # wins
        X('print(search("low sugar granola"))'),
        X('print(click("B0TKF00009"))\nprint(click("Buy Now"))\nprint("never printed")'),
    ],
    "hyaluronic acid and spf 30": [  # buys the wrong product: the retinol night cream
        X('print(search("face moisturizer"))\nprint(click("B0TKB00007"))\nprint(click("Buy Now"))'),
    ],
    "navy blue color, size 10": [  # an invalid click, then recovery
        X('print(search("men lightweight non slip running shoes"))\nprint(click("B0TKS00001"))\n'
          'print(click("navy"))'),
        X('print(click("navy blue"))\nprint(click("10"))\nprint(click("Buy Now"))'),
    ],
    "high speed 4k hdmi cable": [  # loops until the environment's step cap ends the episode
        X('n = 0\nwhile True:\n    n += 1\n    search(f"hdmi cable {n}")'),
    ],
}
EXPECT = {  # instruction marker -> (termination, success, score, asin bought)
    "i need a low sugar granola": ("solved", True, 1.0, "B0TKF00009"),
    "hyaluronic acid and spf 30": ("env_ended", False, 0.25, "B0TKB00007"),
    "navy blue color, size 10": ("solved", True, 1.0, "B0TKS00001"),
    "high speed 4k hdmi cable": ("env_ended", False, 0.0, None),
}


def trajkit(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess:
    return subprocess.run([*TRAJKIT, *args], env=env, capture_output=True, text=True, timeout=240)


def data_folder(tmp_path: Path, markers: list[str]) -> Path:
    """The sample catalogue with only the goals whose instruction contains a marker."""
    folder = tmp_path / "data"
    folder.mkdir()
    human = {
        asin: kept for asin, items in SAMPLE["items_human_ins.json"].items()
        if (kept := [i for i in items if any(m in i["instruction"] for m in markers)])
    }
    for name, obj in SAMPLE.items():
        (folder / name).write_text(json.dumps(human if name == "items_human_ins.json" else obj))
    return folder


def marker_of(record: dict[str, Any]) -> str:
    return next(m for m in SCRIPTS if m in record["task"]["prompt"])


def test_collect_webshop_end_to_end(loopback, tmp_path: Path) -> None:
    require_isolation()
    loopback.set_policy(ScriptedPolicy(SCRIPTS))
    loopback.set_delay(0.05)  # keep the four episodes in flight together
    env = {**os.environ, **loopback.env()}
    out = tmp_path / "out"
    proc = trajkit(
        "collect", "webshop", "--teacher", "openai:m", "--data", str(data_folder(tmp_path, list(SCRIPTS))),
        "--out", str(out), "--run", "ws", "--concurrency", "4", "--source-opt", "max_steps=6", env=env,
    )
    assert proc.returncode == 0, proc.stderr
    records = {marker_of(r): r for r in read_records(out / "runs" / "ws" / "trajectories.jsonl")}
    assert set(records) == set(SCRIPTS)
    for marker, (termination, success, score, asin) in EXPECT.items():
        rec = records[marker]
        assert (rec["termination"], rec["success"]) == (termination, success), marker
        assert rec["score"] == pytest.approx(score), marker
        assert rec["score_details"].get("asin") == asin, marker
        assert "search(query: str) -> str" in rec["messages"][0]["content"]
        assert "click(target: str) -> str" in rec["messages"][0]["content"]

    win = records["i need a low sugar granola"]
    last = win["steps"][-1]["observation"]["text"]
    assert "Your score (min 0.0, max 1.0) [SEP] 1.0" in last and "never printed" not in last
    assert win["score_details"]["actions"] == ["search[low sugar granola]", "click[B0TKF00009]", "click[Buy Now]"]

    wrong = records["hyaluronic acid and spf 30"]
    # night cream: same category (r_type 1), none of the 3 attributes, price 21.99 under the
    # limit: (0 + 0 + 1) / (3 + 0 + 1) = 0.25
    assert wrong["score_details"]["r_att"] == 0.0 and wrong["score_details"]["goal_asin"] == "B0TKB00006"

    fixed = records["navy blue color, size 10"]
    first = fixed["steps"][0]["observation"]
    assert first["error"]["type"] == "RuntimeError" and "click[navy] is not a valid action" in first["text"]
    assert "Clickable on this page: Back to Search, < Prev, black, navy blue" in first["text"]
    assert fixed["self_corrected"] and fixed["score_details"]["options"] == {"color": "navy blue", "size": "10"}
    # the invalid click was a step of this episode, and only of this one
    assert fixed["score_details"]["actions"] == [
        "search[men lightweight non slip running shoes]", "click[B0TKS00001]", "click[navy]",
        "click[navy blue]", "click[10]", "click[Buy Now]"]

    loop = records["high speed 4k hdmi cable"]
    assert loop["score_details"] == {"reason": "step cap", "steps": 6, "max_steps": 6}
    assert "Step limit reached: 6 actions" in loop["steps"][0]["observation"]["text"]
    assert len(loop["steps"]) == 1  # the cap ended the episode inside the first cell

    proc = trajkit("filter", str(out / "runs" / "ws"), "--dataset", "ws", "--out", str(out), env=env)
    assert proc.returncode == 0, proc.stderr
    kept = read_records(out / "datasets" / "ws" / "v1" / "data.jsonl")
    assert [marker_of(r) for r in kept] == ["navy blue color, size 10"]


def test_collect_against_a_webshop_server(loopback, tmp_path: Path) -> None:
    require_isolation()
    catalogue = load_catalogue(SAMPLE_DIR)
    scripts = {catalogue.goals[0].instruction_text: SCRIPTS["i need a low sugar granola"],
               catalogue.goals[14].instruction_text: SCRIPTS["navy blue color, size 10"]}
    loopback.set_policy(ScriptedPolicy(scripts))
    env = {**os.environ, **loopback.env()}
    out = tmp_path / "out"
    with WebShopServer(catalogue) as server:
        proc = trajkit(
            "collect", "webshop", "--teacher", "openai:m", "--out", str(out), "--run", "srv",
            "--source-opt", "backend=server", "--source-opt", f"url={server.url}",
            "--source-opt", "goals=0:15", "--limit", "2", "--seed", "18", env=env,
        )
        hits = server.hits
    assert proc.returncode == 0, proc.stderr
    records = {r["task_id"]: r for r in read_records(out / "runs" / "srv" / "trajectories.jsonl")}
    assert set(records) == {"fixed_0", "fixed_14"}  # --limit 2 --seed 18 of goals 0-14
    for rec in records.values():
        assert rec["termination"] == "solved" and rec["score"] == 1.0
    assert records["fixed_14"]["self_corrected"]
    assert any(h.startswith("/done/") and "fixed_14" in h for h in hits)
    sessions = {h.split("/")[2] for h in hits if h.startswith("/search_results/")}
    assert len(sessions) == 2  # one server session per episode


def test_demo_cells_run_as_intended() -> None:
    """Each demo episode, cell by cell in-process: errors only where intended, and the
    purchase it was written for."""
    source = WebShopSource()
    episodes = read_records(DEMO_REPLAY)
    assert [e["task_id"] for e in episodes] == [t.task_id for t in source.load(LoadOptions())]
    corrected = 0
    for ep in episodes:
        assert set(ep) == {"task_id", "note", "turns"} and "not produced by a model" in ep["note"]
        assert all(len(EXEC_RE.findall(t)) == 1 and not t.lstrip().startswith("<") for t in ep["turns"])
        kinds, outcome = play_cells(source, ep["task_id"], ep["turns"])
        assert outcome is not None, ep["task_id"]
        assert kinds[-1] is None and len(kinds) == len(ep["turns"]), ep["task_id"]
        corrected += any(kinds) and outcome.success
        if ep["task_id"] == "fixed_7":  # bought without choosing the colour: (2 + 0 + 1) / 4
            assert outcome.score == 0.75 and not outcome.success
        else:
            assert outcome.success, ep["task_id"]
    assert corrected >= 3


def test_demo_replays_through_the_cli(tmp_path: Path) -> None:
    require_isolation()
    env = {k: v for k, v in os.environ.items() if not k.endswith("_API_KEY")}
    out = tmp_path / "out"
    proc = trajkit("collect", "webshop", "--teacher", f"replay:{DEMO_REPLAY}", "--out", str(out),
                   "--run", "demo", env=env)
    assert proc.returncode == 0, proc.stderr
    records = read_records(out / "runs" / "demo" / "trajectories.jsonl")
    assert len(records) == 30 and sum(r["success"] for r in records) == 29
    assert {r["termination"] for r in records} == {"solved", "env_ended"}
    corrected = sorted(r["task_id"] for r in records if r["self_corrected"])
    assert corrected == ["fixed_1", "fixed_10", "fixed_14", "fixed_19"]
