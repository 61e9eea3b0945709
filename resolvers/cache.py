"""The shared cache under the loaders: upstream records, keyed per tenant and credential.

Every entry is keyed by ``CacheKey(tenant, resource, key)`` where ``tenant`` is the Kickserv account plus
a fingerprint of the credential (never the credential itself), so two credentials never share an entry,
even on one account: an employee limited to their assignments must not see what an admin's call cached.

Entries live for a time-to-live chosen by resource class (reference data longer, money short) and then
stay around for a stale window: when Kickserv is down, a stale value is served rather than an error
(stale-if-error). Failures are never cached. Identical reads in flight at the same time, from any
requests, share one upstream call (single-flight); the shared call runs in its own task so a waiter that
goes away (a client disconnect) does not cancel it for the others.

The store behind the cache is a small async protocol so a Redis store can replace the in-process one.
The same protocol keeps the idempotency records of writes (``resolvers.writes.idempotency``): they need
two atomic operations the cache does not, ``add`` (store only if absent: Redis ``SET NX PX``) and
``swap`` (replace only if unchanged: a compare-and-set, a small Lua script on Redis).

``on_fresh_until``, when set, is told the ``fresh_until`` of every entry read (hit, shared, fetched,
stale, peeked) or stored: whatever is built from those values is fresh no longer than the earliest.
``on_stale``, when set, is told each time a stale value is served instead of an error, with how many
seconds it is past its freshness (so the response can say it carries stale data). When Kickserv's
circuit breaker is open the fetch fails at once, and so the stale value is served at once.
"""

from __future__ import annotations

import asyncio
import heapq
import logging
import time
from collections import Counter, OrderedDict
from collections.abc import Awaitable, Callable, Hashable
from dataclasses import dataclass, field
from enum import StrEnum
from typing import TYPE_CHECKING, Any, Protocol, TypeVar

from resolvers.bounded import LARGEST_SHARE, Largest, Sizing, deep_size, listed, provisional_size
from resolvers.kept import kept

if TYPE_CHECKING:
    from resolvers.generations import TenantWrites


T = TypeVar("T")
logger = logging.getLogger(__name__)


class ResourceClass(StrEnum):
    """How long a kind of upstream data may be reused before it is fetched again (each cached
    resource's class is its ``lifetime`` in the table of ``resolvers.resources``)."""

    REFERENCE = "reference"  # what changes seldom: the catalogue, the staff, vendors
    RECORD = "record"  # the day's work: customers, jobs, tasks, notes
    MONEY = "money"  # what is owed and paid


DEFAULT_TTLS: dict[ResourceClass, float] = {
    ResourceClass.REFERENCE: 600.0,
    ResourceClass.RECORD: 60.0,
    ResourceClass.MONEY: 15.0,
}


@dataclass(frozen=True, slots=True)
class CacheKey:
    """Where one upstream answer is kept: tenant (account + credential fingerprint), resource, key."""

    tenant: str
    resource: str
    key: Hashable


@dataclass(frozen=True, slots=True)
class Entry:
    value: Any
    fresh_until: float
    stale_until: float


class CacheStore(Protocol):
    """The storage behind ``SharedCache`` (in process now; Redis is another implementation)."""

    async def get(self, key: CacheKey) -> Entry | None: ...

    async def set(self, key: CacheKey, entry: Entry) -> None: ...

    async def delete(self, key: CacheKey) -> None: ...

    async def delete_resources(self, tenant: str, resources: frozenset[str]) -> int: ...

    async def add(self, key: CacheKey, value: Any, ttl: float) -> bool:
        """Store ``value`` for ``ttl`` seconds only if ``key`` holds nothing live; True if stored."""
        ...

    async def swap(self, key: CacheKey, expected: Any, value: Any, ttl: float) -> bool:
        """Replace the value of ``key`` only if it still equals ``expected``; True if replaced."""
        ...


