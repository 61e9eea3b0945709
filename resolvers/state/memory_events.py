"""The event log, leases and the watcher's documents of a server without a state store
(``GRAPH_STATE_DIR=memory``): this process only, gone at its end, the same rules otherwise (an id
appended once, per-tenant seq, retention and cap, ``wait`` woken by an append)."""

from __future__ import annotations

import asyncio
import time
from collections import OrderedDict
from collections.abc import Callable, Sequence

from resolvers.cache import CacheKey, Entry
from resolvers.events import ChangeEvent
from resolvers.state.base import EVENT_CAP, EVENT_RETENTION, check_ttl


class MemoryEvents:
    """``EventLog`` + ``lease``/``release`` + ``get``/``set`` of records, in this process."""

    def __init__(
        self,
        *,
        event_retention: float = EVENT_RETENTION,
        event_cap: int = EVENT_CAP,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.event_retention = check_ttl(event_retention)
        self.event_cap = event_cap
        self._clock = clock
        self._logs: dict[str, OrderedDict[str, tuple[ChangeEvent, float]]] = {}
        self._seqs: dict[str, int] = {}
        self._leases: dict[str, tuple[str, float]] = {}
        self._records: dict[CacheKey, Entry] = {}
        self._changed = asyncio.Condition()

    async def append(self, tenant: str, events: Sequence[ChangeEvent]) -> list[ChangeEvent]:
        log = self._logs.setdefault(tenant, OrderedDict())
        now = self._clock()
        while log and (len(log) > self.event_cap or next(iter(log.values()))[1] <= now):
            log.popitem(last=False)
        appended = []
        for event in events:
            if event.id in log:
                continue
            seq = self._seqs[tenant] = self._seqs.get(tenant, 0) + 1
            log[event.id] = (event.at(seq), now + self.event_retention)
            appended.append(event.at(seq))
        while len(log) > self.event_cap:
            log.popitem(last=False)
        if appended:
            async with self._changed:
                self._changed.notify_all()
        return appended

    async def after(self, tenant: str, seq: int, limit: int = 100) -> list[ChangeEvent]:
        now = self._clock()
        found = [
            e for e, expires in self._logs.get(tenant, {}).values() if e.seq > seq and expires > now
        ]
        return found[: max(0, limit)]

    async def last_seq(self, tenant: str) -> int:
        return self._seqs.get(tenant, 0)

    async def wait(self, tenant: str, seq: int, within: float) -> bool:
        async with self._changed:
            try:
                await asyncio.wait_for(
                    self._changed.wait_for(lambda: self._seqs.get(tenant, 0) > seq),
                    max(within, 0.0),
                )
            except TimeoutError:
                return self._seqs.get(tenant, 0) > seq
        return True

    async def lease(self, name: str, holder: str, ttl: float) -> bool:
        now = self._clock()
        current = self._leases.get(name)
        if current is not None and current[0] != holder and current[1] > now:
            return False
        self._leases[name] = (holder, now + check_ttl(ttl))
        return True

    async def release(self, name: str, holder: str) -> None:
        if self._leases.get(name, ("", 0.0))[0] == holder:
            del self._leases[name]

    async def get(self, key: CacheKey) -> Entry | None:
        entry = self._records.get(key)
        if entry is None or entry.stale_until <= self._clock():
            return None
        return entry

    async def set(self, key: CacheKey, entry: Entry) -> None:
        self._records[key] = entry
