"""Every cached resource in one typed table: what it holds, its key, how long it lives, what voids it.

The shared cache keeps upstream answers under ``CacheKey(tenant, resource, key)``; the client-side
indexes keep whole listings for lookups Kickserv lacks. Each of them is one entry of this table, and
everything else is derived from it: ``resolvers.data`` reads through the entries (the resource part of
a cache key is the entry's ``name``, its lifetime the entry's ``lifetime``), and ``resolvers.tenant``
forgets, after a write, exactly what the table says the write's kinds of change void.

Three kinds of entry:

- ``Record[K, V]``: one upstream record per key (``key`` says what the key is; ``key_of`` reads it
  from a record, so whatever primes a record keys it the same way as the read that fetches it);
- ``Listing[T, P]``: pages of a Kickserv listing, keyed by ``(params, page number, per_page)``, where
  ``params`` (of type ``P``) are the listing's filters;
- ``Index[R, V]``: a client-side index over a whole listing (``resolvers.indexes``), by id.

How writes stay visible. A write names what it changed, as ``Change`` kinds (``Change.VENDOR``, or
``Change.JOB`` and ``Change.JOB_MONEY`` for a payment, ...), and calls ``Tenant.changed``: every entry
whose ``voided_by`` holds one of them is forgotten whole (listings are per tenant and cheap to read
again; an index is rebuilt on its next lookup). The records the write answered with are then primed
(``Tenant.prime``), so the next read costs nothing. A record resource is voided whole by a change only
when that change may make *other* records of it wrong (a child's new name shows in its parent's
record); the record a write changed is primed (or forgotten, ``Tenant.forget_record``) by the write
itself, see ``resolvers.writes.invalidation``.

What a resource is voided by follows from what Kickserv puts in it: a task embeds its job's glue
(number, name, status) and its customer's glue (name, service address), so a renamed job or
customer voids every task listing; a job listing carries no glue, so it does not. The table is
checked against the graph by ``tests/graph/test_write_then_read.py``: after every mutation, every
path to what it changed shows the new value at once.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Iterable, Mapping
from dataclasses import dataclass
from enum import Enum
from typing import Any, Generic, TypeAlias, TypeVar

from kickserv import (
    Customer,
    Employee,
    Invoice,
    Item,
    Job,
    JobChargeType,
    JobType,
    KickservClient,
    Note,
    Paginator,
    Payment,
    Task,
    Vendor,
)
from resolvers.cache import ResourceClass
from resolvers.invoice_index import IndexedInvoice, read_for_index
from resolvers.kept import kept
from resolvers.task_groups import ListedTask

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")
T = TypeVar("T")
P = TypeVar("P", bound=Hashable)
R = TypeVar("R")

# A listing's filters: (name, value) pairs sorted by name, without the ones not given.
Filters: TypeAlias = tuple[tuple[str, Any], ...]


def filters(**given: Any) -> Filters:
    """The ``Filters`` params of a listing read with these keyword filters (``None`` = not given)."""
    return tuple(sorted((k, v) for k, v in given.items() if v is not None))


class Change(Enum):
    """What a write changed, in Kickserv's terms; the table says what each kind voids."""

    CUSTOMER = "customer"
    """A customer's own record: its fields, tags or balance; or a new customer."""
    CUSTOMER_GLUE = "customer glue"
    """What other records embed of a customer: its name, phone, email or service address (tasks,
    opportunities, invoices, payments, the job detail), or whose child it is (a parent embeds its
    children)."""
    CUSTOMER_BALANCE = "customer balance"
    """A customer's balance moved and the write could not read the customer again."""
    CUSTOMER_NOTE = "customer note"
    """A note was added to a customer."""
    CUSTOMER_DELETED = "customer deleted"
    """A customer was deleted: its jobs, tasks, notes and payments with it; its children detached."""
    JOB = "job"
    """A job's own fields, notes or tags; or a new job (an opportunity is a job)."""
    JOB_GLUE = "job glue"
    """What tasks embed of a job: its name or status (tasks move a job's status too)."""
    INVOICE = "invoice"
    """An invoiced job changed, or a job was invoiced: its entry in the invoice listing."""
    JOB_MONEY = "job money"
    """What a job charges or was paid (line items of an invoice, invoicing, payments): invoice
    totals, payments. The customer's balance moves too: the write reads it again (CUSTOMER)."""
    TASK = "task"
    """A task was created, moved, reassigned or deleted."""
    VENDOR = "vendor"
    """A vendor was created or changed."""
    JOB_TYPE = "job type"
    """A job type was created."""
    PAYMENT = "payment"
    """A payment of a customer was recorded, applied to no job (no invoice moves)."""


