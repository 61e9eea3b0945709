"""Write generations shared by every process: what a write changed, published so that every replica
forgets it before its next read.

Each tenant has a *write log* in the state store: ``{"gen": g, "trimmed": t, "entries": [[g1,
[changes...]], ...]}``. A write publishes what it changed (``resolvers.resources.Change`` values)
as one entry under a generation drawn from the store's counter (never reused), with a
compare-and-set, before the write is acknowledged. A request first *syncs* its tenant: one read of
the log (one round-trip to the store), and when its generation moved since this process last looked,
the entries it has not applied yet say what to forget (``None``: too far behind, forget
everything). What is keyed by the generation (cached responses) ends at a write on any replica.

Without a store (``store=None``: one process, nothing shared) the log lives in this process only:
the writer's own invalidation already happened, so a sync has nothing to apply.

Entries of this process's own writes are not applied again on sync: the writer already forgot
what they void and primed what Kickserv answered.
"""

from __future__ import annotations

import asyncio
import itertools
from collections import OrderedDict
from collections.abc import Callable, Iterable
from typing import Any

from resolvers.cache import CacheKey, CacheStore

LOG_RESOURCE = "write-log"
LOG_KEY = "log"


class TenantWrites:
    def __init__(
        self,
        store: CacheStore | None = None,
        *,
        keep: int = 64,
        ttl: float = 7 * 24 * 3600.0,
        max_tenants: int = 100_000,
        generation: Any = None,
        current: Any = None,
        change_mark: Callable[[], object | None] | None = None,
    ) -> None:
        """``store`` holds the logs (the state store); ``generation`` draws a new generation for a
        tenant (the store's ``bump_generation``); both None: this process only. ``current`` reads
        the last generation drawn for a tenant (the store's ``generation``): a cheap first look,
        so the log is read and parsed only when it moved. ``change_mark`` (the store's) is
        cheaper still: while it has not changed since a sync found the tenant up to date,
        nothing was committed anywhere, so the store is not read at all."""
        self._current = current
        self._checked: dict[str, int] = {}  # the drawn generation the log was last read at
        self._change_mark = change_mark
        self._settled: dict[str, object] = {}  # the mark read before a sync found it up to date
        self.store = store
        self.keep = keep
        self.ttl = ttl
        self._max_tenants = max_tenants
        self._draw = generation
        self._counter = itertools.count(1)
        self._floor = 0
        self._seen: OrderedDict[str, int] = OrderedDict()
        self._own: dict[str, set[int]] = {}
        self._locks: dict[str, asyncio.Lock] = {}
        self._unpublished: dict[str, list[str]] = {}
        self._resets = 0

    def __len__(self) -> int:
        return len(self._seen)

    def change_mark(self) -> object | None:
        """The state store's change mark (None: the store has none, or there is no store). Two
        equal readings: nothing was committed in between, by any process."""
        if self.store is None or self._change_mark is None:
            return None
        return self._change_mark()

    def of(self, tenant: str) -> int:
        """The tenant's generation as this process last synced or wrote it (offset by how often
        a store was seen to lose its logs, so a number never means two states)."""
        return self._seen.get(tenant, self._floor) + (self._resets << 40)

    async def sync(self, tenant: str) -> tuple[int, tuple[str, ...] | None]:
        """Read the tenant's log: its generation, and what this process must forget to catch up,
        oldest first (empty: nothing; ``None``: everything of the tenant, the log no longer
        reaches back)."""
        if self.store is None:
            return self.of(tenant), ()
        # Read before the store: a commit after this read changes the mark the next sync sees.
        mark = None if self._change_mark is None else self._change_mark()
        if mark is not None and self._settled.get(tenant) == mark:
            return self.of(tenant), ()  # nothing committed anywhere since it was up to date
        drawn = None if self._current is None else int(await self._current(tenant))
        if drawn is not None and tenant in self._seen and self._checked.get(tenant) == drawn:
            self._settle(tenant, mark)
            return self.of(tenant), ()  # no write since the log was last read
        log = await self.store.get(CacheKey(tenant, LOG_RESOURCE, LOG_KEY))
        value: dict[str, Any] = log.value if log is not None else {}
        generation = int(value.get("gen", 0))
        if drawn is not None and generation >= drawn:  # else its write is still being logged
            self._checked[tenant] = drawn
            self._settle(tenant, mark)
        seen = self._seen.get(tenant)
        if seen is None:  # first look: what this process cached was read before any log it knows
            self._remember(tenant, generation)
            return self.of(tenant), None if generation else ()
        if generation == seen:
            return self.of(tenant), ()
        if generation < seen:
            # The log went back: the store lost it (a Redis restarted empty, an expired log).
            # Numbers may come again, so what was keyed by them before must never match.
            self._resets += 1
            self._remember(tenant, generation)
            return self.of(tenant), None
        if seen < int(value.get("trimmed", 0)):
            voided: tuple[str, ...] | None = None
        else:
            own = self._own.get(tenant, set())
            later = sorted(
                (entry for entry in value.get("entries", ()) if entry[0] > seen),
                key=lambda entry: int(entry[0]),
            )
            # In log order, each item once (its last time): a record written twice is put last.
            voided = tuple(
                dict.fromkeys(
                    change for gen, changes in later if gen not in own for change in changes
                )
            )
        self._remember(tenant, generation)
        return self.of(tenant), voided

    async def publish(self, tenant: str, changes: Callable[[], Iterable[str]]) -> int:
        """Record a write that changed what ``changes()`` says (may be nothing: only cached
        responses end). ``changes`` is called under the tenant's lock: what concurrent writes noted
        is published by one of them, and each returns only once its changes are in the log."""
        if self.store is None or self._draw is None:
            changes()
            generation = next(self._counter)
            self._remember(tenant, generation)
            return generation
        lock = self._locks.setdefault(tenant, asyncio.Lock())
        async with lock:
            drained = list(dict.fromkeys([*self._unpublished.pop(tenant, ()), *changes()]))
            try:
                return await self._publish(tenant, drained)
            except BaseException:
                # Not in the log: the next write of this tenant publishes it too.
                self._unpublished[tenant] = drained
                raise

    async def _publish(self, tenant: str, changes: list[str]) -> int:
        assert self.store is not None and self._draw is not None
        generation = int(await self._draw(tenant))
        self._own.setdefault(tenant, set()).add(generation)
        where = CacheKey(tenant, LOG_RESOURCE, LOG_KEY)
        entry = [generation, changes]
        log: dict[str, Any]
        while True:
            current = await self.store.get(where)
            if current is None:
                log = {"gen": generation, "trimmed": 0, "entries": [entry]}
                if await self.store.add(where, log, self.ttl):
                    break
                continue
            entries = [*current.value.get("entries", ()), entry]
            trimmed = int(current.value.get("trimmed", 0))
            if len(entries) > self.keep:
                trimmed = max(trimmed, *(e[0] for e in entries[: -self.keep]))
                entries = entries[-self.keep :]
            log = {
                "gen": max(generation, int(current.value.get("gen", 0))),
                "trimmed": trimmed,
                "entries": entries,
            }
            if await self.store.swap(where, current.value, log, self.ttl):
                break
        # Whatever other writes came in between are still to apply here: keep the old mark.
        if self._seen.get(tenant) == current_generation(current):
            self._remember(tenant, int(log["gen"]))
        return generation

    def _settle(self, tenant: str, mark: object | None) -> None:
        """The tenant is up to date with everything committed before ``mark`` was read."""
        if mark is not None and tenant in self._seen:
            self._settled[tenant] = mark

    def _remember(self, tenant: str, generation: int) -> None:
        self._seen[tenant] = generation
        self._seen.move_to_end(tenant)
        if len(self._seen) > self._max_tenants:
            gone, _ = self._seen.popitem(last=False)
            self._own.pop(gone, None)
            self._locks.pop(gone, None)
            self._checked.pop(gone, None)
            self._settled.pop(gone, None)
            self._floor = next(self._counter)


def current_generation(entry: Any) -> int:
    """The generation a log entry read from the store carries (0 when there was none)."""
    return 0 if entry is None else int(entry.value.get("gen", 0))
