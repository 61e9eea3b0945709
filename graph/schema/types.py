"""The graph's object types, built from kickserv records.

Scalar fields are plain attributes (fast to resolve); relations are resolvers that go through the
request's loaders. A type built from a glue record (the trimmed customer a task embeds, say) carries only
what the glue has: an edge resolver returns it only when the query asks for nothing more (see
``graph.schema.selection``), and loads the full record otherwise.

All object types sit in this one module because they refer to each other in every direction.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable
from datetime import date, datetime
from decimal import Decimal
from enum import Enum
from inspect import isawaitable
from typing import Annotated, Any, TypeAlias, TypeVar, cast

import strawberry
from strawberry.types import Info

from graph.schema.connections import Connection, connection, window_args
from graph.schema.context import GraphContext
from graph.schema.errors import NotFound
from graph.schema.selection import only_asks_for
from kickserv import Address as AddressRecord
from kickserv import Customer as CustomerRecord
from kickserv import CustomerRef, EmployeeRef, ItemRef, JobRef
from kickserv import Employee as EmployeeRecord
from kickserv import Invoice as InvoiceRecord
from kickserv import Item as ItemRecord
from kickserv import Job as JobRecord
from kickserv import JobCharge as JobChargeRecord
from kickserv import JobChargeType as JobChargeTypeRecord
from kickserv import JobType as JobTypeRecord
from kickserv import Note as NoteRecord
from kickserv import Payment as PaymentRecord
from kickserv import Task as TaskRecord
from kickserv import Vendor as VendorRecord
from resolvers.data import Loader
from resolvers.invoice_index import IndexedInvoice

GraphInfo = Info[GraphContext, Any]


T = TypeVar("T")
MaybeAwaitable: TypeAlias = T | Awaitable[T]

# Marks a sync resolver that may still call Kickserv (graph.server.limits counts it as async).
UPSTREAM = {"upstream": True}


def deferred(value: MaybeAwaitable[T]) -> T:
    """What a sync resolver returns: a value, or an awaitable graphql-core awaits. Glue answers
    come back as plain values (no coroutine, no task); only real loads are awaited."""
    return cast(T, value)


async def settled(value: MaybeAwaitable[T]) -> T:
    return await value if isawaitable(value) else value


def _id(value: int) -> strawberry.ID:
    return strawberry.ID(str(value))


def _not_found(what: str) -> NotFound:
    return NotFound(f"{what} was not found, or this credential may not see it.")


R = TypeVar("R")


async def find_by_number_or_id(
    by_number: Loader[int, R],
    by_id: Loader[int, R],
    number: int | None,
    id: object,
    what: str,
) -> R:
    """The record a number (preferred) or a global id names, or NOT_FOUND on this path."""
    record = (
        await by_number.get(int(number)) if number is not None else await by_id.get(int(str(id)))
    )
    if record is None:
        raise _not_found(f"{what} {number if number is not None else id}")
    return record


@strawberry.enum(description="Whether an invoice has been paid in full.")
class InvoiceStatus(Enum):
    PAID = "paid"
    UNPAID = "unpaid"


@strawberry.type(description="A postal address (a customer's service or billing address).")
class Address:
    line1: str | None = strawberry.field(description="Street address.")
    line2: str | None = strawberry.field(description="Second address line (suite, unit).")
    city: str | None = strawberry.field(description="City.")
    state: str | None = strawberry.field(description="State or region.")
    zip: str | None = strawberry.field(description="ZIP or postal code.")
    country: str | None = strawberry.field(description="Country.")

    @classmethod
    def from_record(cls, a: AddressRecord) -> Address:
        return cls(
            line1=a.street,
            line2=a.street_2,
            city=a.city,
            state=a.state,
            zip=a.zip_code,
            country=a.country,
        )


# -- customers and locations ------------------------------------------------------------------------

CUSTOMER_ALWAYS = frozenset({"__typename", "id", "opportunities"})


@strawberry.federation.type(
    keys=["id", "number"],
    description="A Kickserv customer. Child customers are the extra service locations of a parent.",
)
class Customer:
    id: strawberry.ID = strawberry.field(description="Global Kickserv id.")
    number: int = strawberry.field(description="Customer number (what Kickserv URLs use).")
    name: str = strawberry.field(description="Display name.")
    first_name: str | None = strawberry.field(description="First name of a person customer.")
    last_name: str | None = strawberry.field(description="Last name of a person customer.")
    company_name: str | None = strawberry.field(description="Company name of a business customer.")
    email: str | None = strawberry.field(description="Email address.")
    phone: str | None = strawberry.field(description="Phone number.")
    mobile: str | None = strawberry.field(description="Mobile phone number.")
    service_address: Address = strawberry.field(description="Where the work is done.")
    billing_address: Address = strawberry.field(description="Where invoices go.")
    balance: Decimal | None = strawberry.field(description="What the customer owes now.")
    is_active: bool = strawberry.field(description="False once the customer is deactivated.")
    created_at: datetime | None = strawberry.field(description="When the customer was created.")
    updated_at: datetime | None = strawberry.field(description="When the customer last changed.")
    _record: strawberry.Private[CustomerRecord | None]
    _ref: strawberry.Private[CustomerRef | None]

    @classmethod
    def from_record(cls, r: CustomerRecord) -> Customer:
        return cls(
            id=_id(r.id),
            number=r.customer_number,
            name=r.name,
            first_name=r.first_name,
            last_name=r.last_name,
            company_name=r.company_name,
            email=r.email_address,
            phone=r.phone_number,
            mobile=r.mobile,
            service_address=Address.from_record(r.service_address),
            billing_address=Address.from_record(r.billing_address),
            balance=r.balance,
            is_active=r.is_active,
            created_at=r.created_at,
            updated_at=r.updated_at,
            _record=r,
            _ref=None,
        )

    @classmethod
    def from_ref(cls, ref: CustomerRef) -> Customer:
        """A partial customer from glue; only ``glue_fields(ref)`` may be read from it."""
        empty = Address.from_record(AddressRecord())
        return cls(
            id=_id(ref.id),
            number=ref.customer_number or 0,
            name=ref.name or "",
            first_name=None,
            last_name=None,
            company_name=None,
            email=None,
            phone=None,
            mobile=None,
            service_address=Address.from_record(ref.service_address),
            billing_address=empty,
            balance=None,
            is_active=True,
            created_at=None,
            updated_at=None,
            _record=None,
            _ref=ref,
        )

    @staticmethod
    def glue_fields(ref: CustomerRef) -> frozenset[str]:
        fields = set(CUSTOMER_ALWAYS)
        if ref.customer_number is not None:
            fields |= {"number", "jobs", "payments", "notes", "invoices"}
        if ref.name is not None:
            fields.add("name")
        if not ref.service_address.is_empty:
            fields.add("serviceAddress")
        return frozenset(fields)

    async def _full(self, info: GraphInfo) -> CustomerRecord:
        if self._record is not None:
            return self._record
        data = info.context.data
        ref = self._ref
        assert ref is not None
        record = (
            await data.customer_by_number.get(ref.customer_number)
            if ref.customer_number is not None
            else await data.customer_by_id.get(ref.id)
        )
        if record is None:
            raise _not_found(f"Customer {ref.id}")
        return record

    @classmethod
    async def resolve_reference(
        cls, info: GraphInfo, id: strawberry.ID | None = None, number: int | None = None
    ) -> Customer:
        data = info.context.data
        record = await find_by_number_or_id(
            data.customer_by_number, data.customer_by_id, number, id, "Customer"
        )
        return cls.from_record(record)

    @strawberry.field(description="The parent customer, when this one is a child (a location).")
    async def parent(self, info: GraphInfo) -> Customer | None:
        record = await self._full(info)
        if record.parent_id is None:
            return None
        parent = await info.context.data.customer_by_id.get(record.parent_id)
        if parent is None:
            raise _not_found(f"Customer {record.parent_id}")
        return Customer.from_record(parent)

    @strawberry.field(description="Child customers: the extra service locations of this customer.")
    async def children(self, info: GraphInfo) -> list[Customer] | None:
        record = await self._full(info)
        # Together, so the children cost one round (one await each would cost one round each).
        found = await asyncio.gather(
            *(settled(customer_from_ref(info, ref)) for ref in record.children)
        )
        return [c for c in found if c is not None]

    @strawberry.field(
        description="Where work is done: this customer's own service address, then each child customer."
    )
    async def locations(self, info: GraphInfo) -> list[Location] | None:
        record = await self._full(info)
        locations = [Location.primary(record)]
        if not record.children:
            return locations
        if only_asks_for(info, LOCATION_GLUE_FIELDS):
            return locations + [Location.from_child_ref(ref, record) for ref in record.children]
        data = info.context.data
        numbered = [r.customer_number for r in record.children if r.customer_number is not None]
        by_number = {
            c.customer_number: c
            for c in await data.customer_by_number.get_many(numbered)
            if c is not None
        }
        for ref in record.children:
            child = by_number.get(ref.customer_number or -1) or await data.customer_by_id.get(
                ref.id
            )
            if child is not None:
                locations.append(Location.child(child, record))
        return locations

    @strawberry.field(description="This customer's jobs, newest first.")
    async def jobs(
        self,
        info: GraphInfo,
        first: int = 25,
        after: str | None = None,
        status: str | None = None,
    ) -> Connection[Job] | None:
        offset, first = window_args(first, after)
        window = await info.context.data.customer_jobs(self.number, offset, first, status)
        return connection(window, Job.from_record)

    @strawberry.field(description="This customer's opportunities (estimates), newest first.")
    async def opportunities(self, info: GraphInfo) -> list[Opportunity] | None:
        records = await info.context.data.opportunities_of_customer(int(self.id))
        return [Opportunity.from_record(r) for r in records]

    @strawberry.field(description="This customer's invoices, newest first.")
    async def invoices(self, info: GraphInfo) -> list[Invoice] | None:
        jobs = await info.context.data.jobs_by_customer_number.get(self.number) or ()
        return [Invoice.from_job(j) for j in jobs if j.invoice_status is not None]

    @strawberry.field(description="Payments this customer made.")
    async def payments(
        self, info: GraphInfo, first: int = 25, after: str | None = None
    ) -> Connection[Payment] | None:
        offset, first = window_args(first, after)
        window = await info.context.data.payments(self.number, None, None, offset, first)
        return connection(window, Payment.from_record)

    @strawberry.field(description="Notes on this customer (never shown to the customer).")
    async def notes(self, info: GraphInfo) -> list[Note] | None:
        return [Note.from_record(n) for n in await info.context.data.customer_notes(self.number)]


def customer_from_ref(
    info: GraphInfo, ref: CustomerRef | None, customer_id: int | None = None
) -> MaybeAwaitable[Customer | None]:
    """The cheapest customer that answers the query: the glue itself, or the full record."""
    if ref is not None and only_asks_for(info, Customer.glue_fields(ref)):
        return Customer.from_ref(ref)
    return _load_customer(info, ref, customer_id)


async def _load_customer(
    info: GraphInfo, ref: CustomerRef | None, customer_id: int | None
) -> Customer | None:
    data = info.context.data
    if ref is not None and ref.customer_number is not None:
        record = await data.customer_by_number.get(ref.customer_number)
    else:
        wanted = ref.id if ref is not None else customer_id
        if wanted is None:
            return None
        record = await data.customer_by_id.get(wanted)
    if record is None:
        raise _not_found(f"Customer {ref.id if ref else customer_id}")
    return Customer.from_record(record)


LOCATION_GLUE_FIELDS = frozenset({"__typename", "id", "name", "isPrimary", "customer"})


@strawberry.type(
    description="A place where work is done: a customer's service address, or a child customer's."
)
class Location:
    id: strawberry.ID = strawberry.field(
        description="Id of the customer whose service address this is."
    )
    name: str = strawberry.field(description="The location's name (its customer's name).")
    is_primary: bool = strawberry.field(
        description="True for the customer's own service address, false for a child customer."
    )
    address: Address = strawberry.field(description="The service address.")
    _site: strawberry.Private[int | None]  # customer number whose jobs happen here
    _site_id: strawberry.Private[int]
    _owner: strawberry.Private[CustomerRecord | None]

    @classmethod
    def primary(cls, customer: CustomerRecord) -> Location:
        return cls(
            id=_id(customer.id),
            name=customer.name,
            is_primary=True,
            address=Address.from_record(customer.service_address),
            _site=customer.customer_number,
            _site_id=customer.id,
            _owner=customer,
        )

    @classmethod
    def child(cls, child: CustomerRecord, owner: CustomerRecord | None) -> Location:
        return cls(
            id=_id(child.id),
            name=child.name,
            is_primary=False,
            address=Address.from_record(child.service_address),
            _site=child.customer_number,
            _site_id=child.id,
            _owner=owner,
        )

    @classmethod
    def from_child_ref(cls, ref: CustomerRef, owner: CustomerRecord) -> Location:
        return cls(
            id=_id(ref.id),
            name=ref.name or "",
            is_primary=False,
            address=Address.from_record(ref.service_address),
            _site=ref.customer_number,
            _site_id=ref.id,
            _owner=owner,
        )

    @classmethod
    def from_ref(cls, ref: CustomerRef) -> Location:
        """The location of a task or job from its customer glue (parent unknown until asked)."""
        return cls(
            id=_id(ref.id),
            name=ref.name or "",
            is_primary=True,
            address=Address.from_record(ref.service_address),
            _site=ref.customer_number,
            _site_id=ref.id,
            _owner=None,
        )

    @strawberry.field(description="The customer this location belongs to (the parent of a child).")
    async def customer(self, info: GraphInfo) -> Customer | None:
        if self._owner is not None:
            return Customer.from_record(self._owner)
        data = info.context.data
        site = await data.customer_by_id.get(self._site_id)
        if site is None:
            raise _not_found(f"Customer {self._site_id}")
        if site.parent_id is not None:
            parent = await data.customer_by_id.get(site.parent_id)
            if parent is not None:
                return Customer.from_record(parent)
        return Customer.from_record(site)

    @strawberry.field(description="Jobs done at this location, newest first.")
    async def jobs(
        self, info: GraphInfo, first: int = 25, after: str | None = None
    ) -> Connection[Job] | None:
        offset, first = window_args(first, after)
        number = self._site
        if number is None:
            site = await info.context.data.customer_by_id.get(self._site_id)
            if site is None:
                raise _not_found(f"Customer {self._site_id}")
            number = site.customer_number
        window = await info.context.data.customer_jobs(number, offset, first, None)
        return connection(window, Job.from_record)


LOCATION_REF_FIELDS = frozenset({"__typename", "id", "name", "jobs"})
LOCATION_REF_ADDRESS_FIELDS = LOCATION_REF_FIELDS | {"address"}


def location_of(
    info: GraphInfo, ref: CustomerRef | None, customer_id: int | None
) -> MaybeAwaitable[Location | None]:
    """A task's or job's location from its customer glue when that answers the query."""
    if ref is not None:
        fields = (
            LOCATION_REF_FIELDS if ref.service_address.is_empty else LOCATION_REF_ADDRESS_FIELDS
        )
        if only_asks_for(info, fields):
            return Location.from_ref(ref)
    return _load_location(info, ref, customer_id)


async def _load_location(
    info: GraphInfo, ref: CustomerRef | None, customer_id: int | None
) -> Location | None:
    data = info.context.data
    wanted = ref.id if ref is not None else customer_id
    if wanted is None:
        return None
    site = (
        await data.customer_by_number.get(ref.customer_number)
        if ref is not None and ref.customer_number is not None
        else await data.customer_by_id.get(wanted)
    )
    if site is None:
        raise _not_found(f"Customer {wanted}")
    if site.parent_id is None:
        return Location.primary(site)
    return Location.child(site, None)


# -- jobs, opportunities, tasks ----------------------------------------------------------------------

JOB_REF_FIELDS = frozenset(
    {
        "__typename",
        "id",
        "number",
        "name",
        "status",
        "tasks",
        "lineItems",
        "payments",
        "notes",
        "tags",
    }
)


@strawberry.federation.type(keys=["id", "number"], description="A job (a work order).")
class Job:
    id: strawberry.ID = strawberry.field(description="Global Kickserv id.")
    number: int = strawberry.field(description="Job number (what Kickserv URLs use).")
    name: str | None = strawberry.field(description="Short title.")
    description: str | None = strawberry.field(description="What is to be done.")
    status: str | None = strawberry.field(
        description="unscheduled, scheduled, in_progress, on_hold, complete or canceled (opportunities: new, sent, viewed, won, lost)."
    )
    subtotal: Decimal | None = strawberry.field(description="Sum of line items before tax.")
    tax: Decimal | None = strawberry.field(description="Tax on the line items.")
    total: Decimal | None = strawberry.field(description="Subtotal plus tax.")
    balance_remaining: Decimal | None = strawberry.field(description="What is still owed.")
    scheduled_on: datetime | None = strawberry.field(description="When the job is scheduled.")
    completed_on: datetime | None = strawberry.field(description="When the job was completed.")
    created_at: datetime | None = strawberry.field(description="When the job was created.")
    updated_at: datetime | None = strawberry.field(description="When the job last changed.")
    _record: strawberry.Private[JobRecord | None]
    _customer_id: strawberry.Private[int | None]

    @classmethod
    def from_record(cls, r: JobRecord) -> Job:
        return cls(
            id=_id(r.id),
            number=r.job_number,
            name=r.name,
            description=r.description,
            status=r.status,
            subtotal=r.subtotal,
            tax=r.tax,
            total=r.total,
            balance_remaining=r.balance_remaining,
            scheduled_on=r.scheduled_on,
            completed_on=r.completed_on,
            created_at=r.created_at,
            updated_at=r.updated_at,
            _record=r,
            _customer_id=r.customer_id,
        )

    @classmethod
    def from_ref(cls, ref: JobRef) -> Job:
        return cls(
            id=_id(ref.id),
            number=ref.job_number or 0,
            name=ref.name,
            description=None,
            status=ref.status,
            subtotal=None,
            tax=None,
            total=None,
            balance_remaining=None,
            scheduled_on=None,
            completed_on=None,
            created_at=None,
            updated_at=None,
            _record=None,
            _customer_id=ref.customer_id,
        )

    async def _listed(self, info: GraphInfo) -> JobRecord:
        """At least the listing's record (no embedded collections)."""
        if self._record is not None:
            return self._record
        return await self._detail(info)

    async def _detail(self, info: GraphInfo) -> JobRecord:
        """The single-job record, with charges, payments, notes and tags."""
        if self._record is not None and self._record.job_charges is not None:
            return self._record
        record = await info.context.data.job_by_number.get(self.number)
        if record is None:
            raise _not_found(f"Job {self.number}")
        return record

    @classmethod
    async def resolve_reference(
        cls, info: GraphInfo, id: strawberry.ID | None = None, number: int | None = None
    ) -> Job:
        data = info.context.data
        record = await find_by_number_or_id(data.job_by_number, data.job_by_id, number, id, "Job")
        return cls.from_record(record)

    @strawberry.field(description="The customer the job is for.", metadata=UPSTREAM)
    def customer(self, info: GraphInfo) -> Customer | None:
        ref = self._record.customer if self._record is not None else None
        return deferred(customer_from_ref(info, ref, self._customer_id))

    @strawberry.field(
        description="Where the job is done (its customer's service address).", metadata=UPSTREAM
    )
    def location(self, info: GraphInfo) -> Location | None:
        ref = self._record.customer if self._record is not None else None
        return deferred(location_of(info, ref, self._customer_id))

    @strawberry.field(description="The kind of work (Kickserv's 'service').")
    async def job_type(self, info: GraphInfo) -> JobType | None:
        record = await self._listed(info)
        if record.job_type_id is None:
            return None
        job_type = await info.context.data.job_type_by_id.get(record.job_type_id)
        return None if job_type is None else JobType.from_record(job_type)

    @strawberry.field(description="Scheduled visits (tasks) of this job, by start time.")
    async def tasks(self, info: GraphInfo) -> list[Task] | None:
        tasks = await info.context.data.tasks_by_job_id.get(int(self.id)) or ()
        return [Task.from_record(t) for t in tasks]

    @strawberry.field(description="What is charged: the job's line items.")
    async def line_items(self, info: GraphInfo) -> list[LineItem] | None:
        record = await self._detail(info)
        return [LineItem.from_record(c) for c in record.job_charges or ()]

    @strawberry.field(description="The invoice, once the job has been invoiced.")
    async def invoice(self, info: GraphInfo) -> Invoice | None:
        record = await self._listed(info)
        return None if record.invoice_status is None else Invoice.from_job(record)

    @strawberry.field(description="Payments recorded against this job.")
    async def payments(self, info: GraphInfo) -> list[Payment] | None:
        record = await self._detail(info)
        return [Payment.from_record(p, job=record) for p in record.payments or ()]

    @strawberry.field(description="Notes on this job.")
    async def notes(self, info: GraphInfo) -> list[Note] | None:
        record = await self._detail(info)
        return [Note.from_record(n) for n in record.notes or ()]

    @strawberry.field(description="Tags on this job.")
    async def tags(self, info: GraphInfo) -> list[str] | None:
        record = await self._detail(info)
        return list(record.tags or ())


