"""Every read method against the sandbox over real HTTP: it answers, and real records parse."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

import httpx
import pytest

from kickserv import (
    Customer,
    Employee,
    Invoice,
    Item,
    KickservClient,
    NotFound,
    Payment,
    RetryPolicy,
    Task,
    Unauthorized,
)
from sandbox.app import SandboxConfig, create_app
from sandbox.testing import running_sandbox

TODAY = date(2026, 3, 4)


@pytest.fixture(scope="module")
def sandbox():
    with running_sandbox(SandboxConfig(customers=80, acme_customers=5, today=TODAY)) as running:
        yield running


@pytest.fixture
async def ks(sandbox):
    async with KickservClient("demo", "demo-token", base_url=sandbox.base_url) as client:
        yield client


async def test_customers_list_get_notes_jobs(ks):
    first = await ks.customers.list(per_page=30).page()
    assert first.per_page == 30 and first.total_entries == 80
    assert all(isinstance(c, Customer) for c in first.items)
    # a parent with service locations, if the seed made one
    parent = next((c for c in first.items if c.children), first.items[0])
    got = await ks.customers.get(parent.customer_number)
    assert got == parent
    for child in got.children:
        assert (await ks.customers.get(child.customer_number or 0)).parent_id == got.id
    with_jobs = next(
        c for c in await ks.customers.list().all() if c.raw.get("last_job_completed_number")
    )
    jobs = await ks.customers.jobs(with_jobs.customer_number).all()
    assert jobs and {j.customer_id for j in jobs} == {with_jobs.id}
    notes = await ks.customers.notes(with_jobs.customer_number).all()
    assert all(n.noteable_id == with_jobs.id for n in notes)


async def test_customer_filters(ks):
    some = (await ks.customers.list().page()).items[3]
    found = await ks.customers.list(customer_number=some.customer_number).all()
    assert [c.id for c in found] == [some.id]
    assert all(
        some.name.split()[0].lower() in c.name.lower()
        for c in await ks.customers.list(q=some.name.split()[0]).all()
    )


async def test_jobs_list_filters_and_full_get(ks):
    scheduled = await ks.jobs.list(status="scheduled").all()
    assert scheduled and {j.status for j in scheduled} == {"scheduled"}
    numbers = [j.job_number for j in await ks.jobs.list().all()]
    assert numbers == sorted(numbers, reverse=True)  # newest first
    detailed = [await ks.jobs.get(j.job_number) for j in scheduled[:5]]
    for job in detailed:
        assert job.customer is not None and job.customer.id == job.customer_id
        assert job.job_charges is not None and job.payments is not None
        assert job.tags is not None and job.notes is not None
    charged = next(j for j in detailed if j.job_charges)
    listed = await ks.jobs.charges(charged.job_number).all()
    assert [c.id for c in listed] == [c.id for c in charged.job_charges or ()]
    assert all(isinstance(c.total, Decimal) for c in charged.job_charges or ())
    this_month = await ks.jobs.list(scheduled="this_month").all()
    assert all(
        j.scheduled_on is not None and j.scheduled_on.month == TODAY.month for j in this_month
    )


async def test_job_payments_notes_tasks_and_payment_requests(ks):
    paid = [i for i in await ks.invoices.list(invoice_status="paid").all()]
    assert paid and {i.invoice_status for i in paid} == {"paid"}
    job = await ks.jobs.get(paid[0].job_number)
    payments = await ks.jobs.payments(job.job_number).all()
    assert [p.id for p in payments] == [p.id for p in job.payments or ()]
    assert sum(p.amount for p in payments) > 0
    notes = await ks.jobs.notes(job.job_number).all()
    assert [n.id for n in notes] == [n.id for n in job.notes or ()]
    tasks = await ks.jobs.tasks(job.job_number).all()
    assert all(t.job_id == job.id for t in tasks)


async def test_payment_request_is_embedded_in_cents(sandbox, ks):
    stored = next(j for j in sandbox.store().jobs.values() if j.payment_request_cents)
    job = await ks.jobs.get(stored.number)
    assert job.payment_request is not None
    assert job.payment_request.amount_cents == stored.payment_request_cents
    assert job.payment_request.job_id == job.id


async def test_tasks_and_schedule(ks):
    tasks = await ks.tasks.list(from_=TODAY, to=TODAY + timedelta(days=7)).all()
    assert tasks and all(isinstance(t, Task) for t in tasks)
    assert all(
        t.starts_at and TODAY <= t.starts_at.date() < TODAY + timedelta(days=7) for t in tasks
    )
    one = await ks.tasks.get(tasks[0].id)
    assert one == tasks[0]
    assert one.job is not None and one.customer is not None
    by_job = await ks.tasks.list(job_id=one.job_id).all()
    assert one.id in {t.id for t in by_job}
    employee = one.employees[0]
    mine = await ks.schedule.list(employee_number=employee.employee_number).all()
    assert mine and all(employee.id in t.employee_ids for t in mine)
    mapped = await ks.tasks.list(employee_number=employee.employee_number).page()
    assert all(employee.id in t.employee_ids for t in mapped.items)


async def test_invoices_opportunities_payments(ks):
    page = await ks.invoices.list(invoice_status="unpaid").page()
    assert isinstance(page.items[0], Invoice)
    owed = await ks.invoices.total_balance_remaining("unpaid")
    assert owed == page.extra["total_balance_remaining"] > 0
    assert owed == sum(
        (i.balance_remaining or 0 for i in await ks.invoices.list(invoice_status="unpaid").all()),
        Decimal(0),
    )
    opportunities = await ks.opportunities.list(status="new").all()
    assert opportunities and all(o.is_opportunity and o.customer for o in opportunities)
    payments = await ks.payments.list(sort_by="amount", sort_order="ASC").all()
    assert all(isinstance(p, Payment) for p in payments)
    amounts = [p.amount for p in payments]
    assert amounts == sorted(amounts)
    customer_number = payments[0].customer.customer_number if payments[0].customer else None
    theirs = await ks.payments.list(customer_number=customer_number).all()
    assert theirs and {p.customer.customer_number for p in theirs if p.customer} == {
        customer_number
    }


async def test_catalog_and_people(ks):
    employees = await ks.employees.list().all()
    assert employees and all(isinstance(e, Employee) and e.active for e in employees)
    assert await ks.employees.get(employees[0].employee_number) == employees[0]
    items = await ks.items.list().all()
    assert items and not any(i.truncated for i in items)
    named = await ks.items.list(name=items[0].name[:3]).all()
    assert named and all(isinstance(i, Item) and i.truncated for i in named)
    active_types = await ks.job_types.list().all()
    every_type = await ks.job_types.list(all=True).all()
    inactive = await ks.job_types.list(inactive=True).all()
    assert len(every_type) == len(active_types) + len(inactive)
    assert await ks.job_charge_types.list().all()
    vendors = await ks.vendors.list().all()
    assert await ks.vendors.get(vendors[0].id) == vendors[0]


async def test_missing_records_and_bad_tokens(sandbox, ks):
    with pytest.raises(NotFound):
        await ks.customers.get(999_999)
    with pytest.raises(NotFound):
        await ks.jobs.get(999_999)
    with pytest.raises(NotFound):
        await ks.tasks.get(1)
    async with KickservClient("demo", "acme-token", base_url=sandbox.base_url) as other:
        with pytest.raises(Unauthorized) as caught:
            await other.customers.list().page()
        assert "acme-token" not in str(caught.value)


async def test_listing_all_customers_makes_exactly_total_pages_requests(sandbox, ks):
    sandbox.reset_requests()
    listing = ks.customers.list(per_page=7)
    everyone = await listing.all()
    log = [r for r in sandbox.requests() if r["path"] == "/demo/api/v2/customers.json"]
    first = await listing.page()
    assert len(everyone) == first.total_entries == 80
    assert len(log) == first.total_pages == 12
    # (customers name the page both ways: the reference's example says `customers_page`)
    asked = sorted(f"page={n}&customers_page={n}&per_page=7" for n in range(1, 13))
    assert sorted(r["query"] for r in log) == asked
    assert max(r["concurrent"] for r in log) <= ks.max_concurrency


async def test_clamped_per_page_is_trusted_over_real_http(sandbox, ks):
    listing = ks.customers.list(per_page=1000)  # the sandbox clamps to 100
    page = await listing.page()
    assert page.per_page == 100 and page.total_pages == 1
    assert len(await listing.all()) == 80


async def test_injected_faults_are_retried_for_reads(sandbox, ks):
    rule = {"method": "GET", "path": "/demo/api/v2/vendors.json", "status": 503, "times": 2}
    admin = httpx.AsyncClient(base_url=sandbox.base_url)
    try:
        (await admin.put("/__sandbox/config", json={"faults": [rule]})).raise_for_status()
        calls = []
        async with KickservClient(
            "demo",
            "demo-token",
            base_url=sandbox.base_url,
            on_response=calls.append,
            retry=RetryPolicy(base_delay=0.01),
        ) as observed:
            vendors = await observed.vendors.list().all()
        assert vendors
        assert [(c.status, c.attempt, c.retried) for c in calls] == [
            (503, 1, True),
            (503, 2, True),
            (200, 3, False),
        ]
    finally:
        await admin.put("/__sandbox/config", json={"faults": []})
        await admin.aclose()


async def test_works_in_process_over_asgi_transport():
    app = create_app(SandboxConfig(customers=5, acme_customers=1, today=TODAY))
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app)) as http:
        ks = KickservClient("acme", "acme-token", base_url="http://sandbox", http=http)
        customers = await ks.customers.list().all()
    assert len(customers) == 1
