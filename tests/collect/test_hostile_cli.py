"""Hostile cells through the real CLI: ``trajkit collect webshop`` with a replay teacher.

One run, four WebShop goals: a control episode that shops normally, and three whose turns
print and send everything issue 19 lists (lone surrogates printed, raised, passed to
``search``/``click`` and echoed back by WebShop's invalid-action message and verdict details;
forged protocol frames; a 100 MB tool argument; threads calling tools and printing after
their cell; an exception whose ``__str__`` raises). The collector must finish the run
(exit 0, ``completed``), record the control episode as it always did, and leave only valid
UTF-8 JSON behind.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

from support import FIND_CHANNEL, require_isolation

from trajkit.sources.base import LoadOptions
from trajkit.sources.webshop import SAMPLE_DIR, WebShopSource

SAMPLES = ("items_shuffle_sample.json", "items_ins_v2_sample.json", "items_human_ins.json",
           "reviews.json")
CONTROL, SURROGATES, PROTOCOL, THREADS = (
    "i need a low sugar granola",
    "hyaluronic acid and spf 30",
    "navy blue color, size 10",
    "high speed 4k hdmi cable",
)


def X(code: str) -> str:
    return f"Acting.\n<execute>\n{code}\n</execute>"


# The turns are ASCII text: every lone surrogate is made by the cell, from a \\u escape.
TURNS = {
    CONTROL: [
        X('print(search("low sugar granola"))'),
        X('print(click("B0TKF00009"))\nprint(click("Buy Now"))'),
    ],
    SURROGATES: [
        X("import sys\nprint('out \\ud800')\nsys.stderr.write('err \\udfff\\n')\n"
          "print(search('face moisturizer \\ud800'))"),
        X("print(click('B0TKB00007 \\udc80'))"),  # invalid: the target is echoed back
        X("class R:\n    def __repr__(self):\n        return 'repr \\ud800'\n"
          "print(repr(R()))\nraise SystemExit('exit \\ud800')"),
        X("print(click('B0TKB00007'))\nprint(click('Buy Now'))"),
    ],
    PROTOCOL: [
        X(FIND_CHANNEL + "frame = {'op': 'result', 'id': 1, 'output': '\\ud800', 'truncated': 10**400,"
          " 'error': None, 'duration': float('nan'), 'ended': False}\n"
          "os.write(ch.wfd, json.dumps(frame).encode() + b'\\n')\nimport time\ntime.sleep(1)"),
        X("search('x' * 100_000_000)"),
        X("class E(Exception):\n    def __str__(self):\n        raise RuntimeError('no')\n"
          "raise E()"),
        X('print(search("men lightweight non slip running shoes"))\nprint(click("B0TKS00001"))\n'
          'print(click("navy blue"))\nprint(click("10"))\nprint(click("Buy Now"))'),
    ],
    THREADS: [
        X("import threading, time\n"
          "def shop():\n    for _ in range(4):\n        search('hdmi \\ud800')\n"
          "        time.sleep(0.04)\n"
          "def late():\n    time.sleep(0.15)\n    print('late \\udfff')\n"
          "threads = [threading.Thread(target=shop) for _ in range(3)]\n"
          "threads.append(threading.Thread(target=late))\n"
          "for t in threads:\n    t.start()\nprint('started')"),
        X("import time\nv = 1\ntime.sleep(0.1)\nprint(v)"),
        X("v += 1\ntime.sleep(0.1)\nprint(v)"),
        X("v += 1\nfor t in threads:\n    t.join()\nprint(v)"),
        X('print(search("4k hdmi cable"))\nprint(click("B0TKE00008"))\nprint(click("Buy Now"))'),
    ],
}


def _data(tmp_path: Path) -> Path:
    """The sample catalogue with only the four goals these episodes play."""
    folder = tmp_path / "data"
    folder.mkdir()
    objs = {name: json.loads((SAMPLE_DIR / name).read_text()) for name in SAMPLES}
    human = {
        asin: kept for asin, items in objs["items_human_ins.json"].items()
        if (kept := [i for i in items if any(m in i["instruction"] for m in TURNS)])
    }
    objs["items_human_ins.json"] = human
    for name, obj in objs.items():
        (folder / name).write_text(json.dumps(obj))
    return folder


def _replay(tmp_path: Path, data: Path) -> Path:
    tasks = WebShopSource().load(LoadOptions(data=str(data)))
    assert len(tasks) == 4
    lines = []
    for marker, turns in TURNS.items():
        task = next(t for t in tasks if marker in t.prompt)
        lines.append(json.dumps({"task_id": task.task_id, "marker": marker, "turns": turns}))
    path = tmp_path / "replay.jsonl"
    path.write_text("\n".join(lines) + "\n")
    return path


def _strict_json(path: Path) -> list[Any]:
    """Every JSON value in ``path`` (a .json file or JSON lines), read as strict UTF-8, with
    no lone surrogate hiding in an escape (it must encode again)."""
    text = path.read_bytes().decode("utf-8")  # raises on invalid UTF-8
    values = [json.loads(text)] if path.suffix == ".json" else [
        json.loads(line) for line in text.splitlines() if line.strip()
    ]
    for value in values:
        json.dumps(value, ensure_ascii=False).encode("utf-8")
    return values


def test_hostile_cells_through_the_cli_leave_a_completed_run_of_valid_json(
    tmp_path: Path,
) -> None:
    require_isolation()
    data = _data(tmp_path)
    replay = _replay(tmp_path, data)
    markers = {json.loads(line)["task_id"]: json.loads(line)["marker"]
               for line in replay.read_text().splitlines()}
    out = tmp_path / "out"
    env = {k: v for k, v in os.environ.items() if not k.endswith("_API_KEY")}
    proc = subprocess.run(
        [sys.executable, "-m", "trajkit.cli", "collect", "webshop", "--teacher", f"replay:{replay}",
         "--data", str(data), "--out", str(out), "--run", "hostile", "--max-turns", "6",
         "--exec-timeout", "5", "--concurrency", "4"],
        env=env, capture_output=True, text=True, timeout=300,
    )
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-4000:]

    run_dir = out / "runs" / "hostile"
    run = _strict_json(run_dir / "run.json")[0]
    assert run["status"] == "completed", run
    files = [p for p in out.rglob("*") if p.is_file() and p.suffix in (".json", ".jsonl")]
    assert run_dir / "trajectories.jsonl" in files
    for path in files:
        _strict_json(path)

    records = {markers[r["task_id"]]: r for r in _strict_json(run_dir / "trajectories.jsonl")}
    assert set(records) == set(TURNS)
    control = records[CONTROL]
    assert control["termination"] == "solved" and control["success"] and control["score"] == 1.0

    # Lone surrogates came back as U+FFFD: in observations, in WebShop's invalid-action
    # message (the click target echoed) and in the verdict's list of actions.
    hostile = records[SURROGATES]
    observations = [s["observation"]["text"] for s in hostile["steps"] if s.get("observation")]
    assert sum(o.count("\ufffd") for o in observations) >= 5, observations
    assert any("B0TKB00007 \ufffd" in o for o in observations), observations
    actions = hostile["score_details"]["actions"]
    assert "search[face moisturizer \ufffd]" in actions and "click[B0TKB00007 \ufffd]" in actions
    assert hostile["termination"] == "env_ended"  # bought the retinol cream (score 0.25)

    protocol = records[PROTOCOL]
    first, second, third = (s["observation"] for s in protocol["steps"][:3])
    assert "corrupt protocol message" in first["text"] and "restarted" in first["text"]
    assert first["duration_s"] < 60 and first["truncated_chars"] == 0
    assert second["error"]["type"] == "ValueError" and "1,048,576" in second["text"]
    assert third["error"]["type"] == "E" and "Traceback" in third["text"]
    assert protocol["termination"] == "solved"

    # Threads kept calling ``search`` across cells: every call was served, no cell was lost
    # to a stolen frame, and the thread's late print arrived (labelled if between cells).
    threads = records[THREADS]
    outputs = [s["observation"]["text"] for s in threads["steps"]]
    assert all("restarted" not in o for o in outputs), outputs
    assert [o.rstrip().splitlines()[-1] for o in outputs[1:4]] == ["1", "2", "3"], outputs
    assert any("late \ufffd" in o for o in outputs), outputs
    assert threads["score_details"]["actions"].count("search[hdmi \ufffd]") == 12
    assert threads["termination"] in ("solved", "env_ended")