def job_from_ref(
    info: GraphInfo, ref: JobRef | None, job_id: int | None
) -> MaybeAwaitable[Job | None]:
    if ref is not None and ref.job_number is not None and only_asks_for(info, JOB_REF_FIELDS):
        return Job.from_ref(ref)
    return _load_job(info, ref, job_id)


async def _load_job(info: GraphInfo, ref: JobRef | None, job_id: int | None) -> Job | None:
    data = info.context.data
    if ref is not None and ref.job_number is not None:
        record = await data.job_by_number.get(ref.job_number)
    else:
        wanted = ref.id if ref is not None else job_id
        if wanted is None:
            return None
        record = await data.job_by_id.get(wanted)
    if record is None:
        raise _not_found(f"Job {ref.id if ref else job_id}")
    return Job.from_record(record)


@strawberry.federation.type(
    keys=["id", "number"],
    description="An opportunity (an estimate): a job in status new, sent, viewed, won or lost.",
)
class Opportunity:
    id: strawberry.ID = strawberry.field(description="Global Kickserv id (a job id).")
    number: int = strawberry.field(description="Opportunity number (its job number).")
    name: str | None = strawberry.field(description="Short title.")
    description: str | None = strawberry.field(description="What is proposed.")
    status: str | None = strawberry.field(description="new, sent, viewed, won or lost.")
    total: Decimal | None = strawberry.field(description="Estimated total.")
    created_at: datetime | None = strawberry.field(description="When it was created.")
    _record: strawberry.Private[JobRecord]

    @classmethod
    def from_record(cls, r: JobRecord) -> Opportunity:
        return cls(
            id=_id(r.id),
            number=r.job_number,
            name=r.name,
            description=r.description,
            status=r.status,
            total=r.total,
            created_at=r.created_at,
            _record=r,
        )

    @classmethod
    async def resolve_reference(
        cls, info: GraphInfo, id: strawberry.ID | None = None, number: int | None = None
    ) -> Opportunity:
        data = info.context.data
        record = await find_by_number_or_id(
            data.job_by_number, data.job_by_id, number, id, "Opportunity"
        )
        return cls.from_record(record)

    @strawberry.field(description="The customer the opportunity is for.", metadata=UPSTREAM)
    def customer(self, info: GraphInfo) -> Customer | None:
        return deferred(customer_from_ref(info, self._record.customer, self._record.customer_id))

    @strawberry.field(description="The kind of work proposed.")
    async def job_type(self, info: GraphInfo) -> JobType | None:
        if self._record.job_type_id is None:
            return None
        job_type = await info.context.data.job_type_by_id.get(self._record.job_type_id)
        return None if job_type is None else JobType.from_record(job_type)


