"""Headless Chromium for the report's browser tests: the ``browser`` fixture and ``Watched``.

Needs Debian's ``chromium`` (``apt-get install -y chromium``) and Playwright for Python (the
``dev`` extra); without them the tests skip, and fail under ``TRAJKIT_REQUIRE_ALL=1`` (CI).
Screenshots go to ``out/test-artifacts/view/``.
"""

from __future__ import annotations

import importlib.util
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from support import require

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
ARTIFACTS = Path(__file__).resolve().parents[2] / "out" / "test-artifacts" / "view"


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    require(Path(CHROMIUM).is_file(), "chromium is not installed (apt-get install -y chromium)")
    require(
        importlib.util.find_spec("playwright") is not None,
        "playwright is not installed (pip install playwright)",
    )
    from playwright.sync_api import sync_playwright

    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as pw:
        b = pw.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        yield b
        b.close()


class Watched:
    """A page whose script errors and non-``file:`` requests are recorded, to assert none."""

    def __init__(self, browser: Any, **context: Any) -> None:
        self.context = browser.new_context(viewport={"width": 1300, "height": 900}, **context)
        self.page = self.context.new_page()
        self.errors: list[str] = []
        self.remote: list[str] = []
        self.page.on("pageerror", lambda e: self.errors.append(str(e)))
        self.page.on("console", lambda m: m.type == "error" and self.errors.append(m.text))
        self.page.on("request", lambda r: r.url.startswith("file:") or self.remote.append(r.url))

    def check(self) -> None:
        assert self.errors == [] and self.remote == []
        self.context.close()


