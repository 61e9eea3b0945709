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
