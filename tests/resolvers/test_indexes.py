from __future__ import annotations

import asyncio
import contextlib
from dataclasses import dataclass

from resolvers.indexes import ListingIndex


@dataclass(frozen=True)
class Page:
    items: list[dict]
    per_page: int
    total_pages: int | None
    total_entries: int | None


class Listing:
    """A newest-first listing served in pages, counting fetches."""

    def __init__(self, n: int, server_cap: int = 100) -> None:
        self.records = [{"id": i} for i in range(n, 0, -1)]
        self.fetches: list[int] = []
        self.server_cap = server_cap
        self.in_flight = 0
        self.max_in_flight = 0

    def add(self, new_id: int) -> None:
        self.records.insert(0, {"id": new_id})

    async def fetch(self, number: int, per_page: int) -> Page:
        self.fetches.append(number)
        self.in_flight += 1
        self.max_in_flight = max(self.max_in_flight, self.in_flight)
        try:
            await asyncio.sleep(0.001)
        finally:  # a cancelled fetch is no longer in flight either
            self.in_flight -= 1
        per_page = min(per_page, self.server_cap)
        total = len(self.records)
        start = (number - 1) * per_page
        return Page(self.records[start : start + per_page], per_page, -(-total // per_page), total)


class Clock:
    now = 0.0

    def __call__(self) -> float:
        return self.now


def make(listing: Listing, clock: Clock) -> ListingIndex[dict, int]:
    return ListingIndex(
        listing.fetch, key=lambda r: r["id"], project=lambda r: r["id"] * 10, clock=clock
    )


async def test_cold_build_fetches_each_page_once_concurrently_then_warm_costs_nothing():
    listing, clock = Listing(1000), Clock()
    index = make(listing, clock)
    ids = list(range(1, 1001, 20))  # 50 different ids
    results = await asyncio.gather(*(index.get_many([i]) for i in ids))
    assert [r[0] for r in results] == [i * 10 for i in ids]
    assert sorted(listing.fetches) == list(range(1, 11))  # 10 pages, each once
    assert listing.max_in_flight > 1
    listing.fetches.clear()
    assert await index.get_many(ids) == [i * 10 for i in ids]
    assert listing.fetches == []


async def test_miss_triggers_one_bounded_refresh_not_a_rescan():
    listing, clock = Listing(1000), Clock()
    index = make(listing, clock)
    await index.get_many([1])
    listing.add(1001)
    listing.fetches.clear()
    clock.now += 10
    assert await index.get_many([1001]) == [10010]
    assert listing.fetches == [1, 2]  # the front of the listing, not all 11 pages
    listing.fetches.clear()
    # an unknown id right after a refresh does not touch upstream again
    assert await index.get_many([99999]) == [None]
    assert await index.get_many([88888]) == [None]
    assert listing.fetches == []
    assert index.counters["suppressed_refreshes"] == 2


async def test_rebuild_after_ttl_and_server_capped_page_size():
    listing, clock = Listing(120, server_cap=25), Clock()
    index = make(listing, clock)
    assert await index.get_many([120, 1]) == [1200, 10]
    assert sorted(listing.fetches) == [1, 2, 3, 4, 5]  # trusted the 25 the server used
    listing.fetches.clear()
    clock.now += 1000
    await index.get_many([1])
    assert sorted(listing.fetches) == [1, 2, 3, 4, 5]
    assert index.counters["builds"] == 2


class Sends:
    """A client's send marks over ``Listing``: a call counts as written once its fetch began."""

    def __init__(self, listing: Listing) -> None:
        self.listing = listing
        self.sent = 0
        self.began = asyncio.Condition()

    async def fetch(self, number: int, per_page: int) -> Page:
        self.sent += 1
        async with self.began:
            self.began.notify_all()
        return await self.listing.fetch(number, per_page)

    def send_mark(self) -> int:
        return self.sent

    async def sent_since(self, mark: int, count: int, within: float) -> None:
        with contextlib.suppress(TimeoutError):  # past `within`: return, as the client does
            async with asyncio.timeout(within), self.began:
                await self.began.wait_for(lambda: self.sent - mark >= count)


async def test_a_build_sends_its_other_pages_before_it_projects_its_first():
    """The first page's projection waits on Kickserv beside the other pages, not before them."""
    listing = Listing(1000)
    projected_first_after: list[list[int]] = []

    def project(record: dict) -> int:
        if record["id"] == 1000:  # the first record of page 1
            projected_first_after.append(list(listing.fetches))
        return record["id"] * 10

    sends = Sends(listing)
    index = ListingIndex(sends.fetch, key=lambda r: r["id"], project=project, width=4, sends=sends)
    assert await index.get_many([1000, 1]) == [10000, 10]
    assert projected_first_after == [[1, 2, 3, 4, 5]]  # page 1, then the first 4 of the other 9
    assert sorted(listing.fetches) == list(range(1, 11)) and index.size == 1000
    assert await index.values() == [i * 10 for i in range(1000, 0, -1)]  # listing order kept


async def test_a_build_whose_first_projection_fails_stops_reading_the_others():
    listing = Listing(1000)

    def project(record: dict) -> int:
        if record["id"] == 1000:
            raise ValueError("a record the projection cannot keep")
        return record["id"]

    sends = Sends(listing)
    index = ListingIndex(sends.fetch, key=lambda r: r["id"], project=project, width=2, sends=sends)
    try:
        await index.get_many([1])
    except ValueError:
        pass
    else:  # pragma: no cover - the test fails here
        raise AssertionError("the failure did not reach the lookup")
    await asyncio.sleep(0.01)
    assert sorted(listing.fetches) == [1, 2, 3] and listing.in_flight == 0  # cancelled, not read