DEFAULT_MAX_BYTES = 64 * 1024 * 1024
ENTRY_OVERHEAD = 400  # the key, the Entry and the LRU's own bookkeeping per entry (estimated)
# A page or record stored by ``set`` is counted provisionally (``provisional_size``, ``Largest``) and
# sized exactly off the request that read it: once nothing such was stored for SETTLE_AFTER seconds
# (the cold request is answered by then), at the latest SETTLE_WITHIN seconds after the oldest,
# SETTLE_SLICE records at a time between turns of the event loop; at once when the budget is short.
SETTLE_AFTER = 0.25
SETTLE_WITHIN = 2.0
SETTLE_SLICE = 25


@dataclass(slots=True)
class _Kept:
    """An entry as the store keeps it: the bytes counted for it (exact, or provisional while its
    ``sizing`` goes on) and the mark of its place in the expiry heap (``seq``)."""

    entry: Entry
    size: int
    seq: int
    sizing: Sizing | None


class MemoryStore:
    """A bounded in-process store: least recently used entries go first, expired ones as soon as
    a write finds them past their time (or a read finds it).

    Bounded in bytes (``max_bytes``, each value's estimate from ``resolvers.bounded.deep_size``) and
    in entries (``maxsize``). It keeps what ``resolvers.kept`` keeps of a record or a page (typed
    fields, no raw payload), so a cached customer weighs about a quarter of what Kickserv sent. A
    value over a tenth of the budget is not kept (the older value under its key is forgotten), so
    one answer cannot empty the cache; ``add`` and ``swap`` (idempotency records, which must be
    kept) keep any value that fits the whole budget, sized at once.

    Sizing every record of a page took a fifth of a cold dashboard's CPU (2,850 tasks: 41 of
    205 ms, 2026-12-03), so a listing page ``set`` is counted at once at a provisional size that
    errs high, and a record of a class sized before at ``Largest``'s estimate, and both are sized
    exactly in the background (``SETTLE_AFTER``). Before any eviction the provisional sizes are
    settled (an estimate must not evict), and a value whose estimate passes a tenth of the budget
    is sized at once: settled, the byte bound holds on exact sizes, and a value found over a tenth
    is let go. ``aclose`` stops the background sizing, as does its end or its event loop's."""

    def __init__(
        self,
        maxsize: int = 50_000,
        clock: Callable[[], float] = time.monotonic,
        max_bytes: int = DEFAULT_MAX_BYTES,
    ) -> None:
        self.max_bytes = max_bytes
        self._maxsize = maxsize
        self._clock = clock
        self._entries: OrderedDict[CacheKey, _Kept] = OrderedDict()  # least recently used first
        self._expiry: list[tuple[float, int, CacheKey]] = []  # a heap of (stale_until, seq, key)
        self._seq = 0
        self._bytes = 0
        self._provisional: dict[CacheKey, None] = {}  # keys counted provisionally, oldest first
        self._largest = Largest()  # what a record of a class sized before is counted at, unsized
        self._settler: asyncio.Task[None] | None = None
        self._first = self._last = 0.0  # when the oldest and the newest of them were stored

    def __len__(self) -> int:
        return len(self._entries)

    @property
    def entries(self) -> int:
        """How many entries are kept (expired ones not yet dropped included)."""
        return len(self._entries)

    @property
    def bytes_used(self) -> int:
        """The bytes counted for what is kept (for metrics, and what the byte bound holds on): each
        entry's ``deep_size`` plus ``ENTRY_OVERHEAD``, a listing page not sized yet at its
        provisional size (erring high, by 3-22% on the sandbox's pages; see ``provisional``)."""
        return self._bytes

    @property
    def provisional(self) -> int:
        """How many entries are counted at a provisional size, not sized exactly yet."""
        return len(self._provisional)

    async def get(self, key: CacheKey) -> Entry | None:
        found = self._live(key)
        return None if found is None else found.entry

    async def set(self, key: CacheKey, entry: Entry) -> None:
        self._keep(key, entry, largest=self.max_bytes // LARGEST_SHARE, deferred=True)

    async def delete(self, key: CacheKey) -> None:
        self._drop(key)

    async def delete_resources(self, tenant: str, resources: frozenset[str]) -> int:
        """Forget these resources' entries; how many of them were live."""
        now = self._clock()
        doomed = [k for k in self._entries if k.tenant == tenant and k.resource in resources]
        live = sum(1 for k in doomed if now < self._entries[k].entry.stale_until)
        for key in doomed:
            self._drop(key)
        return live

    # Atomic because nothing below awaits: no other task runs between the read and the write.
    async def add(self, key: CacheKey, value: Any, ttl: float) -> bool:
        if self._live(key) is not None:
            return False
        return self._keep(key, self._lasting(value, ttl), largest=self.max_bytes)

    async def swap(self, key: CacheKey, expected: Any, value: Any, ttl: float) -> bool:
        current = self._live(key)
        if current is None or current.entry.value != expected:
            return False
        return self._keep(key, self._lasting(value, ttl), largest=self.max_bytes)

    def settle(self) -> None:
        """Size every provisionally counted entry exactly now (then evict if the budget is
        passed)."""
        self._settle_all()
        self._make_room(0)

    async def aclose(self) -> None:
        """Stop the background sizing (what is provisional stays counted so; a write starts it
        again)."""
        task = self._stop_sizing()
        if task is not None:
            await asyncio.gather(task, return_exceptions=True)

    def _stop_sizing(self) -> asyncio.Task[None] | None:
        """Cancel the background sizing if it runs in this event loop (not from itself); the task
        cancelled, if any. One of a loop gone was cancelled with it, or will never run again."""
        task, self._settler = self._settler, None
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            return None
        if task is None or task.done() or task.get_loop() is not loop:
            return None
        if task is asyncio.current_task():
            self._settler = task
            return None
        task.cancel()
        return task

    def _live(self, key: CacheKey) -> _Kept | None:
        found = self._entries.get(key)
        if found is None:
            return None
        if not self._clock() < found.entry.stale_until:
            self._drop(key)
            return None
        self._entries.move_to_end(key)
        return found

    def _keep(self, key: CacheKey, entry: Entry, largest: int, deferred: bool = False) -> bool:
        value = kept(entry.value)
        if value is not entry.value:
            entry = Entry(value, entry.fresh_until, entry.stale_until)
        now = self._clock()
        self._expire(now)
        self._drop(key)  # never leave an older value to be served instead
        if not now < entry.stale_until:
            return True  # past its time already: nothing to keep
        items = listed(value) if deferred else None
        guess = self._largest.estimate(value) if deferred and items is None else None
        sizing: Sizing | None = None
        if items is None and guess is None:
            size = ENTRY_OVERHEAD + deep_size(value)
            self._largest.learn(value, size - ENTRY_OVERHEAD)
        else:
            size = ENTRY_OVERHEAD + (provisional_size(value, items) if items else guess or 0)
            if size > largest or not self._fits(size):  # its exact size decides: count it now
                size = ENTRY_OVERHEAD + deep_size(value)
            else:
                sizing = Sizing(value, items or ())
        if size > largest:
            return False
        self._make_room(size)
        self._seq += 1
        self._entries[key] = _Kept(entry, size, self._seq, sizing)
        self._bytes += size
        heapq.heappush(self._expiry, (entry.stale_until, self._seq, key))
        while len(self._entries) > self._maxsize:
            self._drop(next(iter(self._entries)))
        if sizing is not None and key in self._entries:
            self._count_later(key)
        return True

    def _fits(self, size: int) -> bool:
        """Whether ``size`` more bytes fit, once what is provisional is settled if they do not."""
        if self._bytes + size > self.max_bytes:
            self._settle_all()
        return self._bytes + size <= self.max_bytes

    def _make_room(self, size: int) -> None:
        """Evict the least recently used entries until ``size`` more bytes fit, settling what is
        provisional first (its estimate errs high: settled, it may leave room)."""
        if self._fits(size):
            return
        while self._entries and self._bytes + size > self.max_bytes:
            self._drop(next(iter(self._entries)))

    def _drop(self, key: CacheKey) -> None:
        found = self._entries.pop(key, None)
        if found is not None:
            self._bytes -= found.size
            if found.sizing is not None:
                del self._provisional[key]

    def _expire(self, now: float) -> None:
        """Drop the entries past their stale window (the heap's marks of replaced ones skipped)."""
        heap = self._expiry
        while heap and not now < heap[0][0]:
            _, seq, key = heapq.heappop(heap)
            found = self._entries.get(key)
            if found is not None and found.seq == seq:
                self._drop(key)
        if len(heap) > 2 * len(self._entries) + 64:  # mostly marks of replaced entries
            self._expiry = [(k.entry.stale_until, k.seq, key) for key, k in self._entries.items()]
            heapq.heapify(self._expiry)

    def _count_later(self, key: CacheKey) -> None:
        """Size ``key``'s entry exactly in the background, in this event loop."""
        now = time.monotonic()
        if not self._provisional:
            self._first = now
        self._last = now
        self._provisional[key] = None
        loop = asyncio.get_running_loop()
        task = self._settler
        if task is None or task.done() or task.get_loop() is not loop:
            self._settler = loop.create_task(self._settle_in_background(), name="cache sizing")

    async def _settle_in_background(self) -> None:
        while self._provisional:
            wait = min(self._last + SETTLE_AFTER, self._first + SETTLE_WITHIN) - time.monotonic()
            if wait > 0:
                await asyncio.sleep(wait)
                continue
            self._settle_step(SETTLE_SLICE)  # no local outlives a slice: nothing kept alive
            self._make_room(0)  # an estimate may have erred low
            await asyncio.sleep(0)

    def _settle_all(self) -> None:
        if self._provisional:
            while self._provisional:
                self._settle_step(None)
            self._stop_sizing()  # nothing left for it

    def _settle_step(self, most: int | None) -> None:
        """Count up to ``most`` records (all if None) of the oldest provisional entry; once all
        are counted its size is exact, and a page over a tenth of the budget is let go."""
        key = next(iter(self._provisional))
        found = self._entries[key]
        assert found.sizing is not None  # the entries of self._provisional are being sized
        try:
            exact = found.sizing.step(most)
        except Exception:  # what cannot be counted is not kept (nor left in the way of the rest)
            logger.exception("Sizing a cached value failed; it is let go")
            self._drop(key)
            return
        if exact is None:
            return
        del self._provisional[key]
        found.sizing = None
        self._largest.learn(found.entry.value, exact)
        exact += ENTRY_OVERHEAD
        self._bytes += exact - found.size
        found.size = exact
        if exact > self.max_bytes // LARGEST_SHARE:
            self._drop(key)

    def _lasting(self, value: Any, ttl: float) -> Entry:
        until = self._clock() + ttl
        return Entry(value, until, until)


class Outcome(StrEnum):
    HIT = "hit"  # served from the store
    SHARED = "shared"  # joined an identical call already in flight
    FETCHED = "fetched"  # this caller made the upstream call (a miss)
    STALE = "stale"  # upstream failed, a stale value was served (counted as FETCHED too)


@dataclass
class SharedCache:
    """Read-through cache with per-class TTLs, stale-if-error and single-flight."""

    store: CacheStore = field(default_factory=MemoryStore)
    ttls: dict[ResourceClass, float] = field(default_factory=lambda: dict(DEFAULT_TTLS))
    stale_for: float = 300.0
    is_outage: Callable[[BaseException], bool] = lambda _exc: False
    clock: Callable[[], float] = time.monotonic
    enabled: bool = True
    # Process-wide, for metrics: how often each outcome came about (per-request figures live in
    # ``UpstreamStats``); a stale value served counts under FETCHED, its failed fetch, and STALE.
    counters: Counter[Outcome] = field(default_factory=Counter)
    # Idempotency records of writes: a store of their own, so cache pressure never evicts one.
    records: CacheStore = field(default_factory=lambda: MemoryStore(maxsize=200_000))
    on_fresh_until: Callable[[float], None] | None = None
    on_stale: Callable[[float], None] | None = None  # seconds past freshness of a value served
    # Every write for a tenant, published to every process (resolvers.generations): what is keyed
    # by the generation (cached responses) ends at a write, and each process forgets what it voided.
    writes: TenantWrites = field(default_factory=lambda: _this_process_only())
    _inflight: dict[CacheKey, asyncio.Task[Any]] = field(default_factory=dict, repr=False)
    # Moved by every invalidation of a tenant: a fetch that began before one must not be kept.
    _epochs: dict[str, int] = field(default_factory=dict, repr=False)

    async def get_or_fetch(
        self,
        key: CacheKey,
        fetch: Callable[[], Awaitable[T]],
        resource_class: ResourceClass,
    ) -> tuple[T, Outcome]:
        """Return the cached value for ``key``, or fetch it once however many callers ask."""
        if not self.enabled:
            return await fetch(), Outcome.FETCHED
        now = self.clock()
        entry = await self.store.get(key)
        if entry is not None and now < entry.fresh_until:
            self.counters[Outcome.HIT] += 1
            self._observe(entry.fresh_until)
            value: T = entry.value
            return value, Outcome.HIT
        task = self._inflight.get(key)
        outcome = Outcome.SHARED
        if task is not None:
            self.counters[Outcome.SHARED] += 1
        else:
            outcome = Outcome.FETCHED
            self.counters[Outcome.FETCHED] += 1
            task = asyncio.ensure_future(self._fetch_and_store(key, fetch, resource_class))
            self._inflight[key] = task
            task.add_done_callback(lambda _t: self._inflight.pop(key, None))
        try:
            stored: Entry = await asyncio.shield(task)
        except Exception as exc:
            if outcome is Outcome.FETCHED and entry is not None and self.is_outage(exc):
                self.counters[Outcome.STALE] += 1
                self._observe(entry.fresh_until)  # already past: nothing built on it is fresh
                if self.on_stale is not None:
                    self.on_stale(max(0.0, self.clock() - entry.fresh_until))
                stale: T = entry.value
                return stale, Outcome.STALE
            raise
        self._observe(stored.fresh_until)
        fetched: T = stored.value
        return fetched, outcome

    async def _fetch_and_store(
        self, key: CacheKey, fetch: Callable[[], Awaitable[T]], resource_class: ResourceClass
    ) -> Entry:
        epoch = self._epochs.get(key.tenant, 0)
        value = await fetch()
        if self._epochs.get(key.tenant, 0) != epoch:
            # A write was published while Kickserv answered: this answer may predate it.
            fresh_until = self.clock()
            return Entry(value, fresh_until, fresh_until)
        return await self._store(key, value, resource_class)

    def _observe(self, fresh_until: float) -> None:
        if self.on_fresh_until is not None:
            self.on_fresh_until(fresh_until)

    async def peek(self, key: CacheKey) -> Any | None:
        """The fresh cached value for ``key`` if any, without fetching."""
        if not self.enabled:
            return None
        entry = await self.store.get(key)
        if entry is not None and self.clock() < entry.fresh_until:
            self._observe(entry.fresh_until)
            return entry.value
        return None

    async def put(self, key: CacheKey, value: Any, resource_class: ResourceClass) -> None:
        """Store ``value`` (used by fetches and to prime what a response already carried)."""
        if not self.enabled:
            return
        entry = await self._store(key, value, resource_class)
        self._observe(entry.fresh_until)

    async def _store(self, key: CacheKey, value: Any, resource_class: ResourceClass) -> Entry:
        fresh_until = self.clock() + self.ttls[resource_class]
        entry = Entry(value, fresh_until, fresh_until + self.stale_for)
        await self.store.set(key, entry)
        return entry

    async def invalidate(self, tenant: str, *resources: str) -> int:
        """Forget every entry of these resources for one tenant (after a write): stored ones, and
        calls in flight (a later read must not join them, nor may they be kept)."""
        names = frozenset(resources)
        self._epochs[tenant] = self._epochs.get(tenant, 0) + 1
        if len(self._epochs) > 100_000:
            self._epochs.clear()  # all fetches in flight are kept no more: only a few misses
        for key in [k for k in self._inflight if k.tenant == tenant and k.resource in names]:
            self._inflight.pop(key, None)
        return await self.store.delete_resources(tenant, names)

    async def forget(self, key: CacheKey) -> None:
        await self.store.delete(key)


def _this_process_only() -> TenantWrites:
    from resolvers.generations import TenantWrites  # it keeps its logs in a CacheStore

    return TenantWrites()
