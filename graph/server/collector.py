"""When the garbage collector runs: seldom inside a request, and in the pauses between requests.

CPython collects its young generation every 700 allocations of container objects (less the ones
freed). A cold request keeps most of what it allocates (the records it caches), so at 700 the cold
dashboard's ~60 young collections walked those records again and again, 8-15 ms of its 80-120 ms
of CPU; at 10,000, ~3 ms (in-process probe, ``gc.callbacks``, 2026-12-03). At 10,000 a cold
request still met one to three collections, 1.5-2.8 ms each (a page of invoices decoded is ~2,100
young containers, and what earlier requests left in cycles is walked with it: graphql-core's
validation leaves ~1,800 objects in cycles per document). So (``install``):

- what the app built at start (modules, the schema) is frozen out of every collection;
- young collections come every ``YOUNG_COLLECTION_EVERY`` (50,000) allocations: the cold
  dashboard, entities, receivables and dispatch scenarios then meet none (they met 3 / 1 / 1 / 1
  collections of 4.3 / 2.8 / 2.3 / 1.7 ms in all, in-process probes, 2026-12-04);
- and ``IDLE``, told by ``graph.server.observe`` when each HTTP request begins and ends, collects
  the young and middle generations once no request has been in flight for ``IDLE_AFTER`` seconds,
  so the next request starts with them nearly empty and what the last one kept is walked while
  nobody waits. Under steady load (no pause) collections come from the threshold alone, each
  walking at most what 50,000 allocations left alive.

Garbage in cycles waits a little longer; nothing else changes. Only ``serve`` installs this (a test
that builds the app itself keeps CPython's defaults and a collector that does nothing).
"""

from __future__ import annotations

import asyncio
import gc
from collections.abc import Callable

YOUNG_COLLECTION_EVERY = 50_000
IDLE_AFTER = 0.02  # seconds without a request in flight before the idle collection
IDLE_MINIMUM = 1_000  # young objects worth an idle collection (fewer: nothing to gain)

__all__ = ["IDLE", "IdleCollector", "install"]


class IdleCollector:
    """Collects the young and middle generations once no HTTP request has been in flight for
    ``after`` seconds (and the young one holds at least ``minimum`` objects); does nothing until
    ``enabled``."""

    def __init__(
        self,
        after: float = IDLE_AFTER,
        minimum: int = IDLE_MINIMUM,
        collect: Callable[[int], int] = gc.collect,
    ) -> None:
        self.after = after
        self.minimum = minimum
        self.enabled = False
        self.in_flight = 0
        self.collections = 0  # made while idle (for tests and curiosity)
        self._collect = collect
        self._pending: asyncio.TimerHandle | None = None

    def begin(self) -> None:
        """A request began: no idle collection until every request in flight has ended."""
        self.in_flight += 1
        if self._pending is not None:
            self._pending.cancel()
            self._pending = None

    def end(self) -> None:
        """A request ended: the last one in flight sets the idle collection going."""
        self.in_flight -= 1
        if self.enabled and self.in_flight == 0 and self._pending is None:
            loop = asyncio.get_running_loop()
            self._pending = loop.call_later(self.after, self._when_idle)

    def _when_idle(self) -> None:
        self._pending = None
        if self.in_flight == 0 and gc.get_count()[0] >= self.minimum:
            self._collect(1)
            self.collections += 1


IDLE = IdleCollector()


def install() -> None:
    """The collector as ``serve`` runs it (see the module's docstring); once the app is built."""
    gc.collect()
    gc.freeze()
    gc.set_threshold(YOUNG_COLLECTION_EVERY, *gc.get_threshold()[1:])
    IDLE.enabled = True
