"""One page type over every envelope; concurrent pages under the client's concurrency limit."""

from __future__ import annotations

import asyncio
from decimal import Decimal

import httpx

from kickserv.pages import Page, Paginator

from .conftest import customer, paged_customers, will_paginate


async def test_per_page_clamped_by_server_is_trusted(make_client, recorder):
    ks = make_client(paged_customers(total=250, max_per_page=100))
    listing = ks.customers.list(per_page=500)
    first = await listing.page(1)
    assert first.per_page == 100 and first.total_pages == 3 and first.total_entries == 250
    everyone = await listing.all()
    assert [c.customer_number for c in everyone] == list(range(1, 251))
    assert len(recorder.calls) == 1 + 3  # the lone page(1) plus one listing of three pages


async def test_listing_all_makes_exactly_total_pages_requests(make_client, recorder):
    ks = make_client(paged_customers(total=101))
    numbers = [c.customer_number async for c in ks.customers.list()]
    assert numbers == list(range(1, 102))
    assert len(recorder.calls) == 5  # ceil(101 / 25)


async def test_pages_after_a_given_first_page_skip_page_one(make_client, recorder):
    ks = make_client(paged_customers(total=60))
    listing = ks.customers.list()
    first = await listing.page(1)
    numbers = [page.number async for page in listing.pages(first)]
    assert numbers == [1, 2, 3]
    assert len(recorder.calls) == 3


async def test_payments_meta_pagination_derives_per_page(make_client):
    def handler(request: httpx.Request) -> httpx.Response:
        page = int(request.url.params["page"])
        count = 10 if page < 3 else 3
        payments = [
            {"id": page * 100 + i, "amount": "5.00", "date": "2024-01-01"} for i in range(count)
        ]
        meta = {
            "current_page": page,
            "next_page": page + 1 if page < 3 else None,
            "prev_page": page - 1 if page > 1 else None,
            "total_pages": 3,
            "total_count": 23,
        }
        return httpx.Response(200, json={"payments": payments, "meta": {"pagination": meta}})

    ks = make_client(handler)
    listing = ks.payments.list()
    first = await listing.page(1)
    assert (first.per_page, first.total_pages, first.total_entries) == (10, 3, 23)
    last = await listing.page(3)
    assert last.number == 3 and not last.has_next
    assert len(await listing.all()) == 23
    assert first.items[0].amount == Decimal("5.00")


async def test_employees_bare_array_is_one_page(make_client, recorder):
    employees = [{"id": i, "employee_number": i, "name": f"E{i}"} for i in (1, 2, 3)]
    ks = make_client(lambda request: httpx.Response(200, json=employees))
    page = await ks.employees.list().page()
    assert (page.number, page.total_pages, page.total_entries) == (1, 1, 3)
    assert [e.employee_number for e in await ks.employees.list().all()] == [1, 2, 3]
    assert len(recorder.calls) == 2


async def test_invoices_total_balance_remaining_is_decimal(make_client):
    def handler(request: httpx.Request) -> httpx.Response:
        entry = {"id": 1, "job_number": 1001, "invoice_status": "unpaid", "tasks": []}
        body = will_paginate("invoices", [entry], 1, 1, 40)
        body["total_balance_remaining"] = "1234.56"
        return httpx.Response(200, json=body)

    ks = make_client(handler)
    assert await ks.invoices.total_balance_remaining("unpaid") == Decimal("1234.56")
    page = await ks.invoices.list().page()
    assert page.extra == {"total_balance_remaining": Decimal("1234.56")}