@strawberry.federation.type(keys=["id"], description="A scheduled visit (Kickserv's task).")
class Task:
    id: strawberry.ID = strawberry.field(description="Global Kickserv id.")
    name: str | None = strawberry.field(description="Short title.")
    description: str | None = strawberry.field(description="What is to be done on this visit.")
    starts_at: datetime | None = strawberry.field(description="When the visit starts.")
    ends_at: datetime | None = strawberry.field(description="When the visit ends.")
    task_type_id: strawberry.ID | None = strawberry.field(description="Kickserv task type id.")
    completed: bool | None = strawberry.field(description="Whether the visit is done.")
    _record: strawberry.Private[TaskRecord]

    @classmethod
    def from_record(cls, r: TaskRecord) -> Task:
        return cls(
            id=_id(r.id),
            name=r.name,
            description=r.description,
            starts_at=r.starts_at,
            ends_at=r.ends_at,
            task_type_id=None if r.task_type_id is None else _id(r.task_type_id),
            completed=r.completed,
            _record=r,
        )

    @classmethod
    async def resolve_reference(cls, info: GraphInfo, id: strawberry.ID) -> Task:
        record = await info.context.data.task_by_id.get(int(str(id)))
        if record is None:
            raise _not_found(f"Task {id}")
        return cls.from_record(record)

    @strawberry.field(description="The job this visit belongs to.", metadata=UPSTREAM)
    def job(self, info: GraphInfo) -> Job | None:
        return deferred(job_from_ref(info, self._record.job, self._record.job_id))

    @strawberry.field(description="The customer visited.", metadata=UPSTREAM)
    def customer(self, info: GraphInfo) -> Customer | None:
        customer_id = self._record.job.customer_id if self._record.job else None
        return deferred(customer_from_ref(info, self._record.customer, customer_id))

    @strawberry.field(description="Where the visit happens.", metadata=UPSTREAM)
    def location(self, info: GraphInfo) -> Location | None:
        customer_id = self._record.job.customer_id if self._record.job else None
        return deferred(location_of(info, self._record.customer, customer_id))

    @strawberry.field(description="Technicians assigned to this visit.", metadata=UPSTREAM)
    def assignees(self, info: GraphInfo) -> list[Employee] | None:
        refs = self._record.employees
        if refs and only_asks_for(info, EMPLOYEE_GLUE_FIELDS):
            return [Employee.from_ref(r) for r in refs]
        loading: MaybeAwaitable[list[Employee] | None] = self._load_assignees(info)
        return deferred(loading)

    async def _load_assignees(self, info: GraphInfo) -> list[Employee] | None:
        refs = self._record.employees
        ids = [r.id for r in refs] or list(self._record.employee_ids)
        found = await info.context.data.employee_by_id.get_many(ids)
        by_id = {e.id: e for e in found if e is not None}
        # An inactive employee is not in Kickserv's employee list: keep what the glue says.
        return [
            Employee.from_record(by_id[r.id]) if r.id in by_id else Employee.from_ref(r)
            for r in refs
            or [EmployeeRef(id=i, employee_number=None, name=None, raw={}) for i in ids]
        ]


