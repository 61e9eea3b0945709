"""A job's Stripe payment request: at most one per job, the latest (resending keeps its id)."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

import strawberry

from graph.schema.common import graph_id
from kickserv import PaymentRequest as PaymentRequestRecord

CENTS = Decimal(100)


@strawberry.type(
    description="An online payment request sent for a job (Kickserv's Stripe request)."
)
class PaymentRequest:
    id: strawberry.ID = strawberry.field(description="Global Kickserv id.")
    amount: Decimal = strawberry.field(description="Amount asked (Kickserv keeps it in cents).")
    message: str | None = strawberry.field(description="Message sent with the request.")
    paid: bool = strawberry.field(description="Whether it was paid through this request.")
    created_at: datetime | None = strawberry.field(description="When it was first sent.")

    @classmethod
    def from_record(cls, r: PaymentRequestRecord) -> PaymentRequest:
        return cls(
            id=graph_id(r.id),
            amount=Decimal(r.amount_cents) / CENTS,
            message=r.message,
            paid=r.paid,
            created_at=r.created_at,
        )
