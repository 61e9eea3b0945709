"""Jobs, opportunities (jobs in new/sent/viewed/won/lost) and invoices (jobs with invoice fields)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from kickserv.errors import ResponseShape
from kickserv.records.billing import JobCharge, Payment, PaymentRequest
from kickserv.records.customers import Note
from kickserv.records.fields import Fields, describe
from kickserv.records.glue import CustomerRef, customer_of
from kickserv.records.tasks import Task

OPPORTUNITY_STATUSES = frozenset({"new", "sent", "viewed", "won", "lost"})


def tag_name(data: object) -> str:
    """A tag as a name, whether Kickserv sent ``"vip"`` or ``{"id": 3, "name": "vip"}``."""
    if isinstance(data, str):
        return data
    if isinstance(data, Mapping) and isinstance(data.get("name"), str):
        return str(data["name"])
    raise ResponseShape(f"a tag should be a name or an object with 'name', got {describe(data)}.")


@dataclass(frozen=True, slots=True)
class Job:
    """A job (or an opportunity: same record, see `is_opportunity`).

    `job_number` is what URLs take; `id` is what tasks, charges and notes point at. The embedded
    collections are None when the response did not carry them (lists omit them; the single-job GET
    has them), so None means "not sent", not "empty".
    """

    id: int
    job_number: int
    customer_id: int | None
    name: str | None
    description: str | None
    status: str | None
    job_type_id: int | None
    invoice_status: str | None
    subtotal: Decimal | None
    tax: Decimal | None
    total: Decimal | None
    balance_remaining: Decimal | None
    scheduled_on: datetime | None
    completed_on: datetime | None
    tasks_count: int | None
    created_at: datetime | None
    updated_at: datetime | None
    customer: CustomerRef | None
    job_charges: tuple[JobCharge, ...] | None
    payments: tuple[Payment, ...] | None
    payment_request: PaymentRequest | None
    tags: tuple[str, ...] | None
    notes: tuple[Note, ...] | None
    raw: Mapping[str, Any] = field(repr=False, hash=False)

    @property
    def is_opportunity(self) -> bool:
        return self.status in OPPORTUNITY_STATUSES

    @classmethod
    def from_json(cls, data: object) -> Job:
        f = Fields(data, "Job")
        customer, customer_id = customer_of(f)
        return cls(
            id=f.required_int("id"),
            job_number=f.required_int("job_number", "number"),
            customer_id=customer_id,
            name=f.optional_str("name"),
            description=f.optional_str("description"),
            status=f.optional_str("status"),
            job_type_id=f.optional_int("job_type_id"),
            invoice_status=f.optional_str("invoice_status"),
            subtotal=f.optional_decimal("subtotal"),
            tax=f.optional_decimal("tax"),
            total=f.optional_decimal("total"),
            balance_remaining=f.optional_decimal("balance_remaining"),
            scheduled_on=f.optional_datetime("scheduled_on", "scheduled_at"),
            completed_on=f.optional_datetime("completed_on", "completed_at"),
            tasks_count=f.optional_int("tasks_count"),
            created_at=f.created_at(),
            updated_at=f.updated_at(),
            customer=customer,
            job_charges=f.optional_tuple("job_charges", JobCharge.from_json),
            payments=f.optional_tuple("payments", Payment.from_json),
            payment_request=f.optional_object("payment_request", PaymentRequest.from_json),
            tags=f.optional_tuple("tags", tag_name),
            notes=f.optional_tuple("notes", Note.from_json),
            raw=f.raw,
        )


# An opportunity is a job whose status is new/sent/viewed/won/lost; Kickserv serves the same object.
Opportunity = Job


@dataclass(frozen=True, slots=True)
class Invoice:
    """An invoice: Kickserv's invoice listing returns jobs with invoice fields, customer glue and
    the job's tasks. There is no invoice id of its own: `id` is the job's global id."""

    id: int
    job_number: int
    customer_id: int | None
    name: str | None
    status: str | None
    invoice_status: str | None
    invoice_date: date | None
    invoice_sent_date: date | None
    invoice_paid_on: date | None
    invoice_terms: str | None
    subtotal: Decimal | None
    tax: Decimal | None
    total: Decimal | None
    balance_remaining: Decimal | None
    customer: CustomerRef | None
    tasks: tuple[Task, ...]
    created_at: datetime | None
    updated_at: datetime | None
    raw: Mapping[str, Any] = field(repr=False, hash=False)

    @classmethod
    def from_json(cls, data: object) -> Invoice:
        f = Fields(data, "Invoice")
        customer, customer_id = customer_of(f)
        return cls(
            id=f.required_int("id"),
            job_number=f.required_int("job_number", "number"),
            customer_id=customer_id,
            name=f.optional_str("name"),
            status=f.optional_str("status"),
            invoice_status=f.optional_str("invoice_status"),
            invoice_date=f.optional_date("invoice_date"),
            invoice_sent_date=f.optional_date("invoice_sent_date", "invoice_sent_on"),
            invoice_paid_on=f.optional_date("invoice_paid_on"),
            invoice_terms=f.optional_str("invoice_terms"),
            subtotal=f.optional_decimal("subtotal"),
            tax=f.optional_decimal("tax"),
            total=f.optional_decimal("total"),
            balance_remaining=f.optional_decimal("balance_remaining"),
            customer=customer,
            tasks=f.tuple_of("tasks", Task.from_json),
            created_at=f.created_at(),
            updated_at=f.updated_at(),
            raw=f.raw,
        )
