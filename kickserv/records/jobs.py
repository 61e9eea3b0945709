"""Jobs, opportunities (jobs in new/sent/viewed/won/lost) and invoices (jobs with invoice fields)."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, datetime
from decimal import Decimal

from kickserv.errors import ResponseShape
from kickserv.records.billing import JobCharge, Payment, PaymentRequest
from kickserv.records.customers import Note
from kickserv.records.fields import Fields, describe
from kickserv.records.glue import CustomerRef
from kickserv.records.record import Entity, reads, record
from kickserv.records.tasks import Task

OPPORTUNITY_STATUSES = frozenset({"new", "sent", "viewed", "won", "lost"})


def tag_name(data: object) -> str:
    """A tag as a name, whether Kickserv sent ``"vip"`` or ``{"id": 3, "name": "vip"}``."""
    if isinstance(data, str):
        return data
    if isinstance(data, Mapping) and isinstance(data.get("name"), str):
        return str(data["name"])
    raise ResponseShape(f"a tag should be a name or an object with 'name', got {describe(data)}.")


@record
class JobBase(Entity):
    """What a job and its invoice both carry (an invoice is a job seen through its invoice)."""

    job_number: int = reads(Fields.required_int, "job_number", "number")
    customer_id: int | None = reads(Fields.id_or_glue, "customer_id", "customer", CustomerRef.id_of)
    customer: CustomerRef | None = reads(Fields.optional_object, "customer", CustomerRef.from_json)
    name: str | None = reads(Fields.optional_str, "name")
    status: str | None = reads(Fields.optional_str, "status")
    invoice_status: str | None = reads(Fields.optional_str, "invoice_status")
    subtotal: Decimal | None = reads(Fields.optional_decimal, "subtotal")
    tax: Decimal | None = reads(Fields.optional_decimal, "tax")
    total: Decimal | None = reads(Fields.optional_decimal, "total")
    balance_remaining: Decimal | None = reads(Fields.optional_decimal, "balance_remaining")
    po_number: str | None = reads(Fields.optional_str, "po_number")
    sales_tax_percentage: Decimal | None = reads(Fields.optional_decimal, "sales_tax_percentage")
    invoice_notes: str | None = reads(Fields.optional_str, "invoice_notes")


@record
class Job(JobBase):
    """A job (or an opportunity: same record, see `is_opportunity`).

    `job_number` is what URLs take; `id` is what tasks, charges and notes point at. The embedded
    collections are None when the response did not carry them (lists omit them; the single-job GET
    has them), so None means "not sent", not "empty".
    """

    description: str | None = reads(Fields.optional_str, "description")
    job_type_id: int | None = reads(Fields.optional_int, "job_type_id")
    scheduled_on: datetime | None = reads(Fields.optional_datetime, "scheduled_on", "scheduled_at")
    completed_on: datetime | None = reads(Fields.optional_datetime, "completed_on", "completed_at")
    started_on: datetime | None = reads(Fields.optional_datetime, "started_on")
    on_hold: datetime | None = reads(Fields.optional_datetime, "on_hold")  # since when
    canceled_on: datetime | None = reads(Fields.optional_datetime, "canceled_on")
    won_date: date | None = reads(Fields.optional_date, "won_date")
    lost_date: date | None = reads(Fields.optional_date, "lost_date")
    tasks_count: int | None = reads(Fields.optional_int, "tasks_count")
    job_charges: tuple[JobCharge, ...] | None = reads(
        Fields.optional_tuple, "job_charges", JobCharge.from_json
    )
    payments: tuple[Payment, ...] | None = reads(
        Fields.optional_tuple, "payments", Payment.from_json
    )
    payment_request: PaymentRequest | None = reads(
        Fields.optional_object, "payment_request", PaymentRequest.from_json
    )
    tags: tuple[str, ...] | None = reads(Fields.optional_tuple, "tags", tag_name)
    notes: tuple[Note, ...] | None = reads(Fields.optional_tuple, "notes", Note.from_json)

    @property
    def is_opportunity(self) -> bool:
        return self.status in OPPORTUNITY_STATUSES


# An opportunity is a job whose status is new/sent/viewed/won/lost; Kickserv serves the same object.
Opportunity = Job


@record
class Invoice(JobBase):
    """An invoice: Kickserv's invoice listing returns jobs with invoice fields, customer glue and
    the job's tasks. There is no invoice id of its own: `id` is the job's global id."""

    invoice_date: date | None = reads(Fields.optional_date, "invoice_date")
    invoice_sent_date: date | None = reads(
        Fields.optional_date, "invoice_sent_date", "invoice_sent_on"
    )
    invoice_paid_on: date | None = reads(Fields.optional_date, "invoice_paid_on")
    invoice_terms: str | None = reads(Fields.optional_str, "invoice_terms")
    tasks: tuple[Task, ...] = reads(Fields.tuple_of, "tasks", Task.from_json)