@dataclass(frozen=True, slots=True)
class CustomerTags:
    """A customer's tag set (``/customers/{n}/tags.json``; Kickserv replaces it wholesale)."""

    customer_number: int
    tags: tuple[str, ...]


def _changes(*kinds: Change) -> frozenset[Change]:
    return frozenset(kinds)


@dataclass(frozen=True, slots=True)
class Record(Generic[K, V]):
    """One upstream record per key."""

    name: str  # the resource part of its cache keys
    holds: type[V]
    key: str  # what the key is
    key_of: Callable[[V], K]
    lifetime: ResourceClass
    voided_by: frozenset[Change]


@dataclass(frozen=True, slots=True)
class Listing(Generic[T, P]):
    """Pages of one Kickserv listing, cached under ``(params, page number, per_page)``."""

    name: str  # the resource part of its cache keys
    holds: type[T]
    params: str  # what the params are
    lifetime: ResourceClass
    voided_by: frozenset[Change]


@dataclass(frozen=True, slots=True)
class Index(Generic[R, V]):
    """A client-side index over a whole listing: key -> what ``project`` keeps of each record."""

    name: str
    holds: type[V]
    key: str
    key_of: Callable[[R], Hashable]
    listing: Callable[[KickservClient], Paginator[R]]
    project: Callable[[R], V]
    voided_by: frozenset[Change]
    parse: Callable[[object], R]  # a listed record from Kickserv's JSON (a write's, replayed)


# -- the table -------------------------------------------------------------------------------------

RECORD, MONEY, REFERENCE = ResourceClass.RECORD, ResourceClass.MONEY, ResourceClass.REFERENCE
_GONE = Change.CUSTOMER_DELETED  # takes everything of the customer with it

# Customers. The record carries its children's glue (id, number, name) and its balance.
CUSTOMER: Record[int, Customer] = Record(
    "customer", Customer, key="customer number", key_of=lambda c: c.customer_number,
    lifetime=RECORD,
    voided_by=_changes(Change.CUSTOMER_GLUE, Change.CUSTOMER_BALANCE, _GONE),
)  # fmt: skip
CUSTOMER_ID: Record[int, Customer] = Record(
    "customer.id", Customer, key="global id (no such lookup in Kickserv: primed, then peeked)",
    key_of=lambda c: c.id, lifetime=RECORD,
    voided_by=_changes(Change.CUSTOMER_GLUE, Change.CUSTOMER_BALANCE, _GONE),
)  # fmt: skip
CUSTOMERS: Listing[Customer, Filters] = Listing(
    "customers", Customer, params="filters: name, q, begins_with, service_state, customer_number",
    lifetime=RECORD,
    voided_by=_changes(Change.CUSTOMER, Change.CUSTOMER_GLUE, Change.CUSTOMER_BALANCE, _GONE),
)  # fmt: skip
CUSTOMER_TAGS: Record[int, CustomerTags] = Record(
    "customer.tags", CustomerTags, key="customer number", key_of=lambda t: t.customer_number,
    lifetime=RECORD, voided_by=_changes(Change.CUSTOMER, _GONE),
)  # fmt: skip
CUSTOMER_NOTES: Listing[Note, int] = Listing(
    "customer.notes", Note, params="customer number", lifetime=RECORD,
    voided_by=_changes(Change.CUSTOMER_NOTE, _GONE),
)  # fmt: skip

# Jobs. Listed jobs carry no glue (a customer id); the single-job record embeds its customer's glue,
# charges, payments (each with customer glue), notes and tags; opportunities embed customer glue.
_LISTED_JOB = _changes(
    Change.JOB, Change.JOB_GLUE, Change.INVOICE, Change.JOB_MONEY, Change.TASK, _GONE
)
JOB: Record[int, Job] = Record(
    "job", Job, key="job number (the single-job record)", key_of=lambda j: j.job_number,
    lifetime=RECORD, voided_by=_changes(Change.CUSTOMER_GLUE, _GONE),
)  # fmt: skip
JOB_ID: Record[int, Job] = Record(
    "job.id", Job, key="global id (no such lookup in Kickserv: primed, then peeked)",
    key_of=lambda j: j.id, lifetime=RECORD, voided_by=_changes(Change.CUSTOMER_GLUE, _GONE),
)  # fmt: skip
JOB_NOTES: Listing[Note, int] = Listing(
    "job.notes", Note, params="job number (read when the job's record embeds no notes)",
    lifetime=RECORD, voided_by=_changes(Change.JOB, _GONE),
)  # fmt: skip
JOBS: Listing[Job, Filters] = Listing(
    "jobs", Job, params="filters: status, job_type_id, scheduled", lifetime=RECORD,
    voided_by=_LISTED_JOB,
)  # fmt: skip
CUSTOMER_JOBS: Listing[Job, int] = Listing(
    "customer.jobs", Job, params="customer number", lifetime=RECORD, voided_by=_LISTED_JOB
)
OPPORTUNITIES: Listing[Job, Filters] = Listing(
    "opportunities", Job, params="filters: status, job_type_id", lifetime=RECORD,
    voided_by=_LISTED_JOB | {Change.CUSTOMER_GLUE},
)  # fmt: skip

