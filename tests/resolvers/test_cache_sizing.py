"""The shared cache counts a listing page at a provisional size when it is stored and sizes it
exactly later, off the request that read it (``MemoryStore``): the byte bound, the refusal of a
value over a tenth of the budget and the bytes reported hold on exact sizes once settled, nothing
is evicted on an estimate, and the background sizing yields to the event loop and leaves no task
behind."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from kickserv import Job, Page
from resolvers import cache as cache_module
from resolvers.bounded import LARGEST_SHARE, SAMPLE, deep_size, provisional_size
from resolvers.cache import ENTRY_OVERHEAD, CacheKey, Entry, MemoryStore
from resolvers.kept import kept


def job(i: int, text: str = "a visit") -> Job:
    return Job.from_json({"id": i, "job_number": i, "description": f"{text} {i}", "status": "open"})


def page(first: int, count: int = 100, big: dict[int, int] | None = None) -> Page[Job]:
    """``count`` jobs from id ``first``; the ``i``-th one's description ``big[i]`` long."""
    big = big or {}
    items = tuple(job(first + i, "x" * big.get(i, 8)) for i in range(count))
    return Page(items, 1, count, count, 1)


def entry(value: Any) -> Entry:
    return Entry(value, 1e12, 1e12)


def exact(value: Any) -> int:
    return ENTRY_OVERHEAD + deep_size(kept(value))


def sizing_tasks() -> list[asyncio.Task[Any]]:
    return [t for t in asyncio.all_tasks() if t.get_name() == "cache sizing" and not t.done()]


@pytest.fixture
def at_once(monkeypatch: pytest.MonkeyPatch) -> None:
    """Background sizing starts without waiting for writes to pause."""
    monkeypatch.setattr(cache_module, "SETTLE_AFTER", 0.0)
    monkeypatch.setattr(cache_module, "SETTLE_WITHIN", 0.0)


async def settled(store: MemoryStore) -> None:
    """Until the background sizing is done (a test times out if it never is)."""
    for _ in range(100_000):
        if not store.provisional:
            return
        await asyncio.sleep(0.01)


async def test_a_page_is_counted_high_at_once_and_exactly_once_settled():
    store = MemoryStore()
    value = page(1)
    await store.set(CacheKey("t", "jobs", 1), entry(value))
    assert store.provisional == 1
    assert exact(value) <= store.bytes_used < 1.25 * exact(value)
    store.settle()
    assert (store.provisional, store.bytes_used) == (0, exact(value))
    await asyncio.sleep(0)
    assert sizing_tasks() == []  # nothing left to size: the background task is gone with it
    await store.aclose()


async def test_a_page_is_sized_in_the_background_in_slices_that_let_others_run(at_once):
    store = MemoryStore()
    value = page(1)
    turns = 0

    async def other() -> None:
        nonlocal turns
        while store.provisional:
            turns += 1
            await asyncio.sleep(0)

    await store.set(CacheKey("t", "jobs", 1), entry(value))
    assert len(sizing_tasks()) == 1
    await asyncio.gather(other(), settled(store))
    assert store.bytes_used == exact(value)
    assert turns >= len(value.items) // cache_module.SETTLE_SLICE - 1  # between slices
    await asyncio.sleep(0)
    assert sizing_tasks() == []  # done: an idle store keeps no task


async def test_records_few_and_idempotency_records_are_sized_at_once():
    store = MemoryStore()
    await store.set(CacheKey("t", "jobs", 1), entry(page(1, count=2 * SAMPLE)))
    await store.set(CacheKey("t", "job", 1), entry(job(1)))
    many = tuple(f"outcome {i}" for i in range(500))
    assert await store.add(CacheKey("t", "idem", 1), many, 60.0)
    assert await store.swap(CacheKey("t", "idem", 1), many, many[:400], 60.0)
    assert store.provisional == 0 and sizing_tasks() == []
    sizes = [exact(page(1, count=2 * SAMPLE)), exact(job(1))]
    assert store.bytes_used == sum(sizes) + ENTRY_OVERHEAD + deep_size(many[:400])


