"""The per-request loaders' batch functions, over a real sandbox: key order, None for missing keys,
and every key asked in one tick reaching ONE batch call (counted by wrapping the batch function)."""

from __future__ import annotations

import asyncio
import gc
import weakref
from collections.abc import AsyncIterator, Iterator
from datetime import date
from typing import Any

import httpx
import pytest

from kickserv import KickservClient
from resolvers.cache import MemoryStore, SharedCache
from resolvers.data import Loader, RequestData
from resolvers.tenant import Tenant
from sandbox.config import SandboxConfig
from sandbox.data import AccountStore
from sandbox.testing import RunningSandbox, running_sandbox

TODAY = date(2026, 11, 21)
MISSING = 999_999


@pytest.fixture(scope="module")
def sb() -> Iterator[RunningSandbox]:
    with running_sandbox(SandboxConfig(customers=40, seed=5, today=TODAY)) as sandbox:
        yield sandbox


@pytest.fixture
def store(sb: RunningSandbox) -> AccountStore:
    return sb.store("demo")


@pytest.fixture
async def tenant(sb: RunningSandbox) -> AsyncIterator[Tenant]:
    async with httpx.AsyncClient() as http:
        client = KickservClient("demo", "demo-token", base_url=sb.base_url, http=http)
        yield Tenant("demo", client, SharedCache(store=MemoryStore()))


class BatchCounter:
    """Wraps a loader's batch function and remembers the keys of every call."""

    def __init__(self, loader: Loader[Any, Any]) -> None:
        self.calls: list[list[Any]] = []
        inner = loader.batch_load_fn

        async def counted(keys: list[Any]) -> Any:
            self.calls.append(list(keys))
            return await inner(keys)

        loader.batch_load_fn = counted


async def test_customers_by_number_one_batch_in_key_order_with_none_for_missing(
    sb: RunningSandbox, store: AccountStore, tenant: Tenant
):
    # given
    data = RequestData(tenant)
    counter = BatchCounter(data.customer_by_number)
    numbers = [7, 3, MISSING, 12, 1]
    sb.reset_requests()
    # when
    found = await asyncio.gather(*(data.customer_by_number.get(n) for n in numbers))
    # then
    assert counter.calls == [numbers]
    assert [c.customer_number if c else None for c in found] == [7, 3, None, 12, 1]
    assert [c.id for c in found if c] == [store.customers_by_number[n].id for n in (7, 3, 12, 1)]
    assert sb.request_count() == len(numbers)  # Kickserv has no batch endpoint: one GET per key


async def test_a_loader_asks_each_key_once_per_request(sb: RunningSandbox, tenant: Tenant):
    data = RequestData(tenant)
    counter = BatchCounter(data.job_by_number)
    number = next(iter(sb.store("demo").jobs_by_number))
    sb.reset_requests()
    first = await asyncio.gather(*(data.job_by_number.get(number) for _ in range(5)))
    again = await data.job_by_number.get(number)
    assert counter.calls == [[number]]
    assert all(j is again for j in first)
    assert sb.request_count() == 1


async def test_tasks_by_job_id_one_batch_matching_the_sandbox(
    sb: RunningSandbox, store: AccountStore, tenant: Tenant
):
    # given: jobs with and without tasks, and an id that is no job
    with_tasks = [j.id for j in store.jobs.values() if j.task_ids][:4]
    without = [j.id for j in store.jobs.values() if not j.task_ids][:2]
    keys = [*with_tasks, MISSING, *without]
    data = RequestData(tenant)
    counter = BatchCounter(data.tasks_by_job_id)
    # when
    found = await asyncio.gather(*(data.tasks_by_job_id.get(k) for k in keys))
    # then
    assert counter.calls == [keys]
    for key, tasks in zip(keys, found, strict=True):
        expected = store.jobs[key].task_ids if key in store.jobs else []
        assert sorted(t.id for t in tasks or ()) == sorted(expected)


