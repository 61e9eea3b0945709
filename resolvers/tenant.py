"""One Kickserv credential's view of the data: its client, its slice of the shared cache, its indexes.

A ``Tenant`` outlives requests (one per account + credential) and owns what may be reused between
them: cached pages and records (through ``SharedCache``, keyed by ``tenant.key``), the learned page-size
cap, and the client-side indexes. Per-request state (loaders) lives in ``RequestData``.

What is cached, under which key, for how long, and what a write voids: the table in
``resolvers.resources``. Every method here takes one of its entries, never a resource name.

Every upstream read goes through ``page`` or ``record`` here, which is where cache hits, single-flight
sharing and upstream pages are counted for the request's ``extensions.upstream``.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Awaitable, Callable, Hashable, Mapping
from dataclasses import dataclass, field
from functools import cached_property, partial
from itertools import chain
from typing import Any, Generic, TypeVar

from kickserv import KickservClient, NotFound, Page, Paginator
from kickserv.client import SEND_WAIT
from resolvers import resources
from resolvers.cache import CacheKey, Outcome, SharedCache
from resolvers.connections import plan_window
from resolvers.indexes import ListingIndex
from resolvers.read_ahead import ReadAhead, next_pages, quiet
from resolvers.resources import Change, Index, Listing, Record
from resolvers.state.base import StateUnavailable
from resolvers.stats import record_cache_hit, record_fresh_until, record_page, record_read_ahead

logger = logging.getLogger("resolvers.tenant")

# What a write published besides kinds of change (resolvers.generations): one record to forget,
# or one record to put in an index, as JSON after these prefixes (kinds of change hold no colon).
RECORD = "record:"
INDEX = "index:"


# Pages an index build reads at once: half the client's concurrency, so the build goes out in few
# rounds while the other half stays free for other reads (each page's deadline starts when it is
# sent: resolvers.indexes). 8 at a time made a 50-page index 7 rounds where 2 would do.
def index_width(max_concurrency: int) -> int:
    return max(1, max_concurrency // 2)


MAX_PUBLISHED_RECORD = 32 * 1024


def _hashable(key: object) -> Hashable:
    """A cache key back from JSON (lists were tuples)."""
    return tuple(_hashable(k) for k in key) if isinstance(key, list) else key


T = TypeVar("T")
K = TypeVar("K", bound=Hashable)
V = TypeVar("V")
P = TypeVar("P", bound=Hashable)
R = TypeVar("R")


def tenant_key(account: str, credential_fingerprint: str) -> str:
    """The tenant part of cache keys (``Tenant.key``): account + credential fingerprint."""
    return f"{account}:{credential_fingerprint}"


@dataclass(frozen=True, slots=True)
class Window(Generic[T]):
    """A slice of an upstream listing: ``items`` start at ``offset`` of ``total``."""

    items: tuple[T, ...]
    offset: int
    total: int
    extra: Mapping[str, Any] = field(default_factory=dict)
    fetched: bool = False  # some page came from Kickserv now (not the cache): worth priming from
    pages: int = 0  # upstream pages the window was cut from (read or found cached)
    ahead: int = 0  # further pages begun in the background for the next cursors (read_ahead)
    ahead_note: str = ""  # why (not) read ahead, for the level's plan


@dataclass
class Tenant:
    """A Kickserv account seen through one credential."""

    account: str
    client: KickservClient
    cache: SharedCache
    max_per_page: int = 100
    index_ttl: float = 120.0
    job_of_payment: dict[int, int] = field(default_factory=dict)  # payment id -> job number
    used_at: float = 0.0  # time.monotonic() of the last request served (the watcher's pass-through)
    # What Kickserv does with filters the reference does not confirm (resolvers.verify), by name.
    filter_verdicts: dict[str, Any] = field(default_factory=dict)
    # The server's cursor read-ahead (resolvers.read_ahead; shared by its tenants); off unless given.
    read_ahead: ReadAhead = field(default_factory=ReadAhead)
    _indexes: dict[str, ListingIndex[Any, Any]] = field(default_factory=dict, repr=False)
    _changes: list[str] = field(default_factory=list, repr=False)  # changed, not yet published

    @cached_property  # in every cache key a request reads: made once, not per read
    def key(self) -> str:
        return tenant_key(self.account, self.client.credential_fingerprint)

    # -- reads -------------------------------------------------------------------------------------

    async def page(
        self, resource: Listing[T, P], listing: Paginator[T], params: P, number: int, per_page: int
    ) -> Page[T]:
        return (await self._page(resource, listing, params, number, per_page))[0]

    async def _page(
        self, resource: Listing[T, P], listing: Paginator[T], params: P, number: int, per_page: int
    ) -> tuple[Page[T], bool]:
        """The page, and whether it was fetched from Kickserv by this call."""

        key = CacheKey(self.key, resource.name, (params, number, per_page))

        async def fetch() -> Page[T]:
            self.read_ahead.fetching(key)
            record_page()
            return await listing.page(number, per_page)

        if self.read_ahead.claim(key):
            record_read_ahead(used=1)
        page, outcome = await self.cache.get_or_fetch(key, fetch, resource.lifetime)
        if outcome is not Outcome.FETCHED:
            record_cache_hit(shared=outcome is Outcome.SHARED)
        cap = page.per_page_cap
        # Learnt only from an envelope that shows Kickserv clamping per_page (kickserv.pages): a
        # bare array (employees) or a short page says nothing of the page size of other listings.
        if cap is not None and cap < per_page:
            self.max_per_page = min(self.max_per_page, cap)  # Kickserv clamped us
            if outcome is Outcome.FETCHED:  # it is also page `number` at the size served: keep it
                served = CacheKey(self.key, resource.name, (params, number, cap))
                await self.cache.put(served, page, resource.lifetime)
        return page, outcome is Outcome.FETCHED

    async def window(
        self,
        resource: Listing[T, P],
        listing: Paginator[T],
        params: P,
        offset: int,
        first: int,
        *,
        ahead: asyncio.Task[Any] | None = None,
        alone: bool = False,
    ) -> Window[T]:
        """Items ``[offset, offset + first)`` from the fewest upstream pages, fetched concurrently.
        ``ahead``: the client can follow cursors (its request's task): read the rest of the listing
        ahead when it is small (``resolvers.read_ahead``). ``alone``: the request has no reads of
        its own going on in the background, so one page is awaited as it is rather than in a task
        of gather's: a cached page answers without giving the event loop a turn, and the request
        goes on (a warm request then never waits for the loop, nor its objects for other
        requests'). Otherwise that turn lets the background reads (the tasks planner's) get on
        before the levels below look for what they read."""
        for _attempt in range(3):
            plan = plan_window(offset, max(first, 1), self.max_per_page)
            reads = [self._page(resource, listing, params, n, plan.per_page) for n in plan.numbers]
            if alone and len(reads) == 1:
                answers = [await reads[0]]
            else:
                answers = await asyncio.gather(*reads)
            pages = [page for page, _ in answers]
            served = pages[0].per_page_cap
            if served is not None and served < plan.per_page and pages[0].total_entries > served:
                # Kickserv served smaller pages than asked: plan again with the size it uses.
                self.max_per_page = served
                continue
            items = (
                pages[0].items
                if len(pages) == 1
                else tuple(chain.from_iterable(p.items for p in pages))
            )
            sliced = items[plan.skip : plan.skip + first]
            fetched = any(was_fetched for _, was_fetched in answers)
            total = pages[0].total_entries
            started, note = 0, "the last page"
            if ahead is not None and offset + len(sliced) < total:
                where = (offset, first, total)
                mark = self.client.send_mark()
                started, note = self._read_ahead(resource, listing, params, where, ahead)
                if started:
                    # Their calls go out now, not once this request's answer is built: the
                    # client's next cursor waits on them (the cold dispatch's pages 2-3 left
                    # ~10 ms sooner, its wall 147 -> 138 ms, medians of 17, 2026-12-03).
                    await self.client.sent_since(mark, started, SEND_WAIT)
            extra = pages[0].extra
            return Window(sliced, offset, total, extra, fetched, len(pages), started, note)
        raise RuntimeError("Kickserv kept changing its page size")  # pragma: no cover

    def _read_ahead(
        self,
        resource: Listing[T, P],
        listing: Paginator[T],
        params: P,
        window: tuple[int, int, int],
        owner: asyncio.Task[Any],
    ) -> tuple[int, str]:
        """Start reading the pages the next windows of ``window`` (offset, first, total) need,
        when there are few enough of them and Kickserv is neither limiting nor failing: how many
        began, and why (not)."""
        limit = self.read_ahead.pages
        if not limit:
            return 0, "not read ahead: GRAPH_READ_AHEAD_PAGES=0"
        if not self.cache.enabled:
            return 0, "not read ahead: no shared cache to keep the pages for the next cursor"
        if not quiet(self.client):
            return 0, "not read ahead: Kickserv is limiting this credential or failing"
        offset, first, total = window
        pages = next_pages(offset, first, total, self.max_per_page, limit)
        if pages is None:
            return 0, f"not read ahead: the rest is more than {limit} pages"
        if not pages:
            return 0, "not read ahead: no further page"
        reads: dict[Hashable, Callable[[], Awaitable[Any]]] = {
            CacheKey(self.key, resource.name, (params, number, size)): partial(
                self._page, resource, listing, params, number, size
            )
            for size, number in pages
        }
        started = self.read_ahead.start(reads, owner, self.cache.ttls[resource.lifetime])
        record_read_ahead(pages=started)
        if not started:
            return 0, f"the next {len(pages)} page(s) already read ahead (in flight or cached)"
        return started, f"{started} more page(s) read ahead together for the next cursors"

    async def everything(
        self,
        resource: Listing[T, P],
        listing: Paginator[T],
        params: P,
        first: Page[T] | None = None,
    ) -> Window[T]:
        """Every item of a listing: the first page, then the rest concurrently. ``first``: page 1 as
        the caller has read it already (not read again; not counted in ``fetched``)."""
        fetched = False
        if first is None:
            first, fetched = await self._page(resource, listing, params, 1, self.max_per_page)
        rest = await asyncio.gather(
            *(
                self._page(resource, listing, params, n, first.per_page)
                for n in range(2, first.total_pages + 1)
            )
        )
        items = tuple(item for p in (first, *(p for p, _ in rest)) for item in p.items)
        fetched = fetched or any(was_fetched for _, was_fetched in rest)
        return Window(items, 0, first.total_entries, first.extra, fetched, 1 + len(rest))

    async def record(
        self, resource: Record[K, V], key: K, fetch: Callable[[], Awaitable[V]]
    ) -> V | None:
        """One record, cached; ``None`` when Kickserv says it does not exist."""
        try:
            value, outcome = await self.cache.get_or_fetch(
                CacheKey(self.key, resource.name, key), fetch, resource.lifetime
            )
        except NotFound:
            # Not cached, so a response that says "none" is fresh no longer than now.
            record_fresh_until(self.cache.clock())
            return None
        if outcome is not Outcome.FETCHED:
            record_cache_hit(shared=outcome is Outcome.SHARED)
        return value

    async def prime(self, resource: Record[K, V], value: V) -> None:
        """Keep ``value`` (seen in another answer) where a read of its key will find it."""
        key = CacheKey(self.key, resource.name, resource.key_of(value))
        await self.cache.put(key, value, resource.lifetime)

    async def peek(self, resource: Record[K, V], key: K) -> V | None:
        """The fresh cached record of ``key``, if one is cached (never fetches)."""
        value = await self.cache.peek(CacheKey(self.key, resource.name, key))
        return value if isinstance(value, resource.holds) else None

    # -- after writes (what each change voids: resolvers.resources; who names it: writes) ---------

    async def wrote(self) -> None:
        """A write ran for this tenant (or may have): publish what it changed to every process,
        before the write is acknowledged; what is keyed by the write generation ends now."""
        try:
            await self.cache.writes.publish(self.key, self._drain_changes)
        except StateUnavailable as exc:
            # The write itself stands (failing it now would report an applied write as failed);
            # other replicas catch up with it at this tenant's next published write.
            logger.warning("A write could not be published to the state store: %s", exc)

    async def changed(self, *changes: Change) -> None:
        """Forget every cached entry and index that these kinds of change void (the table says),
        here now, and on every other process once ``wrote`` has published them."""
        self._changes.extend(change.value for change in changes)
        await self._forget(changes)

    async def wrote_record(self, resource: Record[K, V], value: V) -> None:
        """A write answered ``value``: keep it here; every other process forgets its copy."""
        await self.prime(resource, value)
        self._changes.append(RECORD + json.dumps([resource.name, resource.key_of(value)]))

    def wrote_to_index(self, spec: Index[R, V], record: R) -> None:
        """A write answered ``record``: put it in this tenant's index here and, from its JSON,
        in every other process's (an index cannot refetch one record: it is a whole listing)."""
        self.index(spec).put(record)
        raw = getattr(record, "raw", None)
        text = json.dumps([spec.name, raw]) if isinstance(raw, dict) else ""
        # Too large for the log (or no JSON kept): other processes rebuild their index instead.
        fits = 0 < len(text) <= MAX_PUBLISHED_RECORD
        self._changes.append(INDEX + (text if fits else json.dumps([spec.name, None])))

    async def sync(self) -> int:
        """Catch up with writes other processes published: forget what they voided. One read of
        the state store; returns the tenant's write generation."""
        generation, voided = await self.cache.writes.sync(self.key)
        if voided is None:
            await self._forget(tuple(Change))
            return generation
        if not voided:  # nothing written elsewhere since the last sync: a warm request's case
            return generation
        changes: list[Change] = []
        try:
            for item in voided:
                if item.startswith(RECORD):
                    name, key = json.loads(item.removeprefix(RECORD))
                    await self.cache.forget(CacheKey(self.key, name, _hashable(key)))
                elif item.startswith(INDEX):
                    self._replay_index(*json.loads(item.removeprefix(INDEX)))
                else:
                    changes.append(Change(item))
        except (ValueError, TypeError):  # written by another version: forget everything
            changes = list(Change)
        await self._forget(tuple(changes))
        return generation

    def _replay_index(self, name: str, raw: object) -> None:
        spec, index = resources.INDEX_NAMED.get(name), self._indexes.get(name)
        if spec is None or index is None:
            return
        if raw is None:
            index.invalidate()
        else:
            index.put(spec.parse(raw))

    def _drain_changes(self) -> list[str]:
        drained, self._changes = list(dict.fromkeys(self._changes)), []
        return drained

    async def _forget(self, changes: tuple[Change, ...]) -> None:
        names, indexes = resources.voided_by(changes)
        if names:
            await self.cache.invalidate(self.key, *names)
        for spec in indexes:
            index = self._indexes.get(spec.name)
            if index is not None:
                index.invalidate()

    async def forget_record(self, resource: Record[K, V], key: K) -> None:
        """A write changed or deleted this record without answering it: forget it here and on
        every other process."""
        self._changes.append(RECORD + json.dumps([resource.name, key]))
        await self.cache.forget(CacheKey(self.key, resource.name, key))

    # -- indexes for lookups Kickserv lacks --------------------------------------------------------

    def index(self, spec: Index[R, V]) -> ListingIndex[R, V]:
        """This tenant's index of ``spec`` (built on its first lookup)."""
        index = self._indexes.get(spec.name)
        if index is None:

            async def counted(number: int, per_page: int) -> Page[R]:
                record_page()
                return await spec.listing(self.client).page(number, per_page)

            index = ListingIndex(
                counted,
                key=spec.key_of,
                project=spec.project,
                per_page=self.max_per_page,
                ttl=self.index_ttl,
                width=index_width(self.client.max_concurrency),
                page_deadline=self.client.retry.deadline,
                on_read=record_fresh_until,
                sends=self.client,
            )
            self._indexes[spec.name] = index
        return index
