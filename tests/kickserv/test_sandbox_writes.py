"""Every write method against the sandbox over real HTTP: the answer parses, and a read sees it."""

from __future__ import annotations

from datetime import date, datetime, timedelta, timezone
from decimal import Decimal

import pytest

from kickserv import KickservClient, NotFound, Validation
from sandbox.app import SandboxConfig
from sandbox.testing import running_sandbox

TODAY = date(2026, 3, 4)
LOCAL = timezone(timedelta(hours=-5))


@pytest.fixture(scope="module")
def sandbox():
    with running_sandbox(SandboxConfig(customers=30, acme_customers=3, today=TODAY)) as running:
        yield running


@pytest.fixture
async def ks(sandbox):
    async with KickservClient("demo", "demo-token", base_url=sandbox.base_url) as client:
        yield client


async def a_job_type_id(ks) -> int:
    return (await ks.job_types.list().page()).items[0].id


async def test_customer_create_update_delete(ks):
    created = await ks.customers.create(name="Grace Hopper", service_city="Arlington")
    assert created.name == "Grace Hopper" and created.service_address.city == "Arlington"
    updated = await ks.customers.update(created.customer_number, name="Rear Adm. Hopper")
    assert updated.id == created.id and updated.name == "Rear Adm. Hopper"
    assert (await ks.customers.get(created.customer_number)).name == "Rear Adm. Hopper"
    await ks.customers.delete(created.customer_number)
    with pytest.raises(NotFound):
        await ks.customers.get(created.customer_number)


async def test_customer_validation_has_field_errors(ks):
    with pytest.raises(Validation) as caught:
        await ks.customers.create(name="")
    assert "name" in caught.value.field_errors
    assert caught.value.status == 422


async def test_customer_notes_jobs_and_tags(ks):
    customer = await ks.customers.create(name="Note Taker")
    note = await ks.customers.create_note(
        customer.customer_number, body="Dog in yard", public=False
    )
    assert note.noteable_id == customer.id and note.body == "Dog in yard"
    assert [n.id for n in await ks.customers.notes(customer.customer_number).all()] == [note.id]
    job = await ks.customers.create_job(
        customer.customer_number, job_type_id=await a_job_type_id(ks), name="Gutter clean"
    )
    assert job.customer_id == customer.id
    assert [j.id for j in await ks.customers.jobs(customer.customer_number).all()] == [job.id]
    assert await ks.customers.replace_tags(customer.customer_number, ["vip", "dog"]) == (
        "vip",
        "dog",
    )
    assert await ks.customers.tags(customer.customer_number) == ("vip", "dog")


async def test_job_create_update_get_and_tags(ks):
    customer = (await ks.customers.list().page()).items[0]
    job = await ks.jobs.create(
        customer.customer_number, job_type_id=await a_job_type_id(ks), description="Leaky tap"
    )
    assert job.customer_id == customer.id and job.description == "Leaky tap"
    updated = await ks.jobs.update(job.job_number, description="Leaky tap (kitchen)")
    assert updated.description == "Leaky tap (kitchen)"
    full = await ks.jobs.get(job.job_number)
    assert full.customer is not None and full.customer.customer_number == customer.customer_number
    assert await ks.jobs.replace_tags(job.job_number, ["urgent"]) == ("urgent",)
    assert (await ks.jobs.get(job.job_number)).tags == ("urgent",)
    assert await ks.jobs.tags(job.job_number) == ("urgent",)
    with pytest.raises(Validation) as caught:
        await ks.jobs.create(customer.customer_number, description="no job type")
    assert "job_type_id" in caught.value.field_errors