async def test_invoices_by_id_come_from_one_index_build(
    sb: RunningSandbox, store: AccountStore, tenant: Tenant
):
    # given: every invoiced job, plus a job that is not invoiced and an unknown id
    invoiced = [j.id for j in store.jobs.values() if j.invoice_status is not None]
    plain = next(j.id for j in store.jobs.values() if j.invoice_status is None)
    keys = [*invoiced, plain, MISSING]
    data = RequestData(tenant)
    counter = BatchCounter(data.invoice_by_id)
    sb.reset_requests()
    # when
    found = await asyncio.gather(*(data.invoice_by_id.get(k) for k in keys))
    # then: one batch, one listing read (its page count), in key order
    assert counter.calls == [keys]
    assert [i.id if i else None for i in found] == [*invoiced, None, None]
    pages = -(-len(invoiced) // tenant.max_per_page)
    assert sb.request_count() == pages
    assert {r["path"] for r in sb.requests()} == {"/demo/api/v2/invoices.json"}


async def test_employees_by_id_and_number_share_one_listing(
    sb: RunningSandbox, store: AccountStore, tenant: Tenant
):
    data = RequestData(tenant)
    by_id, by_number = BatchCounter(data.employee_by_id), BatchCounter(data.employee_by_number)
    active = [e for e in store.employees.values() if e.active]
    inactive = [e for e in store.employees.values() if not e.active]
    ids = [e.id for e in active] + [e.id for e in inactive] + [MISSING]
    sb.reset_requests()
    found_ids, found_numbers = await asyncio.gather(
        asyncio.gather(*(data.employee_by_id.get(i) for i in ids)),
        asyncio.gather(*(data.employee_by_number.get(e.number) for e in active)),
    )
    assert by_id.calls == [ids] and len(by_number.calls) == 1
    # /employees.json lists active employees only: the others are missing
    assert [e.id if e else None for e in found_ids] == [e.id for e in active] + [None] * (
        len(inactive) + 1
    )
    assert [e.employee_number for e in found_numbers if e] == [e.number for e in active]
    assert sb.request_count() == 1


async def test_loaders_off_make_one_batch_per_key(sb: RunningSandbox, tenant: Tenant):
    data = RequestData(tenant, loaders_enabled=False)
    counter = BatchCounter(data.customer_by_number)
    await asyncio.gather(*(data.customer_by_number.get(n) for n in (1, 2, 2)))
    assert sorted(counter.calls) == [[1], [2], [2]]


async def test_each_request_gets_its_own_loaders(tenant: Tenant):
    first, second = RequestData(tenant), RequestData(tenant)
    assert first.customer_by_number is not second.customer_by_number
    record = await first.customer_by_number.get(1)
    assert record is not None
    # the second request's loader has nothing cached of the first (its batch function runs)
    counter = BatchCounter(second.customer_by_number)
    await second.customer_by_number.get(1)
    assert counter.calls == [[1]]


async def test_a_listing_primes_the_loaders_made_later_and_the_first_prime_wins(
    sb: RunningSandbox, store: AccountStore, tenant: Tenant
):
    # given: a record primed for customer 3 before a listing that also has it
    early = await RequestData(tenant).customer_by_number.get(3)
    assert early is not None
    data = RequestData(tenant)
    RequestData.customer_by_number.prime(data, 3, early)
    # when: the listing of customers 1..5 (no loader made yet), then the loaders
    window = await data.customers(0, 5)
    sb.reset_requests()
    by_number = await asyncio.gather(*(data.customer_by_number.get(n) for n in (1, 2, 3, 4, 5)))
    by_id = await data.customer_by_id.get(window.items[1].id)
    # then: answered by what was primed, the listing's records, none read again
    assert sb.request_count() == 0
    assert by_number[0] is window.items[0] and by_number[4] is window.items[4]
    assert by_number[2] is early  # primed first: the listing's prime of it did not replace it
    assert by_id is window.items[1]
    # a loader made before the listing is primed by it at once
    made = RequestData(tenant)
    assert await made.customer_by_id.get(MISSING) is None
    listed = await made.customers(5, 3)
    sb.reset_requests()
    assert await made.customer_by_id.get(listed.items[2].id) is listed.items[2]
    assert sb.request_count() == 0
    assert [c.customer_number for c in listed.items] == list(store.customers_by_number)[5:8]


async def test_a_request_is_freed_without_the_garbage_collector(tenant: Tenant):
    # A cycle (the request's tasks planner calling back into the request) kept every request's
    # loaders and records until a collection; with many requests in flight they were promoted
    # and weighed on full collections of the whole heap.
    gc.disable()
    try:
        data = RequestData(tenant)
        await data.customers(0, 2)
        assert data.job_tasks is not None
        freed = weakref.ref(data)
        del data
        assert freed() is None
    finally:
        gc.enable()


async def test_a_warm_window_of_a_request_alone_answers_without_a_turn_of_the_loop(
    tenant: Tenant,
):
    # given: the first page of customers cached
    await RequestData(tenant).customers(0, 5)
    turns: list[str] = []

    async def window(data: RequestData) -> list[int]:
        asyncio.get_running_loop().call_soon(turns.append, "a turn")
        window = await data.customers(0, 5)
        return [c.customer_number for c in window.items]

    # when: a request with nothing of its own in the background
    alone = await window(RequestData(tenant))
    # then: answered from the cache before the loop ran anything else
    assert alone == [1, 2, 3, 4, 5] and turns == []
    await asyncio.sleep(0)
    assert turns == ["a turn"]
    turns.clear()
    # and a request whose tasks planner may be reading gives it the loop's turn, as before
    busy = RequestData(tenant)
    busy.start_job_tasks(10)
    assert busy.background
    assert await window(busy) == alone and turns == ["a turn"]
