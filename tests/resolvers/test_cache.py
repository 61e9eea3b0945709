from __future__ import annotations

import asyncio

import pytest

from resolvers.cache import CacheKey, MemoryStore, Outcome, ResourceClass, SharedCache


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def make_cache(clock: Clock, **kwargs) -> SharedCache:
    return SharedCache(store=MemoryStore(clock=clock), clock=clock, **kwargs)


async def test_hit_after_fetch_and_expiry_by_resource_class():
    # given
    clock = Clock()
    cache = make_cache(
        clock, ttls={c: t for c, t in zip(ResourceClass, (600, 60, 15), strict=True)}
    )
    calls = 0

    async def fetch() -> str:
        nonlocal calls
        calls += 1
        return f"v{calls}"

    key = CacheKey("demo:abc", "invoice.page", (1, 25))
    # when / then
    assert await cache.get_or_fetch(key, fetch, ResourceClass.MONEY) == ("v1", Outcome.FETCHED)
    assert await cache.get_or_fetch(key, fetch, ResourceClass.MONEY) == ("v1", Outcome.HIT)
    clock.now += 16
    assert await cache.get_or_fetch(key, fetch, ResourceClass.MONEY) == ("v2", Outcome.FETCHED)
    assert calls == 2


async def test_two_credentials_never_share_an_entry():
    clock = Clock()
    cache = make_cache(clock)
    a = CacheKey("demo:cred-a", "job", 7)
    b = CacheKey("demo:cred-b", "job", 7)

    async def fetch_a() -> str:
        return "seen by a"

    async def fetch_b() -> str:
        return "seen by b"

    assert (await cache.get_or_fetch(a, fetch_a, ResourceClass.RECORD))[0] == "seen by a"
    assert (await cache.get_or_fetch(b, fetch_b, ResourceClass.RECORD))[0] == "seen by b"


async def test_single_flight_shares_one_call_between_concurrent_callers():
    cache = make_cache(Clock())
    started = 0
    release = asyncio.Event()

    async def fetch() -> int:
        nonlocal started
        started += 1
        await release.wait()
        return 42

    key = CacheKey("t", "customers.page", (1,))
    waiters = [
        asyncio.create_task(cache.get_or_fetch(key, fetch, ResourceClass.RECORD)) for _ in range(5)
    ]
    await asyncio.sleep(0)
    release.set()
    results = await asyncio.gather(*waiters)
    assert started == 1
    assert sorted(o.value for _, o in results) == ["fetched"] + ["shared"] * 4
    assert {v for v, _ in results} == {42}


async def test_cancelled_waiter_does_not_cancel_the_shared_call():
    cache = make_cache(Clock())
    release = asyncio.Event()

    async def fetch() -> str:
        await release.wait()
        return "done"

    key = CacheKey("t", "r", 1)
    first = asyncio.create_task(cache.get_or_fetch(key, fetch, ResourceClass.RECORD))
    await asyncio.sleep(0)
    second = asyncio.create_task(cache.get_or_fetch(key, fetch, ResourceClass.RECORD))
    await asyncio.sleep(0)
    first.cancel()
    release.set()
    assert (await second)[0] == "done"


async def test_failures_are_not_cached():
    cache = make_cache(Clock())
    attempts = 0

    async def flaky() -> str:
        nonlocal attempts
        attempts += 1
        if attempts == 1:
            raise RuntimeError("upstream broke")
        return "ok"

    key = CacheKey("t", "r", 1)
    with pytest.raises(RuntimeError):
        await cache.get_or_fetch(key, flaky, ResourceClass.RECORD)
    assert (await cache.get_or_fetch(key, flaky, ResourceClass.RECORD))[0] == "ok"
    assert attempts == 2


async def test_stale_value_served_when_upstream_is_down():
    clock = Clock()
    cache = make_cache(clock, is_outage=lambda exc: isinstance(exc, ConnectionError))

    async def ok() -> str:
        return "old"

    async def down() -> str:
        raise ConnectionError("kickserv down")

    key = CacheKey("t", "r", 1)
    await cache.get_or_fetch(key, ok, ResourceClass.MONEY)
    clock.now += 30  # past the 15 s TTL, within the stale window
    assert await cache.get_or_fetch(key, down, ResourceClass.MONEY) == ("old", Outcome.STALE)
    clock.now += 10_000  # past the stale window too
    with pytest.raises(ConnectionError):
        await cache.get_or_fetch(key, down, ResourceClass.MONEY)


async def test_invalidate_removes_only_that_tenants_resources():
    cache = make_cache(Clock())

    async def v() -> str:
        return "v"

    for tenant in ("a", "b"):
        for resource in ("invoice.page", "job"):
            await cache.get_or_fetch(CacheKey(tenant, resource, 1), v, ResourceClass.RECORD)
    assert await cache.invalidate("a", "invoice.page") == 1
    assert await cache.peek(CacheKey("a", "invoice.page", 1)) is None
    assert await cache.peek(CacheKey("b", "invoice.page", 1)) == "v"
    assert await cache.peek(CacheKey("a", "job", 1)) == "v"


async def test_store_is_bounded():
    store = MemoryStore(maxsize=10)
    cache = SharedCache(store=store)

    async def v() -> int:
        return 1

    for i in range(50):
        await cache.get_or_fetch(CacheKey("t", "r", i), v, ResourceClass.RECORD)
    assert len(store) == 10


async def test_a_stale_value_served_is_reported_with_how_far_past_fresh():
    from kickserv.breaker import CircuitOpen

    clock = Clock()
    seen: list[float] = []
    cache = make_cache(
        clock,
        is_outage=lambda exc: isinstance(exc, CircuitOpen),
        on_stale=seen.append,
    )
    key = CacheKey("demo:abc", "job", 7)

    async def fetch() -> str:
        return "job 7"

    async def refused() -> str:  # the breaker is open: nothing is sent, the call fails at once
        raise CircuitOpen("not sent", method="GET", path="/jobs/7.json", retry_after=1.0)

    await cache.get_or_fetch(key, fetch, ResourceClass.RECORD)
    clock.now += 60 + 42  # RECORD is fresh for 60 s
    assert await cache.get_or_fetch(key, refused, ResourceClass.RECORD) == ("job 7", Outcome.STALE)
    assert seen == [42.0]
