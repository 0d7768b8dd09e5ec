"""The scale benchmark's same-run floor (``benchmarks/served_floor.py``): episodes told apart
from what the loopback teacher logged (``tests/fixtures/loopback_served.py``), their teacher
time rebuilt with the SDK's back-off, and scheduled on the slots with no cost."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest
from loopback_served import served_logger, user_prefixes

from benchmarks.scheduler_floor import list_schedule
from benchmarks.served_floor import episode_attempts, served_floor, teacher_s


def conversation(task: str, turns: int) -> list[dict[str, str]]:
    """An episode's request at turn ``turns``: its first request plus assistant/user pairs."""
    messages = [{"role": "system", "content": "sys"}, {"role": "user", "content": "example"},
                {"role": "assistant", "content": "shown"}, {"role": "user", "content": task}]
    for i in range(turns):
        messages += [{"role": "assistant", "content": f"a{i}"}, {"role": "user", "content": f"o{i}"}]
    return messages


def log_of(requests: list[tuple[list[dict[str, str]], float, int | None]]) -> list[str]:
    out = io.StringIO()
    log = served_logger(out)
    for messages, delay, fault in requests:
        log({"messages": messages}, delay, (fault, None) if fault is not None else None)
    return out.getvalue().splitlines()


def test_requests_are_grouped_into_their_episodes_in_order_of_arrival() -> None:
    """A shared demonstration (same first user message) does not merge two tasks; a retried
    first request and later turns join their episode; arrival order is kept."""
    lines = log_of([
        (conversation("task B", 0), 1.0, None),
        (conversation("task A", 0), 0.0, 429),  # answered at once, retried
        (conversation("task A", 0), 2.0, None),
        (conversation("task B", 1), 1.5, None),
        (conversation("task A", 1), 0.5, 500),  # failed after its latency
        (conversation("task A", 1), 0.25, None),
    ])
    assert episode_attempts(lines) == [
        [(1.0, None), (1.5, None)],
        [(0.0, 429), (2.0, None), (0.5, 500), (0.25, None)],
    ]
    assert len(user_prefixes(conversation("x", 2))) == 4


def test_teacher_time_adds_wasted_latency_and_the_sdks_mean_back_off() -> None:
    assert teacher_s([(1.0, None), (1.5, None)]) == 2.5
    # 0.5 s back-off after the first fault, 1.0 s after the second in a row, jitter mean 0.875
    assert teacher_s([(0.0, 429), (0.5, 500), (2.0, None)]) == pytest.approx(2.5 + 1.5 * 0.875)
    # a success resets the back-off
    assert teacher_s([(0.0, 503), (1.0, None), (0.0, 429), (1.0, None)]) == pytest.approx(
        2.0 + 2 * 0.5 * 0.875
    )


def test_list_schedule_starts_each_episode_when_a_slot_frees() -> None:
    assert list_schedule([3.0, 1.0, 1.0, 1.0], 2) == 3.0  # 1+1+1 on one slot while 3 runs
    assert list_schedule([1.0, 1.0, 5.0], 2) == 6.0
    assert list_schedule([], 4) == 0.0


def test_served_floor_reads_one_runs_part_of_the_log(tmp_path: Path) -> None:
    path = tmp_path / "served.jsonl"
    earlier = log_of([(conversation("old", 0), 9.0, None)])
    path.write_text("\n".join(earlier) + "\n")
    offset = path.stat().st_size
    with open(path, "a") as fh:
        fh.write("\n".join(log_of([(conversation("a", 0), 1.0, None),
                                   (conversation("b", 0), 2.0, None),
                                   (conversation("a", 1), 1.0, None)])) + "\n")
    assert served_floor(path, offset, 1) == (4.0, 2)
    assert served_floor(path, offset, 2) == (2.0, 2)
    assert json.loads(earlier[0])["delay_s"] == 9.0
