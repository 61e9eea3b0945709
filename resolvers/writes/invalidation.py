"""After a write: name what changed, so reads see it, and keep what the write answered with.

Each function here is called by the writes once Kickserv answered. It names the kinds of change
(``resources.Change``) the write made; ``Tenant.changed`` forgets what the table in
``resolvers.resources`` says those changes void (which resources embed what is where). Then the
records the write answered with are primed into the record resources and indexes that keep them, so
the next read costs nothing, and the request's own loaders are cleared. Every other process forgets
those records and puts them in its indexes when it syncs (``Tenant.wrote_record``,
``wrote_to_index``, ``forget_record``: published with the write, ``resolvers.generations``).
"""

from __future__ import annotations

from kickserv import Customer, Invoice, Job, Note, Payment, Task, Vendor
from resolvers import resources
from resolvers.resources import Change
from resolvers.writes.scope import WriteScope


async def customer_saved(scope: WriteScope, customer: Customer, *also: Change) -> None:
    """A customer written (``also``: ``CUSTOMER_GLUE`` when what others embed of it changed)."""
    tenant = scope.tenant
    await tenant.changed(Change.CUSTOMER, *also)
    await tenant.wrote_record(resources.CUSTOMER, customer)
    await tenant.wrote_record(resources.CUSTOMER_ID, customer)
    tenant.wrote_to_index(resources.CUSTOMER_INDEX, customer)
    scope.clear_loaders()


async def customer_deleted(scope: WriteScope, customer: Customer) -> None:
    await scope.tenant.changed(Change.CUSTOMER_DELETED)
    scope.clear_loaders()


async def job_saved(scope: WriteScope, job: Job, *also: Change) -> None:
    """``job`` is what Kickserv answered (the single-job shape when it embeds charges); ``also``
    names more than the job's own fields: ``JOB_GLUE``, ``JOB_MONEY``, ``TASK``."""
    tenant = scope.tenant
    changes = {Change.JOB, *also}
    if job.invoice_status is not None:
        changes.add(Change.INVOICE)
    await tenant.changed(*changes)
    if job.job_charges is not None:
        await tenant.wrote_record(resources.JOB, job)
    else:
        await tenant.forget_record(resources.JOB, job.job_number)
    await tenant.wrote_record(resources.JOB_ID, job)
    tenant.wrote_to_index(resources.JOB_INDEX, job)
    if job.is_opportunity:
        tenant.wrote_to_index(resources.OPPORTUNITY_INDEX, job)
    if job.invoice_status is not None:
        tenant.wrote_to_index(resources.INVOICE_INDEX, Invoice.from_json(job.raw))
    for payment in job.payments or ():
        tenant.job_of_payment[payment.id] = job.job_number
        tenant.wrote_to_index(resources.PAYMENT_INDEX, payment)
    if Change.JOB_MONEY in changes:
        await _refresh_customer(scope, job)
    scope.clear_loaders()


async def _refresh_customer(scope: WriteScope, job: Job) -> None:
    """A balance changed: read the customer again (one call) so every lookup path sees it."""
    number = job.customer.customer_number if job.customer is not None else None
    if number is None:
        await scope.tenant.changed(Change.CUSTOMER_BALANCE)
        return
    await customer_saved(scope, await scope.ks.customers.get(number))


async def tasks_changed(scope: WriteScope, job: Job, *tasks: Task, gone: int | None = None) -> None:
    """After a task was created, moved, reassigned or deleted (``gone``); ``job`` is fresh (its
    status and schedule move with its tasks, and its other tasks embed that status)."""
    await job_saved(scope, job, Change.TASK, Change.JOB_GLUE)
    tenant = scope.tenant
    for task in tasks:
        await tenant.wrote_record(resources.TASK, task)
    if gone is not None:
        await tenant.forget_record(resources.TASK, gone)


async def customer_note_added(scope: WriteScope, customer_number: int, note: Note) -> None:
    await scope.tenant.changed(Change.CUSTOMER_NOTE)
    scope.clear_loaders()


async def vendor_saved(scope: WriteScope, vendor: Vendor) -> None:
    await scope.tenant.changed(Change.VENDOR)
    await scope.tenant.wrote_record(resources.VENDOR, vendor)
    scope.clear_loaders()


async def vendor_deleted(scope: WriteScope, vendor_id: int) -> None:
    await scope.tenant.changed(Change.VENDOR)
    await scope.tenant.forget_record(resources.VENDOR, vendor_id)
    scope.clear_loaders()


async def job_type_created(scope: WriteScope) -> None:
    await scope.tenant.changed(Change.JOB_TYPE)
    scope.clear_loaders()


async def customer_payment_recorded(
    scope: WriteScope, payment: Payment, customer: Customer
) -> None:
    """A payment applied to no job: the payment listings, and the customer read again (whether
    Kickserv credits its balance is not documented)."""
    await scope.tenant.changed(Change.PAYMENT)
    scope.tenant.wrote_to_index(resources.PAYMENT_INDEX, payment)
    await customer_saved(scope, customer)
