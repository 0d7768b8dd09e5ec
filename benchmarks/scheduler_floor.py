"""The wall time a zero-overhead collector would need: the scale benchmark's floor.

``ideal = episodes × turns × mean latency ÷ concurrency`` assumes the slots are busy until
the very end. They cannot be: latencies are random and unknown in advance, so the last
episodes finish one by one while the other slots idle (the fewer waves, the larger that
share: 2,000 two-turn episodes at concurrency 256 are under eight waves), and a transient
fault costs its back-off, plus the latency it wasted when it came mid-request.

This simulates a collector with no CPU cost at all on the same model as the loopback
teacher (lognormal latency; a fault drawn per request from 429/500/503/reset, 429 and 503
answered at once, 500 and reset after the latency; the OpenAI SDK's back-off of
``0.5 s × 2^retry``, 0-25 % jitter): each episode starts the instant a slot frees. Its mean
over seeds is the best any scheduler without foresight can do, so ``wall / floor`` is what
the collector itself costs and ``floor / ideal`` what the workload costs.
"""

from __future__ import annotations

import heapq
import math
import random
from collections.abc import Iterable

FAULT_KINDS = (429, 500, 503, 0)  # as the loopback teacher's RANDOM_FAULTS
AT_ONCE = frozenset({429, 503})
INITIAL_BACKOFF_S, MAX_BACKOFF_S = 0.5, 8.0


def _request_s(rng: random.Random, mu: float, sigma: float, fault_rate: float) -> float:
    """One teacher call, retries included, as the SDK experiences it."""
    spent, retry = 0.0, 0
    while True:
        latency = rng.lognormvariate(mu, sigma)
        if rng.random() >= fault_rate:
            return spent + latency
        if rng.choice(FAULT_KINDS) not in AT_ONCE:
            spent += latency
        spent += min(INITIAL_BACKOFF_S * 2.0**retry, MAX_BACKOFF_S) * (1 - 0.25 * rng.random())
        retry += 1


def simulate_wall(
    episodes: int, concurrency: int, turns: int, median_s: float, sigma: float,
    fault_rate: float, seed: int,
) -> float:
    """Wall time of one simulated run: greedy start of the next episode on a free slot."""
    rng = random.Random(seed)
    mu = math.log(median_s)
    return list_schedule(
        (sum(_request_s(rng, mu, sigma, fault_rate) for _ in range(turns)) for _ in range(episodes)),
        concurrency,
    )


def list_schedule(durations: Iterable[float], concurrency: int) -> float:
    """When the last episode ends if each starts, in order, the instant one of
    ``concurrency`` slots frees."""
    free_at: list[float] = []
    end = 0.0
    for duration in durations:
        start = heapq.heappop(free_at) if len(free_at) >= concurrency else 0.0
        heapq.heappush(free_at, start + duration)
        end = max(end, start + duration)
    return end


def floor_wall(
    episodes: int, concurrency: int, turns: int, median_s: float, sigma: float,
    fault_rate: float, seeds: int = 40,
) -> float:
    """Mean simulated wall time over ``seeds`` runs."""
    walls = [simulate_wall(episodes, concurrency, turns, median_s, sigma, fault_rate, s)
             for s in range(seeds)]
    return sum(walls) / len(walls)