async def test_concurrency_limit_is_never_exceeded(make_client):
    in_flight = 0
    peak = 0
    pages_served = 0

    async def handler(request: httpx.Request) -> httpx.Response:
        nonlocal in_flight, peak, pages_served
        in_flight += 1
        peak = max(peak, in_flight)
        await asyncio.sleep(0.005)
        in_flight -= 1
        pages_served += 1
        page = int(request.url.params["page"])
        entries = [customer(page * 10 + i) for i in range(10)]
        return httpx.Response(200, json=will_paginate("customers", entries, page, 10, 400))

    ks = make_client(handler, max_concurrency=3)
    # two listings at once share the one semaphore of the client
    a, b = await asyncio.gather(ks.customers.list().all(), ks.customers.list().all())
    assert len(a) == 400 and len(b) == 400
    assert pages_served == 80
    assert peak == 3


async def test_early_break_cancels_pages_fetched_ahead(make_client, recorder):
    started = 0

    async def handler(request: httpx.Request) -> httpx.Response:
        nonlocal started
        started += 1
        page = int(request.url.params["page"])
        await asyncio.sleep(0.001 * page)
        return httpx.Response(200, json=will_paginate("customers", [customer(page)], page, 1, 1000))

    ks = make_client(handler, max_concurrency=2)
    async for c in ks.customers.list(per_page=1):
        if c.customer_number == 3:
            break
    await asyncio.sleep(0.05)
    # a lookahead of 2 x concurrency pages at most beyond the consumer, never the 1000 pages
    assert started <= 3 + 4


# --- what a page says of Kickserv's page size ------------------------------------------------------


async def test_a_stated_per_page_below_the_one_asked_is_a_cap(make_client):
    ks = make_client(paged_customers(total=250, max_per_page=40))
    clamped = await ks.customers.list(per_page=100).page(1)
    as_asked = await ks.customers.list(per_page=40).page(1)
    unasked = await ks.customers.list().page(1)
    assert (clamped.per_page, clamped.per_page_cap) == (40, 40)
    assert as_asked.per_page_cap is None  # served what was asked: nothing learnt
    assert unasked.per_page_cap is None  # Kickserv's default size is no cap


async def test_a_bare_array_or_a_short_last_page_shows_no_cap(make_client):
    employees = [{"id": i, "employee_number": i, "name": f"E{i}"} for i in range(1, 8)]
    ks = make_client(lambda request: httpx.Response(200, json=employees))
    page = await ks.employees.list().page(1, per_page=100)
    assert (page.per_page, page.total_entries, page.per_page_cap) == (7, 7, None)

    short = make_client(paged_customers(total=7))
    last = await short.customers.list(per_page=100).page(1)
    assert (last.per_page, len(last.items), last.per_page_cap) == (100, 7, None)


async def test_meta_pagination_shows_a_cap_only_by_a_full_page_with_a_successor(make_client):
    def handler(request: httpx.Request) -> httpx.Response:
        page = int(request.url.params["page"])
        count = 10 if page < 3 else 3
        payments = [{"id": page * 100 + i, "amount": "5.00"} for i in range(count)]
        meta = {"current_page": page, "next_page": page + 1 if page < 3 else None}
        meta |= {"total_pages": 3, "total_count": 23}
        return httpx.Response(200, json={"payments": payments, "meta": {"pagination": meta}})

    ks = make_client(handler)
    first = await ks.payments.list().page(1, per_page=100)
    last = await ks.payments.list().page(3, per_page=100)
    assert (first.per_page, first.per_page_cap) == (10, 10)
    assert last.per_page_cap is None


async def test_map_pages_passes_each_page_read_through_a_change():
    asked: list[tuple[int, int | None]] = []

    async def fetch(number: int, per_page: int | None) -> Page[int]:
        asked.append((number, per_page))
        return Page((number,), number, 1, 3, 3)

    listing = Paginator(fetch, per_page=1).map_pages(
        lambda p: Page((p.items[0] * 10,), p.number, 1, 3, 3)
    )
    assert (await listing.page(2)).items == (20,)
    assert await listing.all() == [10, 20, 30]
    assert asked == [(2, 1), (1, 1), (2, 1), (3, 1)]  # the same calls as the listing's own
