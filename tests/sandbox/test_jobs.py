"""/jobs.json and a job's parts: create quirks, detail embeds, status moves, charges, notes, tags."""

from __future__ import annotations

from datetime import timedelta

from tests.sandbox.conftest import TODAY, every_page

JOB_STATUSES = {"unscheduled", "scheduled", "in_progress", "on_hold", "complete", "canceled"}


def _job_type(store, active=True):
    return next(t for t in store.job_types.values() if t.active == active)


async def test_list_is_newest_first_and_jobs_only(client, store):
    jobs = await every_page(client, "/jobs.json", "jobs")
    numbers = [j["job_number"] for j in jobs]
    assert numbers == sorted(numbers, reverse=True)
    assert {j["status"] for j in jobs} == JOB_STATUSES
    assert len(jobs) == sum(j.status in JOB_STATUSES for j in store.jobs.values())
    first = jobs[0]
    assert "customer" not in first and isinstance(first["customer_id"], int)
    assert first["customer_id"] in store.customers  # a global id


async def test_filters_by_job_type_and_status(client, store):
    job_type = _job_type(store)
    found = await every_page(client, "/jobs.json", "jobs", job_type_id=job_type.id)
    assert found and all(j["job_type_id"] == job_type.id for j in found)
    found = await every_page(client, "/jobs.json", "jobs", status="complete")
    assert found and all(j["status"] == "complete" for j in found)
    assert (await client.get("/jobs.json", params={"status": "finished"})).status_code == 422


async def test_scheduled_words_follow_the_sandbox_clock(client, store):
    # TODAY is Saturday 2026-11-21; weeks start on Monday.
    windows = {
        "today": (TODAY, TODAY + timedelta(1)),
        "tomorrow": (TODAY + timedelta(1), TODAY + timedelta(2)),
        "this_week": (TODAY - timedelta(5), TODAY + timedelta(2)),
        "next_week": (TODAY + timedelta(2), TODAY + timedelta(9)),
        "last_week": (TODAY - timedelta(12), TODAY - timedelta(5)),
        "this_month": (TODAY.replace(day=1), TODAY.replace(month=12, day=1)),
        "next_month": (TODAY.replace(month=12, day=1), TODAY.replace(year=2027, month=1, day=1)),
        "last_month": (TODAY.replace(month=10, day=1), TODAY.replace(day=1)),
    }
    seen_any = False
    for word, (start, end) in windows.items():
        found = await every_page(client, "/jobs.json", "jobs", scheduled=word)
        expected = {
            j.number
            for j in store.jobs.values()
            if j.status in JOB_STATUSES and j.scheduled_on and start <= j.scheduled_on.date() < end
        }
        assert {j["job_number"] for j in found} == expected, word
        seen_any = seen_any or bool(expected)
    assert seen_any
    assert (await client.get("/jobs.json", params={"scheduled": "someday"})).status_code == 422


async def test_create_needs_customer_number_outside_the_job(client, store):
    job_type = _job_type(store)
    customer = next(iter(store.customers.values()))
    response = await client.post(
        "/jobs.json",
        json={
            "job": {"job_type_id": job_type.id, "description": "Fix it",
                    "job_charges": [{"item_id": next(iter(store.items)), "quantity": 3}]},
            "customer_number": customer.number,
        },
    )  # fmt: skip
    assert response.status_code == 200
    job = response.json()
    assert job["customer_id"] == customer.id and job["status"] == "unscheduled"
    assert job["job_charges"] == [] and job["total"] == "0.0"  # charges are ignored on create
    assert job["job_number"] == max(store.jobs_by_number)
    inside = await client.post(
        "/jobs.json", json={"job": {"job_type_id": job_type.id, "customer_number": customer.number}}
    )
    assert inside.status_code == 422 and "customer_number" in inside.json()["errors"]


async def test_create_validation(client, store):
    number = next(iter(store.customers_by_number))
    no_type = await client.post("/jobs.json", json={"job": {}, "customer_number": number})
    assert no_type.status_code == 422
    assert no_type.json() == {"errors": {"job_type_id": ["Job type can't be blank"]}}
    unknown_type = await client.post(
        "/jobs.json", json={"job": {"job_type_id": 1}, "customer_number": number}
    )
    assert unknown_type.status_code == 422
    unknown_customer = await client.post(
        "/jobs.json", json={"job": {"job_type_id": _job_type(store).id}, "customer_number": 99999}
    )
    assert unknown_customer.status_code == 422
    assert "customer_number" in unknown_customer.json()["errors"]


async def test_customer_jobs_list_and_create(client, store):
    customer = next(c for c in store.customers.values() if len(c.job_ids) >= 2)
    listed = (await client.get(f"/customers/{customer.number}/jobs.json")).json()
    assert all(j["customer_id"] == customer.id for j in listed["jobs"])
    created = await client.post(
        f"/customers/{customer.number}/jobs.json",
        json={"job": {"job_type_id": _job_type(store).id}},
    )
    assert created.status_code == 200 and created.json()["customer_id"] == customer.id
    again = (await client.get(f"/customers/{customer.number}/jobs.json")).json()
    assert again["total_entries"] == listed["total_entries"] + 1
    assert again["jobs"][0]["job_number"] == created.json()["job_number"]


