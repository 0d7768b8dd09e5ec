"""``publish`` against a loopback Hub: the real ``huggingface_hub`` client over HTTP, asserting the
files, commit message and tag the server received, and that re-publishing changes nothing."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import datasets
import huggingface_hub.constants
import pytest
from factories import make_trajectory, write_run
from hub_server import TOKEN, HubServer
from typer.testing import CliRunner

from trajkit.cli.app import app
from trajkit.core.errors import ConfigError
from trajkit.dataset import export_hf
from trajkit.dataset.export_version import export_version
from trajkit.dataset.publish import PublishError, publish_version
from trajkit.dataset.version import build_version
from trajkit.filters.presets import build_chain, default_chain

runner = CliRunner()


@pytest.fixture
def hub(monkeypatch: pytest.MonkeyPatch) -> Iterator[HubServer]:
    """The fake Hub, with HF_ENDPOINT/HF_TOKEN pointing at it (never the real Hub)."""
    monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_DISABLE_XET", True)  # LFS protocol
    with HubServer() as server:
        monkeypatch.setenv("HF_ENDPOINT", server.url)
        monkeypatch.setenv("HF_TOKEN", TOKEN)
        yield server


@pytest.fixture
def versions(tmp_path: Path) -> tuple[Path, Path]:
    trajs = [make_trajectory(f"t{i}", ["exception", "solve"]) for i in range(6)]
    run = write_run(tmp_path / "runs" / "r", trajs)
    v1 = build_version([run], "mix", tmp_path / "out", build_chain(["all"])).path
    v2 = build_version([run], "mix", tmp_path / "out", default_chain()).path
    return v1, v2


def test_publish_uploads_one_commit_tagged_with_the_version(
    hub: HubServer, versions: tuple[Path, Path], tmp_path: Path
) -> None:
    v1, _ = versions
    res = publish_version(v1, "org/mix")
    assert res.committed and not res.already and res.tag == "v1"
    repo = hub.repos["org/mix"]
    assert not repo.private
    commit = repo.head
    assert commit.message == "trajkit: mix v1 (6 records)" and "fingerprint " in commit.description
    assert repo.tags == {"v1": commit.oid} and res.commit == commit.oid
    assert "mix v1 (fingerprint" in repo.tag_messages["v1"]
    # The files are exactly the hf export (the card names the repo in its load snippet).
    local = tmp_path / "local"
    export_version(v1, "hf", local, repo_id="org/mix")
    expected = {p.relative_to(local).as_posix(): p.read_bytes() for p in local.rglob("*") if p.is_file()}
    assert {k: v for k, v in commit.files.items() if k != ".gitattributes"} == expected
    assert commit.lfs == {"data/train-00000-of-00001.parquet"}  # parquet via LFS, the rest inline
    assert 'load_dataset("org/mix", split="train")' in commit.files["README.md"].decode()
    posts = hub.paths("POST")
    assert posts[0] == "/api/repos/create"
    assert "/datasets/org/mix.git/info/lfs/objects/batch" in posts
    assert posts[-2:] == ["/api/datasets/org/mix/commit/main", f"/api/datasets/org/mix/tag/{commit.oid}"]
    assert hub.paths("PUT") == [f"/lfs-upload/{_lfs_oid(hub)}"]
    # What was published loads with `datasets`.
    pulled = tmp_path / "pulled"
    for path, data in commit.files.items():
        (pulled / path).parent.mkdir(parents=True, exist_ok=True)
        (pulled / path).write_bytes(data)
    assert datasets.load_dataset(str(pulled), cache_dir=str(tmp_path / "cache"))["train"].num_rows == 6


def _lfs_oid(hub: HubServer) -> str:
    [oid] = hub.lfs
    return oid


def test_republishing_is_a_no_op(hub: HubServer, versions: tuple[Path, Path]) -> None:
    v1, _ = versions
    first = publish_version(v1, "org/mix")
    calls = len(hub.calls)
    again = publish_version(v1, "org/mix")
    assert again.already and again.commit == first.commit and not again.committed
    after = [c.path for c in hub.calls[calls:]]
    assert after == ["/api/repos/create", "/api/datasets/org/mix/refs", "/api/datasets/org/mix/revision/v1"]
    assert len(hub.repos["org/mix"].commits) == 2  # the initial commit + v1


def test_next_version_replaces_stale_shards(hub: HubServer, versions: tuple[Path, Path], monkeypatch: pytest.MonkeyPatch) -> None:
    v1, v2 = versions
    default = export_hf.DEFAULT_MAX_SHARD_BYTES
    monkeypatch.setattr(export_hf, "DEFAULT_MAX_SHARD_BYTES", 4_000)
    publish_version(v1, "org/mix")
    first = hub.repos["org/mix"].head
    assert len([p for p in first.files if p.startswith("data/")]) > 1
    monkeypatch.setattr(export_hf, "DEFAULT_MAX_SHARD_BYTES", default)
    res = publish_version(v2, "org/mix")
    repo = hub.repos["org/mix"]
    assert res.deleted == sorted(p for p in first.files if p.startswith("data/"))
    assert sorted(p for p in repo.head.files if p.startswith("data/")) == ["data/train-00000-of-00001.parquet"]
    assert repo.head.message == "trajkit: mix v2 (6 records)"
    assert repo.tags == {"v1": first.oid, "v2": repo.head.oid}


def test_a_tag_is_never_moved_to_other_data(hub: HubServer, versions: tuple[Path, Path], tmp_path: Path) -> None:
    v1, _ = versions
    publish_version(v1, "org/mix")
    other_run = write_run(tmp_path / "runs" / "o", [make_trajectory("z", ["exception", "solve"], run="o")])
    other = build_version([other_run], "other", tmp_path / "out", default_chain()).path
    with pytest.raises(PublishError, match="tag v1 already exists with different files"):
        publish_version(other, "org/mix")
    assert len(hub.repos["org/mix"].commits) == 2


def test_a_publish_that_died_before_tagging_is_finished(hub: HubServer, versions: tuple[Path, Path]) -> None:
    v1, _ = versions
    publish_version(v1, "org/mix")
    repo = hub.repos["org/mix"]
    repo.tags.clear()
    res = publish_version(v1, "org/mix")
    assert not res.committed and res.commit == repo.head.oid
    assert repo.tags == {"v1": repo.head.oid} and len(repo.commits) == 2


def test_private_repos_and_rejected_tokens(hub: HubServer, versions: tuple[Path, Path]) -> None:
    v1, _ = versions
    publish_version(v1, "org/secret", private=True)
    assert hub.repos["org/secret"].private
    with pytest.raises(PublishError, match=r"org/mix: create repo failed: HTTP 401.*check HF_TOKEN"):
        publish_version(v1, "org/mix", token="hf_wrong")
    with pytest.raises(ConfigError, match="--repo-id"):
        publish_version(v1, "no-slash")
    with socket.socket() as sock:  # a port nobody listens on any more
        sock.bind(("127.0.0.1", 0))
        dead = f"http://127.0.0.1:{sock.getsockname()[1]}"
    with pytest.raises(PublishError, match="org/mix: create repo failed: ConnectError"):
        publish_version(v1, "org/mix", endpoint=dead)


def test_cli_publish(hub: HubServer, versions: tuple[Path, Path], monkeypatch: pytest.MonkeyPatch) -> None:
    v1, _ = versions
    dry = runner.invoke(app, ["publish", str(v1), "--repo-id", "org/mix", "--dry-run"])
    assert dry.exit_code == 0, dry.output
    assert "dry run: would publish mix v1 to org/mix@v1 (commit 'trajkit: mix v1 (6 records)')" in dry.stdout
    assert "data/train-00000-of-00001.parquet" in dry.stdout and "README.md" in dry.stdout
    assert hub.calls == []

    done = runner.invoke(app, ["publish", str(v1), "--repo-id", "org/mix", "--license", "mit"])
    assert done.exit_code == 0, done.output
    assert done.stdout.startswith("published mix v1 to org/mix@v1: 3 file(s) committed")
    assert "license: mit" in hub.repos["org/mix"].head.files["README.md"].decode()
    again = runner.invoke(app, ["publish", str(v1), "--repo-id", "org/mix", "--license", "mit"])
    assert again.exit_code == 0 and "already holds mix v1" in again.stdout and "nothing uploaded" in again.stdout

    monkeypatch.delenv("HF_TOKEN")
    missing = runner.invoke(app, ["publish", str(v1), "--repo-id", "org/mix"])
    assert missing.exit_code == 2
    assert missing.stderr.strip() == "error: HF_TOKEN is not set: export a Hugging Face token with write access"
    monkeypatch.setenv("HF_TOKEN", "hf_wrong")
    refused = runner.invoke(app, ["publish", str(v1), "--repo-id", "org/mix"])
    assert refused.exit_code == 2 and len(refused.stderr.strip().splitlines()) == 1
    assert "HTTP 401" in refused.stderr


def test_sigterm_stops_a_stalled_publish_and_leaves_no_scratch_export(
    versions: tuple[Path, Path], tmp_path: Path
) -> None:
    """A scheduler stops a publish stuck on the network with SIGTERM: it killed the process at
    once, leaving the whole Parquet export in the temp directory. Now SIGTERM is Ctrl-C for
    every command: exit 130, the command's line, the scratch export removed."""
    stall = socket.socket()
    stall.bind(("127.0.0.1", 0))
    stall.listen(8)  # accepts connections, never answers
    scratch = tmp_path / "tmp"
    scratch.mkdir()
    env = {**os.environ, "HF_ENDPOINT": f"http://127.0.0.1:{stall.getsockname()[1]}",
           "HF_TOKEN": TOKEN, "TMPDIR": str(scratch), "HF_HUB_DISABLE_XET": "1"}
    proc = subprocess.Popen(
        [sys.executable, "-m", "trajkit.cli", "publish", str(versions[0]), "--repo-id", "org/mix"],
        env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )
    try:
        stall.settimeout(120)
        conn, _ = stall.accept()  # the export is built; the client waits for the Hub
        assert list(scratch.glob("trajkit-publish-*")), "the scratch export should exist now"
        proc.send_signal(signal.SIGTERM)
        _, err = proc.communicate(timeout=60)
        conn.close()
    finally:
        stall.close()
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 130, err
    assert err.strip().splitlines() == ["interrupted: nothing half-written is left; re-run the same command"]
    assert list(scratch.iterdir()) == []