# Tasks embed their job's glue (number, name, status) and their customer's glue.
_TASK_GLUE = _changes(Change.JOB_GLUE, Change.CUSTOMER_GLUE, _GONE)
TASK: Record[int, Task] = Record(
    "task", Task, key="task id", key_of=lambda t: t.id, lifetime=RECORD, voided_by=_TASK_GLUE
)
TASKS: Listing[Task, Filters] = Listing(
    "tasks", Task, params="filters: job_id (a job's tasks)", lifetime=RECORD,
    voided_by=_TASK_GLUE | {Change.TASK},
)  # fmt: skip
# The planner's account-wide read of that listing (no filter): its tasks kept as listed, grouped by
# job, and parsed when their job's are asked (resolvers.task_groups); voided with the listing.
TASKS_LISTED: Listing[ListedTask, Filters] = Listing(
    "tasks.listed", ListedTask, params="none (the whole listing)", lifetime=RECORD,
    voided_by=TASKS.voided_by,
)  # fmt: skip
SCHEDULE: Listing[Task, Filters] = Listing(
    "schedule", Task, params="filters: from_, to, employee_number (also an employee's tasks)",
    lifetime=RECORD, voided_by=_TASK_GLUE | {Change.TASK},
)  # fmt: skip

# Money. Invoice entries are jobs with their customer's glue (and their tasks, which the graph does
# not read from there); payments carry their customer's glue.
INVOICES: Listing[Invoice, str | None] = Listing(
    "invoices", Invoice, params="invoice status (paid, unpaid or None)", lifetime=MONEY,
    voided_by=_changes(Change.INVOICE, Change.JOB_MONEY, Change.CUSTOMER_GLUE, _GONE),
)  # fmt: skip
PAYMENTS: Listing[Payment, Filters] = Listing(
    "payments", Payment, params="filters: customer_number, sort_by, sort_order", lifetime=MONEY,
    voided_by=_changes(Change.JOB_MONEY, Change.PAYMENT, Change.CUSTOMER_GLUE, _GONE),
)  # fmt: skip

# Reference data. Nothing this server writes changes employees, charge types or items; a new job
# type voids the job types.
EMPLOYEES: Listing[Employee, None] = Listing(
    "employees", Employee, params="none (active employees)", lifetime=REFERENCE,
    voided_by=_changes(),
)  # fmt: skip
# An employee by number: /employees/{n}.json answers inactive employees too, which the list omits.
EMPLOYEE: Record[int, Employee] = Record(
    "employee", Employee, key="employee number", key_of=lambda e: e.employee_number,
    lifetime=REFERENCE, voided_by=_changes(),
)  # fmt: skip
JOB_TYPES: Listing[JobType, None] = Listing(
    "job_types", JobType, params="none (inactive ones included)", lifetime=REFERENCE,
    voided_by=_changes(Change.JOB_TYPE),
)  # fmt: skip
JOB_CHARGE_TYPES: Listing[JobChargeType, None] = Listing(
    "job_charge_types", JobChargeType, params="none", lifetime=REFERENCE, voided_by=_changes()
)
ITEMS: Listing[Item, str | None] = Listing(
    "items", Item, params="name filter (None: the whole catalogue)", lifetime=REFERENCE,
    voided_by=_changes(),
)  # fmt: skip
VENDORS: Listing[Vendor, None] = Listing(
    "vendors", Vendor, params="none", lifetime=REFERENCE, voided_by=_changes(Change.VENDOR)
)
# Few records that live long: a vendor write voids them all (and primes the one it answered).
VENDOR: Record[int, Vendor] = Record(
    "vendor", Vendor, key="vendor id", key_of=lambda v: v.id, lifetime=REFERENCE,
    voided_by=_changes(Change.VENDOR),
)  # fmt: skip