# -- people ------------------------------------------------------------------------------------------

EMPLOYEE_GLUE_FIELDS = frozenset({"__typename", "id", "number", "name", "tasks"})


@strawberry.federation.type(
    keys=["id", "number"], description="A Kickserv user: office staff or technician."
)
class Employee:
    id: strawberry.ID = strawberry.field(description="Global Kickserv id.")
    number: int | None = strawberry.field(description="Employee number (what Kickserv URLs use).")
    name: str | None = strawberry.field(description="Full name.")
    email: str | None = strawberry.field(description="Email address.")
    admin: bool | None = strawberry.field(description="Whether the employee is an administrator.")
    active: bool | None = strawberry.field(description="False for former employees.")
    limit_access_to_assignments: bool | None = strawberry.field(
        description="When true, this employee sees only the jobs and tasks assigned to them."
    )

    @classmethod
    def from_record(cls, r: EmployeeRecord) -> Employee:
        return cls(
            id=_id(r.id),
            number=r.employee_number,
            name=r.name,
            email=r.email_address,
            admin=r.admin,
            active=r.active,
            limit_access_to_assignments=r.limit_access_to_assignments,
        )

    @classmethod
    def from_ref(cls, r: EmployeeRef) -> Employee:
        return cls(
            id=_id(r.id),
            number=r.employee_number,
            name=r.name,
            email=None,
            admin=None,
            active=None,
            limit_access_to_assignments=None,
        )

    @classmethod
    async def resolve_reference(
        cls, info: GraphInfo, id: strawberry.ID | None = None, number: int | None = None
    ) -> Employee:
        data = info.context.data
        record = await find_by_number_or_id(
            data.employee_by_number, data.employee_by_id, number, id, "Employee"
        )
        return cls.from_record(record)

    @strawberry.field(
        description="Visits assigned to this employee from `from` (inclusive) to `to` (exclusive)."
    )
    async def tasks(
        self,
        info: GraphInfo,
        from_: Annotated[
            date, strawberry.argument(name="from", description="First day (inclusive).")
        ],
        to: Annotated[date, strawberry.argument(description="Day after the last (exclusive).")],
    ) -> list[Task] | None:
        number = self.number
        if number is None:
            record = await info.context.data.employee_by_id.get(int(self.id))
            if record is None:
                raise _not_found(f"Employee {self.id}")
            number = record.employee_number
        tasks = await info.context.data.employee_tasks(number, from_, to)
        return [Task.from_record(t) for t in tasks]


