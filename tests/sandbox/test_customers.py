"""/customers.json: filters, paging (customers_page alias, clamping), CRUD by number, notes, tags."""

from __future__ import annotations

from tests.sandbox.conftest import every_page

ENVELOPE_KEYS = {
    "customers", "current_page", "per_page", "total_entries", "total_pages", "next_page",
    "previous_page",
}  # fmt: skip


async def test_list_is_a_will_paginate_envelope_sorted_by_number(client):
    body = (await client.get("/customers.json")).json()
    assert set(body) == ENVELOPE_KEYS
    assert body["per_page"] == 25 and body["current_page"] == 1
    assert body["total_entries"] == 40 and body["total_pages"] == 2
    assert body["next_page"] == 2 and body["previous_page"] is None
    numbers = [c["customer_number"] for c in body["customers"]]
    assert numbers == sorted(numbers) and len(numbers) == 25
    second = (await client.get("/customers.json", params={"page": 2})).json()
    assert second["previous_page"] == 1 and second["next_page"] is None
    assert len(second["customers"]) == 15


async def test_customers_page_is_an_alias_of_page(client):
    by_alias = (await client.get("/customers.json", params={"customers_page": 2})).json()
    by_page = (await client.get("/customers.json", params={"page": 2})).json()
    assert by_alias["current_page"] == 2
    assert by_alias["customers"] == by_page["customers"]


async def test_per_page_is_clamped_and_the_envelope_says_so(client):
    body = (await client.get("/customers.json", params={"per_page": 500})).json()
    assert body["per_page"] == 100 and len(body["customers"]) == 40
    put = await client.put("http://sandbox/__sandbox/config", json={"max_per_page": 10})
    assert put.status_code == 200
    body = (await client.get("/customers.json", params={"per_page": 50})).json()
    assert body["per_page"] == 10 and len(body["customers"]) == 10 and body["total_pages"] == 4


async def test_page_beyond_the_last_is_empty(client):
    body = (await client.get("/customers.json", params={"page": 9})).json()
    assert body["customers"] == [] and body["total_entries"] == 40


async def test_filters(client, store):
    everyone = list(store.customers_by_number.values())
    target = everyone[7]
    exact = await every_page(client, "/customers.json", "customers", name=target.name.upper())
    assert [c["customer_number"] for c in exact] == [
        c.number for c in everyone if c.name.lower() == target.name.lower()
    ]
    fragment = target.name[2:5].lower()
    found = await every_page(client, "/customers.json", "customers", q=fragment)
    assert {c["customer_number"] for c in found} == {
        c.number for c in everyone if fragment in c.name.lower()
    }
    letter = target.name[0].lower()
    found = await every_page(client, "/customers.json", "customers", begins_with=letter)
    assert found and all(c["name"].lower().startswith(letter) for c in found)
    assert len(found) == sum(c.name.lower().startswith(letter) for c in everyone)
    found = await every_page(client, "/customers.json", "customers", customer_number=target.number)
    assert [c["id"] for c in found] == [target.id]
    found = await every_page(
        client, "/customers.json", "customers", service_state=target.service_state
    )
    assert {c["customer_number"] for c in found} == {
        c.number for c in everyone if c.service_state == target.service_state
    }
    found = await every_page(
        client, "/customers.json", "customers", service_address=target.service_address
    )
    assert target.number in {c["customer_number"] for c in found}
    source = next(c.customer_source_id for c in everyone if c.customer_source_id)
    found = await every_page(client, "/customers.json", "customers", customer_source_id=source)
    assert found and all(c["customer_source_id"] == source for c in found)


async def test_q_matches_the_name_only(client, store):
    customer = next(iter(store.customers_by_number.values()))
    found = await every_page(client, "/customers.json", "customers", q=customer.service_address)
    assert customer.number not in {c["customer_number"] for c in found}


