"""What the watcher reads of each Kickserv listing, what it keeps of each record, what it emits.

A ``Feed`` is one listing: how to page it, the key of a record (its number, or id), its *snapshot*
(the few values that define events, as a short JSON list, so a whole account's snapshots stay small),
the events a change of snapshot means, and the kinds of change (``resolvers.resources.Change``) that
void the caches holding that listing's records.

Order, as ``/work/shared/kickserv-api.md`` confirms it: ``/payments.json`` takes ``sort_by=created_at
&sort_order=DESC`` [C], so the payments feed reads newest first and stops at the first page older
than its watermark. ``/jobs.json`` is newest job number first [C], which says nothing of when a job
last changed; no listing is confirmed to sort or filter by ``updated_at``, so every other feed reads
the whole listing each pass (the pages within the cycle's call budget; a pass longer than the budget
goes on in the next cycle). Stopping early on an order Kickserv does not promise would lose events
(an old job whose status changes sits on a late page), so the watcher never guesses one.

Event ids: ``resolvers.events.event_id`` of the record's subject and its *version*: ``updated_at``
(or a digest of the record where Kickserv sends none) with the changed value, so the same change seen
again (a restart before the snapshot was saved, a second replica) is the same id.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from kickserv import Customer, Invoice, Job, KickservClient, Paginator, Payment, Task
from resolvers import resources
from resolvers.events import ChangeEvent, EventType, event_id
from resolvers.resources import Change
from resolvers.tenant import Tenant

Snap = list[Any]


def iso(moment: datetime | None) -> str:
    """A Kickserv time as ISO 8601 UTC (``...Z``); empty for none."""
    if moment is None:
        return ""
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")


def digest(raw: Mapping[str, Any]) -> str:
    text = json.dumps(raw, sort_keys=True, separators=(",", ":"), default=str)
    return "d" + hashlib.sha256(text.encode()).hexdigest()[:16]


def money(value: Decimal | None) -> str | None:
    return None if value is None else str(value)


@dataclass(frozen=True, slots=True)
class Found:
    """One event a feed found, before it has its id."""

    type: EventType
    subject: dict[str, Any]
    data: dict[str, Any]
    version: str
    occurred_at: str

    def event(self, tenant: str) -> ChangeEvent:
        return ChangeEvent(
            event_id(tenant, self.type, self.subject, self.version),
            tenant,
            self.type,
            self.occurred_at,
            self.subject,
            self.data,
        )


@dataclass
class Known:
    """What one cycle knows across feeds, from the snapshots: the customer number of a global
    customer id (job listings carry only the id), and the employees of a job (from its tasks)."""

    customer_numbers: dict[int, int] = field(default_factory=dict)
    job_employees: dict[int, set[int]] = field(default_factory=dict)

    def customer_number(self, record: Any) -> int | None:
        ref = getattr(record, "customer", None)
        if ref is not None and ref.customer_number is not None:
            return int(ref.customer_number)
        customer_id = getattr(record, "customer_id", None)
        return None if customer_id is None else self.customer_numbers.get(customer_id)

    def learn(self, feed: str, snap: Mapping[str, Snap]) -> None:
        if feed == "customers":
            self.customer_numbers = {s[1]: int(k) for k, s in snap.items() if len(s) > 1}
        elif feed == "tasks":
            employees: dict[int, set[int]] = {}
            for s in snap.values():
                if s[4] is not None:
                    employees.setdefault(s[4], set()).update(s[3])
            self.job_employees = employees


@dataclass(frozen=True, slots=True)
class Feed:
    """One watched listing (see the module docstring)."""

    name: str
    listing: Callable[[KickservClient], Paginator[Any]]
    key: Callable[[Any], str]
    snap: Callable[[Any], Snap]
    # (old snapshot or None for a record new since the baseline, new snapshot, record, what the
    # cycle knows) -> events
    diff: Callable[[Snap | None, Snap, Any, Known], list[Found]]
    voids: frozenset[Change]
    # what the caches keep of one changed record: forgotten, or put in an index (as writes do)
    refresh: Callable[[Tenant, Any], Awaitable[None]]
    newest_first: bool = False  # by created_at, confirmed: stop at the watermark

    def created_at(self, record: Any) -> str:
        return iso(getattr(record, "created_at", None))


def _changed(old: Snap | None, new: Snap, at: int) -> bool:
    return old is not None and old[at] != new[at]


# -- customers ------------------------------------------------------------------------------------


def _customer_snap(c: Customer) -> Snap:
    return [iso(c.updated_at) or digest(c.raw), c.id]


def _customer_diff(old: Snap | None, new: Snap, c: Customer, known: Known) -> list[Found]:
    subject = {"customerNumber": c.customer_number}
    data = {"name": c.name}
    when = iso(c.updated_at) or iso(c.created_at)
    if old is None:
        return [Found(EventType.CUSTOMER_CREATED, subject, data, "created", iso(c.created_at))]
    if old[0] != new[0]:
        return [Found(EventType.CUSTOMER_UPDATED, subject, data, new[0], when)]
    return []


# -- jobs -----------------------------------------------------------------------------------------


def _job_snap(j: Job) -> Snap:
    return [iso(j.updated_at) or digest(j.raw), j.status, iso(j.scheduled_on)]


def _job_diff(old: Snap | None, new: Snap, j: Job, known: Known) -> list[Found]:
    subject: dict[str, Any] = {"jobNumber": j.job_number}
    if (customer := known.customer_number(j)) is not None:
        subject["customerNumber"] = customer
    when = iso(j.updated_at) or iso(j.created_at)
    base = {
        "status": j.status,
        "name": j.name,
        "employeeNumbers": sorted(known.job_employees.get(j.job_number, ())),
    }
    if old is None:
        return [Found(EventType.JOB_CREATED, subject, base, "created", iso(j.created_at) or when)]
    found = []
    if _changed(old, new, 1):
        data = {**base, "status": {"from": old[1], "to": new[1]}}
        version = f"{new[0]}|{old[1]}>{new[1]}"
        found.append(Found(EventType.JOB_STATUS_CHANGED, subject, data, version, when))
    if _changed(old, new, 2):
        data = {**base, "scheduledOn": {"from": old[2] or None, "to": new[2] or None}}
        version = f"{new[0]}|{old[2]}>{new[2]}"
        found.append(Found(EventType.JOB_RESCHEDULED, subject, data, version, when))
    return found


def _opportunity_diff(old: Snap | None, new: Snap, j: Job, known: Known) -> list[Found]:
    status = new[1]
    if status not in ("won", "lost") or (old is not None and old[1] == status):
        return []
    subject: dict[str, Any] = {"jobNumber": j.job_number}
    if (customer := known.customer_number(j)) is not None:
        subject["customerNumber"] = customer
    kind = EventType.OPPORTUNITY_WON if status == "won" else EventType.OPPORTUNITY_LOST
    data = {"name": j.name, "total": money(j.total), "status": status}
    return [Found(kind, subject, data, f"{new[0]}|{status}", iso(j.updated_at))]


# -- tasks ----------------------------------------------------------------------------------------


def _employees(t: Task) -> list[int]:
    numbers = [e.employee_number for e in t.employees if e.employee_number is not None]
    return sorted(numbers) if numbers else sorted(t.employee_ids)


def _task_snap(t: Task) -> Snap:
    job = t.job.job_number if t.job is not None else None
    return [
        iso(t.updated_at) or digest(t.raw),
        iso(t.starts_at),
        iso(t.ends_at),
        _employees(t),
        job,
        t.customer.customer_number if t.customer is not None else None,
    ]


def _task_diff(old: Snap | None, new: Snap, t: Task, known: Known) -> list[Found]:
    subject: dict[str, Any] = {"taskId": t.id}
    if new[4] is not None:
        subject["jobNumber"] = new[4]
    if new[5] is not None:
        subject["customerNumber"] = new[5]
    data: dict[str, Any] = {
        "startsAt": new[1] or None,
        "endsAt": new[2] or None,
        "employeeNumbers": new[3],
        "name": t.name or t.description,
    }
    when = iso(t.updated_at) or iso(t.created_at)
    if old is None:
        return [Found(EventType.TASK_SCHEDULED, subject, data, "created", when)]
    found = []
    if _changed(old, new, 1) or _changed(old, new, 2):
        moved = {
            **data,
            "startsAt": {"from": old[1] or None, "to": new[1] or None},
            "endsAt": {"from": old[2] or None, "to": new[2] or None},
        }
        version = f"{new[0]}|{old[1]}>{new[1]}|{old[2]}>{new[2]}"
        found.append(Found(EventType.TASK_MOVED, subject, moved, version, when))
    if _changed(old, new, 3):
        assigned = {**data, "employeeNumbers": {"from": old[3], "to": new[3]}}
        version = f"{new[0]}|{old[3]}>{new[3]}"
        found.append(Found(EventType.TASK_REASSIGNED, subject, assigned, version, when))
    return found


# -- invoices and payments ------------------------------------------------------------------------


def _invoice_snap(i: Invoice) -> Snap:
    return [iso(i.updated_at) or digest(i.raw), i.invoice_status, money(i.balance_remaining)]


def _paid(snap: Snap) -> bool:
    return snap[1] == "paid" or (snap[2] is not None and Decimal(snap[2]) == 0)


def _invoice_diff(old: Snap | None, new: Snap, i: Invoice, known: Known) -> list[Found]:
    subject: dict[str, Any] = {"jobNumber": i.job_number}
    if (customer := known.customer_number(i)) is not None:
        subject["customerNumber"] = customer
    data = {
        "total": money(i.total),
        "balanceRemaining": new[2],
        "invoiceStatus": new[1],
        "invoiceDate": i.invoice_date.isoformat() if i.invoice_date else None,
    }
    when = iso(i.updated_at) or iso(i.created_at)
    found = []
    if old is None:
        found.append(Found(EventType.INVOICE_CREATED, subject, data, "created", when))
    if _paid(new) and (old is None or not _paid(old)):
        found.append(Found(EventType.INVOICE_PAID, subject, data, f"paid|{new[0]}", when))
    return found


def _payment_snap(p: Payment) -> Snap:
    return [iso(p.created_at)]


def _payment_diff(old: Snap | None, new: Snap, p: Payment, known: Known) -> list[Found]:
    if old is not None:
        return []
    subject: dict[str, Any] = {"paymentId": p.id}
    if (customer := known.customer_number(p)) is not None:
        subject["customerNumber"] = customer
    data = {
        "amount": money(p.amount),
        "date": p.date.isoformat() if p.date else None,
        "paymentType": p.payment_type,
    }
    return [Found(EventType.PAYMENT_RECORDED, subject, data, "recorded", new[0])]


# -- what a change voids of one record (the rest: ``Feed.voids``, as writes name them) -------------


async def _customer_refresh(tenant: Tenant, c: Customer) -> None:
    await tenant.forget_record(resources.CUSTOMER, c.customer_number)
    await tenant.forget_record(resources.CUSTOMER_ID, c.id)
    tenant.wrote_to_index(resources.CUSTOMER_INDEX, c)


async def _job_refresh(tenant: Tenant, j: Job) -> None:
    await tenant.forget_record(resources.JOB, j.job_number)
    await tenant.forget_record(resources.JOB_ID, j.id)
    index = resources.OPPORTUNITY_INDEX if j.is_opportunity else resources.JOB_INDEX
    tenant.wrote_to_index(index, j)


async def _task_refresh(tenant: Tenant, t: Task) -> None:
    await tenant.forget_record(resources.TASK, t.id)


async def _invoice_refresh(tenant: Tenant, i: Invoice) -> None:
    await tenant.forget_record(resources.JOB, i.job_number)
    tenant.wrote_to_index(resources.INVOICE_INDEX, i)


async def _payment_refresh(tenant: Tenant, p: Payment) -> None:
    tenant.wrote_to_index(resources.PAYMENT_INDEX, p)


# -- the feeds, in the order a cycle reads them (customers and tasks first: ``Known``) ---------------------------------------------------

FEEDS: tuple[Feed, ...] = (
    Feed(
        "customers",
        lambda ks: ks.customers.list(),
        key=lambda c: str(c.customer_number),
        snap=_customer_snap,
        diff=_customer_diff,
        refresh=_customer_refresh,
        voids=frozenset({Change.CUSTOMER, Change.CUSTOMER_GLUE, Change.CUSTOMER_BALANCE}),
    ),
    Feed(
        "tasks",
        lambda ks: ks.tasks.list(),
        key=lambda t: str(t.id),
        snap=_task_snap,
        diff=_task_diff,
        refresh=_task_refresh,
        voids=frozenset({Change.TASK}),
    ),
    Feed(
        "jobs",
        lambda ks: ks.jobs.list(),
        key=lambda j: str(j.job_number),
        snap=_job_snap,
        diff=_job_diff,
        refresh=_job_refresh,
        voids=frozenset({Change.JOB, Change.JOB_GLUE}),
    ),
    Feed(
        "opportunities",
        lambda ks: ks.opportunities.list(),
        key=lambda j: str(j.job_number),
        snap=_job_snap,
        diff=_opportunity_diff,
        refresh=_job_refresh,
        voids=frozenset({Change.JOB, Change.JOB_GLUE}),
    ),
    Feed(
        "invoices",
        lambda ks: ks.invoices.list(),
        key=lambda i: str(i.job_number),
        snap=_invoice_snap,
        diff=_invoice_diff,
        refresh=_invoice_refresh,
        voids=frozenset({Change.INVOICE, Change.JOB_MONEY, Change.CUSTOMER_BALANCE}),
    ),
    Feed(
        "payments",
        lambda ks: ks.payments.list(sort_by="created_at", sort_order="DESC"),
        key=lambda p: str(p.id),
        snap=_payment_snap,
        diff=_payment_diff,
        refresh=_payment_refresh,
        voids=frozenset({Change.JOB_MONEY, Change.CUSTOMER_BALANCE, Change.INVOICE}),
        newest_first=True,
    ),
)
FEED_NAMED: Mapping[str, Feed] = {feed.name: feed for feed in FEEDS}
