"""Concurrent writers never clobber each other: each claims vN by an exclusive rename."""

from __future__ import annotations

import os
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from dataset_helpers import sample
from factories import write_run

from trajkit.dataset import version as version_mod
from trajkit.dataset.verify import verify_version
from trajkit.dataset.version import build_version, list_versions
from trajkit.filters.chain import FilterChain
from trajkit.filters.presets import build_chain, default_chain
from trajkit.filters.success import SuccessFilter


def test_threads_with_different_settings_get_distinct_versions(tmp_path: Path) -> None:
    run = write_run(tmp_path / "run", sample())
    out = tmp_path / "out"
    chains = [FilterChain([SuccessFilter(min_score=s / 10)]) for s in range(8)]
    with ThreadPoolExecutor(max_workers=8) as pool:
        results = list(pool.map(lambda c: build_version([run], "ds", out, c), chains))
    assert sorted(r.version for r in results) == list(range(1, 9))
    assert not any(r.existed for r in results)
    root = out / "datasets" / "ds"
    assert list_versions(root) == list(range(1, 9))
    assert not [p for p in root.iterdir() if p.name.startswith(".tmp-")]
    for r, chain in zip(results, chains, strict=True):
        assert verify_version(r.path) == []
        assert r.manifest.filters[0].params == chain.spec()[0]["params"]
        assert r.manifest.version == r.version and r.path.name == f"v{r.version}"


def test_threads_with_equal_settings_share_one_version(tmp_path: Path) -> None:
    run = write_run(tmp_path / "run", sample())
    out = tmp_path / "out"
    with ThreadPoolExecutor(max_workers=6) as pool:
        results = list(pool.map(lambda _: build_version([run], "ds", out, default_chain()), range(6)))
    assert list_versions(out / "datasets" / "ds") == [1]
    assert {r.version for r in results} == {1}
    assert sum(not r.existed for r in results) == 1


def test_collision_at_rename_retries_with_next_number(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Another writer publishes v1 between our scan and our rename: we take v2."""
    run = write_run(tmp_path / "run", sample())
    out = tmp_path / "out"
    real_rename = os.rename
    raced = False

    def racing_rename(src: object, dst: object) -> None:
        nonlocal raced
        if not raced and Path(str(dst)).name == "v1":
            raced = True
            monkeypatch.setattr(version_mod.os, "rename", real_rename)
            build_version([run], "ds", out, build_chain(["all"]))  # the competitor wins v1
            monkeypatch.setattr(version_mod.os, "rename", racing_rename)
        real_rename(src, dst)

    monkeypatch.setattr(version_mod.os, "rename", racing_rename)
    mine = build_version([run], "ds", out, default_chain())
    assert raced and mine.version == 2 and mine.manifest.version == 2
    assert verify_version(mine.path) == [] and verify_version(out / "datasets" / "ds" / "v1") == []
    assert mine.manifest.records == 2


def test_collision_with_an_equal_version_returns_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    run = write_run(tmp_path / "run", sample())
    out = tmp_path / "out"
    real_rename = os.rename

    def racing_rename(src: object, dst: object) -> None:
        monkeypatch.setattr(version_mod.os, "rename", real_rename)
        build_version([run], "ds", out, default_chain())  # an identical build wins v1
        real_rename(src, dst)

    monkeypatch.setattr(version_mod.os, "rename", racing_rename)
    mine = build_version([run], "ds", out, default_chain())
    assert mine.existed and mine.version == 1
    assert list_versions(out / "datasets" / "ds") == [1]
    assert [p.name for p in (out / "datasets" / "ds").iterdir()] == ["v1"]
