"""What a write changes along Kickserv's relationships, forgotten (or primed) so reads see it.

Cached resources (keys of ``Tenant.page``/``record``): ``customer`` (by number), ``customer.id``,
``customers``, ``customer.jobs``, ``customer.notes``, ``job`` (by number), ``job.id``, ``jobs``,
``opportunities``, ``tasks`` (a job's), ``task``, ``schedule`` (also employees' schedules),
``invoices``, ``payments``, ``vendors``; indexes ``customers``, ``jobs``, ``opportunities``,
``invoices``. The relationships:

- a job's fields: the job, job listings, its opportunity and invoice entries;
- a job's money (charges, invoicing, payments): also the invoice listing and index, the payment
  listing, and the customer's balance (customer record, customer listing);
- a task: the job's tasks, the task, every schedule (both employees of a reassignment), and the job
  (its schedule date and status move with its tasks);
- a customer: the customer, the customer listing; a deletion takes its jobs and everything below.

Listings are forgotten whole (per tenant): their pages hold many records and are cheap to read
again. Records the write answered with are primed, so the next read costs nothing.
"""

from __future__ import annotations

from kickserv import Customer, Invoice, Job, Note, Task, Vendor
from resolvers.writes.scope import WriteScope

JOB_LISTINGS = ("jobs", "customer.jobs", "opportunities")
MONEY_LISTINGS = ("invoices", "payments", "customers")


async def customer_saved(scope: WriteScope, customer: Customer) -> None:
    tenant = scope.tenant
    await tenant.forget("customers")
    await tenant.prime("customer", customer.customer_number, customer)
    await tenant.prime("customer.id", customer.id, customer)
    tenant.customer_index.put(customer)
    scope.clear_loaders()


async def customer_deleted(scope: WriteScope, customer: Customer) -> None:
    tenant = scope.tenant
    await tenant.forget_record("customer", customer.customer_number)
    await tenant.forget_record("customer.id", customer.id)
    await tenant.forget(
        "customers", "customer.notes", "job", "job.id", "tasks", "task", "schedule",
        *JOB_LISTINGS, *MONEY_LISTINGS,
    )  # fmt: skip
    tenant.invalidate_indexes()
    scope.clear_loaders()


async def job_saved(scope: WriteScope, job: Job, *, money: bool = False) -> None:
    """``job`` is what Kickserv answered (the single-job shape when it embeds charges)."""
    tenant = scope.tenant
    await tenant.forget(*JOB_LISTINGS)
    if job.job_charges is not None:
        await tenant.prime("job", job.job_number, job)
    else:
        await tenant.forget_record("job", job.job_number)
    await tenant.prime("job.id", job.id, job)
    tenant.job_index.put(job)
    if job.is_opportunity:
        tenant.opportunity_index.put(job)
    for payment in job.payments or ():
        tenant.job_of_payment[payment.id] = job.job_number
    if job.invoice_status is not None or money:
        await tenant.forget(*MONEY_LISTINGS)
        if job.invoice_status is not None:
            tenant.invoice_index.put(Invoice.from_json(job.raw))
    if money:
        await _refresh_customer(scope, job)
    scope.clear_loaders()


async def _refresh_customer(scope: WriteScope, job: Job) -> None:
    """A balance changed: read the customer again (one call) so every lookup path sees it."""
    tenant = scope.tenant
    number = job.customer.customer_number if job.customer is not None else None
    if number is None:
        await tenant.forget("customer", "customer.id")
        tenant.invalidate_indexes("customers")
        return
    await customer_saved(scope, await scope.ks.customers.get(number))


async def tasks_changed(scope: WriteScope, job: Job, *tasks: Task, gone: int | None = None) -> None:
    """After a task was created, moved, reassigned or deleted (``gone``); ``job`` is fresh."""
    tenant = scope.tenant
    await tenant.forget("tasks", "schedule")
    for task in tasks:
        await tenant.prime("task", task.id, task)
    if gone is not None:
        await tenant.forget_record("task", gone)
    await job_saved(scope, job)


async def customer_note_added(scope: WriteScope, customer_number: int, note: Note) -> None:
    await scope.tenant.forget("customer.notes")
    scope.clear_loaders()


async def vendor_saved(scope: WriteScope, vendor: Vendor) -> None:
    await scope.tenant.forget("vendors")
    scope.clear_loaders()