async def test_job_charges_notes_and_payments(ks):
    customer = (await ks.customers.list().page()).items[1]
    job = await ks.jobs.create(customer.customer_number, job_type_id=await a_job_type_id(ks))
    charge = await ks.jobs.create_charge(
        job.job_number, description="Labour", quantity=Decimal("2"), price_per_unit=Decimal("45.50")
    )
    assert charge.job_id == job.id and charge.total == Decimal("91.00")
    changed = await ks.jobs.update_charge(job.job_number, charge.id, quantity=3)
    assert changed.total == Decimal("136.50")
    assert [c.id for c in await ks.jobs.charges(job.job_number).all()] == [charge.id]
    assert (await ks.jobs.get(job.job_number)).total == Decimal("136.5")
    note = await ks.jobs.create_note(job.job_number, body="Bring a ladder")
    assert note.noteable_id == job.id and note.noteable_type == "Job"
    payment = await ks.jobs.create_payment(
        job.job_number, amount=Decimal("36.50"), date=TODAY, payment_type="Check"
    )
    assert payment.amount == Decimal("36.5") and payment.date == TODAY
    assert [p.id for p in await ks.jobs.payments(job.job_number).all()] == [payment.id]
    assert (await ks.jobs.get(job.job_number)).balance_remaining == Decimal("100.0")
    deleted = await ks.jobs.delete_charge(job.job_number, charge.id)
    assert deleted is not None and deleted.id == charge.id
    assert await ks.jobs.charges(job.job_number).all() == []


async def test_tasks_create_both_ways_update_delete(ks):
    customer = (await ks.customers.list().page()).items[2]
    job = await ks.jobs.create(customer.customer_number, job_type_id=await a_job_type_id(ks))
    employee = (await ks.employees.list().all())[0]
    starts = datetime(2026, 3, 9, 9, 0, tzinfo=LOCAL)
    first = await ks.tasks.create(
        job_id=job.id,
        starts_at=starts,
        ends_at=starts + timedelta(hours=1),
        description="Visit",
        employee_ids=[employee.id],
    )
    assert first.job_id == job.id and first.starts_at == starts
    assert first.employee_ids == (employee.id,)
    second = await ks.tasks.create_for_job(
        job.job_number, starts_at=starts + timedelta(days=1), description="Follow-up"
    )
    assert second.job is not None and second.job.job_number == job.job_number
    moved = await ks.tasks.update(second.id, ends_at=starts + timedelta(days=1, hours=2))
    assert moved.ends_at == starts + timedelta(days=1, hours=2)
    assert {t.id for t in await ks.tasks.list(job_id=job.id).all()} == {first.id, second.id}
    deleted = await ks.tasks.delete(first.id)
    assert deleted is not None and deleted.id == first.id
    with pytest.raises(NotFound):
        await ks.tasks.get(first.id)


async def test_opportunities_create_win_and_lose(ks):
    customer = (await ks.customers.list().page()).items[3]
    job_type_id = await a_job_type_id(ks)
    won = await ks.opportunities.create(
        customer.customer_number, job_type_id=job_type_id, name="Quote A"
    )
    lost = await ks.opportunities.create(
        customer.customer_number, job_type_id=job_type_id, name="Quote B"
    )
    assert won.status == "new" and won.is_opportunity and won.customer is not None
    assert (await ks.opportunities.mark_as_won(won.job_number)).status == "won"
    assert (await ks.opportunities.mark_as_lost(lost.job_number)).status == "lost"
    assert won.job_number in {o.job_number for o in await ks.opportunities.list(status="won").all()}


async def test_vendors_create_update_delete_and_duplicate(ks):
    vendor = await ks.vendors.create(name="Sandbox Test Vendor 7f")
    assert vendor.name == "Sandbox Test Vendor 7f"
    renamed = await ks.vendors.update(vendor.id, name="Sandbox Renamed Vendor 7f")
    assert renamed.name == "Sandbox Renamed Vendor 7f"
    with pytest.raises(Validation) as caught:
        await ks.vendors.create(name="sandbox renamed vendor 7F")
    assert caught.value.field_errors == {"name": ["Name has already been taken"]}
    deleted = await ks.vendors.delete(vendor.id)
    assert deleted is not None and deleted.id == vendor.id
    with pytest.raises(NotFound):
        await ks.vendors.get(vendor.id)


async def test_writes_are_sent_once_even_when_they_fail(sandbox, ks):
    sandbox.reset_requests()
    with pytest.raises(Validation):
        await ks.vendors.create(name="")
    assert [(r["method"], r["status"]) for r in sandbox.requests()] == [("POST", 422)]