async def test_job_detail_embeds_its_parts(client, store):
    job = next(
        j for j in store.jobs.values() if j.payment_ids and j.charge_ids and j.payment_request_cents
    )
    body = (await client.get(f"/jobs/{job.number}.json")).json()
    assert body["id"] == job.id and body["customer"]["id"] == job.customer_id
    assert len(body["job_charges"]) == len(job.charge_ids)
    assert all(c["item"]["id"] == c["item_id"] for c in body["job_charges"])
    assert all(c["job_id"] == job.id for c in body["job_charges"])
    assert len(body["payments"]) == len(job.payment_ids)
    assert body["payment_request"]["amount"] == job.payment_request_cents  # integer cents
    assert isinstance(body["tags"], list) and isinstance(body["notes"], list)
    assert (await client.get(f"/jobs/{job.id}.json")).json() == {"errors": ["Invalid job."]}
    assert (await client.delete(f"/jobs/{job.number}.json")).status_code == 404


async def test_opportunity_kickserv_way_and_status_moves(client, store):
    number = next(iter(store.customers_by_number))
    created = (
        await client.post(
            "/jobs.json",
            json={"job": {"job_type_id": _job_type(store).id}, "customer_number": number},
        )
    ).json()
    url = f"/jobs/{created['job_number']}.json"
    moved = await client.put(url, json={"job": {"status": "new"}})
    assert moved.json()["status"] == "new"
    opportunities = await every_page(client, "/opportunities.json", "opportunities", status="new")
    assert created["job_number"] in {o["job_number"] for o in opportunities}
    jobs = await every_page(client, "/jobs.json", "jobs")
    assert created["job_number"] not in {j["job_number"] for j in jobs}
    patched = await client.patch(url, json={"job": {"status": "complete"}})
    assert patched.json()["status"] == "complete" and patched.json()["completed_on"]
    assert (await client.put(url, json={"job": {"status": "done"}})).status_code == 422


async def test_charges_keep_totals_consistent(client, store):
    job = next(j for j in store.jobs.values() if j.invoice_date is None and not j.payment_ids)
    url = f"/jobs/{job.number}/job_charges.json"
    await client.put(f"/jobs/{job.number}.json", json={"job": {"sales_tax_percentage": "10"}})
    for charge_id in list(job.charge_ids):
        deleted = await client.delete(f"/jobs/{job.number}/job_charges/{charge_id}.json")
        assert deleted.json()["id"] == charge_id
    added = await client.post(
        url,
        json={"job_charge": {"description": "Widget", "quantity": "3", "price_per_unit": "19.99",
                             "discount": "5", "taxable": True}},
    )  # fmt: skip
    assert added.status_code == 200
    charge = added.json()
    assert charge["total"] == "54.97" and charge["job_id"] == job.id
    body = (await client.get(f"/jobs/{job.number}.json")).json()
    assert (body["subtotal"], body["tax"], body["total"]) == ("54.97", "5.5", "60.47")
    assert body["balance_remaining"] == "60.47"
    edited = await client.put(
        f"/jobs/{job.number}/job_charges/{charge['id']}.json", json={"job_charge": {"quantity": 1}}
    )
    assert edited.json()["total"] == "14.99"
    assert (await client.get(f"/jobs/{job.number}.json")).json()["total"] == "16.49"
    listed = (await client.get(url)).json()
    assert [c["id"] for c in listed["job_charges"]] == [charge["id"]]
    negative = await client.post(url, json={"job_charge": {"description": "X", "quantity": -1}})
    assert negative.status_code == 422 and "quantity" in negative.json()["errors"]
    other = await client.put(f"/jobs/{job.number}/job_charges/1.json", json={"job_charge": {}})
    assert other.json() == {"errors": ["Invalid job charge."]}


async def test_charge_from_an_item_takes_its_price(client, store):
    job = next(j for j in store.jobs.values() if j.invoice_date is None)
    item = next(i for i in store.items.values() if i.name == "Violin Maintenance")
    added = await client.post(
        f"/jobs/{job.number}/job_charges.json",
        json={"job_charge": {"item_id": item.id, "quantity": 2}},
    )
    body = added.json()
    assert body["price_per_unit"] == "55.0" and body["total"] == "110.0"
    assert body["item"]["name"] == "Violin Maintenance" and body["taxable"] is True


async def test_put_job_charges_array_adds_charges(client, store):
    job = next(j for j in store.jobs.values() if j.invoice_date is None)
    before = len(job.charge_ids)
    response = await client.put(
        f"/jobs/{job.number}.json",
        json={
            "job": {"job_charges": [{"description": "Extra", "quantity": 1, "price_per_unit": 10}]}
        },
    )
    assert len(response.json()["job_charges"]) == before + 1


async def test_job_notes_and_tags(client, store):
    job = next(iter(store.jobs.values()))
    note = (
        await client.post(f"/jobs/{job.number}/notes.json", json={"note": {"body": "Hi"}})
    ).json()
    assert note["noteable_type"] == "Job" and note["noteable_id"] == job.id
    notes = (await client.get(f"/jobs/{job.number}/notes.json")).json()["notes"]
    assert note["id"] in {n["id"] for n in notes}
    await client.put(f"/jobs/{job.number}/tags.json", json={"tags": ["Rush", "Rush", "Warranty"]})
    assert (await client.get(f"/jobs/{job.number}/tags.json")).json() == {
        "tags": ["Rush", "Warranty"]
    }
    assert (await client.get(f"/jobs/{job.number}.json")).json()["tags"] == ["Rush", "Warranty"]