RESOURCES: tuple[Record[Any, Any] | Listing[Any, Any], ...] = (
    CUSTOMER, CUSTOMER_ID, CUSTOMERS, CUSTOMER_TAGS, CUSTOMER_NOTES,
    JOB, JOB_ID, JOB_NOTES, JOBS, CUSTOMER_JOBS, OPPORTUNITIES,
    TASK, TASKS, TASKS_LISTED, SCHEDULE,
    INVOICES, PAYMENTS,
    EMPLOYEES, EMPLOYEE, JOB_TYPES, JOB_CHARGE_TYPES, ITEMS, VENDORS, VENDOR,
)  # fmt: skip

# Client-side indexes (lookups by global id that Kickserv lacks). A write puts what it answered with
# into them (``ListingIndex.put``); they are rebuilt whole when a change voids them. They keep what
# the cache keeps of a record (``resolvers.kept``: no raw payload), or less (``IndexedInvoice``).
# Invoices by id (Kickserv has no invoice-by-id): ``IndexedInvoice`` keeps 100,000 in < 100 MB. Its
# listing parses only what the index keeps (``read_for_index``: no tasks, raw payload, timestamps).
INVOICE_INDEX: Index[Invoice, IndexedInvoice] = Index(
    "invoices", IndexedInvoice, key="invoice (job) id", key_of=lambda i: i.id,
    listing=lambda ks: ks.invoices.list(parse=read_for_index), project=IndexedInvoice.from_record,
    voided_by=_changes(Change.CUSTOMER_GLUE, _GONE), parse=Invoice.from_json,
)  # fmt: skip
CUSTOMER_INDEX: Index[Customer, Customer] = Index(
    "customers", Customer, key="customer id", key_of=lambda c: c.id,
    listing=lambda ks: ks.customers.list(), project=kept,
    voided_by=_changes(Change.CUSTOMER_GLUE, Change.CUSTOMER_BALANCE, _GONE),
    parse=Customer.from_json,
)  # fmt: skip
JOB_INDEX: Index[Job, Job] = Index(
    "jobs", Job, key="job id (opportunities are not listed)", key_of=lambda j: j.id,
    listing=lambda ks: ks.jobs.list(), project=kept, voided_by=_changes(_GONE),
    parse=Job.from_json,
)  # fmt: skip
OPPORTUNITY_INDEX: Index[Job, Job] = Index(
    "opportunities", Job, key="opportunity (job) id", key_of=lambda j: j.id,
    listing=lambda ks: ks.opportunities.list(), project=kept,
    voided_by=_changes(Change.CUSTOMER_GLUE, _GONE), parse=Job.from_json,
)  # fmt: skip
# Kickserv cannot fetch one payment: federation references resolve through this.
PAYMENT_INDEX: Index[Payment, Payment] = Index(
    "payments", Payment, key="payment id", key_of=lambda p: p.id,
    listing=lambda ks: ks.payments.list(), project=kept,
    voided_by=_changes(Change.CUSTOMER_GLUE, _GONE), parse=Payment.from_json,
)  # fmt: skip

INDEXES: tuple[Index[Any, Any], ...] = (
    INVOICE_INDEX, CUSTOMER_INDEX, JOB_INDEX, OPPORTUNITY_INDEX, PAYMENT_INDEX,
)  # fmt: skip
INDEX_NAMED: Mapping[str, Index[Any, Any]] = {index.name: index for index in INDEXES}


# -- derived -----------------------------------------------------------------------------------------


def _voids() -> Mapping[Change, tuple[frozenset[str], tuple[Index[Any, Any], ...]]]:
    names = [r.name for r in RESOURCES]
    if len(set(names)) != len(names):  # pragma: no cover - a mistake in the table above
        raise RuntimeError(f"two cached resources share a name: {sorted(names)}")
    return {
        change: (
            frozenset(r.name for r in RESOURCES if change in r.voided_by),
            tuple(i for i in INDEXES if change in i.voided_by),
        )
        for change in Change
    }


VOIDS = _voids()


def voided_by(changes: Iterable[Change]) -> tuple[frozenset[str], tuple[Index[Any, Any], ...]]:
    """The resource names and the indexes these changes void."""
    names: set[str] = set()
    indexes: list[Index[Any, Any]] = []
    for change in changes:
        voided_names, voided_indexes = VOIDS[change]
        names |= voided_names
        indexes += [i for i in voided_indexes if i not in indexes]
    return frozenset(names), tuple(indexes)
