"""``Tenant.window_now``: a listing window answered without awaiting when its pages are fresh in this
process's cache, the same window ``Tenant.window`` gives, counted as the same hits; otherwise None and
nothing counted. On a real sandbox, its request log counting the calls."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from datetime import date

import httpx
import pytest

from kickserv import KickservClient
from resolvers.cache import MemoryStore, Outcome, SharedCache
from resolvers.data import RequestData
from resolvers.tenant import Tenant
from sandbox.config import SandboxConfig
from sandbox.testing import RunningSandbox, running_sandbox

TODAY = date(2026, 11, 21)


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture(scope="module")
def sb() -> Iterator[RunningSandbox]:
    with running_sandbox(SandboxConfig(customers=60, seed=5, today=TODAY)) as sandbox:
        yield sandbox


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
async def tenant(sb: RunningSandbox, clock: Clock) -> AsyncIterator[Tenant]:
    async with httpx.AsyncClient() as http:
        client = KickservClient("demo", "demo-token", base_url=sb.base_url, http=http)
        yield Tenant("demo", client, SharedCache(store=MemoryStore(clock=clock), clock=clock))


def numbers(window: object) -> list[int]:
    return [j.job_number for j in getattr(window, "items", ())]


async def test_a_cached_window_is_answered_at_once_as_the_awaited_one(sb, tenant):
    data = RequestData(tenant)
    sb.reset_requests()
    assert data.customer_jobs_now(7, 0, 5, None) is None  # cold: to be awaited, nothing sent
    assert sb.requests() == []
    awaited = await data.customer_jobs(7, 0, 5, None)
    sb.reset_requests()
    hits = tenant.cache.counters[Outcome.HIT]

    now = RequestData(tenant).customer_jobs_now(7, 0, 5, None)

    assert now is not None and not now.fetched
    assert numbers(now) == numbers(awaited) and numbers(now)
    assert (now.offset, now.total, now.extra) == (awaited.offset, awaited.total, awaited.extra)
    assert tenant.cache.counters[Outcome.HIT] == hits + 1  # one page, one hit
    assert sb.requests() == []


async def test_a_stale_page_or_a_status_is_left_to_the_awaited_path(sb, tenant, clock):
    data = RequestData(tenant)
    await data.customer_jobs(8, 0, 5, None)
    hits = tenant.cache.counters[Outcome.HIT]
    assert data.customer_jobs_now(8, 0, 5, "complete") is None  # filtered on our side: awaited
    clock.now += 10_000  # past every freshness
    assert data.customer_jobs_now(8, 0, 5, None) is None
    assert tenant.cache.counters[Outcome.HIT] == hits  # nothing served, nothing counted


async def test_a_disabled_cache_answers_nothing_at_once(sb):
    async with httpx.AsyncClient() as http:
        client = KickservClient("demo", "demo-token", base_url=sb.base_url, http=http)
        tenant = Tenant("demo", client, SharedCache(store=MemoryStore(), enabled=False))
        data = RequestData(tenant)
        await data.customer_jobs(9, 0, 5, None)
        assert data.customer_jobs_now(9, 0, 5, None) is None
