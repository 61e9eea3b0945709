"""The watcher: one per tenant across every worker and replica, polling Kickserv's listings and
appending what changed to the tenant's event log.

Every process runs a ``Watcher``; each ``interval`` it tries, per tenant, the lease ``watch:<tenant>``
in the state store (``lease_ttl``: three intervals and a second). The holder runs a *cycle*; the
others stand by and take over once the holder's lease lapses (a holder that stops releases it).

A cycle reads each feed (``resolvers.watch.feeds``) through the tenant's own ``KickservClient``, so it
shares the credential's rate governor, circuit breaker and concurrency limit with the requests, and
spends at most ``max_calls`` upstream calls (a pass that needs more goes on from its page in the next
cycle). It compares each record with the snapshot it kept and, for what changed, in this order:

1. appends the events (``EventLog.append``: an id already there is skipped);
2. forgets what the change voids in the caches, the way writes do (``Tenant.changed``,
   ``forget_record``, ``wrote_to_index``), and publishes it to every replica (``Tenant.wrote``);
3. saves the feed's state (snapshot, page, watermark) in the state store.

A crash between 1 and 3 finds the same changes again, with the same ids (``event_id`` of the record's
version), which the log skips: a restart loses no event and repeats none under a new id.

The first pass over a feed of a fresh tenant is its *baseline*: it records what exists and emits
nothing (no "created" for every customer already there).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import socket
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from kickserv import KickservError, Page
from resolvers.cache import CacheKey, Entry
from resolvers.events import ChangeEvent, EventLog
from resolvers.state.base import StateStoreError
from resolvers.tenant import Tenant
from resolvers.watch.feeds import FEEDS, Feed, Found, Known

logger = logging.getLogger("resolvers.watch")

STATE_RESOURCE = "watch"
STATE_TTL = 90 * 24 * 3600.0  # a tenant unwatched this long starts again from a baseline
STATE_VERSION = 1


class WatchStore(EventLog, Protocol):
    """What the watcher needs of the state store (both backends, and ``MemoryEvents``)."""

    async def lease(self, name: str, holder: str, ttl: float) -> bool: ...

    async def release(self, name: str, holder: str) -> None: ...

    async def get(self, key: CacheKey) -> Entry | None: ...

    async def set(self, key: CacheKey, entry: Entry) -> None: ...


@dataclass(frozen=True, slots=True)
class WatchSettings:
    interval: float = 30.0  # seconds between cycles; 0 turns the watcher off
    max_calls: int = 50  # upstream calls per cycle per tenant
    concurrency: int = 4  # pages of one feed in flight at once

    @property
    def lease_ttl(self) -> float:
        return 3 * self.interval + 1.0


@dataclass
class WatchStats:
    """What the watchers of this process did (read by the /metrics series)."""

    cycles: int = 0
    calls: int = 0
    errors: int = 0
    standby: int = 0  # lease attempts another process held
    events: Counter[str] = field(default_factory=Counter)
    held: set[str] = field(default_factory=set)  # tenants this process watches now
    last_cycle_seconds: float = 0.0


def holder_id() -> str:
    """This process, unique across machines and restarts."""
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


class TenantWatcher:
    """One tenant's cycles (see the module docstring)."""

    def __init__(
        self,
        tenant: Tenant,
        store: WatchStore,
        settings: WatchSettings,
        *,
        holder: str,
        stats: WatchStats | None = None,
        feeds: Sequence[Feed] = FEEDS,
    ) -> None:
        self.tenant = tenant
        self.store = store
        self.settings = settings
        self.holder = holder
        self.stats = stats or WatchStats()
        self.feeds = tuple(feeds)

    @property
    def key(self) -> str:
        return self.tenant.key

    @property
    def lease_name(self) -> str:
        return f"watch:{self.key}"

    async def cycle(self) -> list[ChangeEvent] | None:
        """One cycle if this process holds (or takes) the tenant's lease: the events appended;
        None when another process watches the tenant."""
        if not await self.store.lease(self.lease_name, self.holder, self.settings.lease_ttl):
            self.stats.held.discard(self.key)
            self.stats.standby += 1
            return None
        self.stats.held.add(self.key)
        started = time.monotonic()
        budget = self.settings.max_calls
        appended: list[ChangeEvent] = []
        known = Known()
        for feed in self.feeds:
            if budget <= 0:
                break
            used, events = await self._feed(feed, budget, known)
            budget -= used
            appended += events
            # Renewed between feeds: a long cycle keeps its lease.
            if not await self.store.lease(self.lease_name, self.holder, self.settings.lease_ttl):
                self.stats.held.discard(self.key)
                break
        self.stats.cycles += 1
        self.stats.last_cycle_seconds = time.monotonic() - started
        return appended

    async def release(self) -> None:
        await self.store.release(self.lease_name, self.holder)
        self.stats.held.discard(self.key)

    # -- one feed ------------------------------------------------------------------------------

    def _where(self, feed: Feed) -> CacheKey:
        return CacheKey(self.key, STATE_RESOURCE, feed.name)

    async def _load(self, feed: Feed) -> dict[str, Any]:
        entry = await self.store.get(self._where(feed))
        value = entry.value if entry is not None else None
        if not isinstance(value, dict) or value.get("v") != STATE_VERSION:
            return {"v": STATE_VERSION, "baseline": False, "next": 1, "snap": {}, "seen": []}
        return value

    async def _save(self, feed: Feed, state: dict[str, Any]) -> None:
        now = time.monotonic()
        await self.store.set(self._where(feed), Entry(state, now + STATE_TTL, now + STATE_TTL))

    async def _feed(self, feed: Feed, budget: int, known: Known) -> tuple[int, list[ChangeEvent]]:
        state = await self._load(feed)
        if feed.newest_first:
            used, found, records, saved = await self._newest_first(feed, state, budget, known)
        else:
            used, found, records, saved = await self._full_scan(feed, state, budget, known)
            known.learn(feed.name, state["snap"])
        self.stats.calls += used
        appended: list[ChangeEvent] = []
        if found:
            appended = await self.store.append(self.key, [f.event(self.key) for f in found])
            for event in appended:
                self.stats.events[event.type.value] += 1
            await self.tenant.changed(*feed.voids)
            for record in records:
                await feed.refresh(self.tenant, record)
            await self.tenant.wrote()
        if saved is not None:
            await self._save(feed, saved)
        return used, appended

    async def _pages(
        self, feed: Feed, start: int, budget: int
    ) -> tuple[list[Page[Any]], int, bool]:
        """Pages ``start``.. within ``budget`` calls: the pages, calls made, whether the last page
        of the listing was read."""
        listing = feed.listing(self.tenant.client)
        per_page = self.tenant.max_per_page
        first = await listing.page(start, per_page)
        pages, used = [first], 1
        last = max(first.total_pages, 1)
        number = start + 1
        while number <= last and used < budget:
            batch = range(
                number,
                min(last, number + self.settings.concurrency - 1, number + budget - used - 1) + 1,
            )
            pages += await asyncio.gather(*(listing.page(n, per_page) for n in batch))
            used += len(batch)
            number = batch[-1] + 1
        return pages, used, number > last

    async def _full_scan(
        self, feed: Feed, state: dict[str, Any], budget: int, known: Known
    ) -> tuple[int, list[Found], list[Any], dict[str, Any] | None]:
        pages, used, done = await self._pages(feed, int(state.get("next", 1)), budget)
        snap: dict[str, Any] = state["snap"]
        seen: list[str] = state.get("seen", [])
        found: list[Found] = []
        changed: list[Any] = []
        dirty = False
        for page in pages:
            for record in page.items:
                key = feed.key(record)
                new = feed.snap(record)
                seen.append(key)
                old = snap.get(key)
                if old == new:
                    continue
                dirty = True
                snap[key] = new
                if state["baseline"]:
                    events = feed.diff(old, new, record, known)
                    if events:
                        found += events
                        changed.append(record)
        if done:
            kept = set(seen)
            gone = [k for k in snap if k not in kept]
            for k in gone:  # deleted (or out of sight): a record seen again later is "created"
                del snap[k]
            dirty = dirty or bool(gone) or not state["baseline"] or int(state.get("next", 1)) != 1
            state.update(baseline=True, next=1, seen=[])
        else:
            dirty = True
            state.update(next=int(state.get("next", 1)) + len(pages), seen=seen)
        return used, found, changed, state if dirty else None

    async def _newest_first(
        self, feed: Feed, state: dict[str, Any], budget: int, known: Known
    ) -> tuple[int, list[Found], list[Any], dict[str, Any] | None]:
        """A listing newest first by ``created_at`` (confirmed): pages until one reaches back past
        the watermark. Ties at the watermark (the ids created at that instant, which may fill
        pages) are kept. The baseline's watermark is the newest record's time, its ties read to
        the first older record."""
        baseline = bool(state.get("baseline"))
        mark: str = state.get("mark", "")
        at_mark: set[str] = set(state.get("at_mark", []))
        listing = feed.listing(self.tenant.client)
        per_page = self.tenant.max_per_page
        used, number, reached = 0, 1, False
        fresh: list[Any] = []
        while used < budget and not reached:
            page = await listing.page(number, per_page)
            used += 1
            for record in page.items:
                created = feed.created_at(record)
                if not baseline and not mark:
                    mark = created  # the newest: the baseline's watermark
                if created > mark or (created == mark and feed.key(record) not in at_mark):
                    fresh.append(record)
                elif created < mark:
                    reached = True
            reached = reached or number >= page.total_pages
            number += 1
        if not baseline:  # what exists is no news: remember the ties at the newest instant
            ids = {feed.key(r) for r in fresh if feed.created_at(r) == mark}
            state.update(baseline=True, mark=mark, at_mark=sorted(ids))
            return used, [], [], state
        found: list[Found] = []
        for record in fresh:
            found += feed.diff(None, feed.snap(record), record, known)
        if not reached:  # more new records than the budget: the same pages again next cycle
            return used, found, fresh, None
        if not fresh:
            return used, found, fresh, None
        newest = max(feed.created_at(r) for r in fresh)
        ids = {feed.key(r) for r in fresh if feed.created_at(r) == newest}
        if newest == mark:
            ids |= at_mark
        state.update(mark=newest, at_mark=sorted(ids))
        return used, found, fresh, state


