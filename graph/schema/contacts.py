"""A customer's primary contact, as Kickserv's customer record has it: a `contact` name beside the
customer's own email and phone (Kickserv v2 documents no contacts endpoint)."""

from __future__ import annotations

import strawberry

from kickserv import Customer as CustomerRecord


@strawberry.type(description="The person to talk to about a customer's work.")
class PrimaryContact:
    name: str = strawberry.field(description="The contact's name.")
    email: str | None = strawberry.field(description="The customer's email address.")
    phone: str | None = strawberry.field(description="The customer's phone (else mobile) number.")

    @classmethod
    def of(cls, customer: CustomerRecord) -> PrimaryContact | None:
        if not customer.contact:
            return None
        return cls(
            name=customer.contact,
            email=customer.email_address,
            phone=customer.phone_number or customer.mobile,
        )