@strawberry.type(description="A note on a customer or a job.")
class Note:
    id: strawberry.ID = strawberry.field(description="Global Kickserv id.")
    body: str = strawberry.field(description="The text of the note.")
    public: bool = strawberry.field(
        description="Whether the customer may see it (never for customer notes)."
    )
    about: str | None = strawberry.field(description="What the note is on: Customer or Job.")
    created_at: datetime | None = strawberry.field(description="When the note was written.")

    @classmethod
    def from_record(cls, r: NoteRecord) -> Note:
        return cls(
            id=_id(r.id),
            body=r.body,
            public=r.public,
            about=r.noteable_type,
            created_at=r.created_at,
        )


# -- money ---------------------------------------------------------------------------------------------


@strawberry.federation.type(
    keys=["id", "number"],
    description="An invoice. Kickserv keeps invoices as jobs with invoice fields: the id is the job's.",
)
class Invoice:
    id: strawberry.ID = strawberry.field(description="Global Kickserv id (the invoiced job's id).")
    number: int = strawberry.field(description="The invoiced job's number.")
    name: str | None = strawberry.field(description="The invoiced job's title.")
    status: InvoiceStatus | None = strawberry.field(description="Paid in full or not.")
    invoice_date: date | None = strawberry.field(description="Date on the invoice.")
    sent_on: date | None = strawberry.field(description="When the invoice was sent.")
    paid_on: date | None = strawberry.field(description="When the invoice was paid in full.")
    terms: str | None = strawberry.field(description="Payment terms, e.g. 'Due upon receipt'.")
    subtotal: Decimal | None = strawberry.field(description="Sum of line items before tax.")
    tax: Decimal | None = strawberry.field(description="Tax.")
    total: Decimal | None = strawberry.field(description="What the invoice asks for.")
    balance_remaining: Decimal | None = strawberry.field(description="What is still owed.")
    _customer_ref: strawberry.Private[CustomerRef | None]
    _customer_id: strawberry.Private[int | None]
    _job: strawberry.Private[JobRecord | None]

    @classmethod
    def from_record(cls, r: InvoiceRecord | IndexedInvoice) -> Invoice:
        status = r.invoice_status
        return cls(
            id=_id(r.id),
            number=r.job_number,
            name=r.name,
            status=InvoiceStatus(status) if status in ("paid", "unpaid") else None,
            invoice_date=r.invoice_date,
            sent_on=r.invoice_sent_date,
            paid_on=r.invoice_paid_on,
            terms=r.invoice_terms,
            subtotal=r.subtotal,
            tax=r.tax,
            total=r.total,
            balance_remaining=r.balance_remaining,
            _customer_ref=r.customer,
            _customer_id=r.customer_id,
            _job=None,
        )

    @classmethod
    def from_indexed(cls, r: IndexedInvoice) -> Invoice:
        """From the invoice index (``invoice(id:)``, references): same fields as the record; its
        customer glue answers id, number and name (no address)."""
        return cls.from_record(r)

    @classmethod
    def from_job(cls, job: JobRecord) -> Invoice:
        invoice = cls.from_record(InvoiceRecord.from_json(job.raw))
        invoice._job = job
        if invoice._customer_ref is None:
            invoice._customer_ref = job.customer
        return invoice

    @classmethod
    async def resolve_reference(
        cls, info: GraphInfo, id: strawberry.ID | None = None, number: int | None = None
    ) -> Invoice:
        data = info.context.data
        if id is not None:
            record = await data.invoice_by_id.get(int(str(id)))
            if record is None:
                raise _not_found(f"Invoice {id}")
            return cls.from_indexed(record)
        job = await data.job_by_number.get(int(number or 0))
        if job is None or job.invoice_status is None:
            raise _not_found(f"Invoice {number}")
        return cls.from_job(job)

    async def _detail(self, info: GraphInfo) -> JobRecord:
        if self._job is not None and self._job.job_charges is not None:
            return self._job
        job = await info.context.data.job_by_number.get(self.number)
        if job is None:
            raise _not_found(f"Job {self.number}")
        return job

    @strawberry.field(description="The invoiced job.")
    async def job(self, info: GraphInfo) -> Job | None:
        if self._job is not None:
            return Job.from_record(self._job)
        return Job.from_record(await self._detail(info))

    @strawberry.field(description="The customer billed.", metadata=UPSTREAM)
    def customer(self, info: GraphInfo) -> Customer | None:
        return deferred(customer_from_ref(info, self._customer_ref, self._customer_id))

    @strawberry.field(description="What is charged.")
    async def line_items(self, info: GraphInfo) -> list[LineItem] | None:
        job = await self._detail(info)
        return [LineItem.from_record(c) for c in job.job_charges or ()]

    @strawberry.field(description="Payments made against this invoice.")
    async def payments(self, info: GraphInfo) -> list[Payment] | None:
        job = await self._detail(info)
        return [Payment.from_record(p, job=job) for p in job.payments or ()]


