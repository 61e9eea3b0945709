"""What the in-process cache keeps of an upstream record: the typed fields the graph reads, not the
raw payload.

Every record keeps Kickserv's JSON in ``raw`` so nothing is lost, and that dict costs most of what a
record weighs: a listed customer takes about 8.1 KB with it and 1.9 KB without (tracemalloc, the
sandbox's customers, 2026-12-03), a listed job 7.9 KB and 2.2 KB with its invoice keys. Listing 50,000 customers through
the graph kept 497 MB. The graph reads typed fields, so what the cache keeps drops ``raw``, except
what is read from it again:

- a job's invoice fields and tax rate (``Invoice.from_job`` parses the invoice from the job's
  ``raw``; invoicing reads ``sales_tax_percentage``): a job keeps exactly those keys.

A task also drops its glue's raw payloads (its job, customer and assignees: the graph reads their
typed fields) and its ``primary_contact`` (no field reads it): a listed task weighs 1.9 KB against
3.3 KB with them (deep_size, the sandbox's tasks, 2026-12-03).

Every other listing of tasks the graph reads (a job's, the dated schedule, an employee's) is read
straight into this form (``kept_task``): no raw dict is copied to be dropped (a 100-task page read
and trimmed took 2.2 ms, read trimmed 1.3 ms, 2026-12-03; the cold dispatch board's page 2 left
~2 ms sooner, 2026-12-04), and ``kept`` finds nothing to drop.

The planner's account-wide task listing is the exception: its pages keep each task as Kickserv
listed it, grouped by job, and a job's tasks are read into this form when they are asked
(``resolvers.task_groups``).

An entry of the invoice listing also drops the tasks it embeds (the graph reads a job's tasks from
the task listing): an invoice entry weighs 17.7 KB with them and its raw, 2.2 KB without.

Records other than these (reference data: employees, job types, items, vendors; notes) are few and
kept whole, as are records nested in a job's detail (its charges' ``taxable`` is read). A write's
own answer is never trimmed: the journal and the write log keep its whole JSON.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping
from types import MappingProxyType
from typing import Any, TypeVar, cast

from kickserv import Customer, Invoice, Job, Page, Payment, Task
from kickserv.records.glue import CustomerRef, EmployeeRef, JobRef

T = TypeVar("T")

NO_RAW: Mapping[str, Any] = MappingProxyType({})

# The keys Invoice.from_json reads (alternatives included), and the tax rate invoicing reads.
JOB_RAW_KEYS = frozenset(
    {
        "id",
        "job_number",
        "number",
        "customer",
        "customer_id",
        "name",
        "status",
        "invoice_status",
        "invoice_date",
        "invoice_sent_date",
        "invoice_sent_on",
        "invoice_paid_on",
        "invoice_terms",
        "subtotal",
        "tax",
        "total",
        "balance_remaining",
        "tasks",
        "created_at",
        "created_on",
        "updated_at",
        "updated_on",
        "sales_tax_percentage",
        "po_number",
        "invoice_notes",
    }
)

_WITHOUT_RAW = (Customer, Payment)
G = TypeVar("G", JobRef, CustomerRef, EmployeeRef)


def kept(value: T) -> T:
    """What the cache keeps of ``value``: a record or a page of records without what the graph
    does not read (the same object when nothing would be dropped); anything else as it is."""
    if isinstance(value, Page):
        items = tuple(kept(item) for item in value.items)
        same = all(a is b for a, b in zip(items, value.items, strict=True))
        if same:
            return value
        trimmed: T = dataclasses.replace(value, items=items)
        return trimmed
    if isinstance(value, Task):
        return cast(T, _kept_task(value))
    if isinstance(value, _WITHOUT_RAW):
        if not value.raw:
            return value
        return cast(T, value.replace(raw=NO_RAW))
    if isinstance(value, Invoice):  # an invoice entry also embeds its job's tasks: not read there
        if not value.raw and not value.tasks:
            return value
        invoice: T = value.replace(raw=NO_RAW, tasks=())
        return invoice
    if isinstance(value, Job):
        if not value.raw.keys() - JOB_RAW_KEYS:
            return value
        raw = {key: value.raw[key] for key in JOB_RAW_KEYS if key in value.raw}
        job: T = value.replace(raw=raw)
        return job
    return value


def _glue_reader(glue: type[G]) -> Callable[[object], G]:
    return glue.reader(raw=NO_RAW)


# Task.from_json as the cache keeps a task: what ``kept`` would make of it, without making it first.
kept_task: Callable[[object], Task] = Task.reader(
    {
        "job": _glue_reader(JobRef),
        "customer": _glue_reader(CustomerRef),
        "employees": _glue_reader(EmployeeRef),
    },
    raw=NO_RAW,
    primary_contact=None,
)


def _kept_task(task: Task) -> Task:
    """A task without its raw payload, its glue's (job, customer, assignees) and its
    ``primary_contact`` (kept as sent, read by no field of the graph)."""
    if not task.raw and task.primary_contact is None and not _glue_raw(task):
        return task
    return task.replace(
        raw=NO_RAW,
        job=None if task.job is None else _without_raw(task.job),
        customer=None if task.customer is None else _without_raw(task.customer),
        employees=tuple(_without_raw(employee) for employee in task.employees),
        primary_contact=None,
    )


def _glue_raw(task: Task) -> bool:
    return bool(
        (task.job is not None and task.job.raw)
        or (task.customer is not None and task.customer.raw)
        or any(employee.raw for employee in task.employees)
    )


def _without_raw(glue: G) -> G:
    return glue.replace(raw=NO_RAW) if glue.raw else glue
