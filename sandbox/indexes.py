"""Indexes of the listings, so a page costs the sandbox the page, not the account.

Per-parent listings go through the parent's own id lists (``Customer.job_ids``, ``Job.task_ids``,
kept by every write); the account-wide orders (customers by number, jobs and opportunities newest
first, invoices by invoice date, a customer's payments, tasks by start) are built once and kept
until the account changes: a write answered through the API (``AccountStore.writes``, counted by
``sandbox.context.Api``) or a table growing or shrinking (a test arranging records directly). So
listing every page of 50,000 customers costs one pass to build the order, then each page its own
entries, instead of a pass over the whole store per page.
"""

from __future__ import annotations

import bisect
from collections.abc import Callable, Sequence
from datetime import date, timedelta
from decimal import Decimal
from typing import Any, TypeVar, cast

from sandbox import choices
from sandbox.data import AccountStore, Customer, Job, Payment, Task

T = TypeVar("T")
_DAY = timedelta(days=1)


def _kept(store: AccountStore, name: str, build: Callable[[], T]) -> T:
    """``build()``, kept in ``store.indexes`` until the account changes."""
    key = (
        store.writes,
        len(store.customers),
        len(store.jobs),
        len(store.tasks),
        len(store.payments),
    )
    indexes = store.indexes
    if indexes.get("__key__") != key:
        indexes.clear()
        indexes["__key__"] = key
    if name not in indexes:
        indexes[name] = build()
    return cast(T, indexes[name])


def customers(store: AccountStore) -> list[Customer]:
    """Every customer, in number order (the listing's)."""
    return _kept(store, "customers", lambda: list(store.customers_by_number.values()))


def jobs(store: AccountStore) -> list[Job]:
    """/jobs.json's entries: jobs, not opportunities, newest number first."""
    return _kept(
        store,
        "jobs",
        lambda: [
            j for j in reversed(store.jobs_by_number.values()) if j.status in choices.JOB_STATUSES
        ],
    )


def opportunities(store: AccountStore) -> list[Job]:
    return _kept(
        store,
        "opportunities",
        lambda: [
            j
            for j in reversed(store.jobs_by_number.values())
            if j.status in choices.OPPORTUNITY_STATUSES
        ],
    )


def invoices(store: AccountStore, status: str | None) -> tuple[list[Job], Decimal]:
    """/invoices.json's entries with ``invoice_status`` (None: all), newest invoice first, and
    what they owe together."""

    def build() -> tuple[list[Job], Decimal]:
        found = [
            j
            for j in store.jobs.values()
            if j.invoice_date is not None and (status is None or j.invoice_status == status)
        ]
        found.sort(key=lambda j: (j.invoice_date, j.number), reverse=True)
        return found, sum((j.balance_remaining for j in found), Decimal(0))

    return _kept(store, f"invoices:{status}", build)


def payments(
    store: AccountStore, customer_id: int | None, sort_by: str, order: str
) -> list[Payment]:
    """/payments.json's entries, of one customer (by global id) or all, sorted as asked."""

    def by_customer() -> dict[int, list[Payment]]:
        grouped: dict[int, list[Payment]] = {}
        for payment in store.payments.values():
            grouped.setdefault(payment.customer_id, []).append(payment)
        return grouped

    def build() -> list[Payment]:
        if customer_id is None:
            found = list(store.payments.values())
        else:
            found = list(_kept(store, "payments-by-customer", by_customer).get(customer_id, ()))

        def key(p: Payment) -> tuple[Any, int]:
            return (getattr(p, sort_by), p.id)

        found.sort(key=key, reverse=order == "DESC")
        return found

    return _kept(store, f"payments:{customer_id}:{sort_by}:{order}", build)


def tasks(
    store: AccountStore, job_id: int | None, start: date | None, end: date | None
) -> Sequence[Task]:
    """Tasks by start (then id), narrowed by the index that fits: a job's own task ids, or the
    dates' slice of every task by start (``end`` exclusive). Callers filter the rest."""
    if job_id is not None:
        job = store.jobs.get(job_id)
        if job is None:
            return []
        return sorted((store.tasks[t] for t in job.task_ids), key=lambda t: (t.starts_at, t.id))
    ordered = store.tasks_by_start()
    # A day either side: tasks are ordered by instant, their days are local (offsets move at DST).
    low = 0 if start is None else bisect.bisect_left(ordered, start - _DAY, key=_day)
    high = len(ordered) if end is None else bisect.bisect_left(ordered, end + _DAY, key=_day)
    return ordered if (low, high) == (0, len(ordered)) else ordered[low:high]


def _day(task: Task) -> date:
    return task.starts_at.date()
