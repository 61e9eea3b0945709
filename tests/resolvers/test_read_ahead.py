"""The cursor read-ahead's pages (``next_pages``) and its lifetime, over a real sandbox: the pages of
a request that is cancelled are cancelled with it (the shared cache's own fetches included, so no
task is left behind), except a page another request has joined meanwhile."""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import AsyncIterator, Iterator
from datetime import date, timedelta
from typing import Any

import httpx
import pytest

from kickserv import KickservClient
from resolvers.cache import MemoryStore, SharedCache
from resolvers.data import RequestData
from resolvers.read_ahead import ReadAhead, next_pages
from resolvers.stats import UpstreamStats, current_stats
from resolvers.tenant import Tenant
from sandbox.config import SandboxConfig
from sandbox.testing import RunningSandbox, running_sandbox

PER_PAGE = 10


def test_next_pages_are_the_pages_the_next_windows_plan() -> None:
    assert next_pages(0, 100, 250, 100, 3) == [(100, 2), (100, 3)]
    assert next_pages(0, 25, 250, 100, 3) == [(100, 2), (100, 3)]  # page 1 serves 4 windows
    assert next_pages(100, 100, 250, 100, 3) == [(100, 3)]
    assert next_pages(200, 100, 250, 100, 3) == []  # the last page
    assert next_pages(0, 100, 250, 100, 1) is None  # the rest is more than the limit
    assert next_pages(0, 100, 100_000, 100, 3) is None  # decided without planning 1,000 windows


@pytest.fixture(scope="module")
def sb() -> Iterator[RunningSandbox]:
    with running_sandbox(SandboxConfig(customers=200, seed=3, latency_ms=500)) as sandbox:
        yield sandbox


@pytest.fixture
async def tenant(sb: RunningSandbox) -> AsyncIterator[Tenant]:
    async with httpx.AsyncClient() as http:
        client = KickservClient("demo", "demo-token", base_url=sb.base_url, http=http)
        cache = SharedCache(store=MemoryStore())
        yield Tenant("demo", client, cache, max_per_page=PER_PAGE, read_ahead=ReadAhead(3))


def three_pages(sb: RunningSandbox) -> tuple[date, date]:
    """A span of days with 21-30 visits: three pages of 10."""
    by_day = Counter(t.starts_at.date() for t in sb.store().tasks.values() if t.starts_at)
    days = sorted(by_day)
    for i, start in enumerate(days):
        count = 0
        for end in days[i:]:
            count += by_day[end]
            if 2 * PER_PAGE < count <= 3 * PER_PAGE:
                return start, end + timedelta(days=1)
    raise AssertionError("no such span")


def leftovers() -> list[asyncio.Task[Any]]:
    """Tasks of a read-ahead or of the shared cache's fetches still pending."""
    return [
        t
        for t in asyncio.all_tasks()
        if not t.done()
        and (t.get_name().startswith("read-ahead") or "_fetch_and_store" in repr(t.get_coro()))
    ]


async def first_page_served(tenant: Tenant, start: date, end: date) -> asyncio.Task[None]:
    """A request that asked the first page with its cursor, was served, and goes on (other fields)
    until it is cancelled."""
    served = asyncio.Event()

    async def request() -> None:
        current_stats.set(UpstreamStats())
        await RequestData(tenant).schedule(start, end, None, 0, PER_PAGE, ahead=True)
        served.set()
        await asyncio.Event().wait()

    task = asyncio.create_task(request())
    await served.wait()
    return task


async def test_a_cancelled_request_takes_its_read_ahead_with_it(
    sb: RunningSandbox, tenant: Tenant
) -> None:
    start, end = three_pages(sb)
    task = await first_page_served(tenant, start, end)
    assert tenant.read_ahead.running == 2
    assert len(leftovers()) == 4  # two read-aheads, the shared cache's two fetches
    task.cancel()
    await asyncio.gather(task, return_exceptions=True)
    for _ in range(3):
        await asyncio.sleep(0)  # the cancellations land
    assert leftovers() == []
    assert tenant.read_ahead.running == 0
    assert tenant.read_ahead.counters["cancelled"] == 2


async def test_a_page_another_request_joined_outlives_the_cancelled_request(
    sb: RunningSandbox, tenant: Tenant
) -> None:
    start, end = three_pages(sb)
    first = await first_page_served(tenant, start, end)
    stats = UpstreamStats()

    async def next_request() -> Any:
        current_stats.set(stats)
        return await RequestData(tenant).schedule(start, end, None, PER_PAGE, PER_PAGE)

    second = asyncio.create_task(next_request())
    await asyncio.sleep(0)  # it joins page 2 in flight
    first.cancel()
    await asyncio.gather(first, return_exceptions=True)
    window = await second  # not cancelled with the first request
    assert len(window.items) == PER_PAGE and window.offset == PER_PAGE
    assert stats.calls == 0 and stats.read_ahead_used == 1  # it made no call of its own
    for _ in range(3):
        await asyncio.sleep(0)
    assert leftovers() == []
    assert tenant.read_ahead.counters["cancelled"] == 1  # page 3: nobody had asked for it
    assert tenant.read_ahead.counters["read"] == 1
