"""Dependent rounds of upstream calls, from the sandbox's request log (arrival time and duration).

A call depends on another when it arrived after that one ended; the rounds of a run are its longest
chain of such calls. Calls of one round overlap (they last at least the injected latency), so they never
chain. Arrival times are logged to the millisecond, hence the 1 ms tolerance.
"""

from __future__ import annotations

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
