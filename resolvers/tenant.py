"""One Kickserv credential's view of the data: its client, its slice of the shared cache, its indexes.

A ``Tenant`` outlives requests (one per account + credential) and owns what may be reused between
them: cached pages and records (through ``SharedCache``, keyed by ``tenant.key``), the learned page-size
cap, and the client-side indexes. Per-request state (loaders) lives in ``RequestData``.

Every upstream read goes through ``page`` or ``record`` here, which is where cache hits, single-flight
sharing and upstream pages are counted for the request's ``extensions.upstream``.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Hashable, Mapping
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

from kickserv import Customer, Invoice, Job, KickservClient, NotFound, Page, Paginator, Payment
from resolvers.cache import CacheKey, Outcome, ResourceClass, SharedCache
from resolvers.connections import plan_window
from resolvers.indexes import ListingIndex
from resolvers.invoice_index import IndexedInvoice
from resolvers.stats import record_cache_hit, record_fresh_until, record_page

T = TypeVar("T")

# How long each kind of upstream answer may be reused (see resolvers.cache.DEFAULT_TTLS).
RESOURCE_CLASSES: Mapping[str, ResourceClass] = {
    "employees": ResourceClass.REFERENCE,
    "job_types": ResourceClass.REFERENCE,
    "job_charge_types": ResourceClass.REFERENCE,
    "items": ResourceClass.REFERENCE,
    "vendors": ResourceClass.REFERENCE,
    "invoices": ResourceClass.MONEY,
    "payments": ResourceClass.MONEY,
}


def tenant_key(account: str, credential_fingerprint: str) -> str:
    """The tenant part of cache keys (``Tenant.key``): account + credential fingerprint."""
    return f"{account}:{credential_fingerprint}"


def resource_class(resource: str) -> ResourceClass:
    return RESOURCE_CLASSES.get(resource.split(".", 1)[0], ResourceClass.RECORD)


@dataclass(frozen=True, slots=True)
class Window(Generic[T]):
    """A slice of an upstream listing: ``items`` start at ``offset`` of ``total``."""

    items: tuple[T, ...]
    offset: int
    total: int
    extra: Mapping[str, Any] = field(default_factory=dict)
    fetched: bool = False  # some page came from Kickserv now (not the cache): worth priming from


@dataclass
class Tenant:
    """A Kickserv account seen through one credential."""

    account: str
    client: KickservClient
    cache: SharedCache
    max_per_page: int = 100
    index_ttl: float = 120.0
    job_of_payment: dict[int, int] = field(default_factory=dict)  # payment id -> job number
    _indexes: dict[str, ListingIndex[Any, Any]] = field(default_factory=dict, repr=False)

    @property
    def key(self) -> str:
        return tenant_key(self.account, self.client.credential_fingerprint)

    # -- reads -------------------------------------------------------------------------------------

    async def page(
        self, resource: str, listing: Paginator[T], params: Hashable, number: int, per_page: int
    ) -> Page[T]:
        return (await self._page(resource, listing, params, number, per_page))[0]

    async def _page(
        self, resource: str, listing: Paginator[T], params: Hashable, number: int, per_page: int
    ) -> tuple[Page[T], bool]:
        """The page, and whether it was fetched from Kickserv by this call."""

        async def fetch() -> Page[T]:
            record_page()
            return await listing.page(number, per_page)

        key = CacheKey(self.key, resource, (params, number, per_page))
        page, outcome = await self.cache.get_or_fetch(key, fetch, resource_class(resource))
        if outcome is not Outcome.FETCHED:
            record_cache_hit(shared=outcome is Outcome.SHARED)
        if 0 < page.per_page < per_page:
            self.max_per_page = min(self.max_per_page, page.per_page)  # Kickserv clamped us
            if outcome is Outcome.FETCHED:  # it is also page `number` at the size served: keep it
                served = CacheKey(self.key, resource, (params, number, page.per_page))
                await self.cache.put(served, page, resource_class(resource))
        return page, outcome is Outcome.FETCHED

    async def window(
        self,
        resource: str,
        listing: Paginator[T],
        params: Hashable,
        offset: int,
        first: int,
    ) -> Window[T]:
        """Items ``[offset, offset + first)`` from the fewest upstream pages, fetched concurrently."""
        for _attempt in range(3):
            cap = self.max_per_page
            plan = plan_window(offset, max(first, 1), cap)
            answers = await asyncio.gather(
                *(self._page(resource, listing, params, n, plan.per_page) for n in plan.numbers)
            )
            pages = [page for page, _ in answers]
            if pages[0].per_page == plan.per_page or pages[0].total_entries <= pages[0].per_page:
                items = tuple(item for p in pages for item in p.items)
                sliced = items[plan.skip : plan.skip + first]
                fetched = any(was_fetched for _, was_fetched in answers)
                return Window(sliced, offset, pages[0].total_entries, pages[0].extra, fetched)
            # Kickserv served smaller pages than asked: plan again with the size it really uses.
            self.max_per_page = pages[0].per_page
        raise RuntimeError("Kickserv kept changing its page size")  # pragma: no cover

    async def everything(self, resource: str, listing: Paginator[T], params: Hashable) -> Window[T]:
        """Every item of a listing: the first page, then the rest concurrently."""
        first, fetched = await self._page(resource, listing, params, 1, self.max_per_page)
        rest = await asyncio.gather(
            *(
                self._page(resource, listing, params, n, first.per_page)
                for n in range(2, first.total_pages + 1)
            )
        )
        items = tuple(item for p in (first, *(p for p, _ in rest)) for item in p.items)
        fetched = fetched or any(was_fetched for _, was_fetched in rest)
        return Window(items, 0, first.total_entries, first.extra, fetched)

    async def record(
        self, resource: str, key: Hashable, fetch: Callable[[], Awaitable[T]]
    ) -> T | None:
        """One record, cached; ``None`` when Kickserv says it does not exist."""
        try:
            value, outcome = await self.cache.get_or_fetch(
                CacheKey(self.key, resource, key), fetch, resource_class(resource)
            )
        except NotFound:
            # Not cached, so a response that says "none" is fresh no longer than now.
            record_fresh_until(self.cache.clock())
            return None
        if outcome is not Outcome.FETCHED:
            record_cache_hit(shared=outcome is Outcome.SHARED)
        return value

    async def prime(self, resource: str, key: Hashable, value: Any) -> None:
        await self.cache.put(CacheKey(self.key, resource, key), value, resource_class(resource))

    async def peek(self, resource: str, key: Hashable) -> Any | None:
        return await self.cache.peek(CacheKey(self.key, resource, key))

    # -- after writes (what to forget is decided in resolvers.writes.invalidation) -----------------

    def wrote(self) -> None:
        """A write ran for this tenant: what is keyed by its write generation is void from now."""
        self.cache.generations.bump(self.key)

    async def forget(self, *resources: str) -> None:
        """Drop every cached entry (records and listing pages) of these resources."""
        await self.cache.invalidate(self.key, *resources)

    async def forget_record(self, resource: str, key: Hashable) -> None:
        await self.cache.forget(CacheKey(self.key, resource, key))

    # -- indexes for lookups Kickserv lacks --------------------------------------------------------

    def _index(
        self,
        name: str,
        fetch_page: Callable[[int, int], Awaitable[Page[Any]]],
        project: Callable[[Any], Any] = lambda record: record,
    ) -> ListingIndex[Any, Any]:
        index = self._indexes.get(name)
        if index is None:

            async def counted(number: int, per_page: int) -> Page[Any]:
                record_page()
                return await fetch_page(number, per_page)

            index = ListingIndex(
                counted,
                key=lambda record: record.id,
                project=project,
                per_page=self.max_per_page,
                ttl=self.index_ttl,
                on_read=record_fresh_until,
            )
            self._indexes[name] = index
        return index

    @property
    def invoice_index(self) -> ListingIndex[Invoice, IndexedInvoice]:
        """What the index keeps of each invoice: see resolvers.invoice_index (100,000 < 100 MB)."""
        return self._index(
            "invoices",
            lambda n, pp: self.client.invoices.list().page(n, pp),
            IndexedInvoice.from_record,
        )

    @property
    def customer_index(self) -> ListingIndex[Customer, Customer]:
        return self._index("customers", lambda n, pp: self.client.customers.list().page(n, pp))

    @property
    def job_index(self) -> ListingIndex[Job, Job]:
        return self._index("jobs", lambda n, pp: self.client.jobs.list().page(n, pp))

    @property
    def opportunity_index(self) -> ListingIndex[Job, Job]:
        return self._index(
            "opportunities", lambda n, pp: self.client.opportunities.list().page(n, pp)
        )

    @property
    def payment_index(self) -> ListingIndex[Payment, Payment]:
        """Kickserv cannot fetch one payment: federation references resolve through this."""
        return self._index("payments", lambda n, pp: self.client.payments.list().page(n, pp))

    def invalidate_indexes(self, *names: str) -> None:
        for name in names or tuple(self._indexes):
            index = self._indexes.get(name)
            if index is not None:
                index.invalidate()
