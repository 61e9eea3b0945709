"""Client-side indexes for lookups Kickserv lacks (an invoice by id, the customer of a global id, ...).

An index is built from a listing: the first page tells the page count, the rest are fetched
``width`` at a time, as patient reads (``kickserv.patient``: each page's read deadline starts when it is
sent, not while it waits behind the others in our own queue; 169 pages fired at once spent their
deadlines queued and tripped the breaker though Kickserv was healthy). A lookup waits for a build at
most ``page_deadline`` per round of ``width`` pages, plus one: past that it gets a clear ``Timeout``
while the build goes on, so a later lookup finds it. It is kept per tenant and credential (what one
credential may see another may not), and:

- a lookup of a known key costs nothing;
- a miss triggers ONE bounded refresh from the front of the listing (Kickserv lists newest first, so new
  records sit on the first pages), never a rescan per lookup, and misses within ``refresh_interval`` of
  the last refresh are answered "not found" without touching Kickserv;
- after ``ttl`` the next lookup rebuilds it completely (records change, not only appear);
- what is stored is a projection chosen by the caller, so a 100,000-invoice index stays small;
- ``on_read``, when set, is told until when each answer holds: the rebuild time for what was found,
  the next allowed refresh for a key not found (so a response built on it lasts no longer).
"""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from collections.abc import Awaitable, Callable, Hashable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Generic, Literal, Protocol, TypeVar

from kickserv import Timeout, patient
from kickserv.client import SEND_WAIT

R = TypeVar("R")  # upstream record
V = TypeVar("V")  # what the index keeps
R_co = TypeVar("R_co", covariant=True)


class PageLike(Protocol[R_co]):
    @property
    def items(self) -> Sequence[R_co]: ...

    @property
    def per_page(self) -> int: ...

    @property
    def total_pages(self) -> int | None: ...

    @property
    def total_entries(self) -> int | None: ...


FetchPage = Callable[[int, int], Awaitable[PageLike[R]]]


class Sends(Protocol):
    """What tells when calls are written (``kickserv.KickservClient``'s ``send_mark`` and
    ``sent_since``)."""

    def send_mark(self) -> int: ...

    async def sent_since(self, mark: int, count: int, within: float) -> None: ...


# What an index counts (``ListingIndex.counters``).
IndexEvent = Literal["builds", "refreshes", "pages_fetched", "suppressed_refreshes"]


