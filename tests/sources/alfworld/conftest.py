"""Every ALFWorld test gets its own opening-observation cache and no ``$ALFWORLD_DATA``."""

from __future__ import annotations

from pathlib import Path

import pytest


@pytest.fixture(autouse=True)
def private_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Opening observations are cached under ``$XDG_CACHE_HOME``: a fresh one per test (CLI
    subprocesses inherit it), so no test reads another's cache or the user's."""
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg-cache"))
    monkeypatch.delenv("ALFWORLD_DATA", raising=False)
    return tmp_path / "xdg-cache" / "trajkit" / "alfworld" / "openings"
