"""The tenant's page size is learnt only from an answer that shows Kickserv clamping ``per_page``:
a bare array (employees) or a short page never lowers it. Counted on a real sandbox's request log."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from datetime import date

import httpx
import pytest

from kickserv import KickservClient
from resolvers.cache import MemoryStore, SharedCache
from resolvers.data import RequestData
from resolvers.tenant import Tenant
from sandbox.config import SandboxConfig
from sandbox.testing import RunningSandbox, running_sandbox

TODAY = date(2026, 11, 21)


@pytest.fixture(scope="module")
def sb() -> Iterator[RunningSandbox]:
    with running_sandbox(SandboxConfig(customers=250, seed=5, today=TODAY)) as sandbox:
        yield sandbox


@pytest.fixture
async def tenant(sb: RunningSandbox) -> AsyncIterator[Tenant]:
    async with httpx.AsyncClient() as http:
        client = KickservClient("demo", "demo-token", base_url=sb.base_url, http=http)
        yield Tenant("demo", client, SharedCache(store=MemoryStore()))


def customer_calls(sb: RunningSandbox) -> int:
    return sum(1 for r in sb.requests() if r["path"].endswith("/customers.json"))


async def test_employees_first_do_not_shrink_the_page_size_of_customers(sb, tenant):
    data = RequestData(tenant)
    employees = await data.employees()
    assert 0 < len(employees) < 100  # a bare array, shorter than any page we ask for
    sb.reset_requests()

    window = await data.customers(0, 100)

    assert len(window.items) == 100
    assert tenant.max_per_page == 100
    assert customer_calls(sb) == 1


async def test_a_short_last_page_does_not_shrink_the_page_size(sb, tenant):
    data = RequestData(tenant)
    last = await data.customers(200, 100)  # customers 201-250: 50 on a page of 100
    assert len(last.items) == 50
    assert tenant.max_per_page == 100


async def test_a_clamped_envelope_teaches_the_page_size_once(sb, tenant):
    sb.state.knobs.update({"max_per_page": 40})
    try:
        data = RequestData(tenant)
        sb.reset_requests()
        first = await data.customers(0, 100)
        learnt = customer_calls(sb)
        sb.reset_requests()
        again = await RequestData(tenant).customers(120, 100)
        after = customer_calls(sb)
    finally:
        sb.state.knobs.update({"max_per_page": 100})
    assert [c.customer_number for c in first.items] == list(range(1, 101))
    assert [c.customer_number for c in again.items] == list(range(121, 221))
    assert tenant.max_per_page == 40
    assert learnt == 1 + 2  # page 1 asked at 100 (kept at 40 too), then pages 2-3 at 40
    assert after == 3  # planned at 40 from the start: pages 4-6