@dataclass
class ListingIndex(Generic[R, V]):
    """key -> projection of every record of one Kickserv listing."""

    fetch_page: FetchPage[R]
    key: Callable[[R], Hashable]
    project: Callable[[R], V]
    per_page: int = 100
    ttl: float = 120.0
    refresh_interval: float = 5.0
    max_refresh_pages: int = 4
    width: int = 8  # pages of a build read at once
    page_deadline: float | None = 5.0  # a page read's deadline; None: lookups wait for any build
    clock: Callable[[], float] = time.monotonic
    on_read: Callable[[float], None] | None = None
    sends: Sends | None = None  # tells when the build's calls are written (see ``_build``)
    counters: Counter[IndexEvent] = field(default_factory=Counter)
    _values: dict[Hashable, V] = field(default_factory=dict, repr=False)
    _order: list[Hashable] = field(default_factory=list, repr=False)
    _built_at: float | None = field(default=None, repr=False)
    _refreshed_at: float = field(default=float("-inf"), repr=False)
    _total_entries: int | None = field(default=None, repr=False)
    _lock: asyncio.Lock = field(default_factory=asyncio.Lock, repr=False)
    _building: asyncio.Task[None] | None = field(default=None, repr=False)
    _build_pages: int | None = field(default=None, repr=False)  # of the build under way, once known

    @property
    def size(self) -> int:
        return len(self._values)

    def invalidate(self) -> None:
        """Drop everything: the next lookup rebuilds (used after writes that change the listing)."""
        self._built_at = None

    def put(self, record: R) -> None:
        """Prime one record seen elsewhere (a write's answer, a detail fetch)."""
        k = self.key(record)
        if k not in self._values:
            self._order.insert(0, k)
        self._values[k] = self.project(record)

    async def get_many(self, keys: Sequence[Hashable]) -> list[V | None]:
        await self._ensure_built()
        self._report_expiry()
        missing = [k for k in keys if k not in self._values]
        if missing:
            await self._refresh_for_misses()
            if self.on_read is not None and any(k not in self._values for k in missing):
                self.on_read(self._refreshed_at + self.refresh_interval)
        return [self._values.get(k) for k in keys]

    async def values(self) -> list[V]:
        """Every value, in listing order (newest first)."""
        await self._ensure_built()
        self._report_expiry()
        return [self._values[k] for k in self._order if k in self._values]

    def _report_expiry(self) -> None:
        if self.on_read is not None:
            built_at = self._built_at
            self.on_read(self.clock() if built_at is None else built_at + self.ttl)

    def _fresh(self) -> bool:
        return self._built_at is not None and self.clock() - self._built_at < self.ttl

    async def _ensure_built(self) -> None:
        if self._fresh():
            return
        task = self._building
        if task is None:
            # One build, shared by every lookup that waits for it, and finished even when they
            # stop waiting (a client gone, a lookup past its bound): the next lookup finds it.
            task = self._building = asyncio.create_task(self._build_once())
            task.add_done_callback(self._built)
        await self._wait_for(task)

    def _built(self, task: asyncio.Task[None]) -> None:
        self._building = self._build_pages = None
        if not task.cancelled():
            task.exception()  # retrieved: its waiters got it; none left, the next lookup retries

    async def _wait_for(self, task: asyncio.Task[None]) -> None:
        """Wait for `task` within this lookup's bound: a read's deadline per round of pages, once
        the page count is known, plus one; past it a `Timeout`, the build going on."""
        began = time.monotonic()  # real time: `clock` may be a test's, standing still
        while not task.done():
            if self.page_deadline is None:
                await asyncio.shield(task)
                break
            rounds = 1 + -(-max(0, (self._build_pages or 1) - 1) // self.width)
            left = began + self.page_deadline * (rounds + 1) - time.monotonic()
            if left <= 0:
                raise Timeout(
                    f"the index of {self._build_pages or 'a'} page(s) of a Kickserv listing is "
                    f"still being built (more than {time.monotonic() - began:.0f} s so far: "
                    "Kickserv is slow or limits this credential's rate); it goes on, try again "
                    "shortly.",
                    method="GET",
                    path="(index build)",
                )
            await asyncio.wait({task}, timeout=min(left, 1.0))
        task.result()

    async def _build_once(self) -> None:
        # Patient reads, page 1 too: the lookups waiting for the build bound it (`_wait_for`).
        with patient():
            async with self._lock:
                if not self._fresh():
                    await self._build()

    async def _build(self) -> None:
        first = await self._fetch(1)
        total_pages = first.total_pages or 1
        self._build_pages = total_pages
        values: dict[Hashable, V] = {}
        order: list[Hashable] = []
        # Each page is projected as it arrives: the full records of the whole listing never
        # coexist (at 100,000 invoices they would hold ~1.5 GB at the end of the build). The
        # other pages go out before the first is projected (``sends``: its calls are written
        # first), so that projection waits on Kickserv beside them instead of before them.
        numbers = range(2, total_pages + 1)
        mark = self.sends.send_mark() if self.sends is not None else 0
        reading = asyncio.ensure_future(self._fetch_paced(numbers))
        try:
            if self.sends is not None and numbers:
                await self.sends.sent_since(mark, min(self.width, len(numbers)), SEND_WAIT)
            self._absorb(first.items, values, order)
            rest = await reading
        except BaseException:
            reading.cancel()
            await asyncio.gather(reading, return_exceptions=True)
            raise
        for pairs in rest:
            for k, value in pairs:
                if k not in values:
                    order.append(k)
                values[k] = value
        self._values, self._order = values, order
        self._total_entries = first.total_entries
        self._built_at = self._refreshed_at = self.clock()
        self.counters["builds"] += 1

    async def _refresh_for_misses(self) -> None:
        if self.clock() - self._refreshed_at < self.refresh_interval:
            self.counters["suppressed_refreshes"] += 1
            return
        async with self._lock:
            if self.clock() - self._refreshed_at < self.refresh_interval:
                self.counters["suppressed_refreshes"] += 1
                return
            self._refreshed_at = self.clock()
            self.counters["refreshes"] += 1
            first = await self._fetch(1)
            per_page = first.per_page or self.per_page
            known = self._total_entries or 0
            added = max(0, (first.total_entries or 0) - known)
            # New records push older ones back: read as many pages as the growth spans, bounded.
            extra = min(self.max_refresh_pages - 1, -(-added // per_page))
            more = await asyncio.gather(*(self._fetch(n) for n in range(2, 2 + extra)))
            fresh_order: list[Hashable] = []
            for page in (first, *more):
                self._absorb(page.items, self._values, fresh_order)
            seen = set(fresh_order)  # once: a set per entry would stall the loop at 100k
            self._order = fresh_order + [k for k in self._order if k not in seen]
            self._total_entries = first.total_entries

    def _absorb(self, items: Iterable[R], values: dict[Hashable, V], order: list[Hashable]) -> None:
        for record in items:
            k = self.key(record)
            if k not in values:
                order.append(k)
            values[k] = self.project(record)

    async def _fetch_paced(self, numbers: Sequence[int]) -> list[list[tuple[Hashable, V]]]:
        """Pages `numbers`, projected, in order: `width` workers each read the next page as it
        finishes one (patient reads, as the build's task is: their deadlines start when sent).
        The first failure ends the build (the other workers are cancelled)."""
        pages: dict[int, list[tuple[Hashable, V]]] = {}
        todo = iter(numbers)

        async def worker() -> None:
            for number in todo:
                pages[number] = await self._fetch_projected(number)

        workers = [asyncio.create_task(worker()) for _ in range(min(self.width, len(numbers)))]
        try:
            await asyncio.gather(*workers)
        except BaseException:
            for task in workers:
                task.cancel()
            await asyncio.gather(*workers, return_exceptions=True)
            raise
        return [pages[n] for n in numbers]

    async def _fetch_projected(self, number: int) -> list[tuple[Hashable, V]]:
        page = await self._fetch(number)
        return [(self.key(record), self.project(record)) for record in page.items]

    async def _fetch(self, number: int) -> PageLike[R]:
        self.counters["pages_fetched"] += 1
        return await self.fetch_page(number, self.per_page)