async def test_a_record_of_a_class_sized_before_is_counted_high_at_once_and_exactly_later():
    store = MemoryStore()
    await store.set(CacheKey("t", "job", 1), entry(job(1, "a long first visit")))
    assert store.provisional == 0  # the first of its class: sized at once, and learnt
    first = exact(job(1, "a long first visit"))
    await store.set(CacheKey("t", "job", 2), entry(job(2)))
    assert store.provisional == 1
    largest = first - ENTRY_OVERHEAD
    assert store.bytes_used == first + ENTRY_OVERHEAD + largest + largest // 4
    assert store.bytes_used > first + exact(job(2))  # high: job 2 is the smaller
    store.settle()
    assert (store.provisional, store.bytes_used) == (0, first + exact(job(2)))
    await store.aclose()


async def test_a_record_found_over_a_tenth_once_sized_is_let_go(at_once):
    store = MemoryStore(max_bytes=200_000)
    await store.set(CacheKey("t", "job", 1), entry(job(1)))
    await store.set(CacheKey("t", "job", 2), entry(job(2, "x" * 30_000)))  # counted as job 1 is
    assert store.provisional == 1
    await settled(store)
    assert await store.get(CacheKey("t", "job", 2)) is None
    assert store.bytes_used == exact(job(1))


def estimate(value: Any) -> int:
    trimmed = kept(value)
    return ENTRY_OVERHEAD + provisional_size(trimmed, trimmed.items)


async def test_the_bound_holds_and_nothing_is_evicted_on_an_estimate():
    pages = [page(1000 + 100 * n) for n in range(13)]  # ids of 4 digits: one size
    sizes = [exact(p) for p in pages]
    assert len(set(sizes)) == 1
    store = MemoryStore(max_bytes=sum(sizes[:12]) + 100)  # twelve fit, counted exactly
    assert sum(map(estimate, pages[:12])) > store.max_bytes  # but not as estimated
    for n, value in enumerate(pages[:12]):
        await store.set(CacheKey("t", "jobs", n), entry(value))
        assert store.bytes_used <= store.max_bytes
    assert (len(store), store.provisional) == (12, 0)  # settled to make room: none had to go
    assert store.bytes_used == sum(sizes[:12])
    await store.set(CacheKey("t", "jobs", 12), entry(pages[12]))  # one must go: the oldest
    assert await store.get(CacheKey("t", "jobs", 0)) is None
    assert (len(store), store.bytes_used) == (12, sum(sizes[1:]))


