"""Jobs (work orders) and opportunities (estimates: jobs in status new, sent, viewed, won, lost)."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Annotated, ClassVar

import strawberry

from graph.schema import billing, catalog, customers, people, schedule
from graph.schema.common import UPSTREAM, GraphInfo, graph_id, then
from graph.schema.payment_requests import PaymentRequest
from graph.schema.selection import asked
from kickserv import Job as JobRecord
from kickserv import JobRef
from resolvers import relations

if TYPE_CHECKING:
    from graph.schema.billing import Invoice, LineItem, Payment
    from graph.schema.catalog import JobType
    from graph.schema.customers import Customer, Location
    from graph.schema.people import Note
    from graph.schema.schedule import Task

CustomerT = Annotated["Customer", strawberry.lazy("graph.schema.customers")]
LocationT = Annotated["Location", strawberry.lazy("graph.schema.customers")]
JobTypeT = Annotated["JobType", strawberry.lazy("graph.schema.catalog")]
TaskT = Annotated["Task", strawberry.lazy("graph.schema.schedule")]
LineItemT = Annotated["LineItem", strawberry.lazy("graph.schema.billing")]
InvoiceT = Annotated["Invoice", strawberry.lazy("graph.schema.billing")]
PaymentT = Annotated["Payment", strawberry.lazy("graph.schema.billing")]
NoteT = Annotated["Note", strawberry.lazy("graph.schema.people")]


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
            id=graph_id(r.id),
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
            id=graph_id(ref.id),
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

    @classmethod
    def of(cls, found: JobRecord | JobRef | None) -> Job | None:
        """The type for what ``resolvers.relations`` found: a record, its glue, or nothing."""
        if found is None:
            return None
        return cls.from_ref(found) if isinstance(found, JobRef) else cls.from_record(found)

    @classmethod
    async def resolve_reference(
        cls, info: GraphInfo, id: strawberry.ID | None = None, number: int | None = None
    ) -> Job:
        data = info.context.data
        record = await relations.by_number_or_id(
            data.job_by_number, data.job_by_id, number, id, "Job"
        )
        return cls.from_record(record)

    # The fields below read from the job's own record (``_detail``), not from its listing's: a
    # customer's history reads those records ahead when its nodes ask one (graph.schema.prefetch).
    RECORD_FIELDS: ClassVar[frozenset[str]] = frozenset(
        {"lineItems", "payments", "notes", "tags", "paymentRequest"}
    )

    async def _detail(self, info: GraphInfo) -> JobRecord:
        return await relations.job_detail(info.context.data, self._record, self.number)

    @strawberry.field(description="The customer the job is for.", metadata=UPSTREAM)
    def customer(self, info: GraphInfo) -> CustomerT | None:
        ref = self._record.customer if self._record is not None else None
        found = relations.customer(info.context.data, ref, self._customer_id, asked(info))
        return then(found, customers.Customer.of)

    @strawberry.field(
        description="Where the job is done (its customer's service address).", metadata=UPSTREAM
    )
    def location(self, info: GraphInfo) -> LocationT | None:
        ref = self._record.customer if self._record is not None else None
        found = relations.location_site(info.context.data, ref, self._customer_id, asked(info))
        return then(found, customers.Location.of_site)

    @strawberry.field(description="The kind of work (Kickserv's 'service').")
    async def job_type(self, info: GraphInfo) -> JobTypeT | None:
        data = info.context.data
        record = await relations.job_listed(data, self._record, self.number)
        return await catalog.job_type(info, record.job_type_id)

    @strawberry.field(
        description="Scheduled visits (tasks) of this job, by start time.", metadata=UPSTREAM
    )
    def tasks(self, info: GraphInfo) -> list[TaskT] | None:
        count = None if self._record is None else self._record.tasks_count
        found = relations.job_tasks(info.context.data, int(self.id), count)
        return then(found, schedule.Task.all_of)

    @strawberry.field(description="What is charged: the job's line items.")
    async def line_items(self, info: GraphInfo) -> list[LineItemT] | None:
        record = await self._detail(info)
        return [billing.LineItem.from_record(c) for c in record.job_charges or ()]

    @strawberry.field(description="The invoice, once the job has been invoiced.")
    async def invoice(self, info: GraphInfo) -> InvoiceT | None:
        record = await relations.job_listed(info.context.data, self._record, self.number)
        return None if record.invoice_status is None else billing.Invoice.from_job(record)

    @strawberry.field(description="Payments recorded against this job.")
    async def payments(self, info: GraphInfo) -> list[PaymentT] | None:
        record = await self._detail(info)
        return [billing.Payment.from_record(p, job=record) for p in record.payments or ()]

    @strawberry.field(description="Notes on this job.")
    async def notes(self, info: GraphInfo) -> list[NoteT] | None:
        record = await self._detail(info)
        notes = record.notes  # the reference only guesses that a job's record embeds them
        if notes is None:
            notes = await info.context.data.job_notes(record.job_number)
        return [people.Note.from_record(n) for n in notes]

    @strawberry.field(description="Tags on this job.")
    async def tags(self, info: GraphInfo) -> list[str] | None:
        record = await self._detail(info)
        return list(record.tags or ())

    @strawberry.field(description="The customer's purchase order number.")
    async def po_number(self, info: GraphInfo) -> str | None:
        return (await relations.job_listed(info.context.data, self._record, self.number)).po_number

    @strawberry.field(description="Sales tax percentage applied to the job's taxable lines.")
    async def tax_rate(self, info: GraphInfo) -> Decimal | None:
        record = await relations.job_listed(info.context.data, self._record, self.number)
        return record.sales_tax_percentage

    @strawberry.field(description="The latest online payment request sent for this job.")
    async def payment_request(self, info: GraphInfo) -> PaymentRequest | None:
        request = (await self._detail(info)).payment_request
        return None if request is None else PaymentRequest.from_record(request)

    @strawberry.field(description="When work started (set when the job moves to IN_PROGRESS).")
    async def started_on(self, info: GraphInfo) -> datetime | None:
        return (await relations.job_listed(info.context.data, self._record, self.number)).started_on

    @strawberry.field(description="Since when the job is on hold (set when it moves to ON_HOLD).")
    async def on_hold_since(self, info: GraphInfo) -> datetime | None:
        return (await relations.job_listed(info.context.data, self._record, self.number)).on_hold

    @strawberry.field(description="When the job was canceled.")
    async def canceled_on(self, info: GraphInfo) -> datetime | None:
        record = await relations.job_listed(info.context.data, self._record, self.number)
        return record.canceled_on


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
            id=graph_id(r.id),
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
        record = await relations.by_number_or_id(
            data.job_by_number,
            data.job_by_id,
            number,
            id,
            "Opportunity",
        )
        return cls.from_record(record)

    @strawberry.field(description="The customer the opportunity is for.", metadata=UPSTREAM)
    def customer(self, info: GraphInfo) -> CustomerT | None:
        r = self._record
        found = relations.customer(info.context.data, r.customer, r.customer_id, asked(info))
        return then(found, customers.Customer.of)

    @strawberry.field(description="The kind of work proposed.")
    async def job_type(self, info: GraphInfo) -> JobTypeT | None:
        return await catalog.job_type(info, self._record.job_type_id)

    @strawberry.field(description="When it was won.")
    def won_on(self) -> date | None:
        return self._record.won_date

    @strawberry.field(description="When it was lost.")
    def lost_on(self) -> date | None:
        return self._record.lost_date