@strawberry.type(description="A line item (Kickserv's job charge).")
class LineItem:
    id: strawberry.ID = strawberry.field(description="Global Kickserv id.")
    description: str | None = strawberry.field(description="What is charged.")
    details: str | None = strawberry.field(description="More about it.")
    quantity: Decimal | None = strawberry.field(description="How many.")
    price_per_unit: Decimal | None = strawberry.field(description="Price of one.")
    discount: Decimal | None = strawberry.field(description="Discount taken off this line.")
    total: Decimal | None = strawberry.field(description="quantity * pricePerUnit - discount.")
    _record: strawberry.Private[JobChargeRecord]

    @classmethod
    def from_record(cls, r: JobChargeRecord) -> LineItem:
        return cls(
            id=_id(r.id),
            description=r.description,
            details=r.details,
            quantity=r.quantity,
            price_per_unit=r.price_per_unit,
            discount=r.discount,
            total=r.total,
            _record=r,
        )

    @strawberry.field(description="The catalogue item charged, if any.")
    def item(self) -> Item | None:
        ref = self._record.item
        return None if ref is None else Item.from_ref(ref)

    @strawberry.field(description="The kind of charge (hourly, product, ...).")
    async def charge_type(self, info: GraphInfo) -> JobChargeType | None:
        type_id = self._record.job_charge_type_id
        if type_id is None:
            return None
        for t in await info.context.data.job_charge_types():
            if t.id == type_id:
                return JobChargeType.from_record(t)
        return None


