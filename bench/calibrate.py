"""How fast this machine runs Python at the moment: a fixed CPU-bound workload, timed.

The bench's machine is shared: when the host is busy, every CPU-bound step of a run slows alike (on
2026-12-04 a fresh server's cold dashboard took 50-70 ms of CPU one hour and 110-120 ms the next,
for the same code and the same answers). A run records this workload's time at its start, before
each scenario's cold runs and at its end, so its figures can be read against the machine's state
and two runs compared: the same code on a slowed machine reads slower, the workload with it.
"""

from __future__ import annotations

import statistics
import time

WORK = 200_000  # iterations of a small arithmetic loop: ~10 ms on a quiet machine of 2026-12-04


def machine_ms(repeats: int = 5) -> float:
    """The median time, in ms, of ``repeats`` runs of the fixed workload."""
    times = []
    for _ in range(repeats):
        started = time.perf_counter()
        total = 0
        for i in range(WORK):
            total += i * i
        times.append((time.perf_counter() - started) * 1000)
    return round(statistics.median(times), 2)
