"""What the reference does not confirm, against the strict sandbox over real HTTP: routes a Kickserv
may lack are UnsupportedRoute (a missing record stays NotFound), and a page Kickserv did not serve
as asked is refused rather than read as the page asked for."""

from __future__ import annotations

from datetime import date

import httpx
import pytest

from kickserv import KickservClient, NotFound, ResponseShape, UnsupportedRoute
from sandbox.app import SandboxConfig
from sandbox.testing import running_sandbox
from tests.kickserv.conftest import MakeClient


@pytest.fixture(scope="module")
def strict_sandbox():
    config = SandboxConfig(customers=20, acme_customers=3, today=date(2026, 3, 4))
    config.reference_strict = True
    with running_sandbox(config) as running:
        yield running


@pytest.fixture
async def ks(strict_sandbox):
    async with KickservClient("demo", "demo-token", base_url=strict_sandbox.base_url) as client:
        yield client


async def test_unconfirmed_write_routes_are_unsupported_not_missing(ks, strict_sandbox):
    job = next(j for j in strict_sandbox.store().jobs.values() if j.charge_ids)
    calls = {
        "POST /jobs/{n}/payments.json": ks.jobs.create_payment(job.number, amount="5"),
        "PUT /jobs/{n}/job_charges/{id}.json": ks.jobs.update_charge(
            job.number, job.charge_ids[0], quantity="2"
        ),
        "DELETE /jobs/{n}/job_charges/{id}.json": ks.jobs.delete_charge(
            job.number, job.charge_ids[0]
        ),
        "POST /jobs/{n}/notes.json": ks.jobs.create_note(job.number, body="Gate code"),
        "PUT /jobs/{n}/tags.json": ks.jobs.replace_tags(job.number, ["vip"]),
        "PUT /customers/{n}/tags.json": ks.customers.replace_tags(1, ["vip"]),
    }
    for route, call in calls.items():
        with pytest.raises(UnsupportedRoute) as caught:
            await call
        assert caught.value.route == route and caught.value.status == 404
        assert route in str(caught.value)
    # a record that is not there is still NotFound (Kickserv's "Invalid job."), on any route
    with pytest.raises(NotFound):
        await ks.jobs.create_payment(999_999, amount="5")
    # and the confirmed routes work: customer notes, reading tags
    assert (await ks.customers.create_note(1, body="Call first")).body == "Call first"
    assert isinstance(await ks.jobs.tags(job.number), tuple)


async def test_customers_are_paged_by_customers_page(ks, strict_sandbox):
    numbers = sorted(strict_sandbox.store().customers_by_number)
    second = await ks.customers.list(per_page=5).page(2)
    assert [c.customer_number for c in second.items] == numbers[5:10]


async def test_a_page_served_other_than_asked_is_refused(make_client: MakeClient):
    def handler(request: httpx.Request) -> httpx.Response:  # a Kickserv ignoring `page`
        return httpx.Response(
            200, json={"jobs": [], "current_page": 1, "per_page": 25, "total_entries": 60}
        )

    ks = make_client(handler)
    with pytest.raises(ResponseShape) as caught:
        await ks.jobs.list().page(2)
    assert "served page 1 when asked for page 2" in str(caught.value)
    assert (await ks.jobs.list().page(1)).number == 1


async def test_a_405_is_unsupported(make_client: MakeClient):
    ks = make_client(lambda request: httpx.Response(405, json={"errors": ["Method not allowed"]}))
    with pytest.raises(UnsupportedRoute) as caught:
        await ks.jobs.replace_tags(1, ["vip"])
    assert caught.value.route == "PUT /jobs/{n}/tags.json"


async def test_both_shapes_of_what_the_reference_leaves_open_are_read(strict_sandbox):
    """Vendor list entries with and without `errors`, a payment's customer as a summary or as the
    record, inactive customers: the records of both personalities read alike."""
    lenient_config = SandboxConfig(customers=20, acme_customers=3, today=date(2026, 3, 4))
    lenient_config.reference_strict = False
    with running_sandbox(lenient_config) as lenient:
        seen = {}
        for name, running in (("lenient", lenient), ("strict", strict_sandbox)):
            async with KickservClient("demo", "demo-token", base_url=running.base_url) as client:
                vendors = await client.vendors.list().all()
                payments = await client.payments.list(per_page=5).page()
                customers = await client.customers.list(per_page=100).all()
            seen[name] = (
                [(v.id, v.name, v.active) for v in vendors],
                [
                    (p.id, p.amount, p.customer_id, p.customer and p.customer.name)
                    for p in payments.items
                ],
                {c.customer_number: c.is_active for c in customers},
            )
            assert all(("errors" in v.raw) == (name == "lenient") for v in vendors)
            assert all(
                ("is_active" in p.customer.raw) == (name == "strict")
                for p in payments.items
                if p.customer
            )
    assert seen["lenient"][:2] == seen["strict"][:2]
    assert set(seen["lenient"][2].values()) == {True}
    assert seen["strict"][2] == {n: n % 7 != 0 for n in seen["lenient"][2]}
