"""``--executor ray`` on a real multi-node Ray cluster on this machine.

``ray.cluster_utils.Cluster`` starts a head and two worker nodes, each its own raylet with
its own CPU, shared by the module (a cluster start costs seconds). Episodes run on real Ray
workers with isolated local sandboxes, talking to the loopback teacher through the real
SDK; one run goes through the CLI (``--ray-address``), one through ``trajkit.acollect``
while a node is killed (its raylet and processes SIGKILLed) and another joins.
"""

from __future__ import annotations

import asyncio
import importlib.util
import io
import json
import logging
import os
import re
import socket
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from loopback_teacher import TrivialPolicy
from rich.console import Console
from support import require, require_isolation

from trajkit.collect.executors.ray_worker import node_label

HAS_RAY = importlib.util.find_spec("ray") is not None
TRAJKIT = [sys.executable, "-m", "trajkit.cli"]


@pytest.fixture(scope="module")
def cluster() -> Iterator[Any]:
    """A head and two worker nodes of one CPU each; this test process is a driver on it."""
    require(HAS_RAY, "ray is not installed (pip install 'trajkit[ray]')")
    require_isolation()
    import ray
    from ray.cluster_utils import Cluster

    nodes = Cluster(initialize_head=True, head_node_args={"num_cpus": 1, "include_dashboard": False})
    try:
        for _ in range(2):
            nodes.add_node(num_cpus=1, wait=False)  # started side by side
        nodes.wait_for_nodes()
        ray.init(address=nodes.address, log_to_driver=False, logging_level=logging.ERROR)
        yield nodes
    finally:
        ray.shutdown()
        nodes.shutdown()


def write_problems(path: Path, n: int) -> Path:
    """Tasks for the ``tasks`` source (exact-match judge: no judge pool to warm per node)."""
    with path.open("w") as fh:
        for i in range(n):
            fh.write(json.dumps({"question": f"What is 1+1? [T{i}]", "answer": "2",
                                 "id": f"t/{i}"}) + "\n")
    return path


