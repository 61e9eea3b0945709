from __future__ import annotations

import asyncio
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
        await asyncio.sleep(0.001)
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
