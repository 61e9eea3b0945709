"""Per-request data access: the loaders and the reads the graph's resolvers call.

A ``RequestData`` is created for each GraphQL request, inside the running event loop (aiodataloader
binds the loop when a loader is built), and never shared: a loader's own cache is per request. Loaders
are named after what they map; their batch functions return results in key order with ``None`` for
missing keys. Under them is the tenant's shared cache (see ``resolvers.tenant``).

Kickserv has no batch endpoints, so "batching" here means: one concurrent round for all the keys a
level of the graph asks for, one upstream call per distinct key at most, and an index where Kickserv
has no lookup at all (an invoice by id, a customer or job by global id).

What each read caches, under which key and for how long, is an entry of the table in
``resolvers.resources`` (``resources.CUSTOMER``, ``resources.CUSTOMER_JOBS``, ...).
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Hashable
from datetime import date
from decimal import Decimal
from functools import partial
from operator import attrgetter
from typing import Any, TypeVar

from kickserv import (
    Customer,
    Employee,
    Invoice,
    Item,
    Job,
    JobChargeType,
    JobType,
    Note,
    Paginator,
    Payment,
    Task,
    Vendor,
)
from resolvers import resources
from resolvers.invoice_index import IndexedInvoice
from resolvers.kept import kept_task
from resolvers.levels import (
    CUSTOMER_PAYMENTS,
    INVOICE_INDEX,
    SCHEDULE_WHOLE,
    SCHEDULE_WINDOW,
    FixedLevels,
)
from resolvers.loaders import LazyLoader, Loader, Primed
from resolvers.plan import JobTasksPlanner
from resolvers.resources import Index, Listing, Record, filters
from resolvers.tenant import Tenant, Window
from resolvers.verify import Unconfirmed, verified_window

R = TypeVar("R")
T = TypeVar("T")
P = TypeVar("P", bound=Hashable)

__all__ = ["Loader", "RequestData", "Window"]


async def _tasks_of_job(tenant: Tenant, job_id: int) -> tuple[Task, ...]:
    window = await tenant.everything(
        resources.TASKS,
        tenant.client.tasks.list(job_id=job_id, parse=kept_task),
        filters(job_id=job_id),
    )
    return window.items


class RequestData:
    """Everything one GraphQL request reads from Kickserv."""

    customer_by_number: LazyLoader[int, Customer] = LazyLoader("_customers_by_number")
    customer_by_id: LazyLoader[int, Customer] = LazyLoader("_customers_by_id")
    job_by_number: LazyLoader[int, Job] = LazyLoader("_jobs_by_number")
    job_by_id: LazyLoader[int, Job] = LazyLoader("_jobs_by_id")
    tasks_by_job_id: LazyLoader[int, tuple[Task, ...]] = LazyLoader("_tasks_by_job_id")
    task_by_id: LazyLoader[int, Task] = LazyLoader("_tasks_by_id")
    invoice_by_id: LazyLoader[int, IndexedInvoice] = LazyLoader("_invoices_by_id")
    employee_by_id: LazyLoader[int, Employee] = LazyLoader("_employees_by_id")
    employee_by_number: LazyLoader[int, Employee] = LazyLoader("_employees_by_number")
    job_type_by_id: LazyLoader[int, JobType] = LazyLoader("_job_types_by_id")
    jobs_by_customer_number: LazyLoader[int, tuple[Job, ...]] = LazyLoader(
        "_jobs_by_customer_number"
    )
    job_of_payment: LazyLoader[tuple[int, int | None], Job] = LazyLoader("_jobs_of_payments")
    payment_by_id: LazyLoader[int, Payment] = LazyLoader("_payments_by_id")
    vendor_by_id: LazyLoader[int, Vendor] = LazyLoader("_vendors_by_id")
    item_by_id: LazyLoader[int, Item] = LazyLoader("_items_by_id")

    def __init__(self, tenant: Tenant, *, loaders_enabled: bool = True) -> None:
        self.tenant = tenant
        self.ks = tenant.client
        self.loaders_enabled = loaders_enabled
        self.primed: Primed = {}  # for loaders not made yet
        # A job's own listing, read through the tenant alone: a method of this request would make
        # a cycle (request -> planner -> request) that only the garbage collector frees.
        self.job_tasks = JobTasksPlanner(tenant, partial(_tasks_of_job, tenant))
        # Reads of its own may be under way in the background (the tasks planner's, a prefetch):
        # its windows then give them the event loop's turn (Tenant.window's ``alone``).
        self.background = False
        # The request's task (made inside it): a read-ahead it starts is cancelled if it is.
        self._request = asyncio.current_task()
        self.levels = FixedLevels()  # plans of levels the reference fixes (resolvers.levels)

    def start_job_tasks(self, bound: int | None) -> None:
        """``job_tasks.start(bound)``: the tasks of at most ``bound`` jobs are asked."""
        if bound:
            self.background = True  # the planner may read the account-wide listing from now on
        self.job_tasks.start(bound)

    async def _window(
        self, resource: Listing[T, P], listing: Paginator[T], params: P, offset: int, first: int
    ) -> Window[T]:
        return await self.tenant.window(
            resource, listing, params, offset, first, alone=not self.background
        )

    # -- batch functions -----------------------------------------------------------------------------

    async def _records(
        self,
        resource: Record[int, R],
        keys: list[int],
        get: Callable[[int], Awaitable[R]],
        seen: Callable[[R], object] = lambda _record: None,
    ) -> list[R | None]:
        """The record of each key (``get`` it unless cached), all at once; ``seen(record)`` as
        each one found arrives."""

        async def one(key: int) -> R | None:
            record = await self.tenant.record(resource, key, lambda: get(key))
            if record is not None:
                seen(record)
            return record

        return list(await asyncio.gather(*(one(k) for k in keys)))

    async def _customers_by_number(self, numbers: list[int]) -> list[Customer | None]:
        return await self._records(
            resources.CUSTOMER,
            numbers,
            self.ks.customers.get,
            seen=lambda customer: RequestData.customer_by_id.prime(self, customer.id, customer),
        )

    async def _customers_by_id(self, ids: list[int]) -> list[Customer | None]:
        return await self._by_global_id(resources.CUSTOMER_ID, ids, resources.CUSTOMER_INDEX)

    async def _jobs_by_number(self, numbers: list[int]) -> list[Job | None]:
        return await self._records(resources.JOB, numbers, self.ks.jobs.get, self._note_payments)

    def _note_payments(self, job: Job) -> None:
        for payment in job.payments or ():
            self.tenant.job_of_payment[payment.id] = job.job_number

    async def _jobs_by_id(self, ids: list[int]) -> list[Job | None]:
        # /jobs.json leaves opportunities out (new, sent, viewed, won, lost): an id the job index
        # does not know may be an opportunity's.
        return await self._by_global_id(
            resources.JOB_ID, ids, resources.JOB_INDEX, resources.OPPORTUNITY_INDEX
        )

    async def _by_global_id(
        self, resource: Record[int, R], ids: list[int], *indexes: Index[Any, R]
    ) -> list[R | None]:
        """Records Kickserv cannot fetch by global id: what this tenant has already seen (primed
        under ``resource``), then the listings' indexes in turn for the rest (and remember what
        they found)."""
        found: dict[int, R] = {}
        for record_id in ids:
            cached = await self.tenant.peek(resource, record_id)
            if cached is not None:
                found[record_id] = cached
        for index in indexes:
            missing = [i for i in ids if i not in found]
            if not missing:
                break
            looked_up = await self.tenant.index(index).get_many(missing)
            for record_id, record in zip(missing, looked_up, strict=True):
                if record is not None:
                    found[record_id] = record
                    await self.tenant.prime(resource, record)
        return [found.get(i) for i in ids]

    async def _tasks_by_job_id(self, job_ids: list[int]) -> list[tuple[Task, ...] | None]:
        """Per-job listings or the account-wide one, as ``resolvers.plan`` chooses."""
        return list(await self.job_tasks.tasks_of(job_ids))

    async def _tasks_by_id(self, ids: list[int]) -> list[Task | None]:
        return await self._records(resources.TASK, ids, self.ks.tasks.get)

    async def _invoices_by_id(self, ids: list[int]) -> list[IndexedInvoice | None]:
        index = self.tenant.index(resources.INVOICE_INDEX)
        before = index.counters["pages_fetched"]
        found = await index.get_many(ids)
        read = index.counters["pages_fetched"] - before  # this lookup's build or refresh
        plan = self.levels.plan(INVOICE_INDEX, tuple(ids), len(ids), read, "")
        if read:
            plan.rounds = max(plan.rounds, 1 + -(-max(0, read - 1) // index.width))
        return found

    async def _employees_by_id(self, ids: list[int]) -> list[Employee | None]:
        by_id = {e.id: e for e in await self.employees()}
        return [by_id.get(i) for i in ids]

    async def _employees_by_number(self, numbers: list[int]) -> list[Employee | None]:
        """From the list of active employees (one cached call); a number it lacks may be an
        inactive employee's, which ``GET /employees/{n}.json`` still answers."""
        by_number = {e.employee_number: e for e in await self.employees()}

        async def one(number: int) -> Employee | None:
            if number in by_number:
                return by_number[number]
            return await self.tenant.record(
                resources.EMPLOYEE, number, lambda: self.ks.employees.get(number)
            )

        return list(await asyncio.gather(*(one(n) for n in numbers)))

    async def _payments_by_id(self, ids: list[int]) -> list[Payment | None]:
        return await self.tenant.index(resources.PAYMENT_INDEX).get_many(ids)

    async def _vendors_by_id(self, ids: list[int]) -> list[Vendor | None]:
        return await self._records(resources.VENDOR, ids, self.ks.vendors.get)

    async def _items_by_id(self, ids: list[int]) -> list[Item | None]:
        """Kickserv has no item-by-id endpoint: the item catalogue is reference data, read whole."""
        window = await self.tenant.everything(resources.ITEMS, self.ks.items.list(), None)
        by_id = {item.id: item for item in window.items}
        return [by_id.get(i) for i in ids]

    async def _job_types_by_id(self, ids: list[int]) -> list[JobType | None]:
        by_id = {t.id: t for t in await self.job_types(include_inactive=True)}
        return [by_id.get(i) for i in ids]

    async def _jobs_by_customer_number(self, numbers: list[int]) -> list[tuple[Job, ...] | None]:
        async def one(number: int) -> tuple[Job, ...]:
            window = await self.tenant.everything(
                resources.CUSTOMER_JOBS, self.ks.customers.jobs(number), number
            )
            return window.items

        return list(await asyncio.gather(*(one(n) for n in numbers)))

    async def _jobs_of_payments(self, keys: list[tuple[int, int | None]]) -> list[Job | None]:
        """The job a payment belongs to. /payments.json carries no job id, but every job's detail
        embeds its payments: look through the details of the payer's invoiced jobs (once) and
        remember what was found for the whole tenant."""

        async def one(payment_id: int, customer_number: int | None) -> Job | None:
            number = self.tenant.job_of_payment.get(payment_id)
            if number is None and customer_number is not None:
                jobs = await self.jobs_by_customer_number.get(customer_number) or ()
                invoiced = [j.job_number for j in jobs if j.invoice_status is not None]
                await self.job_by_number.get_many(invoiced)
                number = self.tenant.job_of_payment.get(payment_id)
            return None if number is None else await self.job_by_number.get(number)

        return list(await asyncio.gather(*(one(p, c) for p, c in keys)))

    # -- listings ------------------------------------------------------------------------------------

    async def customers(self, offset: int, first: int, **given: Any) -> Window[Customer]:
        window = await self._window(
            resources.CUSTOMERS, self.ks.customers.list(**given), filters(**given), offset, first
        )
        RequestData.customer_by_number.prime_all(self, window.items, attrgetter("customer_number"))
        RequestData.customer_by_id.prime_all(self, window.items, attrgetter("id"))
        if window.fetched:  # a cached page was primed when it was fetched
            for customer in window.items:
                await self.tenant.prime(resources.CUSTOMER_ID, customer)
        return window

    async def customer_jobs(
        self, customer_number: int, offset: int, first: int, status: str | None
    ) -> Window[Job]:
        if status is None:
            window = await self._window(
                resources.CUSTOMER_JOBS,
                self.ks.customers.jobs(customer_number),
                customer_number,
                offset,
                first,
            )
        else:  # Kickserv cannot filter a customer's jobs by status: filter the whole listing
            jobs = await self.jobs_by_customer_number.get(customer_number) or ()
            matching = tuple(j for j in jobs if j.status == status)
            # (assembled from a loader's listing: prime, as we cannot tell whether it was fetched)
            window = Window(matching[offset : offset + first], offset, len(matching), fetched=True)
        await self._prime_jobs(window)
        return window

    async def jobs(self, offset: int, first: int, **given: Any) -> Window[Job]:
        status = given.get("status")
        if status is None:
            window = await self._window(
                resources.JOBS, self.ks.jobs.list(**given), filters(**given), offset, first
            )
        else:  # /jobs.json does not document `status`: send it, check what comes back
            plain = {**given, "status": None}
            check: Unconfirmed[Job] = Unconfirmed(
                "jobs.json", "status", lambda j: j.status == status
            )
            window = await verified_window(
                self.tenant,
                resources.JOBS,
                check,
                (self.ks.jobs.list(**given), filters(**given)),
                (self.ks.jobs.list(**plain), filters(**plain)),
                offset,
                first,
            )
        await self._prime_jobs(window)
        return window

    async def _prime_jobs(self, window: Window[Job]) -> None:
        RequestData.job_by_id.prime_all(self, window.items, attrgetter("id"))
        if window.fetched:  # a cached page was primed when it was fetched
            for job in window.items:
                await self.tenant.prime(resources.JOB_ID, job)

    async def opportunities(
        self, offset: int, first: int, status: str | None, job_type_id: int | None
    ) -> Window[Job]:
        listing = self.ks.opportunities.list(status=status, job_type_id=job_type_id)
        params = filters(status=status, job_type_id=job_type_id)
        return await self._window(resources.OPPORTUNITIES, listing, params, offset, first)

    async def opportunities_of_customer(self, customer_id: int) -> list[Job]:
        """Kickserv ignores a customer filter on opportunities: answer from the opportunity index."""
        opportunities = await self.tenant.index(resources.OPPORTUNITY_INDEX).values()
        return [o for o in opportunities if o.customer_id == customer_id]

    async def schedule(
        self,
        start: date,
        end: date,
        employee_number: int | None,
        offset: int,
        first: int,
        *,
        task_type_id: int | None = None,
        ahead: bool = False,
    ) -> Window[Task]:
        """The dated ``/tasks.json`` window (``SCHEDULE_WINDOW``); ``ahead``: the query asks for a
        cursor, so the rest of a small listing is read ahead (``resolvers.read_ahead``)."""
        listing = self.ks.tasks.list(
            from_=start, to=end, employee_number=employee_number, parse=kept_task
        )
        params = filters(from_=start, to=end, employee_number=employee_number)
        if task_type_id is None:
            owner = self._request if ahead else None
            window = await self.tenant.window(
                resources.SCHEDULE, listing, params, offset, first, ahead=owner
            )
            note = window.ahead_note if ahead else "not read ahead: the query asks no cursor"
            read = (params, offset, first)
            plan = self.levels.plan(SCHEDULE_WINDOW, read, 1, window.pages + window.ahead, note)
            plan.rounds = 2 if window.ahead else 1
            return window
        # Kickserv documents `task_type_id` on /schedule.json, whose date filters it does not: the
        # dated /tasks.json listing is read whole and filtered here, so the answer is never wrong.
        whole = await self.tenant.everything(resources.SCHEDULE, listing, params)
        planned = self.levels.plan(SCHEDULE_WHOLE, (params, task_type_id), 1, whole.pages, "")
        planned.rounds = 2 if whole.pages > 1 else 1
        matching = tuple(t for t in whole.items if t.task_type_id == task_type_id)
        return Window(matching[offset : offset + first], offset, len(matching), fetched=True)

    async def employee_tasks(
        self, employee_number: int, start: date, end: date
    ) -> tuple[Task, ...]:
        listing = self.ks.tasks.list(
            from_=start, to=end, employee_number=employee_number, parse=kept_task
        )
        params = filters(from_=start, to=end, employee_number=employee_number)
        window = await self.tenant.everything(resources.SCHEDULE, listing, params)
        return window.items

    async def invoices(self, status: str | None, offset: int, first: int) -> Window[Invoice]:
        # The tasks each invoice embeds are not read: the cache keeps none (resolvers.kept).
        listing = self.ks.invoices.list(invoice_status=status, embedded_tasks=False)
        return await self._window(resources.INVOICES, listing, status, offset, first)

    async def payments(
        self,
        customer_number: int | None,
        sort_by: str | None,
        sort_order: str | None,
        offset: int,
        first: int,
    ) -> Window[Payment]:
        listing = self.ks.payments.list(
            customer_number=customer_number, sort_by=sort_by, sort_order=sort_order
        )
        params = filters(customer_number=customer_number, sort_by=sort_by, sort_order=sort_order)
        window = await self._window(resources.PAYMENTS, listing, params, offset, first)
        if customer_number is not None:
            self.levels.plan(CUSTOMER_PAYMENTS, (params, offset, first), 1, window.pages, "")
        return window

    async def job_notes(self, job_number: int) -> tuple[Note, ...]:
        """From /jobs/{n}/notes.json: for a Kickserv whose job record embeds no notes."""
        window = await self.tenant.everything(
            resources.JOB_NOTES, self.ks.jobs.notes(job_number), job_number
        )
        return window.items

    async def customer_notes(self, customer_number: int) -> tuple[Note, ...]:
        window = await self.tenant.everything(
            resources.CUSTOMER_NOTES, self.ks.customers.notes(customer_number), customer_number
        )
        return window.items

    async def employees(self) -> tuple[Employee, ...]:
        window = await self.tenant.everything(resources.EMPLOYEES, self.ks.employees.list(), None)
        return window.items

    async def job_types(self, include_inactive: bool) -> tuple[JobType, ...]:
        listing = self.ks.job_types.list(all=True)
        window = await self.tenant.everything(resources.JOB_TYPES, listing, None)
        return window.items if include_inactive else tuple(t for t in window.items if t.active)

    async def customer_tags(self, customer_number: int) -> tuple[str, ...] | None:
        """The customer's tags (None when Kickserv has no such customer)."""

        async def fetch() -> resources.CustomerTags:
            tags = await self.ks.customers.tags(customer_number)
            return resources.CustomerTags(customer_number, tags)

        found = await self.tenant.record(resources.CUSTOMER_TAGS, customer_number, fetch)
        return None if found is None else found.tags

    async def all_customers(self, **given: Any) -> tuple[Customer, ...]:
        """Every customer Kickserv's own filters (``given``) let through, all pages."""
        listing = self.ks.customers.list(**given)
        window = await self.tenant.everything(resources.CUSTOMERS, listing, filters(**given))
        return window.items

    async def job_charge_types(self) -> tuple[JobChargeType, ...]:
        window = await self.tenant.everything(
            resources.JOB_CHARGE_TYPES, self.ks.job_charge_types.list(), None
        )
        return window.items

    async def items(self, name: str | None, offset: int, first: int) -> Window[Item]:
        listing = self.ks.items.list(name=name)
        return await self._window(resources.ITEMS, listing, name, offset, first)

    async def vendors(self, offset: int, first: int) -> Window[Vendor]:
        return await self._window(resources.VENDORS, self.ks.vendors.list(), None, offset, first)

    async def total_balance_remaining(self, status: str | None) -> Decimal | None:
        window = await self.invoices(status, 0, 1)
        value = window.extra.get("total_balance_remaining")
        return value if isinstance(value, Decimal) else None