@strawberry.federation.type(keys=["id"], description="A payment received.")
class Payment:
    id: strawberry.ID = strawberry.field(description="Global Kickserv id.")
    date: date | None = strawberry.field(description="When it was paid.")
    amount: Decimal = strawberry.field(description="How much was paid.")
    payment_type: str | None = strawberry.field(description="How: cash, check, credit card, ...")
    notes: str | None = strawberry.field(description="Internal notes.")
    ref_number: str | None = strawberry.field(description="Reference number (check number, ...).")
    status: str | None = strawberry.field(description="Processing status, for card payments.")
    created_at: datetime | None = strawberry.field(description="When it was recorded.")
    _record: strawberry.Private[PaymentRecord]
    _job: strawberry.Private[JobRecord | None]

    @classmethod
    def from_record(cls, r: PaymentRecord, job: JobRecord | None = None) -> Payment:
        return cls(
            id=_id(r.id),
            date=r.date,
            amount=r.amount,
            payment_type=r.payment_type,
            notes=r.notes,
            ref_number=r.ref_number,
            status=r.status,
            created_at=r.created_at,
            _record=r,
            _job=job,
        )

    @classmethod
    async def resolve_reference(cls, info: GraphInfo, id: strawberry.ID) -> Payment:
        # Kickserv cannot fetch one payment: the tenant's payment index answers.
        record = await info.context.data.payment_by_id.get(int(str(id)))
        if record is None:
            raise _not_found(f"Payment {id}")
        return cls.from_record(record)

    async def _job_record(self, info: GraphInfo) -> JobRecord | None:
        if self._job is not None:
            return self._job
        customer = self._record.customer
        return await info.context.data.job_of_payment.get(
            (self._record.id, customer.customer_number if customer else None)
        )

    @strawberry.field(description="Who paid.", metadata=UPSTREAM)
    def customer(self, info: GraphInfo) -> Customer | None:
        if self._record.customer is None and self._job is not None:
            return deferred(customer_from_ref(info, self._job.customer, self._job.customer_id))
        return deferred(customer_from_ref(info, self._record.customer, self._record.customer_id))

    @strawberry.field(description="The job paid for.")
    async def job(self, info: GraphInfo) -> Job | None:
        job = await self._job_record(info)
        return None if job is None else Job.from_record(job)

    @strawberry.field(description="The invoice paid.")
    async def invoice(self, info: GraphInfo) -> Invoice | None:
        job = await self._job_record(info)
        return None if job is None or job.invoice_status is None else Invoice.from_job(job)


