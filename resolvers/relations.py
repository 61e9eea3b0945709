"""What each relation of the graph reads: the glue a record embeds, or the full record, and how.

Kickserv embeds small "glue" records: a task's customer and employees, an invoice's customer, a job's
customer. When a query asks only what the glue carries, loading the full record would be a wasted
upstream call. The graph tells this module which fields a query selects on the related object
(``asked``: the GraphQL field names, fragments flattened); the decision is made here.

Functions that may answer from glue return the value itself (no coroutine, no task: a list of 500
tasks asks 500 times) or an awaitable when a load is needed. A record that should exist but does not
raises ``RecordMissing``; an absent relation is ``None``.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Hashable
from typing import TypeAlias, TypeVar

from kickserv import (
    Customer,
    CustomerRef,
    Employee,
    EmployeeRef,
    Job,
    JobChargeType,
    JobRef,
    Payment,
    Task,
)
from resolvers.data import Loader, RequestData

T = TypeVar("T")
K = TypeVar("K", bound=Hashable)
MaybeAwaitable: TypeAlias = T | Awaitable[T]

__all__ = [
    "MaybeAwaitable",
    "RecordMissing",
    "assignees",
    "by_number_or_id",
    "charge_type",
    "children",
    "customer",
    "customer_invoices",
    "customer_record",
    "employee_number",
    "job",
    "job_detail",
    "job_listed",
    "job_of_payment",
    "job_tasks",
    "location_owner",
    "location_site",
    "one",
    "payer",
    "settled",
    "site_number",
]


class RecordMissing(LookupError):
    """A record the graph was pointed at does not exist (or this credential may not see it)."""

    def __init__(self, kind: str, key: object) -> None:
        super().__init__(f"{kind} {key} was not found, or this credential may not see it.")
        self.kind = kind
        self.key = key


# -- what glue answers, in the graph's field names -------------------------------------------------

CUSTOMER_GLUE_ALWAYS = frozenset({"__typename", "id", "opportunities"})
CUSTOMER_GLUE_WITH_NUMBER = frozenset({"number", "jobs", "payments", "notes", "invoices"})
CHILD_LOCATION_GLUE = frozenset({"__typename", "id", "name", "isPrimary", "customer"})
SITE_GLUE = frozenset({"__typename", "id", "name", "jobs"})
SITE_GLUE_WITH_ADDRESS = SITE_GLUE | {"address"}
JOB_GLUE = frozenset(
    {"__typename", "id", "number", "name", "status", "tasks", "lineItems", "payments", "notes"}
    | {"tags"}
)
EMPLOYEE_GLUE = frozenset({"__typename", "id", "number", "name", "tasks"})


def customer_glue_answers(ref: CustomerRef) -> frozenset[str]:
    """The customer fields a glue record can answer (what it carries varies with the endpoint)."""
    fields = set(CUSTOMER_GLUE_ALWAYS)
    if ref.customer_number is not None:
        fields |= CUSTOMER_GLUE_WITH_NUMBER
    if ref.name is not None:
        fields.add("name")
    if not ref.service_address.is_empty:
        fields.add("serviceAddress")
    return frozenset(fields)


# -- customers and locations ---------------------------------------------------------------------


async def one(loader: Loader[int, T], key: object, kind: str) -> T:
    """The record ``key`` (an id or number, as digits) names through ``loader``."""
    record = await loader.get(int(str(key)))
    if record is None:
        raise RecordMissing(kind, key)
    return record


async def by_number_or_id(
    by_number: Loader[int, T], by_id: Loader[int, T], number: int | None, id: object, kind: str
) -> T:
    """The record a number (preferred) or a global id names."""
    if number is not None:
        return await one(by_number, number, kind)
    return await one(by_id, id, kind)


def customer(
    data: RequestData, ref: CustomerRef | None, customer_id: int | None, asked: frozenset[str]
) -> MaybeAwaitable[Customer | CustomerRef | None]:
    """A related customer: the glue itself when it answers the query, else the full record."""
    if ref is not None and asked <= customer_glue_answers(ref):
        return ref
    return _load_customer(data, ref, customer_id)


async def _load_customer(
    data: RequestData, ref: CustomerRef | None, customer_id: int | None
) -> Customer | None:
    number = None if ref is None else ref.customer_number
    wanted = customer_id if ref is None else ref.id
    return await _load(data.customer_by_number, data.customer_by_id, number, wanted, "Customer")


async def _load(
    by_number: Loader[int, T], by_id: Loader[int, T], number: int | None, id: int | None, kind: str
) -> T | None:
    """What glue points at: by number when it has one (Kickserv's URLs), else by global id."""
    if number is None and id is None:
        return None
    return await by_number_or_id(by_number, by_id, number, id, kind)


async def customer_record(data: RequestData, ref: CustomerRef) -> Customer:
    """The full record behind a customer built from glue."""
    record = await _load_customer(data, ref, None)
    assert record is not None  # a ref always names a customer
    return record


async def parent(data: RequestData, record: Customer) -> Customer | None:
    if record.parent_id is None:
        return None
    found = await data.customer_by_id.get(record.parent_id)
    if found is None:
        raise RecordMissing("Customer", record.parent_id)
    return found


async def children(
    data: RequestData, record: Customer, asked: frozenset[str]
) -> list[Customer | CustomerRef]:
    """A customer's child customers, each as glue or loaded, together in one round."""
    found = await asyncio.gather(
        *(settled(customer(data, ref, None, asked)) for ref in record.children)
    )
    return [c for c in found if c is not None]


def child_locations(
    data: RequestData, record: Customer, asked: frozenset[str]
) -> MaybeAwaitable[list[Customer | CustomerRef]]:
    """The child customers behind a customer's extra locations: glue when it answers ``asked``
    (fields of a location; the value itself, no coroutine), else the full records, by number in one
    batch."""
    if not record.children or asked <= CHILD_LOCATION_GLUE:
        return list(record.children)
    return _child_records(data, record)


async def _child_records(data: RequestData, record: Customer) -> list[Customer | CustomerRef]:
    numbered = [r.customer_number for r in record.children if r.customer_number is not None]
    by_number = {
        c.customer_number: c
        for c in await data.customer_by_number.get_many(numbered)
        if c is not None
    }
    found: list[Customer | CustomerRef] = []
    for ref in record.children:
        child = by_number.get(ref.customer_number or -1) or await data.customer_by_id.get(ref.id)
        if child is not None:
            found.append(child)
    return found


def location_site(
    data: RequestData, ref: CustomerRef | None, customer_id: int | None, asked: frozenset[str]
) -> MaybeAwaitable[Customer | CustomerRef | None]:
    """The customer whose service address a task's or job's location is."""
    if ref is not None:
        glue = SITE_GLUE if ref.service_address.is_empty else SITE_GLUE_WITH_ADDRESS
        if asked <= glue:
            return ref
    return _load_customer(data, ref, customer_id)


async def location_owner(data: RequestData, site_id: int) -> Customer:
    """The customer a location belongs to: the site's parent when it is a child customer."""
    site = await data.customer_by_id.get(site_id)
    if site is None:
        raise RecordMissing("Customer", site_id)
    if site.parent_id is not None:
        owner = await data.customer_by_id.get(site.parent_id)
        if owner is not None:
            return owner
    return site


async def site_number(data: RequestData, number: int | None, site_id: int) -> int:
    """The customer number whose jobs happen at a location (read when the glue had none)."""
    if number is not None:
        return number
    return (await one(data.customer_by_id, site_id, "Customer")).customer_number


async def customer_invoices(data: RequestData, number: int) -> list[Job]:
    """A customer's invoices: its invoiced jobs (Kickserv keeps invoices as jobs)."""
    jobs = await data.jobs_by_customer_number.get(number) or ()
    return [j for j in jobs if j.invoice_status is not None]


# -- jobs, tasks, people ---------------------------------------------------------------------------


def job(
    data: RequestData, ref: JobRef | None, job_id: int | None, asked: frozenset[str]
) -> MaybeAwaitable[Job | JobRef | None]:
    """A task's job: its glue when it answers the query, else the job record."""
    if ref is not None and ref.job_number is not None and asked <= JOB_GLUE:
        return ref
    return _load_job(data, ref, job_id)


async def _load_job(data: RequestData, ref: JobRef | None, job_id: int | None) -> Job | None:
    number = None if ref is None else ref.job_number
    wanted = job_id if ref is None else ref.id
    return await _load(data.job_by_number, data.job_by_id, number, wanted, "Job")


async def job_detail(data: RequestData, record: Job | None, number: int) -> Job:
    """The single-job record, with charges, payments, notes and tags (a listing's has none)."""
    if record is not None and record.job_charges is not None:
        return record
    detail = await data.job_by_number.get(number)
    if detail is None:
        raise RecordMissing("Job", number)
    return detail


async def job_listed(data: RequestData, record: Job | None, number: int) -> Job:
    """At least the listing's record of a job (what glue lacks: job type, invoice fields)."""
    return record if record is not None else await job_detail(data, None, number)


def job_tasks(
    data: RequestData, job_id: int, tasks_count: int | None
) -> MaybeAwaitable[tuple[Task, ...]]:
    """A job's tasks; ``tasks_count`` is what its listing said of them (the planner's check). The
    value itself when the account-wide listing already answers, else an awaitable of the load."""
    data.job_tasks.note(job_id, tasks_count)
    ready = data.job_tasks.ready(job_id)
    return ready if ready is not None else _loaded_tasks(data, job_id)


async def _loaded_tasks(data: RequestData, job_id: int) -> tuple[Task, ...]:
    return await data.tasks_by_job_id.get(job_id) or ()


def assignees(
    data: RequestData, task: Task, asked: frozenset[str]
) -> MaybeAwaitable[list[Employee | EmployeeRef]]:
    """Technicians of a visit: the task's employee glue when it answers, else the records."""
    if task.employees and asked <= EMPLOYEE_GLUE:
        return list(task.employees)
    return _load_assignees(data, task)


async def _load_assignees(data: RequestData, task: Task) -> list[Employee | EmployeeRef]:
    refs = task.employees
    ids = [r.id for r in refs] or list(task.employee_ids)
    found = await data.employee_by_id.get_many(ids)
    by_id = {e.id: e for e in found if e is not None}
    # An inactive employee is not in Kickserv's employee list: keep what the glue says.
    return [
        by_id.get(r.id, r)
        for r in refs or [EmployeeRef(id=i, employee_number=None, name=None, raw={}) for i in ids]
    ]


async def employee_number(data: RequestData, number: int | None, employee_id: int) -> int:
    """An employee's number (URLs use it), read from the employee list when glue had none."""
    if number is not None:
        return number
    return (await one(data.employee_by_id, employee_id, "Employee")).employee_number


async def charge_type(data: RequestData, type_id: int | None) -> JobChargeType | None:
    if type_id is None:
        return None
    return next((t for t in await data.job_charge_types() if t.id == type_id), None)


# -- money -----------------------------------------------------------------------------------------


async def job_of_payment(data: RequestData, payment: Payment, job: Job | None) -> Job | None:
    """The job a payment paid for (known from the job it came with, else looked up)."""
    if job is not None:
        return job
    payer_ref = payment.customer
    return await data.job_of_payment.get(
        (payment.id, payer_ref.customer_number if payer_ref else None)
    )


def payer(
    data: RequestData, payment: Payment, job: Job | None, asked: frozenset[str]
) -> MaybeAwaitable[Customer | CustomerRef | None]:
    """Who paid: the payment's customer glue, or its job's."""
    if payment.customer is None and job is not None:
        return customer(data, job.customer, job.customer_id, asked)
    return customer(data, payment.customer, payment.customer_id, asked)


async def settled(value: MaybeAwaitable[T]) -> T:
    """The value, awaited when it is an awaitable."""
    return await value if isinstance(value, Awaitable) else value
