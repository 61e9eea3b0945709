"""Money: invoices (Kickserv keeps them as jobs with invoice fields), line items and payments."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from enum import Enum
from typing import TYPE_CHECKING, Annotated

import strawberry

from graph.schema import catalog, customers, jobs
from graph.schema.common import UPSTREAM, GraphInfo, graph_id, then
from graph.schema.selection import asked
from kickserv import CustomerRef
from kickserv import Invoice as InvoiceRecord
from kickserv import Job as JobRecord
from kickserv import JobCharge as JobChargeRecord
from kickserv import Payment as PaymentRecord
from resolvers import relations
from resolvers.invoice_index import IndexedInvoice

if TYPE_CHECKING:
    from graph.schema.catalog import Item, JobChargeType
    from graph.schema.customers import Customer
    from graph.schema.jobs import Job

CustomerT = Annotated["Customer", strawberry.lazy("graph.schema.customers")]
JobT = Annotated["Job", strawberry.lazy("graph.schema.jobs")]
ItemT = Annotated["Item", strawberry.lazy("graph.schema.catalog")]
JobChargeTypeT = Annotated["JobChargeType", strawberry.lazy("graph.schema.catalog")]


@strawberry.enum(description="Whether an invoice has been paid in full.")
class InvoiceStatus(Enum):
    PAID = "paid"
    UNPAID = "unpaid"


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
    updated_at: datetime | None = strawberry.field(
        description="When the invoiced job last changed (null where Kickserv's answer lacked it)."
    )
    _customer_ref: strawberry.Private[CustomerRef | None]
    _customer_id: strawberry.Private[int | None]
    _job: strawberry.Private[JobRecord | None]

    @classmethod
    def from_record(cls, r: InvoiceRecord | IndexedInvoice) -> Invoice:
        """From the invoice listing or the invoice index (``invoice(id:)``, references): the
        index's customer glue answers id, number and name (no address)."""
        status = r.invoice_status
        return cls(
            id=graph_id(r.id),
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
            updated_at=getattr(r, "updated_at", None),
            _customer_ref=r.customer,
            _customer_id=r.customer_id,
            _job=None,
        )

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
            record = await data.invoice_by_id.get(int(id))
            if record is None:
                raise relations.RecordMissing("Invoice", id)
            return cls.from_record(record)
        job = await data.job_by_number.get(int(number or 0))
        if job is None or job.invoice_status is None:
            raise relations.RecordMissing("Invoice", number)
        return cls.from_job(job)

    async def _detail(self, info: GraphInfo) -> JobRecord:
        return await relations.job_detail(info.context.data, self._job, self.number)

    @strawberry.field(description="Notes printed on the invoice.")
    async def notes(self, info: GraphInfo) -> str | None:
        return (await self._listed(info)).invoice_notes

    @strawberry.field(description="Sales tax percentage applied to the taxable lines.")
    async def tax_rate(self, info: GraphInfo) -> Decimal | None:
        return (await self._listed(info)).sales_tax_percentage

    @strawberry.field(description="The customer's purchase order number.")
    async def po_number(self, info: GraphInfo) -> str | None:
        return (await self._listed(info)).po_number

    async def _listed(self, info: GraphInfo) -> JobRecord:
        """The invoiced job's record (the invoice index keeps only what lists need)."""
        return await relations.job_listed(info.context.data, self._job, self.number)

    @strawberry.field(description="The invoiced job.")
    async def job(self, info: GraphInfo) -> JobT | None:
        return jobs.Job.from_record(self._job or await self._detail(info))

    @strawberry.field(description="The customer billed.", metadata=UPSTREAM)
    def customer(self, info: GraphInfo) -> CustomerT | None:
        data = info.context.data
        found = relations.customer(data, self._customer_ref, self._customer_id, asked(info))
        return then(found, customers.Customer.of)

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
            id=graph_id(r.id),
            description=r.description,
            details=r.details,
            quantity=r.quantity,
            price_per_unit=r.price_per_unit,
            discount=r.discount,
            total=r.total,
            _record=r,
        )

    @strawberry.field(description="The catalogue item charged, if any.")
    def item(self) -> ItemT | None:
        ref = self._record.item
        return None if ref is None else catalog.Item.from_record(ref)

    @strawberry.field(description="The kind of charge (hourly, product, ...).")
    async def charge_type(self, info: GraphInfo) -> JobChargeTypeT | None:
        found = await relations.charge_type(info.context.data, self._record.job_charge_type_id)
        return None if found is None else catalog.JobChargeType.from_record(found)


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
            id=graph_id(r.id),
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
        record = await relations.one(info.context.data.payment_by_id, id, "Payment")
        return cls.from_record(record)

    @strawberry.field(description="Who paid.", metadata=UPSTREAM)
    def customer(self, info: GraphInfo) -> CustomerT | None:
        found = relations.payer(info.context.data, self._record, self._job, asked(info))
        return then(found, customers.Customer.of)

    @strawberry.field(description="The job paid for.")
    async def job(self, info: GraphInfo) -> JobT | None:
        job = await relations.job_of_payment(info.context.data, self._record, self._job)
        return None if job is None else jobs.Job.from_record(job)

    @strawberry.field(description="The invoice paid.")
    async def invoice(self, info: GraphInfo) -> Invoice | None:
        job = await relations.job_of_payment(info.context.data, self._record, self._job)
        return None if job is None or job.invoice_status is None else Invoice.from_job(job)
