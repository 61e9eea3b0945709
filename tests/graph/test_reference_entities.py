"""`_entities` for the types Kickserv cannot fetch one by one (payments, items) or that are reference
data (job types, vendors): each resolves through a loader, in the order given, a batch per type."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from sandbox.app import SandboxConfig
from sandbox.testing import RunningSandbox, running_sandbox
from tests.graph.example_runs import graph_server

ENTITIES = """
query ($representations: [_Any!]!) {
  _entities(representations: $representations) {
    __typename
    ... on Payment { id amount }
    ... on JobType { id jobTypeName: name }
    ... on Item { id itemName: name price }
    ... on Vendor { id vendorName: name }
  }
}
"""


@pytest.fixture(scope="module")
def sandbox() -> Iterator[RunningSandbox]:
    with running_sandbox(SandboxConfig(customers=30, seed=5, today=None)) as sb:
        yield sb


async def test_reference_entities_resolve_in_order_with_per_item_errors(sandbox):
    # given: real records from the sandbox's own store
    store = sandbox.store("demo")
    payments = sorted(store.payments.values(), key=lambda p: p.id)[:3]
    job_type = next(iter(store.job_types.values()))
    item = next(iter(store.items.values()))
    vendor = next(iter(store.vendors.values()))
    representations = [
        {"__typename": "Payment", "id": str(payments[0].id)},
        {"__typename": "JobType", "id": str(job_type.id)},
        {"__typename": "Item", "id": str(item.id)},
        {"__typename": "Vendor", "id": str(vendor.id)},
        {"__typename": "Payment", "id": str(payments[1].id)},
        {"__typename": "Vendor", "id": "999999999"},
        {"__typename": "Payment", "id": str(payments[2].id)},
    ]
    async with graph_server(sandbox) as graph:
        # when
        run = await graph.run(ENTITIES, {"representations": representations})
        again = await graph.run(ENTITIES, {"representations": representations})
    # then: every known one, in order; the unknown vendor is a per-item NOT_FOUND
    entities = run.data["_entities"]
    assert [e and e["__typename"] for e in entities] == [
        "Payment",
        "JobType",
        "Item",
        "Vendor",
        "Payment",
        None,
        "Payment",
    ]
    assert [entities[i]["id"] for i in (0, 4, 6)] == [str(p.id) for p in payments]
    assert entities[1]["jobTypeName"] == job_type.name and entities[2]["itemName"] == item.name
    assert entities[3]["vendorName"] == vendor.name
    (error,) = run.errors
    assert error["path"] == ["_entities", 5] and error["extensions"]["code"] == "NOT_FOUND"
    # three payments from one index build (the listing's pages, not one call each)
    payment_calls = [e for e in run.log if e["path"].endswith("/payments.json")]
    assert len(payment_calls) == -(-len(store.payments) // 100)
    # warm: only the unknown vendor is asked again ("not found" is not cached: it may be created)
    assert [e["path"] for e in again.log] == ["/demo/api/v2/vendors/999999999.json"]
