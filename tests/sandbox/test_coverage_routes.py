"""The sandbox's answers to what issue 14's coverage added, in both personalities: a job type
created, a payment of a customer applied to no job, a job PUT's lifecycle stamps."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest

from sandbox.app import create_app, sandbox_state
from sandbox.data import AccountStore
from tests.sandbox.conftest import DEMO, small_config


@pytest.fixture(params=[False, True], ids=["lenient", "strict"])
async def sandbox(
    request: pytest.FixtureRequest,
) -> AsyncIterator[tuple[httpx.AsyncClient, AccountStore]]:
    app = create_app(small_config(reference_strict=request.param))
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://sandbox/demo/api/v2", auth=DEMO
    ) as http:
        yield http, sandbox_state(app).store("demo")


def strict(store: AccountStore) -> bool:
    return not store.choices.job_type_create_route


async def test_post_job_types(sandbox: tuple[httpx.AsyncClient, AccountStore]) -> None:
    client, store = sandbox
    sent = {"job_type": {"name": "Duct Cleaning", "color": "1e90ff"}}
    created = await client.post("/job_types.json", json=sent)
    if strict(store):
        assert created.status_code == 404
        assert created.json() == {"errors": ["Not found."]}
        return
    assert created.status_code == 200
    assert created.json()["name"] == "Duct Cleaning" and created.json()["active"] is True
    listed = (await client.get("/job_types.json", params={"per_page": 100})).json()["job_types"]
    assert created.json() in listed
    taken = await client.post("/job_types.json", json=sent)
    assert taken.status_code == 422
    assert taken.json() == {"errors": {"name": ["Name has already been taken"]}}


async def test_post_payments(sandbox: tuple[httpx.AsyncClient, AccountStore]) -> None:
    client, store = sandbox
    customer = next(iter(store.customers.values()))
    sent = {"payment": {"customer_id": customer.number, "amount": "40.00", "ref_number": "C-1"}}
    answer = await client.post("/payments.json", json=sent)
    if not store.choices.payment_post_customer_number:  # customer_id read as the global id
        assert answer.status_code == 422
        assert "customer" in answer.json()["errors"]
        by_id = {"payment": {**sent["payment"], "customer_id": customer.id}}
        answer = await client.post("/payments.json", json=by_id)
    assert answer.status_code == 200
    paid = answer.json()
    assert paid["amount"] == "40.0" and paid["customer"]["customer_number"] == customer.number
    listed = await client.get("/payments.json", params={"customer_id": customer.number})
    assert paid["id"] in [p["id"] for p in listed.json()["payments"]]
    blank = await client.post("/payments.json", json={"payment": {"customer_id": customer.number}})
    assert blank.status_code == 422


async def test_a_job_put_keeps_lifecycle_stamps_only_where_writable(
    sandbox: tuple[httpx.AsyncClient, AccountStore],
) -> None:
    client, store = sandbox
    job = next(j for j in store.jobs.values() if j.status == "scheduled")
    sent = {"job": {"status": "in_progress", "started_on": "2026-11-20T07:45:00-05:00"}}
    answer = (await client.put(f"/jobs/{job.number}.json", json=sent)).json()
    kept = answer["started_on"] == "2026-11-20T07:45:00-05:00"
    assert kept is store.choices.job_stamps_writable
    assert answer["status"] == "in_progress" and answer["started_on"] is not None
