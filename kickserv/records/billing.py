"""Money on a job: charges (line items), payments and the Stripe payment request."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from kickserv.records.fields import Fields
from kickserv.records.glue import CustomerRef, ItemRef
from kickserv.records.record import Entity, reads, record


@record
class JobCharge(Entity):
    """A line item of a job; `job_id` is the job's global id."""

    job_id: int | None = reads(Fields.optional_int, "job_id")
    description: str | None = reads(Fields.optional_str, "description", "name")
    details: str | None = reads(Fields.optional_str, "details")
    quantity: Decimal | None = reads(Fields.optional_decimal, "quantity")
    price_per_unit: Decimal | None = reads(Fields.optional_decimal, "price_per_unit", "price")
    discount: Decimal | None = reads(Fields.optional_decimal, "discount")
    total: Decimal | None = reads(Fields.optional_decimal, "total")
    item_id: int | None = reads(Fields.optional_int, "item_id")
    job_charge_type_id: int | None = reads(Fields.optional_int, "job_charge_type_id")
    item: ItemRef | None = reads(Fields.optional_object, "item", ItemRef.from_json)


@record
class Payment(Entity):
    """A payment. Kickserv's payment listing carries no job id; embedded in a job it belongs there."""

    amount: Decimal = reads(Fields.required_decimal, "amount")
    date: date | None = reads(Fields.optional_date, "date", "paid_on", "payment_date")
    payment_type: str | None = reads(Fields.optional_str, "payment_type")
    notes: str | None = reads(Fields.optional_str, "notes")
    ref_number: str | None = reads(Fields.optional_str, "ref_number")
    status: str | None = reads(Fields.optional_str, "status")
    customer_id: int | None = reads(Fields.id_or_glue, "customer_id", "customer", CustomerRef.id_of)
    job_id: int | None = reads(Fields.optional_int, "job_id")
    customer: CustomerRef | None = reads(Fields.optional_object, "customer", CustomerRef.from_json)


@record
class PaymentRequest(Entity):
    """The (single, latest) Stripe payment request of a job. Kickserv sends `amount` in cents."""

    job_id: int | None = reads(Fields.optional_int, "job_id")
    amount_cents: int = reads(Fields.required_int, "amount", "amount_cents")
    creator_id: int | None = reads(Fields.optional_int, "creator_id", "created_by")
    message: str | None = reads(Fields.optional_str, "message")
    paid: bool = reads(Fields.bool_or, False, "paid")

    @property
    def amount(self) -> Decimal:
        """The amount in currency units (cents / 100), exact."""
        return Decimal(self.amount_cents).scaleb(-2)