async def test_a_page_found_over_a_tenth_once_settled_is_let_go():
    budget = 4 * 1024 * 1024
    store = MemoryStore(max_bytes=budget)
    key = CacheKey("t", "jobs", 1)
    huge = page(1, big={5: budget // 8})  # item 5 is not sampled: the estimate misses it
    assert estimate(huge) < budget // LARGEST_SHARE < exact(huge)
    await store.set(key, entry(page(1)))
    store.settle()
    await store.set(key, entry(huge))
    assert store.provisional == 1  # its estimate was small: kept for now, counted provisionally
    store.settle()
    assert await store.get(key) is None and store.bytes_used == 0
    sampled = page(1, big={0: budget // 8})  # the first item is sampled: refused at once
    await store.set(key, entry(sampled))
    assert await store.get(key) is None and store.bytes_used == 0


async def test_an_estimate_erring_low_leaves_the_bound_held_once_settled(at_once):
    small = [page(1000 * n) for n in range(20)]
    low = page(50_000, big={5: 25_000})  # its estimate misses most of it
    store = MemoryStore(max_bytes=sum(map(exact, small)) + estimate(low) + 100)
    assert estimate(low) + 100 < exact(low) < store.max_bytes // LARGEST_SHARE
    for n, value in enumerate([*small, low]):
        await store.set(CacheKey("t", "jobs", n), entry(value))
    assert len(store) == 21  # all fit, as estimated
    await settled(store)  # sized in the background: over the budget, so the oldest went
    assert await store.get(CacheKey("t", "jobs", 0)) is None
    assert store.bytes_used == sum(map(exact, [*small[1:], low])) <= store.max_bytes


async def test_a_page_dropped_before_it_is_sized_is_sized_no_more(at_once):
    store = MemoryStore()
    await store.set(CacheKey("t", "jobs", 1), entry(page(1)))
    await store.set(CacheKey("t", "jobs", 2), entry(page(1000)))
    await store.delete(CacheKey("t", "jobs", 1))
    assert await store.delete_resources("t", frozenset({"jobs"})) == 1
    assert (store.provisional, store.bytes_used, len(store)) == (0, 0, 0)
    await asyncio.sleep(0)
    assert sizing_tasks() == []


async def test_closing_the_store_ends_its_sizing_and_a_later_write_starts_it_again():
    store = MemoryStore()
    await store.set(CacheKey("t", "jobs", 1), entry(page(1)))
    assert len(sizing_tasks()) == 1
    await store.aclose()
    assert sizing_tasks() == [] and store.provisional == 1  # still counted, high
    await store.set(CacheKey("t", "jobs", 2), entry(page(1000)))
    assert len(sizing_tasks()) == 1
    await store.aclose()
    store.settle()
    assert store.bytes_used == exact(page(1)) + exact(page(1000))


def test_a_store_outliving_its_event_loop_sizes_in_the_next_one():
    store = MemoryStore()

    async def write(n: int) -> list[asyncio.Task[Any]]:
        await store.set(CacheKey("t", "jobs", n), entry(page(1000 * n)))
        return sizing_tasks()

    first = asyncio.run(write(1))  # ends at once: its loop cancels the sizing
    assert len(first) == 1 and first[0].cancelled()
    asyncio.run(write(2))
    assert store.provisional == 2

    async def wait() -> None:
        await store.set(CacheKey("t", "jobs", 3), entry(page(3000)))
        await settled(store)

    asyncio.run(wait())
    assert store.bytes_used == sum(exact(page(1000 * n)) for n in (1, 2, 3))


async def test_expired_entries_go_at_a_write_and_are_counted_no_more():
    now = [1000.0]
    store = MemoryStore(clock=lambda: now[0])
    await store.set(CacheKey("t", "jobs", 1), Entry(page(1), 1010.0, 1020.0))
    await store.set(CacheKey("t", "job", 1), Entry(job(1), 1010.0, 1100.0))
    now[0] = 1050.0
    assert await store.get(CacheKey("t", "jobs", 1)) is None
    await store.set(CacheKey("t", "job", 2), Entry(job(2), 1060.0, 1100.0))
    store.settle()  # job 2 was counted at the largest job seen: exactly now
    assert (len(store), store.provisional) == (2, 0)
    assert store.bytes_used == exact(job(1)) + exact(job(2))
    assert await store.delete_resources("t", frozenset({"job"})) == 2


class Unsized:
    def __sizeof__(self) -> int:
        raise RuntimeError("no size")


async def test_a_value_that_cannot_be_sized_is_let_go_and_the_rest_still_settle(at_once, caplog):
    store = MemoryStore()
    odd = tuple(Unsized() if i == 5 else f"item {i}" for i in range(100))  # 5: not sampled
    await store.set(CacheKey("t", "odd", 1), entry(odd))
    await store.set(CacheKey("t", "jobs", 1), entry(page(1)))
    await settled(store)
    assert await store.get(CacheKey("t", "odd", 1)) is None
    assert store.bytes_used == exact(page(1))
    assert "Sizing a cached value failed" in caplog.text
