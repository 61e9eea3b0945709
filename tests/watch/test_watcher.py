"""The watcher against a sandbox changed straight through its REST API, in process: the baseline
emits nothing, each kind of outside change becomes exactly its typed event, a change is one event
whatever restarts in between, the caches it touches are forgotten, one holder per tenant."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from typing import Any

import pytest

from graph.server.tenancy import make_cache
from kickserv import KickservClient
from resolvers import resources
from resolvers.cache import CacheKey
from resolvers.events import ChangeEvent, EventType
from resolvers.state import StateStore
from resolvers.state.memory_events import MemoryEvents
from resolvers.tenant import Tenant
from resolvers.watch import TenantWatcher, WatchSettings, WatchStats
from resolvers.watch.feeds import FEED_NAMED
from sandbox.testing import RunningSandbox
from tests.state.conftest import Backend
from tests.watch.conftest import ACCOUNT, TOKEN, Kickserv, kinds, outside_changes

SETTINGS = WatchSettings(interval=1.0, max_calls=100)


@dataclass
class Rig:
    sandbox: RunningSandbox
    kickserv: Kickserv
    make: Callable[..., TenantWatcher]


@pytest.fixture
async def rig(sandbox: RunningSandbox, kickserv: Kickserv) -> AsyncIterator[Rig]:
    clients: list[KickservClient] = []

    def make(
        store: Any, *, holder: str = "h1", settings: WatchSettings = SETTINGS, **options: Any
    ) -> TenantWatcher:
        client = KickservClient(ACCOUNT, TOKEN, base_url=sandbox.base_url)
        clients.append(client)
        tenant = Tenant(ACCOUNT, client, make_cache())
        return TenantWatcher(tenant, store, settings, holder=holder, stats=WatchStats(), **options)

    yield Rig(sandbox, kickserv, make)
    for client in clients:
        await client.aclose()


async def test_the_first_cycle_is_a_baseline_then_each_outside_change_is_one_event(
    rig: Rig,
) -> None:
    watcher = rig.make(MemoryEvents())
    assert await watcher.cycle() == []  # what exists already is no news
    assert await watcher.cycle() == []
    touched = outside_changes(rig.kickserv)
    new_customer = max(
        c["customer_number"]
        for c in rig.kickserv.call("GET", "customers.json", per_page=100)["customers"]
    )
    events = await watcher.cycle()
    assert events is not None
    assert kinds(events) == sorted(
        [
            ("customer.created", new_customer),
            ("customer.updated", touched["renamed"]),
            ("job.status_changed", touched["started"]),
            ("opportunity.won", touched["won"]),
            ("invoice.paid", touched["paid"]),
            ("payment.recorded", touched["payment"]),
        ]
    )
    assert [e.seq for e in events] == list(range(1, len(events) + 1))
    assert all(e.tenant == watcher.key for e in events)
    status = next(e for e in events if e.type is EventType.JOB_STATUS_CHANGED)
    assert status.data["status"] == {"from": "scheduled", "to": "in_progress"}
    assert status.subject["customerNumber"] > 0  # jobs list customer ids: mapped to numbers
    assert await watcher.cycle() == []  # nothing new: nothing again


async def test_tasks_moved_and_reassigned(rig: Rig) -> None:
    watcher = rig.make(MemoryEvents())
    await watcher.cycle()
    ks = rig.kickserv
    task = ks.first("tasks.json", "tasks")
    employees = ks.call("GET", "employees.json")
    staff = employees if isinstance(employees, list) else employees["employees"]
    other = next(e["id"] for e in staff if e["id"] not in task.get("employee_ids", []))
    ks.call("PUT", f"tasks/{task['id']}.json", {"task": {"employee_ids": [other]}})
    events = await watcher.cycle()
    assert events is not None
    assert kinds(events) == [("task.reassigned", task["id"])]
    ks.call("PUT", f"tasks/{task['id']}.json", {"task": {"starts_at": "2027-01-04T09:00:00Z"}})
    events = await watcher.cycle()
    assert events is not None
    moved = [e for e in events if e.type is EventType.TASK_MOVED]
    assert [e.subject["taskId"] for e in moved] == [task["id"]]
    assert moved[0].data["startsAt"]["to"] == "2027-01-04T09:00:00Z"
    # Its job's schedule moved with it (the sandbox touches the job's updated_at).
    assert {e.type for e in events} <= {EventType.TASK_MOVED, EventType.JOB_RESCHEDULED}


async def test_a_restart_before_the_snapshot_was_saved_repeats_no_id(
    rig: Rig, backend: Backend
) -> None:
    store = backend.open()
    try:
        first = rig.make(store)
        await first.cycle()
        outside_changes(rig.kickserv)

        async def crash(*_: Any) -> None:
            raise RuntimeError("killed before the snapshot was saved")

        first._save = crash  # type: ignore[method-assign,assignment]
        with pytest.raises(RuntimeError):
            await first.cycle()
        appended = await store.after(first.key, 0, limit=1000)
        assert appended  # the first feed's events were appended before the crash
        await first.release()
        again = rig.make(store, holder="h2")  # a new process, the same state store
        events = await again.cycle()
        assert events is not None
        log = await store.after(first.key, 0, limit=1000)
        assert len({e.id for e in log}) == len(log) == 6  # every change once, none twice
        assert [e.seq for e in log] == list(range(1, 7))
        assert await again.cycle() == []
    finally:
        await store.aclose()


async def test_one_holder_per_tenant_the_other_stands_by_and_takes_over(
    rig: Rig, backend: Backend
) -> None:
    store_a, store_b = backend.open(), backend.open()
    try:
        a = rig.make(store_a, holder="a")
        b = rig.make(store_b, holder="b")
        assert await a.cycle() == []
        assert await b.cycle() is None  # a holds the lease
        await a.release()  # a stops: b takes over at once, from a's snapshot (no new baseline)
        rig.kickserv.call("PUT", "customers/2.json", {"customer": {"name": "Seen by B"}})
        events = await b.cycle()
        assert events is not None
        assert kinds(events) == [("customer.updated", 2)]
        assert await a.cycle() is None
    finally:
        await store_a.aclose()
        await store_b.aclose()


async def test_an_outside_change_voids_what_the_caches_hold(rig: Rig) -> None:
    watcher = rig.make(MemoryEvents())
    tenant = watcher.tenant
    await watcher.cycle()
    customer = await tenant.client.customers.get(3)
    await tenant.prime(resources.CUSTOMER, customer)
    listing = CacheKey(tenant.key, resources.CUSTOMERS.name, ((), 1, 25))
    await tenant.cache.put(listing, "a cached page", resources.CUSTOMERS.lifetime)
    assert await tenant.peek(resources.CUSTOMER, 3) is not None
    rig.kickserv.call("PUT", "customers/3.json", {"customer": {"name": "Changed Outside"}})
    await watcher.cycle()
    assert await tenant.peek(resources.CUSTOMER, 3) is None
    assert await tenant.cache.peek(listing) is None


async def test_upstream_calls_per_cycle_stay_within_the_budget(rig: Rig) -> None:
    small = WatchSettings(interval=1.0, max_calls=2)
    watcher = rig.make(MemoryEvents(), settings=small)
    rig.sandbox.reset_requests()
    cycles = 0
    # The baseline takes several budget-bounded cycles; each spends at most its budget.
    while cycles < 10:
        before = rig.sandbox.request_count()
        await watcher.cycle()
        assert rig.sandbox.request_count() - before <= 2
        cycles += 1
    assert watcher.stats.calls == rig.sandbox.request_count()
    rig.kickserv.call("PUT", "customers/4.json", {"customer": {"name": "Slowly Seen"}})
    seen: list[ChangeEvent] = []
    for _ in range(10):
        seen += await watcher.cycle() or []
    assert kinds(seen) == [("customer.updated", 4)]


async def test_a_store_of_either_backend_keeps_the_log(rig: Rig, backend: Backend) -> None:
    store: StateStore = backend.open()
    try:
        watcher = rig.make(store)
        await watcher.cycle()
        rig.kickserv.call("PUT", "customers/5.json", {"customer": {"name": "Logged"}})
        await watcher.cycle()
        log = await store.after(watcher.key, 0)
        assert kinds(log) == [("customer.updated", 5)]
    finally:
        await store.aclose()


async def test_payments_recorded_at_one_instant_across_pages_are_no_news_then_one_more_is(
    rig: Rig,
) -> None:
    watcher = rig.make(MemoryEvents(), feeds=[FEED_NAMED["payments"]])
    watcher.tenant.max_per_page = 2  # the newest instant's payments (three) fill more than a page
    newest = max(p.created_at for p in rig.sandbox.store().payments.values())
    assert sum(p.created_at == newest for p in rig.sandbox.store().payments.values()) > 2
    await watcher.cycle()
    assert await watcher.cycle() == []
    invoice = rig.kickserv.first("invoices.json", "invoices", invoice_status="unpaid")
    payment = rig.kickserv.call(
        "POST", f"jobs/{invoice['job_number']}/payments.json", {"payment": {"amount": "2.00"}}
    )
    events = await watcher.cycle()
    assert events is not None
    assert [e.subject["paymentId"] for e in events if e.type is EventType.PAYMENT_RECORDED] == [
        payment["id"]
    ]
