"""Listing entries kept as JSON bytes (sandbox/fragments.py) are always the bytes a fresh shape
would give: after writes through the API, after records arranged directly, in both personalities;
and a change to a customer, job, task or employee reaches every listing that shows it."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from datetime import UTC, date, datetime, timezone
from decimal import Decimal
from typing import Any

import pytest
from starlette.responses import JSONResponse

from sandbox import indexes, shapes
from sandbox.app import create_app, sandbox_state
from sandbox.choices import meta_pagination_envelope, will_paginate_envelope
from sandbox.data import AccountStore, Contact
from sandbox.envelopes import EnvelopeBuilder, PageRequest, encoded_page, paginate
from sandbox.fragments import Keyed
from tests.sandbox.conftest import api_client, every_page, small_config

IMMUTABLE = (type(None), bool, int, float, str, Decimal, datetime, date)
LISTINGS = (
    ("customers", "customers"), ("jobs", "jobs"), ("tasks", "tasks"), ("invoices", "invoices"),
    ("opportunities", "opportunities"),
)  # fmt: skip


def _shaped(store: AccountStore) -> Iterator[tuple[Keyed[Any], Any]]:
    """Every keyed shape of every record it applies to."""
    jobs = list(store.jobs.values())
    yield from ((shapes.customer, c) for c in store.customers.values())
    yield from ((shapes.job, j) for j in jobs)
    yield from ((shapes.job_with_customer, j) for j in jobs)
    yield from ((shapes.invoice, j) for j in jobs if j.invoice_date is not None)
    yield from ((shapes.task, t) for t in store.tasks.values())
    yield from ((shapes.payment, p) for p in store.payments.values())


def _all_fresh(store: AccountStore) -> None:
    """Each kept entry is the bytes JSONResponse renders from the shape built anew."""
    for shape, record in _shaped(store):
        assert shape.encoded(store, record) == JSONResponse(shape(store, record)).body, (
            shape.kind,
            record.id,
        )


@pytest.mark.parametrize("strict", [False, True], ids=["lenient", "strict"])
async def test_kept_entries_are_the_fresh_shapes_after_writes_and_direct_changes(strict: bool):
    app = create_app(small_config(reference_strict=strict))
    store = sandbox_state(app).store("demo")
    _all_fresh(store)  # fills the fragments
    customers, jobs = list(store.customers_by_number), list(store.jobs_by_number)
    tasks, staff = list(store.tasks), list(store.employees)
    writes: list[tuple[str, str, Any]] = [
        ("PUT", f"/customers/{customers[0]}.json", {"customer": {"name": "Renamed"}}),
        ("PUT", f"/customers/{customers[1]}.json",
         {"customer": {"parent_id": store.customers_by_number[customers[2]].id}}),
        ("PUT", f"/jobs/{jobs[0]}.json", {"job": {"status": "complete", "name": "Done"}}),
        ("PUT", f"/jobs/{jobs[1]}.json", {"job": {"invoice_date": "2026-11-20", "job_charges": [
            {"description": "x", "quantity": 2, "price_per_unit": "10.5"}]}}),
        ("POST", f"/jobs/{jobs[1]}/payments.json", {"payment": {"amount": "3.25"}}),
        ("PUT", f"/tasks/{tasks[0]}.json", {"task": {"employee_ids": staff[:3],
                                                     "starts_at": "2026-11-22T09:00:00-05:00"}}),
        ("POST", f"/jobs/{jobs[2]}/tasks.json", {"task": {"starts_at": "2026-11-23T10:00:00"}}),
        ("DELETE", f"/tasks/{tasks[1]}.json", None),
        ("DELETE", f"/customers/{customers[3]}.json", None),
    ]  # fmt: skip
    async with api_client(app) as http:
        for method, path, body in writes:
            response = await http.request(method, path, json=body)
            unconfirmed = strict and "/payments" in path  # a route strict does not serve
            assert response.status_code == (404 if unconfirmed else 200), (path, response.text)
            _all_fresh(store)
    # Arranged directly, behind the API's back: fields, lists in place, a contact, an employee.
    task = store.tasks[tasks[2]]
    task.employee_ids.append(staff[-1])
    store.jobs[task.job_id].status = "canceled"
    customer = store.customers[store.jobs[task.job_id].customer_id]
    customer.contact = Contact(1, "Ada", "Lovelace", "555", "ada@example.com")
    _all_fresh(store)
    customer.contact.last_name = "Byron"
    store.employees[staff[-1]].first_name = "Grace"
    store.customers[customer.children[0] if customer.children else customer.id].balance += 1
    _all_fresh(store)


@pytest.mark.parametrize("envelope", [will_paginate_envelope, meta_pagination_envelope])
def test_a_page_of_kept_entries_is_what_paginate_renders(envelope: EnvelopeBuilder):
    """Byte for byte the JSONResponse of the dict page, headers included, any page."""
    store = sandbox_state(create_app(small_config())).store("demo")
    listed: list[tuple[str, Keyed[Any], Sequence[Any]]] = [
        ("customers", shapes.customer, indexes.customers(store)),
        ("jobs", shapes.job, indexes.jobs(store)),
        ("tasks", shapes.task, store.tasks_by_start()),
        ("invoices", shapes.invoice, indexes.invoices(store, None)[0]),
        ("opportunities", shapes.job_with_customer, indexes.opportunities(store)),
        ("payments", shapes.payment, indexes.payments(store, None, "date", "DESC")),
    ]
    extra = {"total_balance_remaining": "1.5"}
    for plural, shape, records in listed:
        for paging in (
            PageRequest(1, 7),
            PageRequest(3, 7),
            PageRequest(1, 100),
            PageRequest(99, 7),
        ):

            def entry(record: Any, shape: Keyed[Any] = shape) -> bytes:
                return shape.encoded(store, record)

            def fresh(record: Any, shape: Keyed[Any] = shape) -> dict[str, Any]:
                return shape(store, record)

            made = encoded_page(plural, records, paging, entry, envelope, extra)
            rendered = JSONResponse({**paginate(plural, records, paging, fresh, envelope), **extra})
            assert made.body == rendered.body, (plural, paging)
            assert made.raw_headers == rendered.raw_headers


async def test_a_change_reaches_every_listing_that_shows_it():
    """A customer renamed through the API, a job moved, an employee renamed directly: every task,
    job, invoice and opportunity entry that embeds them says so on the next read."""
    app = create_app(small_config())
    store = sandbox_state(app).store("demo")
    customer = max(store.customers.values(), key=lambda c: sum(
        len(store.jobs[j].task_ids) for j in c.job_ids))  # fmt: skip
    job = next(store.jobs[j] for j in customer.job_ids if store.jobs[j].task_ids)
    worker = next(e for t in store.tasks.values() for e in t.employee_ids)
    async with api_client(app) as http:
        before = {
            path: await every_page(http, f"/{path}.json", plural) for path, plural in LISTINGS
        }
        put = await http.put(
            f"/customers/{customer.number}.json", json={"customer": {"name": "Zed"}}
        )
        assert put.status_code == 200
        moved = await http.put(f"/jobs/{job.number}.json", json={"job": {"status": "on_hold"}})
        assert moved.status_code == 200
        store.employees[worker].first_name = "Renamed"
        after = {path: await every_page(http, f"/{path}.json", plural) for path, plural in LISTINGS}
    assert before != after
    tasks = after["tasks"]
    theirs = [t for t in tasks if t["customer"]["id"] == customer.id]
    assert theirs and all(t["customer"]["name"] == "Zed" for t in theirs)
    assert all(t["job"]["status"] == "on_hold" for t in tasks if t["job"]["id"] == job.id)
    assert [t for t in tasks if t["job"]["id"] == job.id]
    worked = [e for t in tasks for e in t["employees"] if e["id"] == worker]
    assert worked and all(e["name"].startswith("Renamed ") for e in worked)
    for path in ("invoices", "opportunities"):
        for entry in after[path]:
            if entry["customer"]["id"] == customer.id:
                assert entry["customer"]["name"] == "Zed"
    for entry in after["invoices"]:
        for t in entry["tasks"]:
            assert t["customer"]["name"] == "Zed" or t["customer"]["id"] != customer.id
    named = [c for c in after["customers"] if c["id"] == customer.id]
    assert named[0]["name"] == "Zed"
    assert next(j for j in after["jobs"] if j["id"] == job.id)["status"] == "on_hold"


def test_an_entry_is_kept_while_its_key_holds_the_same_objects_and_only_then():
    app = create_app(small_config())
    store = sandbox_state(app).store("demo")
    task = next(t for t in store.tasks.values() if not t.completed)
    first = shapes.task.encoded(store, task)
    assert shapes.task.encoded(store, task) is first  # kept
    task.completed = 0  # type: ignore[assignment]  # equal to False, yet another value
    assert b'"completed":0,' in shapes.task.encoded(store, task)
    task.completed = False
    instant = task.starts_at
    task.starts_at = instant.astimezone(UTC)  # the same instant, another offset
    assert shapes.task.encoded(store, task) == JSONResponse(shapes.task(store, task)).body
    assert b"+00:00" in shapes.task.encoded(store, task)


def test_keys_hold_only_immutable_values():
    store = sandbox_state(create_app(small_config())).store("demo")
    for shape, record in _shaped(store):
        for value in shape.key(store, record):
            assert isinstance(value, IMMUTABLE), (shape.kind, type(value))
            if isinstance(value, datetime):
                assert value.tzinfo is None or isinstance(value.tzinfo, timezone)