async def test_get_by_number_and_missing_number(client, store):
    customer = next(iter(store.customers_by_number.values()))
    body = (await client.get(f"/customers/{customer.number}.json")).json()
    assert body["id"] == customer.id and body["customer_number"] == customer.number
    assert "custom_text20" in body and "list_id" in body and isinstance(body["balance"], str)
    missing = await client.get(f"/customers/{customer.id}.json")  # an id is not a number
    assert missing.status_code == 400
    assert missing.json() == {"errors": ["Invalid customer."]}


async def test_parent_and_child_customers(client, store):
    parent = next(c for c in store.customers.values() if c.children)
    body = (await client.get(f"/customers/{parent.number}.json")).json()
    child_id = parent.children[0]
    assert {"id": child_id, "customer_number": store.customers[child_id].number,
            "name": store.customers[child_id].name} in body["children"]  # fmt: skip
    child = (await client.get(f"/customers/{store.customers[child_id].number}.json")).json()
    assert child["parent_id"] == parent.id and child["children"] == []


async def test_create_assigns_the_number_and_answers_200(client, store):
    response = await client.post(
        "/customers.json",
        json={"customer": {"name": "Ada Lovelace", "customer_number": 5, "service_state": "TX"}},
    )
    assert response.status_code == 200
    body = response.json()
    assert body["customer_number"] == 41 and body["name"] == "Ada Lovelace"
    assert (await client.get("/customers/41.json")).json()["id"] == body["id"]
    assert store.customers_by_number[5].name != "Ada Lovelace"


async def test_create_without_a_name_is_422(client):
    response = await client.post("/customers.json", json={"customer": {"phone_number": "555"}})
    assert response.status_code == 422
    assert response.json() == {"errors": {"name": ["Name can't be blank"]}}
    response = await client.post(
        "/customers.json", json={"customer": {"name": "X", "parent_id": 1}}
    )
    assert response.status_code == 422 and "parent_id" in response.json()["errors"]


async def test_update_and_delete(client, store):
    number = next(iter(store.customers_by_number))
    response = await client.put(
        f"/customers/{number}.json", json={"customer": {"name": "Samantha"}}
    )
    assert response.status_code == 200 and response.json()["name"] == "Samantha"
    assert (await client.get(f"/customers/{number}.json")).json()["name"] == "Samantha"
    deleted = await client.delete(f"/customers/{number}.json")
    assert deleted.json() == {"message": "Customer successfully deleted"}
    assert (await client.get(f"/customers/{number}.json")).status_code == 400
    assert (await client.get("/customers.json")).json()["total_entries"] == 39


async def test_customer_notes(client, store):
    customer = next(iter(store.customers.values()))
    before = (await client.get(f"/customers/{customer.number}/notes.json")).json()["total_entries"]
    created = await client.post(
        f"/customers/{customer.number}/notes.json", json={"note": {"body": "Gate code 1234"}}
    )
    assert created.status_code == 200
    note = created.json()
    assert note["noteable_type"] == "Customer" and note["noteable_id"] == customer.id
    after = (await client.get(f"/customers/{customer.number}/notes.json")).json()
    assert after["total_entries"] == before + 1 and after["notes"][-1]["body"] == "Gate code 1234"
    blank = await client.post(f"/customers/{customer.number}/notes.json", json={"note": {}})
    assert blank.status_code == 422


async def test_customer_tags_are_replaced_wholesale(client, store):
    number = next(iter(store.customers_by_number))
    put = await client.put(f"/customers/{number}/tags.json", json={"tags": ["VIP", "Net 30"]})
    assert put.json() == {"tags": ["VIP", "Net 30"]}
    await client.put(f"/customers/{number}/tags.json", json={"tags": ["Referral"]})
    assert (await client.get(f"/customers/{number}/tags.json")).json() == {"tags": ["Referral"]}
    bad = await client.put(f"/customers/{number}/tags.json", json={"tags": "VIP"})
    assert bad.status_code == 422
