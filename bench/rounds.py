"""Dependent rounds of upstream calls, from the sandbox's request log (arrival time and duration).

A call depends on another when it arrived after that one ended; the rounds of a run are its longest
chain of such calls. Calls of one round overlap (they last at least the injected latency), so they never
chain. Arrival times are logged to the millisecond, hence the 1 ms tolerance.

``expected_upstream_ms`` is the other side: what the oracle's cheapest plan must wait on Kickserv,
on average, whoever runs it. A round of n calls lasts as long as its slowest call, and the sandbox
draws each call's latency uniformly from [low, high]: the slowest of n is expected at
low + (high - low) * n / (n + 1) (the n-th order statistic of n uniform draws), 59.6 ms for 48 calls
at 50 +/- 10 ms, not the 50 ms of "rounds x latency".
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any

TOLERANCE_MS = 1.0


def _interval(entry: Mapping[str, Any]) -> tuple[float, float]:
    start = datetime.fromisoformat(entry["time"]).timestamp() * 1000.0
    return start, start + float(entry["duration_ms"])


def rounds_of(entries: Iterable[Mapping[str, Any]]) -> int:
    intervals = sorted(_interval(e) for e in entries)
    depth: list[tuple[float, int]] = []  # (end, chain length ending with this call)
    longest = 0
    for start, end in intervals:
        before = [d for e, d in depth if e - TOLERANCE_MS <= start]
        mine = 1 + max(before, default=0)
        depth.append((end, mine))
        longest = max(longest, mine)
    return longest


def upstream_critical_ms(entries: Iterable[Mapping[str, Any]]) -> float:
    """The longest chain of dependent calls in time (the sum of their durations): what the run
    waited on Kickserv at the least, whatever the server does; wall time minus this is ours."""
    intervals = sorted(_interval(e) for e in entries)
    done: list[tuple[float, float]] = []  # (end, longest chain ending with this call, in ms)
    longest = 0.0
    for start, end in intervals:
        before = [t for e, t in done if e - TOLERANCE_MS <= start]
        mine = (end - start) + max(before, default=0.0)
        done.append((end, mine))
        longest = max(longest, mine)
    return round(longest, 1)


def expected_slowest_ms(calls: int, low: float, high: float) -> float:
    """The expected latency of the slowest of ``calls`` calls, each uniform on [low, high]."""
    if calls <= 0:
        return 0.0
    return low + (high - low) * calls / (calls + 1)


def expected_upstream_ms(levels: Iterable[int], low: float, high: float, in_flight: int) -> float:
    """The expected time the levels' calls wait on Kickserv, level after level, at most
    ``in_flight`` calls at once (a level of more goes in waves, each as slow as its slowest):
    the upstream's own share of a cold run, taken from the oracle's plan, not from ours."""
    total = 0.0
    for calls in levels:
        waves = max(1, math.ceil(calls / max(1, in_flight)))
        for wave in range(waves):
            total += expected_slowest_ms(min(in_flight, calls - wave * in_flight), low, high)
    return round(total, 1)
