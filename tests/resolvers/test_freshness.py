"""How long what a request read stays fresh (what bounds a cached response), and write generations."""

from __future__ import annotations

import asyncio

from kickserv import Page
from resolvers.cache import CacheKey, MemoryStore, Outcome, ResourceClass, SharedCache
from resolvers.generations import TenantWrites
from resolvers.indexes import ListingIndex
from resolvers.stats import UpstreamStats, current_stats, record_fresh_until


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


class Outage(Exception):
    pass


def make_cache(clock: Clock, seen: list[float]) -> SharedCache:
    return SharedCache(
        store=MemoryStore(clock=clock),
        clock=clock,
        on_fresh_until=seen.append,
        is_outage=lambda exc: isinstance(exc, Outage),
    )


async def test_every_entry_read_or_stored_reports_its_fresh_until():
    clock, seen = Clock(), []
    cache = make_cache(clock, seen)
    key = CacheKey("demo:a", "invoices", 1)

    async def fetch() -> str:
        return "v"

    async def failing() -> str:
        raise Outage()

    assert (await cache.get_or_fetch(key, fetch, ResourceClass.MONEY))[1] is Outcome.FETCHED
    clock.now += 5
    assert (await cache.get_or_fetch(key, fetch, ResourceClass.MONEY))[1] is Outcome.HIT
    assert await cache.peek(key) == "v"
    await cache.put(CacheKey("demo:a", "customer", 1), "c", ResourceClass.RECORD)
    clock.now += 20  # past fresh: Kickserv fails, the stale value is served
    assert (await cache.get_or_fetch(key, failing, ResourceClass.MONEY))[1] is Outcome.STALE

    assert seen == [1015.0, 1015.0, 1015.0, 1065.0, 1015.0]  # the stale one is already past


async def test_callers_sharing_one_fetch_each_learn_its_fresh_until():
    clock, seen = Clock(), []
    cache = make_cache(clock, seen)
    release = asyncio.Event()

    async def fetch() -> str:
        await release.wait()
        return "v"

    key = CacheKey("demo:a", "customer", 1)
    first = asyncio.ensure_future(cache.get_or_fetch(key, fetch, ResourceClass.RECORD))
    second = asyncio.ensure_future(cache.get_or_fetch(key, fetch, ResourceClass.RECORD))
    await asyncio.sleep(0)
    release.set()
    outcomes = {(await first)[1], (await second)[1]}

    assert outcomes == {Outcome.FETCHED, Outcome.SHARED}
    assert seen == [1060.0, 1060.0]


async def test_the_request_stats_keep_the_earliest():
    stats = UpstreamStats()
    token = current_stats.set(stats)
    try:
        for until in (50.0, 20.0, 30.0):
            record_fresh_until(until)
    finally:
        current_stats.reset(token)
    assert stats.fresh_until == 20.0


async def test_an_index_reports_its_rebuild_time_and_for_a_miss_its_next_refresh():
    clock, seen = Clock(), []

    async def fetch_page(number: int, per_page: int) -> Page[int]:
        return Page(items=(1, 2, 3), number=1, per_page=per_page, total_entries=3, total_pages=1)

    index: ListingIndex[int, int] = ListingIndex(
        fetch_page,
        key=lambda n: n,
        project=lambda n: n,
        ttl=120.0,
        refresh_interval=5.0,
        clock=clock,
        on_read=seen.append,
    )
    assert await index.get_many([1, 2]) == [1, 2]
    clock.now += 10
    assert await index.get_many([9]) == [None]  # refreshed now, still unknown

    assert seen == [1120.0, 1120.0, 1015.0]


async def test_write_generations_change_on_every_write_and_never_come_back():
    generations = TenantWrites(max_tenants=2)

    async def bump(tenant: str) -> int:
        return await generations.publish(tenant, list)

    before = generations.of("a")
    first = await bump("a")
    assert generations.of("a") == first != before
    assert await bump("a") != first
    await bump("b")
    untouched = generations.of("z")
    await bump("c")  # evicts "a": it and every tenant without an entry move to a new floor
    assert len(generations) == 2
    assert generations.of("a") not in (before, first)
    assert generations.of("z") != untouched
