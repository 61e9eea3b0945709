"""/opportunities.json: status and job type filters, the ignored customer_number, won/lost."""

from __future__ import annotations

from tests.sandbox.conftest import every_page

OPPORTUNITY_STATUSES = {"new", "sent", "viewed", "won", "lost"}


async def test_list_newest_first_with_customer_glue(client, store):
    found = await every_page(client, "/opportunities.json", "opportunities")
    assert {o["status"] for o in found} == OPPORTUNITY_STATUSES
    assert len(found) == sum(j.status in OPPORTUNITY_STATUSES for j in store.jobs.values())
    numbers = [o["job_number"] for o in found]
    assert numbers == sorted(numbers, reverse=True)
    assert all(o["customer"]["id"] == o["customer_id"] for o in found)


async def test_filters_and_the_ignored_customer_number(client, store):
    sent = await every_page(client, "/opportunities.json", "opportunities", status="sent")
    assert sent and all(o["status"] == "sent" for o in sent)
    every = await every_page(client, "/opportunities.json", "opportunities")
    job_type = every[0]["job_type_id"]
    typed = await every_page(client, "/opportunities.json", "opportunities", job_type_id=job_type)
    assert typed and all(o["job_type_id"] == job_type for o in typed)
    number = store.customers[every[0]["customer_id"]].number
    ignored = await every_page(
        client, "/opportunities.json", "opportunities", customer_number=number
    )
    assert ignored == every


async def test_mark_as_won_and_lost(client, store):
    new = [j for j in store.jobs.values() if j.status in ("new", "sent")][:2]
    won = await client.put(f"/opportunities/{new[0].number}/mark_as_won.json")
    assert won.status_code == 200
    assert won.json()["status"] == "won" and won.json()["won_date"] == "2026-11-21"
    assert won.json()["customer"]["id"] == new[0].customer_id
    lost = await client.put(f"/opportunities/{new[1].number}/mark_as_lost.json")
    assert lost.json()["status"] == "lost" and lost.json()["lost_date"] == "2026-11-21"
    job = next(j for j in store.jobs.values() if j.status == "complete")
    refused = await client.put(f"/opportunities/{job.number}/mark_as_won.json")
    assert refused.status_code == 400 and refused.json() == {"errors": ["Invalid opportunity."]}
    only_opportunities = await client.put(f"/jobs/{new[0].number}/mark_as_won.json")
    assert only_opportunities.status_code == 404


async def test_post_creates_an_opportunity(client, store):
    job_type = next(t for t in store.job_types.values() if t.active)
    number = next(iter(store.customers_by_number))
    created = await client.post(
        "/opportunities.json",
        json={"opportunity": {"job_type_id": job_type.id, "name": "New deck"},
              "customer_number": number},
    )  # fmt: skip
    assert created.status_code == 200
    body = created.json()
    assert body["status"] == "new" and body["name"] == "New deck" and body["customer"]
    listed = await every_page(client, "/opportunities.json", "opportunities", status="new")
    assert listed[0]["job_number"] == body["job_number"]
