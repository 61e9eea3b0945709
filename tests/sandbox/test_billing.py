"""Invoices (jobs with an invoice date), payments and the balances that follow writes."""

from __future__ import annotations

from decimal import Decimal

from tests.sandbox.conftest import every_page


async def _uninvoiced_job_with_charges(client, store):
    job = next(
        j for j in store.jobs.values()
        if j.invoice_date is None and j.charge_ids and not j.payment_ids and j.total > 0
    )  # fmt: skip
    return job


async def test_invoices_envelope_and_total_balance_remaining(client, store):
    body = (await client.get("/invoices.json", params={"per_page": 5})).json()
    invoiced = [j for j in store.jobs.values() if j.invoice_date is not None]
    assert body["total_entries"] == len(invoiced) > 5 and len(body["invoices"]) == 5
    owed = sum((j.balance_remaining for j in invoiced), Decimal(0))
    assert Decimal(body["total_balance_remaining"]) == owed  # all invoices, not just the page
    entry = body["invoices"][0]
    assert entry["customer"]["id"] == entry["customer_id"] and isinstance(entry["tasks"], list)
    assert entry["invoice_status"] in ("paid", "unpaid") and entry["invoice_date"]
    dates = [
        (i["invoice_date"], i["job_number"])
        for i in await every_page(client, "/invoices.json", "invoices")
    ]
    assert dates == sorted(dates, reverse=True)


async def test_invoice_status_filter(client):
    paid = (await client.get("/invoices.json", params={"invoice_status": "paid"})).json()
    unpaid = (await client.get("/invoices.json", params={"invoice_status": "unpaid"})).json()
    every = (await client.get("/invoices.json")).json()
    assert paid["total_entries"] and unpaid["total_entries"]
    assert paid["total_entries"] + unpaid["total_entries"] == every["total_entries"]
    assert paid["total_balance_remaining"] == "0.0"
    assert all(i["invoice_status"] == "unpaid" for i in unpaid["invoices"])


async def test_there_is_no_invoice_by_id(client, store):
    job = next(j for j in store.jobs.values() if j.invoice_date is not None)
    for path in (f"/invoices/{job.id}.json", f"/invoices/{job.number}.json"):
        response = await client.get(path)
        assert response.status_code == 404


async def test_invoicing_then_paying_a_job(client, store):
    job = await _uninvoiced_job_with_charges(client, store)
    customer_url = f"/customers/{store.customers[job.customer_id].number}.json"
    balance_before = Decimal((await client.get(customer_url)).json()["balance"])
    owed_before = Decimal((await client.get("/invoices.json")).json()["total_balance_remaining"])

    put = await client.put(
        f"/jobs/{job.number}.json",
        json={
            "job": {"invoice_date": "2026-11-20", "invoice_terms": "Net 15", "status": "complete"}
        },
    )
    invoice = put.json()
    assert invoice["invoice_status"] == "unpaid" and invoice["invoice_terms"] == "Net 15"
    total = Decimal(invoice["total"])
    listed = await every_page(client, "/invoices.json", "invoices", invoice_status="unpaid")
    assert job.number in {i["job_number"] for i in listed}
    assert Decimal((await client.get(customer_url)).json()["balance"]) == balance_before + total
    owed = Decimal((await client.get("/invoices.json")).json()["total_balance_remaining"])
    assert owed == owed_before + total

    part = (total / 2).quantize(Decimal("0.01"))
    paid = await client.post(
        f"/jobs/{job.number}/payments.json",
        json={"payment": {"amount": str(part), "date": "2026-11-21", "payment_type": "Check"}},
    )
    assert paid.status_code == 200
    assert Decimal(paid.json()["amount"]) == part
    assert "job_id" not in paid.json() and paid.json()["customer"]["id"] == job.customer_id
    after = (await client.get(f"/jobs/{job.number}.json")).json()
    assert Decimal(after["balance_remaining"]) == total - part
    assert after["invoice_status"] == "unpaid"
    assert (
        Decimal((await client.get(customer_url)).json()["balance"]) == balance_before + total - part
    )

    await client.post(
        f"/jobs/{job.number}/payments.json", json={"payment": {"amount": str(total - part)}}
    )
    settled = (await client.get(f"/jobs/{job.number}.json")).json()
    assert settled["balance_remaining"] == "0.0" and settled["invoice_status"] == "paid"
    assert settled["invoice_paid_on"] == "2026-11-21"
    assert Decimal((await client.get(customer_url)).json()["balance"]) == balance_before
    listed = await every_page(client, "/invoices.json", "invoices", invoice_status="paid")
    assert job.number in {i["job_number"] for i in listed}
    payments = (await client.get(f"/jobs/{job.number}/payments.json")).json()["payments"]
    assert len(payments) == 2


async def test_payment_validation(client, store):
    job = next(iter(store.jobs.values()))
    url = f"/jobs/{job.number}/payments.json"
    for payload in ({}, {"amount": "-5"}, {"amount": "abc"}, {"amount": "5", "date": "tomorrow"}):
        response = await client.post(url, json={"payment": payload})
        assert response.status_code == 422, payload
        assert response.json()["errors"]


async def test_payments_list_uses_meta_pagination(client, store):
    body = (await client.get("/payments.json", params={"per_page": 5})).json()
    assert set(body) == {"payments", "meta"}
    assert set(body["meta"]["pagination"]) == {
        "current_page", "next_page", "prev_page", "total_pages", "total_count"
    }  # fmt: skip
    assert body["meta"]["pagination"]["total_count"] == len(store.payments)
    assert len(body["payments"]) == 5 and "job_id" not in body["payments"][0]


async def test_payments_customer_id_takes_the_customer_number(client, store):
    payment = next(iter(store.payments.values()))
    customer = store.customers[payment.customer_id]
    by_number = (await client.get("/payments.json", params={"customer_id": customer.number})).json()
    expected = {p.id for p in store.payments.values() if p.customer_id == customer.id}
    assert {p["id"] for p in by_number["payments"]} == expected
    by_id = (await client.get("/payments.json", params={"customer_id": customer.id})).json()
    assert by_id["payments"] == []


async def test_payments_sorting(client, store):
    for key in ("date", "created_at", "amount"):
        for order in ("ASC", "DESC"):
            body = (
                await client.get(
                    "/payments.json", params={"sort_by": key, "sort_order": order, "per_page": 100}
                )
            ).json()
            values = [Decimal(p[key]) if key == "amount" else p[key] for p in body["payments"]]
            assert values == sorted(values, reverse=order == "DESC"), (key, order)
    bad = await client.get("/payments.json", params={"sort_by": "color"})
    assert bad.status_code == 422
