"""Bounding sandbox output into observation text."""

from __future__ import annotations

import pytest

from trajkit.collect.observation import (
    NO_OUTPUT,
    RESTARTED,
    bound_text,
    cell_observation,
    truncation_marker,
)
from trajkit.core.sandbox import CellResult
from trajkit.schemas import ErrorInfo, ErrorKind


def test_short_text_is_untouched() -> None:
    assert bound_text("hello", 2000) == ("hello", 0)
    exact = "x" * 2000
    assert bound_text(exact, 2000) == (exact, 0)


@pytest.mark.parametrize("n", [2001, 5000, 1_000_000, 3_000_000])
def test_long_text_keeps_head_and_tail_within_limit(n: int) -> None:
    text = "H" * 10 + "m" * (n - 20) + "T" * 10
    out, cut = bound_text(text, 2000)
    assert len(out) <= 2000
    assert out.startswith("H" * 10) and out.endswith("T" * 10)
    assert truncation_marker(cut) in out
    assert len(out) - len(truncation_marker(cut)) + cut == n


def test_marker_says_how_many_characters_were_cut() -> None:
    out, cut = bound_text("a" * 10_000, 500)
    assert f"[... {cut} characters truncated ...]" in out
    assert cut == 10_000 - (len(out) - len(truncation_marker(cut)))


def test_tiny_limit_still_bounded() -> None:
    out, cut = bound_text("abcdefghij" * 10, 5)
    assert (out, cut) == ("abcde", 95)


def test_empty_output_is_announced() -> None:
    obs = cell_observation(CellResult(output="", error=None, duration_s=0.1))
    assert obs.text == NO_OUTPUT
    assert obs.error is None and obs.duration_s == 0.1


def test_error_without_output_shows_the_error() -> None:
    err = ErrorInfo(kind=ErrorKind.TIMEOUT, type="TimeoutError", message="cell exceeded 10s")
    obs = cell_observation(CellResult(output="", error=err, duration_s=10.0))
    assert obs.text == "TimeoutError: cell exceeded 10s"
    assert obs.error == err


def test_restart_is_announced_before_the_output() -> None:
    err = ErrorInfo(kind=ErrorKind.WORKER_RESTART, type="MemoryError", message="killed")
    obs = cell_observation(CellResult(output="partial", error=err, duration_s=1.0, restarted=True))
    assert obs.text == f"{RESTARTED}\npartial"
    assert "variables" in obs.text and "lost" in obs.text


def test_restart_with_no_output() -> None:
    obs = cell_observation(CellResult(output="", error=None, duration_s=1.0, restarted=True))
    assert obs.text == RESTARTED


def test_truncated_chars_add_the_worker_cap() -> None:
    result = CellResult(output="z" * 5000, error=None, duration_s=0.0, truncated_chars=100)
    obs = cell_observation(result, 1000)
    text, cut = bound_text("z" * 5000, 1000)
    assert obs.text == text and len(text) <= 1000
    assert obs.truncated_chars == 100 + cut
