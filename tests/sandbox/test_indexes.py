"""Listings answer from indexes: once an account's orders are built, a page touches no table
of the account as a whole, however many unrelated records it holds (sandbox/indexes.py).

The measure is deterministic: the store's tables are swapped for dicts that count every entry a
whole-table pass reads. Before the indexes, every listing page read each table it filtered whole.
"""

from __future__ import annotations

from _collections_abc import dict_items, dict_keys, dict_values
from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import httpx

from sandbox.data import AccountStore, Payment
from sandbox.indexes import _kept

TABLES = ("customers", "customers_by_number", "jobs", "jobs_by_number", "tasks", "payments")


class Scanned:
    entries = 0


class CountingDict(dict[Any, Any]):
    """A table that counts the entries whole-table passes read (lookups by key are free)."""

    def values(self) -> dict_values[Any, Any]:
        Scanned.entries += len(self)
        return super().values()

    def items(self) -> dict_items[Any, Any]:
        Scanned.entries += len(self)
        return super().items()

    def keys(self) -> dict_keys[Any, Any]:
        Scanned.entries += len(self)
        return super().keys()

    def __iter__(self) -> Iterator[Any]:
        Scanned.entries += len(self)
        return super().__iter__()

    def __reversed__(self) -> Iterator[Any]:
        Scanned.entries += len(self)
        return super().__reversed__()


def _counting(store: AccountStore) -> None:
    for name in TABLES:
        setattr(store, name, CountingDict(getattr(store, name)))


def _listings(store: AccountStore) -> list[str]:
    customer = next(c for c in store.customers.values() if len(c.job_ids) > 1)
    job = next(j for j in store.jobs.values() if j.task_ids)
    return [
        "/customers.json?per_page=5&page=2",
        "/jobs.json?per_page=5&page=2",
        "/opportunities.json?per_page=5",
        "/invoices.json?per_page=5&page=2",
        "/invoices.json?invoice_status=unpaid&per_page=5",
        f"/payments.json?customer_id={customer.number}",
        f"/customers/{customer.number}/jobs.json",
        f"/tasks.json?job_id={job.id}",
        "/tasks.json?from=2026-11-16&to=2026-11-23&per_page=5",
        "/tasks.json?per_page=5&page=3",
    ]


async def test_a_listing_page_reads_no_whole_table_once_indexed(
    client: httpx.AsyncClient, store: AccountStore
) -> None:
    paths = _listings(store)
    first = {}
    for path in paths:  # builds the indexes
        response = await client.get(path)
        assert response.status_code == 200, path
        first[path] = response.json()
    _counting(store)
    Scanned.entries = 0
    for path in paths:
        response = await client.get(path)
        assert response.json() == first[path], path  # the same answer from the indexes
    assert Scanned.entries == 0


async def test_a_write_through_the_api_or_a_new_record_rebuilds_the_indexes(
    client: httpx.AsyncClient, store: AccountStore
) -> None:
    before = (await client.get("/customers.json?per_page=1")).json()["total_entries"]
    created = await client.post("/customers.json", json={"customer": {"name": "Indexed Anew"}})
    assert created.status_code == 200
    after = (await client.get("/customers.json?per_page=100&page=1")).json()
    assert after["total_entries"] == before + 1
    # A record a test arranges directly (no API write) shows too: the table grew.
    customer = next(c for c in store.customers.values() if c.job_ids)
    url = f"/payments.json?customer_id={customer.number}&per_page=100"
    count = (await client.get(url)).json()["meta"]["pagination"]["total_count"]
    job = store.jobs[customer.job_ids[0]]
    payment = Payment(
        store.new_id(), job.id, customer.id, job.created_at.date(), "Check", Decimal("1.00"),
        None, None, job.created_at, next(iter(store.employees)),
    )  # fmt: skip
    store.payments[payment.id] = payment
    assert (await client.get(url)).json()["meta"]["pagination"]["total_count"] == count + 1


def test_an_index_is_built_once_until_the_account_changes(store: AccountStore) -> None:
    built: list[int] = []

    def build() -> int:
        built.append(1)
        return len(built)

    assert _kept(store, "probe", build) == 1 and _kept(store, "probe", build) == 1
    store.writes += 1
    assert _kept(store, "probe", build) == 2
