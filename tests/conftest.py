"""Shared fixtures. Append new fixtures below; keep each one small."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

# Test helpers live in tests/fixtures/ as plain modules (importable as `loopback_teacher`),
# independent of whether tests/ is a package.
sys.path.insert(0, str(Path(__file__).parent / "fixtures"))

from loopback_teacher import LoopbackServer


@pytest.fixture
def loopback(monkeypatch: pytest.MonkeyPatch) -> Iterator[LoopbackServer]:
    """A live loopback LLM server (OpenAI + Anthropic protocols) on 127.0.0.1.

    The SDKs' env vars point at it for the test's duration (OPENAI_BASE_URL/_API_KEY,
    ANTHROPIC_BASE_URL/_API_KEY), so a teacher built from the environment can never reach a
    real vendor. Knobs: ``set_policy``, ``fail_next``, ``set_delay``; log: ``requests``.
    """
    for var in (
        "ANTHROPIC_AUTH_TOKEN",
        "OPENAI_CUSTOM_HEADERS",
        "ANTHROPIC_CUSTOM_HEADERS",
        "OPENAI_ORG_ID",
        "OPENAI_PROJECT_ID",
        "OPENAI_ADMIN_KEY",
    ):
        monkeypatch.delenv(var, raising=False)
    with LoopbackServer() as server:
        for var, value in server.env().items():
            monkeypatch.setenv(var, value)
        yield server


@pytest.fixture(autouse=True)
def reference_store(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Each test's own reference store (``core.reference_files``): filters that pin files
    (decontamination sets, ``hf:`` tokenizer files) keep copies there, never in the user's
    cache. CLI subprocesses inherit it through the environment."""
    store = tmp_path_factory.mktemp("reference-store")
    monkeypatch.setenv("TRAJKIT_REFERENCE_STORE", str(store))
    return store
