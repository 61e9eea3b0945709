"""Seeded data: deterministic, sized as asked, and realistic enough to exercise every path."""

from __future__ import annotations

from collections import Counter

import pytest

from sandbox.app import create_app, sandbox_state
from tests.sandbox.conftest import TODAY, small_config


def _snapshot(seed: int) -> list[tuple[object, ...]]:
    store = sandbox_state(create_app(small_config(seed=seed))).store("demo")
    return [
        (c.id, c.number, c.name, c.service_address, c.balance) for c in store.customers.values()
    ] + [(j.id, j.number, j.status, j.total, j.invoice_status) for j in store.jobs.values()]


def test_same_seed_same_data_different_seed_different_data():
    assert _snapshot(7) == _snapshot(7)
    assert _snapshot(7) != _snapshot(8)


def test_shape_of_the_seeded_demo_account():
    store = sandbox_state(create_app(small_config(customers=200))).store("demo")
    assert len(store.customers) == 200
    statuses = Counter(j.status for j in store.jobs.values())
    assert set(statuses) == {"unscheduled", "scheduled", "in_progress", "on_hold", "complete",
                             "canceled", "new", "sent", "viewed", "won", "lost"}  # fmt: skip
    assert 2 <= len(store.jobs) / len(store.customers) <= 4
    assert any(c.children for c in store.customers.values())
    assert any(c.company_name for c in store.customers.values())
    assert any(c.company_name is None for c in store.customers.values())
    invoices = Counter(j.invoice_status for j in store.jobs.values() if j.invoice_date)
    assert invoices["paid"] and invoices["unpaid"]
    assert any(0 < j.balance_remaining < j.total and j.payment_ids for j in store.jobs.values())
    assert any(c.discount > 0 for c in store.charges.values())
    assert any(j.tax > 0 for j in store.jobs.values())
    assert any(len(t.employee_ids) == 2 for t in store.tasks.values())
    assert any(n.noteable_type == "Customer" for n in store.notes.values())
    assert any(n.noteable_type == "Job" for n in store.notes.values())
    assert len(store.employees) == 8 and len(store.items) >= 40
    assert sum(not t.active for t in store.job_types.values()) == 1
    assert all(t.starts_at.date() <= TODAY for j in store.jobs.values() if j.status == "complete"
               for t in (store.tasks[i] for i in j.task_ids))  # fmt: skip


def test_balances_agree_with_the_ledger():
    store = sandbox_state(create_app(small_config(customers=100))).store("demo")
    for customer in store.customers.values():
        owed = sum(
            (store.jobs[j].balance_remaining for j in customer.job_ids
             if store.jobs[j].invoice_status == "unpaid"),
            start=customer.balance * 0,
        )  # fmt: skip
        assert customer.balance == owed
    for job in store.jobs.values():
        paid = sum((store.payments[p].amount for p in job.payment_ids), start=job.total * 0)
        assert job.balance_remaining == job.total - paid
        if job.invoice_date is not None:
            assert (job.invoice_status == "paid") == (job.balance_remaining <= 0)


@pytest.mark.slow
def test_twenty_thousand_customers():
    store = sandbox_state(create_app(small_config(customers=20_000))).store("demo")
    assert len(store.customers) == 20_000 and len(store.jobs) > 40_000