# -- reference data -----------------------------------------------------------------------------------


@strawberry.federation.type(
    keys=["id"], description="A kind of work (Kickserv calls it a service)."
)
class JobType:
    id: strawberry.ID = strawberry.field(description="Global Kickserv id.")
    name: str = strawberry.field(description="Name.")
    description: str | None = strawberry.field(description="Description.")
    color: str | None = strawberry.field(description="Calendar colour (hex without #).")
    active: bool = strawberry.field(description="False once retired.")

    @classmethod
    def from_record(cls, r: JobTypeRecord) -> JobType:
        return cls(
            id=_id(r.id), name=r.name, description=r.description, color=r.color, active=r.active
        )

    @classmethod
    async def resolve_reference(cls, info: GraphInfo, id: strawberry.ID) -> JobType:
        record = await info.context.data.job_type_by_id.get(int(str(id)))
        if record is None:
            raise _not_found(f"Job type {id}")
        return cls.from_record(record)


@strawberry.type(description="A kind of charge: hourly, physical product, ...")
class JobChargeType:
    id: strawberry.ID = strawberry.field(description="Global Kickserv id.")
    name: str = strawberry.field(description="Name.")
    active: bool = strawberry.field(description="False once retired.")

    @classmethod
    def from_record(cls, r: JobChargeTypeRecord) -> JobChargeType:
        return cls(id=_id(r.id), name=r.name, active=r.active)


@strawberry.federation.type(keys=["id"], description="A catalogue item (product or service).")
class Item:
    id: strawberry.ID = strawberry.field(description="Global Kickserv id.")
    name: str | None = strawberry.field(description="Name.")
    full_name: str | None = strawberry.field(description="Name with its category path.")
    description: str | None = strawberry.field(description="Description.")
    price: Decimal | None = strawberry.field(description="Unit price.")
    taxable: bool | None = strawberry.field(description="Whether tax applies.")

    @classmethod
    def from_record(cls, r: ItemRecord) -> Item:
        return cls(
            id=_id(r.id),
            name=r.name,
            full_name=r.full_name,
            description=r.description,
            price=r.price,
            taxable=r.taxable,
        )

    @classmethod
    async def resolve_reference(cls, info: GraphInfo, id: strawberry.ID) -> Item:
        record = await info.context.data.item_by_id.get(int(str(id)))
        if record is None:
            raise _not_found(f"Item {id}")
        return cls.from_record(record)

    @classmethod
    def from_ref(cls, r: ItemRef) -> Item:
        return cls(
            id=_id(r.id),
            name=r.name,
            full_name=r.full_name,
            description=r.description,
            price=r.price,
            taxable=None,
        )


@strawberry.federation.type(keys=["id"], description="A vendor the business buys from.")
class Vendor:
    id: strawberry.ID = strawberry.field(description="Global Kickserv id.")
    name: str = strawberry.field(description="Name.")
    active: bool = strawberry.field(description="False once retired.")
    created_at: datetime | None = strawberry.field(description="When it was created.")

    @classmethod
    def from_record(cls, r: VendorRecord) -> Vendor:
        return cls(id=_id(r.id), name=r.name, active=r.active, created_at=r.created_at)

    @classmethod
    async def resolve_reference(cls, info: GraphInfo, id: strawberry.ID) -> Vendor:
        record = await info.context.data.vendor_by_id.get(int(str(id)))
        if record is None:
            raise _not_found(f"Vendor {id}")
        return cls.from_record(record)