class Watcher:
    """The watchers of one process: every ``interval``, a cycle of each tenant ``tenants()`` names
    (those whose lease this process holds or takes)."""

    def __init__(
        self,
        store: WatchStore,
        tenants: Callable[[], Iterable[Tenant]],
        settings: WatchSettings,
        *,
        holder: str | None = None,
        stats: WatchStats | None = None,
    ) -> None:
        self.store = store
        self.tenants = tenants
        self.settings = settings
        self.holder = holder or holder_id()
        self.stats = stats or WatchStats()
        self._watchers: dict[str, TenantWatcher] = {}
        self._task: asyncio.Task[None] | None = None

    def watcher(self, tenant: Tenant) -> TenantWatcher:
        found = self._watchers.get(tenant.key)
        if found is None or found.tenant is not tenant:
            found = self._watchers[tenant.key] = TenantWatcher(
                tenant, self.store, self.settings, holder=self.holder, stats=self.stats
            )
        return found

    async def cycle(self) -> list[ChangeEvent]:
        """One cycle of every tenant, concurrently; the events appended."""
        watchers = [self.watcher(tenant) for tenant in self.tenants()]
        results = await asyncio.gather(
            *(self._guarded(w) for w in watchers), return_exceptions=False
        )
        return [event for events in results for event in events or ()]

    async def _guarded(self, watcher: TenantWatcher) -> list[ChangeEvent] | None:
        try:
            return await watcher.cycle()
        except (KickservError, StateStoreError, OSError) as exc:
            self.stats.errors += 1
            logger.warning(
                "Watcher of %s: cycle failed (%s: %s)",
                watcher.tenant.account,
                type(exc).__name__,
                exc,
            )
            return None
        except Exception:  # a bug: logged whole, and the other tenants and cycles go on
            self.stats.errors += 1
            logger.exception("Watcher of %s: cycle failed", watcher.tenant.account)
            return None

    async def run(self) -> None:
        """A cycle every ``interval``, the first one interval after the start (a process that
        serves briefly, a test, polls nothing)."""
        await asyncio.sleep(self.settings.interval)
        while True:
            started = time.monotonic()
            await self.cycle()
            await asyncio.sleep(max(0.0, self.settings.interval - (time.monotonic() - started)))

    def start(self) -> None:
        if self._task is None and self.settings.interval > 0:
            self._task = asyncio.create_task(self.run(), name="watcher")

    async def stop(self) -> None:
        """Stop cycling and release the leases held, so a standby replica takes over at once."""
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        for watcher in self._watchers.values():
            with contextlib.suppress(StateStoreError, OSError):
                await watcher.release()
