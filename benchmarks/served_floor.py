"""The floor of one real run: a zero-cost collector facing the very delays and faults served.

``scheduler_floor.floor_wall`` averages simulated runs with fresh latency draws. One real
run waits for its own draws: at 512 episodes and concurrency 256 a zero-cost collector's
wall time varies by about 13 % (one standard deviation over seeds) from run to run, mostly
with the slowest episodes of the last wave, so a single run's ``wall / floor`` moves by more
than the overhead it is meant to show. This reads what the loopback teacher served in that
run (``tests/fixtures/loopback_served.py``: each request's drawn latency and fault), rebuilds
each episode's teacher time (its latencies, the latency a mid-request fault wasted, and the
SDK's mean back-off after each fault, as ``scheduler_floor`` models it) and schedules those
episodes, in the order they first reached the teacher, on ``concurrency`` slots with no cost
at all. ``wall / this floor`` is then the collector's own overhead in that run.
"""

from __future__ import annotations

import json
from pathlib import Path

from benchmarks.scheduler_floor import INITIAL_BACKOFF_S, MAX_BACKOFF_S, list_schedule

#: The mean of the SDK's jitter factor (1 - 0.25 × uniform).
MEAN_JITTER = 0.875


def episode_attempts(lines: list[str]) -> list[list[tuple[float, int | None]]]:
    """(delay, fault) of every request, grouped by episode, episodes in order of arrival.
    A request belongs to the episode whose first request is a prefix of it (ending at a user
    message); a request that extends none starts an episode."""
    first: dict[str, int] = {}
    episodes: list[list[tuple[float, int | None]]] = []
    for line in lines:
        served = json.loads(line)
        prefixes = served["prefixes"]
        index = next((first[p] for p in prefixes if p in first), None)
        if index is None:
            if not prefixes:
                continue  # not a conversation (no user message): no episode's
            index = first[prefixes[-1]] = len(episodes)
            episodes.append([])
        episodes[index].append((float(served["delay_s"]), served["fault"]))
    return episodes


def teacher_s(attempts: list[tuple[float, int | None]]) -> float:
    """An episode's time waiting for the teacher, with no collector cost: every latency
    served (an answer's, or one a fault wasted) plus the mean back-off after each fault."""
    total, retry = 0.0, 0
    for delay, fault in attempts:
        total += delay
        if fault is None:
            retry = 0
            continue
        total += min(INITIAL_BACKOFF_S * 2.0**retry, MAX_BACKOFF_S) * MEAN_JITTER
        retry += 1
    return total


def served_floor(log: Path, offset: int, concurrency: int) -> tuple[float, int]:
    """The floor of the run whose requests start at byte ``offset`` of ``log``, and how many
    episodes that run sent."""
    with open(log) as fh:
        fh.seek(offset)
        episodes = episode_attempts(fh.read().splitlines())
    return list_schedule((teacher_s(a) for a in episodes), concurrency), len(episodes)