def records(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def labels(run: str, nodes: list[Any]) -> set[str]:
    return {node_label(run, node.node_id) for node in nodes}


@pytest.mark.timeout(180)
def test_cli_run_spreads_episodes_over_every_node_and_says_where(cluster, loopback, tmp_path):
    n = 18
    loopback.set_policy(TrivialPolicy(turns=1))
    loopback.set_delay(0.2)
    out = tmp_path / "out"
    proc = subprocess.run(
        [*TRAJKIT, "collect", "tasks", "--source-opt", "id=id", "--teacher", "openai:m", "--data",
         str(write_problems(tmp_path / "p.jsonl", n)), "--out", str(out), "--run", "spread",
         "--concurrency", "6", "--max-turns", "3", "--executor", "ray",
         "--ray-address", cluster.address],
        env={**os.environ, **loopback.env()}, capture_output=True, text=True, timeout=170,
    )
    assert proc.returncode == 0, proc.stderr
    got = records(out / "runs" / "spread" / "trajectories.jsonl")
    assert sorted(r["task_id"] for r in got) == sorted(f"t/{i}" for i in range(n))
    assert all(r["success"] for r in got)
    by_node = Counter(r["node"] for r in got)
    assert set(by_node) == labels("spread", cluster.list_all_nodes()), by_node  # every node
    assert all(re.fullmatch(r"[0-9a-f]{12}", node) for node in by_node)
    manifest = json.loads((out / "runs" / "spread" / "run.json").read_text())
    assert {k: v["episodes"] for k, v in manifest["nodes"].items()} == dict(by_node)
    assert all(v["lost"] == v["replayed"] == 0 for v in manifest["nodes"].values())
    nodes_text = json.dumps(manifest["nodes"]) + json.dumps([r["node"] for r in got])
    for private in (socket.gethostname(), "127.0.0.1", str(tmp_path)):
        assert private not in nodes_text
    assert "3 node(s)" in proc.stderr and "ray: nodes " in proc.stderr, proc.stderr


async def wait_for(
    condition: Any, run: asyncio.Task, what: str, log: io.StringIO, timeout: float = 90
) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert not run.done(), (f"the run ended before {what}", run.result(), log.getvalue())
        assert time.monotonic() < deadline, (f"timed out waiting for {what}", log.getvalue())
        await asyncio.sleep(0.1)


@pytest.mark.timeout(240)
async def test_a_killed_node_is_replayed_elsewhere_and_a_joining_node_is_used(
    cluster, loopback, tmp_path
):
    """Runs after the CLI test: it leaves the cluster with a new node in place of a killed one."""
    import ray

    from trajkit import acollect

    n, run_name = 70, "churn"
    loopback.set_policy(TrivialPolicy(turns=1))
    loopback.set_delay(0.3)  # every node always has episodes in flight
    log = io.StringIO()
    run = asyncio.create_task(acollect(
        "tasks", "openai:m", data=str(write_problems(tmp_path / "p.jsonl", n)),
        source_opt={"id": "id"}, out=tmp_path / "out", run=run_name, concurrency=6,
        max_turns=3, executor="ray", ray_address=cluster.address, ray_workers=3,
        console=Console(file=log, width=400),
    ))
    traj = tmp_path / "out" / "runs" / run_name / "trajectories.jsonl"
    await wait_for(lambda: traj.exists() and len(records(traj)) >= 6, run, "first records", log)

    loopback.set_delay(1.5)  # slow the run down until the new node has played
    driver = ray.get_runtime_context().get_node_id()
    victim = next(node for node in cluster.worker_nodes if node.node_id != driver)
    lost = node_label(run_name, victim.node_id)
    await asyncio.to_thread(cluster.remove_node, victim, False)  # SIGKILL raylet and workers
    await wait_for(lambda: f"worker on node {lost} lost" in log.getvalue(), run, "the loss", log)
    # the race the placement must win: Ray still calls the dead node alive for a while
    alive = {node["NodeID"]: node["Alive"] for node in ray.nodes()}
    assert alive[victim.node_id], "Ray already knew the node was dead: the test proves less"
    await wait_for(lambda: "(replacing a lost worker)" in log.getvalue(), run, "a replacement", log)
    joined = cluster.add_node(num_cpus=1, wait=False)  # (only from the main thread)
    fresh = node_label(run_name, joined.node_id)
    replaced = re.compile(r"ray: worker started on node \w+ \(replacing a lost worker\)")
    await wait_for(lambda: any(r["node"] == fresh for r in records(traj))
                   and replaced.search(log.getvalue()) is not None,
                   run, "an episode on the new node, and the replacement at work", log)
    loopback.set_delay(0)
    result = await asyncio.wait_for(run, 120)

    assert result.status == "completed"
    got = records(traj)
    assert sorted(r["task_id"] for r in got) == sorted(f"t/{i}" for i in range(n))  # once each
    assert all(r["success"] for r in got)
    nodes = result.manifest.nodes
    assert {k: v.episodes for k, v in nodes.items()} == dict(Counter(r["node"] for r in got))
    assert nodes[lost].lost >= 1 and nodes[lost].episodes >= 1, nodes  # it had played, and had
    # episodes in flight when it died: each was played again elsewhere, exactly once
    assert sum(c.replayed for c in nodes.values()) == sum(c.lost for c in nodes.values())
    assert nodes[lost].replayed == 0 and nodes[fresh].episodes >= 1
    started = re.findall(r"ray: starting a worker on node (\w+) \(([^)]+)\)", log.getvalue())
    replacements = [node for node, why in started if why == "replacing a lost worker"]
    assert replacements and lost not in replacements, log.getvalue()
    assert replacements[0] in labels(run_name, [cluster.head_node, *cluster.worker_nodes])
    assert (fresh, "new node") in started, log.getvalue()


# -- the placement rules and the tally, without a cluster


def ray_node(node_id: str, alive: bool = True, cpus: float = 1.0) -> dict[str, Any]:
    """One entry of ``ray.nodes()``, as Ray reports it."""
    return {"NodeID": node_id, "Alive": alive, "Resources": {"CPU": cpus} if cpus else {}}


def test_a_node_that_just_lost_a_worker_gets_no_replacement_while_ray_calls_it_alive():
    from trajkit.collect.executors.ray_membership import Membership

    now = [0.0]
    m = Membership("head", trust_after_s=60, clock=lambda: now[0])
    assert m.update([ray_node("head"), ray_node("a"), ray_node("b"), ray_node("gpu", cpus=0)]) == set()
    assert m.placeable() == ["head", "a", "b"]  # a node without a CPU gets no worker
    m.worker_lost("b")  # its raylet was killed; Ray has not noticed yet
    m.update([ray_node("head"), ray_node("a"), ray_node("b")])
    assert "b" not in m.placeable()
    assert m.choose({"head": 1, "a": 1}) in {"head", "a"}
    assert m.choose({"head": 2, "a": 1}) == "a"  # the fewest workers
    now[0] = 59.0
    assert "b" not in m.placeable()
    now[0] = 61.0  # Ray kept it alive far longer than it takes to notice a dead node
    assert m.placeable() == ["head", "a", "b"]


def test_a_dead_or_vanished_node_is_lost_for_the_rest_of_the_run():
    from trajkit.collect.executors.ray_membership import Membership

    m = Membership("head")
    m.update([ray_node("head"), ray_node("a"), ray_node("b"), ray_node("old", alive=False)])
    m.worker_lost("a")
    assert m.update([ray_node("head"), ray_node("a", alive=False)]) == {"a", "b"}
    assert m.lost >= {"a", "b", "old"} and not m.suspect
    m.update([ray_node("head"), ray_node("a"), ray_node("b"), ray_node("c")])  # stale, then new
    assert m.placeable() == ["head", "c"]
    m.refuse("c")  # a worker there could not isolate its sandboxes
    m.update([ray_node("head"), ray_node("c")])
    assert m.placeable() == ["head"]


def test_the_drivers_node_is_trusted_after_a_worker_loss_but_not_after_a_failed_start():
    from trajkit.collect.executors.ray_membership import Membership

    m = Membership("head")
    m.update([ray_node("head")])
    m.worker_lost("head")  # e.g. its process was OOM-killed: the node itself is alive
    assert m.placeable() == ["head"]
    m.worker_lost("head", spawn=True)  # a worker cannot start there: do not retry at once
    assert m.placeable() == []


def test_the_node_tally_feeds_run_json_and_the_progress_line():
    from trajkit.collect.node_tally import SHOWN_NODES, NodeTally
    from trajkit.collect.progress import RunProgress
    from trajkit.schemas import RunCounts, Usage
    from trajkit.schemas.manifests import NodeCounts

    class Record:  # what the tally reads of a trajectory
        def __init__(self, node: str | None) -> None:
            self.node = node

    tally = NodeTally()
    tally.carry_over({"aaa": NodeCounts(episodes=5, lost=2, replayed=0),
                      "bbb": NodeCounts(episodes=3, lost=0, replayed=2)})
    for node in ["aaa", "bbb", "bbb", None]:
        tally.played(Record(node))  # type: ignore[arg-type]
    tally.lost("bbb")
    tally.replayed("aaa")
    counts = tally.counts()
    assert list(counts) == ["bbb", "aaa"]  # busiest first; episodes come from the records
    assert counts["aaa"] == NodeCounts(episodes=1, lost=2, replayed=1)
    assert counts["bbb"] == NodeCounts(episodes=2, lost=1, replayed=2)
    assert tally.summary() == "nodes bbb 2, aaa 1; lost 3, replayed 3"
    for i in range(SHOWN_NODES + 2):
        tally.played(Record(f"n{i}"))  # type: ignore[arg-type]
    assert tally.summary().split("; ")[0].endswith(", +4 more")
    assert NodeTally().summary() == ""

    out = io.StringIO()
    progress = RunProgress(Console(file=out, width=300), "r", 10, 0, log_every_s=0)
    with progress:
        progress.update(RunCounts(done=4, succeeded=4), Usage(), None, NodeTally())
        progress.update(RunCounts(done=5, succeeded=5), Usage(), None, tally)
    lines = out.getvalue().splitlines()
    assert "nodes" not in lines[0]  # in-process: no node named
    assert lines[1].endswith("; lost 3, replayed 3") and "nodes bbb 2" in lines[1]


def test_node_ids_name_no_machine_and_differ_per_run():
    ids = {node_label(run, node) for run in ("a", "b") for node in ("n1", "n2")}
    assert len(ids) == 4 and all(re.fullmatch(r"[0-9a-f]{12}", i) for i in ids)
    assert node_label("a", "n1") == node_label("a", "n1")


def test_run_json_counts_nodes_from_the_records_and_keeps_losses_across_a_resume(tmp_path):
    from factories import make_trajectory

    from trajkit.collect.run_store import RunStore

    store = RunStore(tmp_path / "r", "r", {"source": "math", "teacher": "openai:m"}, describe=False)
    for i, node in enumerate(["aaa", "aaa", "bbb", None]):
        store.append(make_trajectory(f"t{i}", run="r", node=node))
    store.nodes.lost("bbb")  # what the Ray executor reports
    store.nodes.replayed("aaa")
    store.write_manifest("interrupted", 6)
    store.close()

    resumed = RunStore(tmp_path / "r", "r", {"source": "math", "teacher": "openai:m"},
                       describe=False)
    try:
        resumed.append(make_trajectory("t4", run="r", node="bbb"))
        manifest = resumed.write_manifest("completed", 6)
    finally:
        resumed.close()
    assert {k: v.model_dump() for k, v in manifest.nodes.items()} == {
        "aaa": {"episodes": 2, "lost": 0, "replayed": 1},
        "bbb": {"episodes": 2, "lost": 1, "replayed": 0},
    }
    on_disk = json.loads((tmp_path / "r" / "run.json").read_text())["nodes"]
    assert on_disk["bbb"] == {"episodes": 2, "lost": 1, "replayed": 0}


def test_the_drivers_docker_engine_is_not_forced_on_every_node() -> None:
    """A driver's DOCKER_HOST (a loopback port, a socket) names another engine, or none, on
    another node: workers use their own node's engine; teacher keys still travel."""
    from trajkit.collect.executors.ray_pool import forwarded_env

    env = {"OPENAI_API_KEY": "k", "ANTHROPIC_BASE_URL": "u", "DOCKER_HOST": "tcp://127.0.0.1:2376",
           "DOCKER_CERT_PATH": "/home/me/.docker", "HOME": "/home/me"}
    assert forwarded_env(env) == {"OPENAI_API_KEY": "k", "ANTHROPIC_BASE_URL": "u"}
