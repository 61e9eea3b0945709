"""Money on a job: charges (line items), payments and the Stripe payment request."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from kickserv.records.fields import Fields
from kickserv.records.glue import CustomerRef, ItemRef, customer_of


@dataclass(frozen=True, slots=True)
class JobCharge:
    """A line item of a job; `job_id` is the job's global id."""

    id: int
    job_id: int | None
    description: str | None
    details: str | None
    quantity: Decimal | None
    price_per_unit: Decimal | None
    discount: Decimal | None
    total: Decimal | None
    item_id: int | None
    job_charge_type_id: int | None
    item: ItemRef | None
    created_at: datetime | None
    updated_at: datetime | None
    raw: Mapping[str, Any] = field(repr=False, hash=False)

    @classmethod
    def from_json(cls, data: object) -> JobCharge:
        f = Fields(data, "JobCharge")
        return cls(
            id=f.required_int("id"),
            job_id=f.optional_int("job_id"),
            description=f.optional_str("description", "name"),
            details=f.optional_str("details"),
            quantity=f.optional_decimal("quantity"),
            price_per_unit=f.optional_decimal("price_per_unit", "price"),
            discount=f.optional_decimal("discount"),
            total=f.optional_decimal("total"),
            item_id=f.optional_int("item_id"),
            job_charge_type_id=f.optional_int("job_charge_type_id"),
            item=f.optional_object("item", ItemRef.from_json),
            created_at=f.created_at(),
            updated_at=f.updated_at(),
            raw=f.raw,
        )


@dataclass(frozen=True, slots=True)
class Payment:
    """A payment. Kickserv's payment listing carries no job id; embedded in a job it belongs there."""

    id: int
    amount: Decimal
    date: date | None
    payment_type: str | None
    notes: str | None
    ref_number: str | None
    status: str | None
    customer_id: int | None
    job_id: int | None
    customer: CustomerRef | None
    created_at: datetime | None
    updated_at: datetime | None
    raw: Mapping[str, Any] = field(repr=False, hash=False)

    @classmethod
    def from_json(cls, data: object) -> Payment:
        f = Fields(data, "Payment")
        customer, customer_id = customer_of(f)
        return cls(
            id=f.required_int("id"),
            amount=f.required_decimal("amount"),
            date=f.optional_date("date", "paid_on", "payment_date"),
            payment_type=f.optional_str("payment_type"),
            notes=f.optional_str("notes"),
            ref_number=f.optional_str("ref_number"),
            status=f.optional_str("status"),
            customer_id=customer_id,
            job_id=f.optional_int("job_id"),
            customer=customer,
            created_at=f.created_at(),
            updated_at=f.updated_at(),
            raw=f.raw,
        )


@dataclass(frozen=True, slots=True)
class PaymentRequest:
    """The (single, latest) Stripe payment request of a job. Kickserv sends `amount` in cents."""

    id: int
    job_id: int | None
    amount_cents: int
    creator_id: int | None
    message: str | None
    paid: bool
    created_at: datetime | None
    updated_at: datetime | None
    raw: Mapping[str, Any] = field(repr=False, hash=False)

    @property
    def amount(self) -> Decimal:
        """The amount in currency units (cents / 100), exact."""
        return Decimal(self.amount_cents).scaleb(-2)

    @classmethod
    def from_json(cls, data: object) -> PaymentRequest:
        f = Fields(data, "PaymentRequest")
        return cls(
            id=f.required_int("id"),
            job_id=f.optional_int("job_id"),
            amount_cents=f.required_int("amount", "amount_cents"),
            creator_id=f.optional_int("creator_id", "created_by"),
            message=f.optional_str("message"),
            paid=f.bool_or(False, "paid"),
            created_at=f.created_at(),
            updated_at=f.updated_at(),
            raw=f.raw,
        )
