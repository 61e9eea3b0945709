"""Employees (bare array), vendors, items (truncated with name=), job types, job charge types."""

from __future__ import annotations

from tests.sandbox.conftest import every_page


async def test_employees_are_a_bare_array_of_active_employees(client, store):
    body = (await client.get("/employees.json")).json()
    assert isinstance(body, list)
    assert [e["employee_number"] for e in body] == sorted(
        e.number for e in store.employees.values() if e.active
    )
    assert len(body) == 7 and all(e["active"] for e in body)
    assert not any(k in body[0] for k in ("password_salt", "encrypted_password", "remember_token"))
    assert sum(e["limit_access_to_assignments"] for e in body) == 1


async def test_employee_by_number(client, store):
    inactive = next(e for e in store.employees.values() if not e.active)
    body = (await client.get(f"/employees/{inactive.number}.json")).json()
    assert body["id"] == inactive.id and body["active"] is False
    missing = await client.get("/employees/99.json")
    assert missing.status_code == 400 and missing.json() == {"errors": ["Invalid employee."]}


async def test_vendors_crud_with_errors_key(client, store):
    listed = (await client.get("/vendors.json")).json()
    assert listed["total_entries"] == len(store.vendors) and "errors" in listed["vendors"][0]
    created = await client.post("/vendors.json", json={"vendor": {"name": "Herp & Derp Plumbing"}})
    assert created.status_code == 200
    vendor = created.json()
    assert vendor["errors"] == {} and vendor["name"] == "Herp & Derp Plumbing"
    bare = await client.post("/vendors.json", json={"name": "Bare Name Supply"})
    assert bare.status_code == 200 and bare.json()["name"] == "Bare Name Supply"
    duplicate = await client.post("/vendors.json", json={"name": "herp & derp plumbing"})
    assert duplicate.status_code == 422
    assert duplicate.json()["errors"] == {"name": ["Name has already been taken"]}
    assert duplicate.json()["id"] is None
    renamed = await client.put(
        f"/vendors/{vendor['id']}.json", json={"vendor": {"name": "Renamed"}}
    )
    assert renamed.json()["name"] == "Renamed" and renamed.json()["errors"] == {}
    assert (await client.get(f"/vendors/{vendor['id']}.json")).json()["name"] == "Renamed"
    assert (await client.delete(f"/vendors/{vendor['id']}.json")).json()["id"] == vendor["id"]
    gone = await client.get(f"/vendors/{vendor['id']}.json")
    assert gone.status_code == 400 and gone.json() == {"errors": ["Invalid vendor."]}


async def test_items_full_and_truncated_by_name(client, store):
    full = await every_page(client, "/items.json", "items")
    assert len(full) == len(store.items) >= 40
    assert {"account_id", "full_name", "item_type", "formatted_price"} <= set(full[0])
    body = (await client.get("/items.json", params={"name": "VIO"})).json()
    assert body["items"] == [
        {"id": body["items"][0]["id"], "name": "Violin Maintenance", "price": "55.0",
         "description": "Preventative maintenance on violin", "taxable": True,
         "formatted_price": "$55.00"}
    ]  # fmt: skip
    assert body["total_entries"] == 1 and body["per_page"] == 25
    several = (await client.get("/items.json", params={"name": "labor"})).json()
    assert several["total_entries"] == 2
    assert all(set(i) == {"id", "name", "price", "description", "taxable", "formatted_price"}
               for i in several["items"])  # fmt: skip


async def test_job_types_active_inactive_all(client, store):
    active = (await client.get("/job_types.json")).json()["job_types"]
    inactive = (await client.get("/job_types.json", params={"inactive": "true"})).json()[
        "job_types"
    ]
    both = (await client.get("/job_types.json", params={"all": "true"})).json()["job_types"]
    assert all(t["active"] for t in active) and len(active) == 5
    assert [t["active"] for t in inactive] == [False]
    assert len(both) == len(store.job_types) == 6


async def test_job_charge_types(client, store):
    body = (await client.get("/job_charge_types.json")).json()
    assert body["total_entries"] == len(store.job_charge_types)
    assert {"Hourly", "Physical Product"} <= {t["name"] for t in body["job_charge_types"]}
